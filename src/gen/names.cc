// The name tables and the variant generator of names.h. Tables are plain
// arrays of UTF-8 literals; their order is part of the generator's output
// (see the determinism note in names.h).
#include "gen/names.h"

#include <algorithm>
#include <array>
#include <span>
#include <unordered_set>
#include <vector>

namespace tandem::gen {
namespace {

using Names = std::span<const std::string_view>;

template <size_t N>
constexpr Names Span(const std::array<std::string_view, N>& a) {
  return Names(a.data(), a.size());
}

// ---- person names -----------------------------------------------------------

constexpr std::array<std::string_view, 24> kAngloFirst = {
    "John",    "William", "James",   "Robert",  "Michael",   "David",   "Richard",  "Thomas",
    "Charles", "Jonathan", "Edward", "Matthew", "Elizabeth", "Mary",    "Jennifer", "Susan",
    "Margaret", "Katherine", "Sarah", "Emily",  "Rebecca",   "Olivia",  "Christopher", "Patrick"};
constexpr std::array<std::string_view, 22> kAngloLast = {
    "Smith",  "Johnson", "Williams", "Brown",    "Jones",   "Taylor",   "Davies",   "Wilson",
    "Evans",  "Thompson", "Wright",  "Walker",   "Robinson", "Hughes",  "Edwards",  "Green",
    "Clarke", "Phillips", "O'Brien", "McDonald", "Fitzgerald", "Whitaker"};

constexpr std::array<std::string_view, 22> kHispanicFirst = {
    "José",    "María",  "Juan",      "Carlos",    "Francisco", "Luis",   "Javier",  "Miguel",
    "Alejandro", "Sofía", "Lucía",    "Carmen",    "Isabel",    "Ana",    "Guadalupe", "Jesús",
    "Raúl",    "Andrés", "Mónica",    "Verónica",  "Ramón",     "Inés"};
constexpr std::array<std::string_view, 20> kHispanicLast = {
    "García",   "Rodríguez", "Martínez", "Hernández", "López",   "González", "Pérez",
    "Sánchez",  "Ramírez",   "Torres",   "Flores",    "Rivera",  "Gómez",    "Díaz",
    "Núñez",    "Jiménez",   "Álvarez",  "Castillo",  "Vázquez", "Ibáñez"};

constexpr std::array<std::string_view, 22> kSlavicFirst = {
    "Aleksandr", "Dmitri",  "Sergei",   "Vladimir", "Nikolai",   "Ivan",      "Mikhail",
    "Andrei",    "Łukasz",  "Piotr",    "Krzysztof", "Tomasz",   "Jiří",      "Václav",
    "Natalia",   "Olga",    "Tatiana",  "Svetlana", "Katarzyna", "Małgorzata", "Zuzana",
    "Yekaterina"};
constexpr std::array<std::string_view, 20> kSlavicLast = {
    "Ivanov",     "Smirnov",  "Kuznetsov", "Popov",    "Sokolov",  "Lebedev",  "Kozlov",
    "Novikov",    "Morozov",  "Petrov",    "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk",
    "Dvořák",     "Novák",    "Horváth",   "Jovanović", "Petrović", "Szczepański"};

constexpr std::array<std::string_view, 22> kArabicFirst = {
    "Mohammed", "Ahmed",   "Ali",     "Omar",    "Youssef", "Khalid",  "Hassan",  "Hussein",
    "Ibrahim",  "Abdullah", "Mustafa", "Tariq",  "Karim",   "Fatima",  "Aisha",   "Mariam",
    "Layla",    "Nour",    "Zainab",  "Yasmin",  "Samira",  "Rania"};
constexpr std::array<std::string_view, 18> kArabicLast = {
    "Al-Rashid", "Al-Farsi", "Haddad",   "Khoury",  "Mansour", "Nasser",  "Saleh",
    "Hamdan",    "Aziz",     "Rahman",   "Qureshi", "El-Sayed", "Abdelaziz", "Bakr",
    "Suleiman",  "Al-Amin",  "Darwish",  "Hijazi"};

constexpr std::array<std::string_view, 22> kEastAsianFirst = {
    "Wei",     "Jing",    "Li Na",   "Xiaoming", "Hao",     "Yan",      "Jun",    "Mei",
    "Hiroshi", "Takeshi", "Yuki",    "Haruto",   "Sakura",  "Kenji",    "Akiko",  "Min-jun",
    "Seo-yeon", "Ji-hoon", "Hye-jin", "Thanh",   "Minh",    "Quang"};
constexpr std::array<std::string_view, 20> kEastAsianLast = {
    "Wang",  "Li",      "Zhang",   "Liu",    "Chen",   "Yang",     "Huang",  "Zhao",
    "Wu",    "Zhou",    "Sato",    "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Kim",
    "Park",  "Choi",    "Nguyen",  "Tran"};

constexpr std::array<std::string_view, 22> kGermanicFirst = {
    "Johannes", "Jürgen",  "Klaus",   "Wolfgang", "Stefan",  "Andreas",  "Matthias", "Jörg",
    "Dieter",   "Sebastian", "Pieter", "Joost",   "Sander",  "Sabine",   "Ursula",   "Katrin",
    "Brigitte", "Anneliese", "Ingrid", "Femke",   "Sanne",   "Gerrit"};
constexpr std::array<std::string_view, 20> kGermanicLast = {
    "Müller",  "Schmidt",   "Schneider", "Fischer",  "Weber",     "Meyer",  "Wagner",
    "Becker",  "Schulz",    "Hoffmann",  "Schäfer",  "Köhler",    "Groß",   "Krüger",
    "de Jong", "Jansen",    "van Dijk",  "Bakker",   "Visser",    "van den Berg"};

constexpr std::array<std::string_view, 20> kFrenchFirst = {
    "François", "Jean",    "Pierre",  "Michel",   "Philippe", "Alain",   "Nicolas",
    "Stéphane", "Sébastien", "Jérôme", "Hélène",  "Amélie",   "Céline",  "Françoise",
    "Isabelle", "Nathalie", "Sylvie", "Élodie",   "Thierry",  "Gaël"};
constexpr std::array<std::string_view, 18> kFrenchLast = {
    "Martin",  "Bernard", "Dubois",  "Thomas",   "Robert",   "Richard",  "Petit",
    "Durand",  "Lefèvre", "Leroy",   "Moreau",   "Simon",    "Laurent",  "Lefebvre",
    "Girard",  "Bonnet",  "Dupont",  "Rousseau"};

constexpr std::array<std::string_view, 20> kItalianFirst = {
    "Giuseppe", "Giovanni", "Antonio", "Marco",    "Francesco", "Alessandro", "Luca",
    "Matteo",   "Lorenzo",  "Niccolò", "Giulia",   "Francesca", "Chiara",     "Alessandra",
    "Federica", "Valentina", "Elisa",  "Beatrice", "Paolo",     "Stefano"};
constexpr std::array<std::string_view, 18> kItalianLast = {
    "Rossi",   "Russo",    "Ferrari", "Esposito", "Bianchi",  "Romano",  "Colombo",
    "Ricci",   "Marino",   "Greco",   "Bruno",    "Gallo",    "Conti",   "De Luca",
    "Mancini", "Costa",    "Giordano", "Lombardi"};

constexpr std::array<std::string_view, 20> kNordicFirst = {
    "Lars",   "Anders",  "Erik",    "Magnus",  "Nils",    "Sven",    "Bjørn",  "Søren",
    "Jukka",  "Mikko",   "Ingrid",  "Astrid",  "Sigrid",  "Freja",   "Linnéa", "Åsa",
    "Kirsten", "Helga",  "Aino",    "Oskar"};
constexpr std::array<std::string_view, 18> kNordicLast = {
    "Johansson", "Andersson", "Karlsson", "Nilsson",  "Eriksson", "Larsson",  "Hansen",
    "Jensen",    "Pedersen",  "Sørensen", "Kristiansen", "Virtanen", "Korhonen", "Mäkinen",
    "Nieminen",  "Lindqvist", "Bergström", "Østergaard"};

constexpr std::array<std::string_view, 20> kSouthAsianFirst = {
    "Rahul",  "Amit",   "Vikram",  "Sanjay",  "Arjun",    "Rajesh",  "Suresh",  "Anil",
    "Deepak", "Imran",  "Priya",   "Anjali",  "Sunita",   "Kavita",  "Pooja",   "Neha",
    "Lakshmi", "Divya", "Farhan",  "Ayesha"};
constexpr std::array<std::string_view, 18> kSouthAsianLast = {
    "Sharma",  "Patel",   "Singh",    "Kumar",   "Gupta",    "Reddy",  "Iyer",
    "Nair",    "Mehta",   "Chowdhury", "Banerjee", "Mukherjee", "Rao",  "Joshi",
    "Malhotra", "Khan",   "Siddiqui", "Bhattacharya"};

struct CultureTables {
  Names first;
  Names last;
  uint32_t weight;  // relative frequency of the culture
};

const std::array<CultureTables, kCultureCount>& Tables() {
  static const std::array<CultureTables, kCultureCount> kTables = {{
      {Span(kAngloFirst), Span(kAngloLast), 20},
      {Span(kHispanicFirst), Span(kHispanicLast), 12},
      {Span(kSlavicFirst), Span(kSlavicLast), 10},
      {Span(kArabicFirst), Span(kArabicLast), 10},
      {Span(kEastAsianFirst), Span(kEastAsianLast), 10},
      {Span(kGermanicFirst), Span(kGermanicLast), 12},
      {Span(kFrenchFirst), Span(kFrenchLast), 8},
      {Span(kItalianFirst), Span(kItalianLast), 7},
      {Span(kNordicFirst), Span(kNordicLast), 5},
      {Span(kSouthAsianFirst), Span(kSouthAsianLast), 6},
  }};
  return kTables;
}

constexpr bool AllNonEmpty(Names names) {
  for (std::string_view n : names) {
    if (n.empty()) return false;
  }
  return true;
}
// An array declared larger than its initialiser list pads with empty names.
static_assert(AllNonEmpty(Span(kAngloFirst)) && AllNonEmpty(Span(kAngloLast)));
static_assert(AllNonEmpty(Span(kHispanicFirst)) && AllNonEmpty(Span(kHispanicLast)));
static_assert(AllNonEmpty(Span(kSlavicFirst)) && AllNonEmpty(Span(kSlavicLast)));
static_assert(AllNonEmpty(Span(kArabicFirst)) && AllNonEmpty(Span(kArabicLast)));
static_assert(AllNonEmpty(Span(kEastAsianFirst)) && AllNonEmpty(Span(kEastAsianLast)));
static_assert(AllNonEmpty(Span(kGermanicFirst)) && AllNonEmpty(Span(kGermanicLast)));
static_assert(AllNonEmpty(Span(kFrenchFirst)) && AllNonEmpty(Span(kFrenchLast)));
static_assert(AllNonEmpty(Span(kItalianFirst)) && AllNonEmpty(Span(kItalianLast)));
static_assert(AllNonEmpty(Span(kNordicFirst)) && AllNonEmpty(Span(kNordicLast)));
static_assert(AllNonEmpty(Span(kSouthAsianFirst)) && AllNonEmpty(Span(kSouthAsianLast)));

std::string_view Pick(Names names, Random& rnd) { return names[rnd.Uniform(names.size())]; }

// ---- company names ------------------------------------------------------------

constexpr std::array<std::string_view, 24> kRegions = {
    "Nordic",   "Atlantic", "Pacific",  "Baltic",   "Alpine",   "Northern", "Southern",
    "Eastern",  "Western",  "Central",  "Iberian",  "Danube",   "Rhine",    "Adriatic",
    "Caspian",  "Andean",   "Sahara",   "Highland", "Coastal",  "Metropolitan",
    "Continental", "Royal", "United",   "Global"};
constexpr std::array<std::string_view, 30> kIndustries = {
    "Timber",       "Shipping",    "Logistics",  "Trading",     "Textiles",   "Mining",
    "Petroleum",    "Steel",       "Grain",      "Pharma",      "Software",   "Telecom",
    "Construction", "Realty",      "Insurance",  "Capital",     "Investments", "Securities",
    "Freight",      "Agro",        "Energy",     "Motors",      "Chemicals",  "Foods",
    "Fisheries",    "Aviation",    "Consulting", "Electronics", "Jewellers",  "Leasing"};
constexpr std::array<std::string_view, 8> kGroupWords = {
    "Holdings", "Group", "Partners", "Enterprises", "Industries", "Ventures", "Brothers",
    "& Sons"};
constexpr std::array<std::string_view, 24> kLegalForms = {
    "Ltd",   "PLC",  "LLC",  "Inc.",  "GmbH",    "AG",    "B.V.",  "N.V.",
    "S.A.",  "S.L.", "SARL", "S.p.A.", "S.r.l.", "AB",    "AS",    "Oy",
    "Sp. z o.o.", "OOO", "Pvt Ltd", "Co., Ltd.", "K.K.", "FZE",  "LLP",  "Corp."};
constexpr std::array<std::string_view, 6> kFinanceHeads = {"Banco", "Banque", "Bank",
                                                           "Caisse", "Credit", "Finanz"};

static_assert(AllNonEmpty(Span(kRegions)) && AllNonEmpty(Span(kIndustries)) &&
              AllNonEmpty(Span(kGroupWords)) && AllNonEmpty(Span(kLegalForms)) &&
              AllNonEmpty(Span(kFinanceHeads)));

std::string AnySurname(Random& rnd) {
  const CultureTables& t = Tables()[rnd.Uniform(kCultureCount)];
  return std::string(Pick(t.last, rnd));
}

std::string Acronym(Random& rnd) {
  std::string s;
  const size_t n = 2 + rnd.Uniform(3);
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('A' + rnd.Uniform(26)));
  return s;
}

}  // namespace

std::string_view CultureName(Culture c) {
  static constexpr std::array<std::string_view, kCultureCount> kNames = {
      "anglo",    "hispanic", "slavic",  "arabic", "east_asian",
      "germanic", "french",   "italian", "nordic", "south_asian"};
  return kNames[static_cast<size_t>(c)];
}

std::string Person::FullName() const {
  std::string s = first;
  if (!middle.empty()) s.append(" ").append(middle);
  s.append(" ").append(last);
  return s;
}

Person NameGenerator::NextPerson() {
  uint32_t total = 0;
  for (const CultureTables& t : Tables()) total += t.weight;
  uint64_t r = random_.Uniform(total);
  size_t c = 0;
  while (r >= Tables()[c].weight) r -= Tables()[c++].weight;
  const CultureTables& t = Tables()[c];
  Person p;
  p.culture = static_cast<Culture>(c);
  p.first = Pick(t.first, random_);
  if (random_.OneIn(5)) {
    // A different given name of the same culture as the middle name.
    for (int tries = 0; tries < 4 && (p.middle.empty() || p.middle == p.first); ++tries) {
      p.middle = Pick(t.first, random_);
    }
    if (p.middle == p.first) p.middle.clear();
  }
  // One in ten marries or inherits a surname from another culture.
  p.last = random_.OneIn(10) ? AnySurname(random_) : std::string(Pick(t.last, random_));
  return p;
}

std::string NameGenerator::CompanyName() {
  Random& r = random_;
  const std::string_view legal = Pick(Span(kLegalForms), r);
  std::string s;
  switch (r.Uniform(6)) {
    case 0:  // "Okafor & Schmidt Holdings Ltd"
      s = AnySurname(r) + " & " + AnySurname(r) + " " + std::string(Pick(Span(kGroupWords), r));
      break;
    case 1:  // "Nordic Timber GmbH"
      s = std::string(Pick(Span(kRegions), r)) + " " + std::string(Pick(Span(kIndustries), r));
      break;
    case 2:  // "Kowalski Logistics"
      s = AnySurname(r) + " " + std::string(Pick(Span(kIndustries), r));
      break;
    case 3:  // "Haddad Brothers", "Rossi & Sons"
      s = AnySurname(r) + " " + std::string(Pick(Span(kGroupWords), r));
      break;
    case 4:  // "Banco Núñez", "Baltic Bank"
      s = r.OneIn(2) ? std::string(Pick(Span(kFinanceHeads), r)) + " " + AnySurname(r)
                     : std::string(Pick(Span(kRegions), r)) + " " +
                           std::string(Pick(Span(kFinanceHeads), r));
      break;
    default:  // "KLM Freight"
      s = Acronym(r) + " " + std::string(Pick(Span(kIndustries), r));
      break;
  }
  return s + " " + std::string(legal);
}

// ---- variants -----------------------------------------------------------------

namespace {

// The code points of `s` as byte spans (a malformed lead byte is one unit).
std::vector<std::string_view> CodePoints(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
    n = std::min(n, s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

bool IsLetter(std::string_view cp) {
  const auto b = static_cast<unsigned char>(cp[0]);
  if (b >= 0x80) return true;  // accented Latin, Cyrillic, CJK, ...
  return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
}

bool IsUpperAscii(char c) { return c >= 'A' && c <= 'Z'; }
char LowerAscii(char c) { return IsUpperAscii(c) ? static_cast<char>(c - 'A' + 'a') : c; }
char UpperAscii(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::string Join(const std::vector<std::string_view>& cps) {
  std::string s;
  for (std::string_view cp : cps) s.append(cp);
  return s;
}

// Per code point: whether it is a letter, and whether it starts its word and
// the number of letters in its word.
struct Letters {
  std::vector<std::string_view> cps;
  std::vector<bool> letter;
  std::vector<bool> word_start;
  std::vector<size_t> word_len;
};

Letters Analyse(std::string_view name) {
  Letters l;
  l.cps = CodePoints(name);
  const size_t n = l.cps.size();
  l.letter.resize(n);
  l.word_start.resize(n);
  l.word_len.resize(n);
  for (size_t i = 0; i < n; ++i) l.letter[i] = IsLetter(l.cps[i]);
  for (size_t i = 0; i < n;) {
    if (!l.letter[i]) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && l.letter[j]) ++j;
    l.word_start[i] = true;
    for (size_t k = i; k < j; ++k) l.word_len[k] = j - i;
    i = j;
  }
  return l;
}

template <typename T>
std::optional<T> PickOne(const std::vector<T>& v, Random& rnd) {
  if (v.empty()) return std::nullopt;
  return v[rnd.Uniform(v.size())];
}

std::optional<std::string> DropLetter(std::string_view name, Random& rnd) {
  Letters l = Analyse(name);
  std::vector<size_t> at;
  for (size_t i = 0; i < l.cps.size(); ++i) {
    if (l.letter[i] && l.word_len[i] >= 3) at.push_back(i);
  }
  const std::optional<size_t> i = PickOne(at, rnd);
  if (!i) return std::nullopt;
  l.cps.erase(l.cps.begin() + static_cast<long>(*i));
  return Join(l.cps);
}

std::optional<std::string> DoubleLetter(std::string_view name, Random& rnd) {
  Letters l = Analyse(name);
  std::vector<size_t> at;
  for (size_t i = 0; i < l.cps.size(); ++i) {
    if (l.letter[i]) at.push_back(i);
  }
  const std::optional<size_t> i = PickOne(at, rnd);
  if (!i) return std::nullopt;
  // The doubled letter is lower case even after a capital ("Smith" → "SSmith"
  // would look machine-made; "Smmith" is the usual slip).
  std::string copy(l.cps[*i]);
  if (copy.size() == 1) copy[0] = LowerAscii(copy[0]);
  std::vector<std::string> owned(l.cps.begin(), l.cps.end());
  owned.insert(owned.begin() + static_cast<long>(*i) + 1, copy);
  std::string s;
  for (const std::string& cp : owned) s.append(cp);
  return s;
}

std::optional<std::string> TransposeLetters(std::string_view name, Random& rnd) {
  Letters l = Analyse(name);
  std::vector<size_t> at;
  for (size_t i = 0; i + 1 < l.cps.size(); ++i) {
    // Not the capital of a word: "Smith" → "Smtih", never "mSith".
    if (l.letter[i] && l.letter[i + 1] && !l.word_start[i] && l.cps[i] != l.cps[i + 1]) {
      at.push_back(i);
    }
  }
  const std::optional<size_t> i = PickOne(at, rnd);
  if (!i) return std::nullopt;
  std::swap(l.cps[*i], l.cps[*i + 1]);
  return Join(l.cps);
}

std::string_view QwertyNeighbours(char lower) {
  static constexpr std::array<std::string_view, 26> kKeys = {
      "qwsz", "vghn", "xdfv", "serfcx", "wsdr", "drtgvc", "ftyhbv", "gyujnb", "ujko",
      "huikmn", "jiolm", "kop", "njk", "bhjm", "iklp", "ol", "wa", "edft", "awedxz",
      "rfgy", "yhji", "cfgb", "qase", "zsdc", "tghu", "asx"};
  return kKeys[static_cast<size_t>(lower - 'a')];
}

std::optional<std::string> NearbyKey(std::string_view name, Random& rnd) {
  std::string s(name);
  std::vector<size_t> at;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = LowerAscii(s[i]);
    if (c >= 'a' && c <= 'z') at.push_back(i);
  }
  const std::optional<size_t> i = PickOne(at, rnd);
  if (!i) return std::nullopt;
  const std::string_view keys = QwertyNeighbours(LowerAscii(s[*i]));
  const char k = keys[rnd.Uniform(keys.size())];
  s[*i] = IsUpperAscii(s[*i]) ? UpperAscii(k) : k;
  return s;
}

// Spellings that sound alike, replaced in either direction.
constexpr std::array<std::pair<std::string_view, std::string_view>, 22> kPhonetic = {{
    {"ph", "f"},  {"y", "i"},    {"ck", "k"},  {"ou", "u"},  {"ei", "ey"},  {"sch", "sh"},
    {"ie", "y"},  {"th", "t"},   {"ks", "x"},  {"c", "k"},   {"ee", "i"},   {"oo", "u"},
    {"ai", "ay"}, {"v", "w"},    {"ov", "off"}, {"sz", "sh"}, {"cz", "ch"}, {"j", "y"},
    {"kh", "h"},  {"ou", "oo"},  {"dt", "t"},  {"mm", "m"}}};

struct Edit {
  size_t pos;
  size_t len;
  std::string_view with;
};

std::optional<std::string> Phonetic(std::string_view name, Random& rnd) {
  std::string lower(name);
  for (char& c : lower) c = LowerAscii(c);
  std::vector<Edit> edits;
  for (const auto& [a, b] : kPhonetic) {
    for (const auto& [from, to] : {std::pair{a, b}, std::pair{b, a}}) {
      for (size_t p = lower.find(from); p != std::string::npos; p = lower.find(from, p + 1)) {
        edits.push_back({p, from.size(), to});
      }
    }
  }
  const std::optional<Edit> e = PickOne(edits, rnd);
  if (!e) return std::nullopt;
  std::string with(e->with);
  if (IsUpperAscii(name[e->pos])) with[0] = UpperAscii(with[0]);
  std::string s(name);
  s.replace(e->pos, e->len, with);
  if (s == name) return std::nullopt;
  return s;
}

std::vector<std::string_view> SplitSpaces(std::string_view name) {
  std::vector<std::string_view> tokens;
  for (size_t i = 0; i < name.size();) {
    const size_t j = std::min(name.find(' ', i), name.size());
    if (j > i) tokens.push_back(name.substr(i, j - i));
    i = j + 1;
  }
  return tokens;
}

std::string JoinSpaces(const std::vector<std::string_view>& tokens) {
  std::string s;
  for (std::string_view t : tokens) {
    if (!s.empty()) s.push_back(' ');
    s.append(t);
  }
  return s;
}

std::optional<std::string> MiddleName(std::string_view name, Random& rnd) {
  std::vector<std::string_view> t = SplitSpaces(name);
  if (t.size() < 3) return std::nullopt;
  if (rnd.OneIn(2)) {
    t.erase(t.begin() + 1 + static_cast<long>(rnd.Uniform(t.size() - 2)));
  } else {
    std::swap(t[0], t[1]);
  }
  return JoinSpaces(t);
}

// Given names and their usual short forms and transliterations; any member of
// a group may stand for any other.
const std::vector<std::vector<std::string_view>>& NicknameGroups() {
  static const std::vector<std::vector<std::string_view>> kGroups = {
      {"William", "Bill", "Will", "Billy", "Liam"},
      {"Robert", "Bob", "Rob", "Bobby"},
      {"Richard", "Rick", "Dick", "Richie"},
      {"James", "Jim", "Jimmy", "Jamie"},
      {"John", "Jon", "Johnny", "Jack"},
      {"Jonathan", "Jon", "Jonny"},
      {"Michael", "Mike", "Mick"},
      {"David", "Dave"},
      {"Thomas", "Tom", "Tommy"},
      {"Charles", "Charlie", "Chuck"},
      {"Edward", "Ed", "Ted", "Eddie"},
      {"Matthew", "Matt"},
      {"Christopher", "Chris"},
      {"Patrick", "Pat", "Paddy"},
      {"Elizabeth", "Liz", "Beth", "Betty", "Eliza"},
      {"Margaret", "Maggie", "Peggy", "Meg"},
      {"Katherine", "Kate", "Katie", "Kathy", "Catherine"},
      {"Jennifer", "Jen", "Jenny"},
      {"Susan", "Sue", "Susie"},
      {"Rebecca", "Becky"},
      {"Mary", "Molly"},
      {"Sarah", "Sara"},
      {"Aleksandr", "Alexander", "Sasha", "Alex"},
      {"Dmitri", "Dmitry", "Dima"},
      {"Vladimir", "Vova", "Volodya"},
      {"Nikolai", "Nikolay", "Kolya"},
      {"Mikhail", "Misha"},
      {"Yekaterina", "Ekaterina", "Katya"},
      {"Tatiana", "Tatyana", "Tanya"},
      {"Francisco", "Paco", "Pancho"},
      {"José", "Pepe"},
      {"Guadalupe", "Lupe"},
      {"Alejandro", "Alex"},
      {"Jesús", "Chuy"},
      {"Mohammed", "Mohamed", "Muhammad", "Mohammad"},
      {"Youssef", "Yusuf", "Yousef"},
      {"Hussein", "Husain", "Hussain"},
      {"Giuseppe", "Beppe", "Peppe"},
      {"Francesco", "Franco"},
      {"Alessandro", "Sandro"},
      {"Johannes", "Hans", "Johann", "Jan"},
      {"Pieter", "Piet"},
      {"Nicolas", "Nico"},
      {"Sebastian", "Basti"},
      {"Lakshmi", "Laxmi"},
  };
  return kGroups;
}

std::optional<std::string> Nickname(std::string_view name, Random& rnd) {
  std::vector<std::string_view> t = SplitSpaces(name);
  std::vector<std::pair<size_t, std::string_view>> options;
  for (size_t i = 0; i < t.size(); ++i) {
    for (const std::vector<std::string_view>& group : NicknameGroups()) {
      if (std::find(group.begin(), group.end(), t[i]) == group.end()) continue;
      for (std::string_view alt : group) {
        if (alt != t[i]) options.emplace_back(i, alt);
      }
    }
  }
  const std::optional<std::pair<size_t, std::string_view>> o = PickOne(options, rnd);
  if (!o) return std::nullopt;
  t[o->first] = o->second;
  return JoinSpaces(t);
}

struct Accent {
  std::string_view accented;
  std::string_view plain;
  std::string_view german;  // the umlaut transliteration, or empty
};

constexpr std::array<Accent, 58> kAccents = {{
    {"á", "a", ""},  {"à", "a", ""},  {"â", "a", ""},  {"ä", "a", "ae"}, {"ã", "a", ""},
    {"å", "a", "aa"}, {"é", "e", ""}, {"è", "e", ""},  {"ê", "e", ""},   {"ë", "e", ""},
    {"í", "i", ""},  {"ì", "i", ""},  {"î", "i", ""},  {"ï", "i", ""},   {"ó", "o", ""},
    {"ò", "o", ""},  {"ô", "o", ""},  {"ö", "o", "oe"}, {"õ", "o", ""},  {"ø", "o", "oe"},
    {"ú", "u", ""},  {"ù", "u", ""},  {"û", "u", ""},  {"ü", "u", "ue"}, {"ñ", "n", ""},
    {"ç", "c", ""},  {"ß", "ss", ""}, {"ł", "l", ""},  {"ś", "s", ""},   {"š", "s", ""},
    {"ż", "z", ""},  {"ź", "z", ""},  {"ž", "z", ""},  {"ć", "c", ""},   {"č", "c", ""},
    {"ř", "r", ""},  {"ě", "e", ""},  {"ń", "n", ""},  {"ő", "o", ""},   {"ű", "u", ""},
    {"Á", "A", ""},  {"É", "E", ""},  {"Í", "I", ""},  {"Ó", "O", ""},   {"Ú", "U", ""},
    {"Ä", "A", "Ae"}, {"Ö", "O", "Oe"}, {"Ü", "U", "Ue"}, {"Å", "A", "Aa"}, {"Ø", "O", "Oe"},
    {"Ł", "L", ""},  {"Ś", "S", ""},  {"Š", "S", ""},  {"Ž", "Z", ""},   {"Č", "C", ""},
    {"Ç", "C", ""},  {"Ñ", "N", ""},  {"Ż", "Z", ""},
}};

// Plain letters (or digraphs) and the accented letter a writer may add.
constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kAddAccent = {{
    {"ue", "ü"}, {"oe", "ö"}, {"ae", "ä"}, {"e", "é"}, {"a", "á"}, {"o", "ó"},
    {"u", "ü"},  {"n", "ñ"},  {"i", "í"},  {"c", "ç"}, {"s", "š"}}};

const Accent* FindAccent(std::string_view cp) {
  for (const Accent& a : kAccents) {
    if (a.accented == cp) return &a;
  }
  return nullptr;
}

std::optional<std::string> AddAccent(std::string_view name, Random& rnd) {
  std::vector<Edit> edits;
  for (const auto& [plain, accented] : kAddAccent) {
    for (size_t p = name.find(plain); p != std::string_view::npos; p = name.find(plain, p + 1)) {
      edits.push_back({p, plain.size(), accented});
    }
  }
  const std::optional<Edit> e = PickOne(edits, rnd);
  if (!e) return std::nullopt;
  std::string s(name);
  s.replace(e->pos, e->len, e->with);
  return s;
}

std::optional<std::string> AccentVariant(std::string_view name, Random& rnd) {
  std::vector<std::string_view> cps = CodePoints(name);
  std::vector<size_t> accented;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (FindAccent(cps[i]) != nullptr) accented.push_back(i);
  }
  if (accented.empty()) return AddAccent(name, rnd);
  // Either every accent goes (a system that only takes ASCII) or one does.
  const bool all = rnd.OneIn(2);
  const bool german = rnd.OneIn(2);
  const size_t only = accented[rnd.Uniform(accented.size())];
  std::string s;
  for (size_t i = 0; i < cps.size(); ++i) {
    const Accent* a = FindAccent(cps[i]);
    if (a == nullptr || (!all && i != only)) {
      s.append(cps[i]);
    } else {
      s.append(german && !a->german.empty() ? a->german : a->plain);
    }
  }
  return s;
}

}  // namespace

std::string_view VariantName(Variant v) {
  static constexpr std::array<std::string_view, kVariantCount> kNames = {
      "drop_letter", "double_letter", "transpose_letters", "nearby_key",
      "phonetic",    "middle_name",   "nickname",          "accent"};
  return kNames[static_cast<size_t>(v)];
}

std::optional<std::string> ApplyVariant(std::string_view name, Variant v, Random& rnd) {
  std::optional<std::string> out;
  switch (v) {
    case Variant::kDropLetter: out = DropLetter(name, rnd); break;
    case Variant::kDoubleLetter: out = DoubleLetter(name, rnd); break;
    case Variant::kTransposeLetters: out = TransposeLetters(name, rnd); break;
    case Variant::kNearbyKey: out = NearbyKey(name, rnd); break;
    case Variant::kPhonetic: out = Phonetic(name, rnd); break;
    case Variant::kMiddleName: out = MiddleName(name, rnd); break;
    case Variant::kNickname: out = Nickname(name, rnd); break;
    case Variant::kAccent: out = AccentVariant(name, rnd); break;
  }
  if (out && *out == name) return std::nullopt;
  return out;
}

std::string Misspell(std::string_view name, Random& rnd, Variant* applied) {
  // Relative frequencies: keyboard slips first, then spelling and accents.
  static constexpr std::array<uint32_t, kVariantCount> kWeights = {3, 2, 3, 3, 3, 1, 1, 2};
  std::array<uint32_t, kVariantCount> w = kWeights;
  for (size_t round = 0; round < kVariantCount; ++round) {
    uint32_t total = 0;
    for (uint32_t x : w) total += x;
    if (total == 0) break;
    uint64_t r = rnd.Uniform(total);
    size_t v = 0;
    while (r >= w[v]) r -= w[v++];
    std::optional<std::string> out = ApplyVariant(name, static_cast<Variant>(v), rnd);
    if (out) {
      if (applied != nullptr) *applied = static_cast<Variant>(v);
      return *std::move(out);
    }
    w[v] = 0;  // does not apply to this name: draw among the others
  }
  return std::string(name);
}

NameMatchingSet MakeNameMatchingSet(uint64_t seed, size_t persons, size_t companies,
                                    size_t queries) {
  NameGenerator g(seed);
  NameMatchingSet set;
  std::unordered_set<std::string> seen;
  auto fill = [&](size_t want, bool person) {
    // Bounded: the tables hold far more than any test asks for, but a
    // request beyond them must end.
    for (size_t tries = 0, got = 0; got < want && tries < want * 20; ++tries) {
      std::string name = person ? g.PersonName() : g.CompanyName();
      if (seen.insert(name).second) {
        set.names.push_back(std::move(name));
        ++got;
      }
    }
  };
  fill(persons, true);
  fill(companies, false);
  if (set.names.empty()) return set;
  Random& rnd = g.random();
  for (size_t tries = 0; set.queries.size() < queries && tries < queries * 20; ++tries) {
    NameQuery q;
    q.target = rnd.Uniform(set.names.size());
    q.variants = rnd.Uniform(10) < 7 ? 1 : 2;
    q.text = set.names[q.target];
    for (int i = 0; i < q.variants; ++i) q.text = Misspell(q.text, rnd);
    if (seen.count(q.text) == 0) set.queries.push_back(std::move(q));
  }
  return set;
}

}  // namespace tandem::gen
