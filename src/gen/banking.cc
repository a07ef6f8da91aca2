// The banking generator of banking.h. Create builds the "world" (persons,
// companies, accounts, the sanctions list and the slots of the planted
// transactions) from one Random; Generate streams it, drawing the ordinary
// transactions and communications from a second Random seeded the same way
// on every call, so every call yields the same bytes.
#include "gen/banking.h"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include "event/json_text.h"
#include "gen/names.h"
#include "tandem/env.h"

namespace tandem::gen {
namespace {

// ---- tables -------------------------------------------------------------------

struct Country {
  std::string_view code;
  std::string_view currency;
  int64_t fx_num, fx_den;  // currency units per EUR, as a fraction
  int iban_length;         // the whole IBAN: country code, check digits, BBAN
  std::string_view registry_prefix;
  std::array<std::string_view, 4> cities;
};

// The order is part of the output.
constexpr std::array<Country, 36> kCountries = {{
    {"GB", "GBP", 85, 100, 22, "", {"London", "Manchester", "Birmingham", "Edinburgh"}},
    {"US", "USD", 11, 10, 24, "EIN ", {"New York", "Chicago", "Houston", "Miami"}},
    {"IE", "EUR", 1, 1, 22, "CRO ", {"Dublin", "Cork", "Galway", "Limerick"}},
    {"AU", "AUD", 165, 100, 22, "ACN ", {"Sydney", "Melbourne", "Brisbane", "Perth"}},
    {"ES", "EUR", 1, 1, 24, "CIF ", {"Madrid", "Barcelona", "Valencia", "Sevilla"}},
    {"MX", "MXN", 19, 1, 22, "RFC ", {"Ciudad de México", "Guadalajara", "Monterrey", "Puebla"}},
    {"AR", "ARS", 900, 1, 22, "CUIT ", {"Buenos Aires", "Córdoba", "Rosario", "Mendoza"}},
    {"PL", "PLN", 43, 10, 28, "KRS ", {"Warszawa", "Kraków", "Gdańsk", "Wrocław"}},
    {"CZ", "CZK", 25, 1, 24, "IČO ", {"Praha", "Brno", "Ostrava", "Plzeň"}},
    {"RS", "RSD", 117, 1, 22, "MB ", {"Beograd", "Novi Sad", "Niš", "Kragujevac"}},
    {"RU", "RUB", 100, 1, 24, "OGRN ", {"Moscow", "Saint Petersburg", "Kazan", "Novosibirsk"}},
    {"AE", "AED", 4, 1, 23, "FZE-", {"Dubai", "Abu Dhabi", "Sharjah", "Ajman"}},
    {"SA", "SAR", 4, 1, 24, "CR ", {"Riyadh", "Jeddah", "Dammam", "Khobar"}},
    {"EG", "EGP", 50, 1, 29, "CR ", {"Cairo", "Alexandria", "Giza", "Luxor"}},
    {"JO", "JOD", 78, 100, 30, "NR ", {"Amman", "Zarqa", "Irbid", "Aqaba"}},
    {"CN", "CNY", 78, 10, 24, "USCC ", {"Shanghai", "Beijing", "Shenzhen", "Guangzhou"}},
    {"JP", "JPY", 160, 1, 24, "", {"Tokyo", "Osaka", "Yokohama", "Nagoya"}},
    {"KR", "KRW", 1450, 1, 24, "", {"Seoul", "Busan", "Incheon", "Daegu"}},
    {"VN", "VND", 26000, 1, 24, "", {"Hanoi", "Ho Chi Minh City", "Da Nang", "Hai Phong"}},
    {"DE", "EUR", 1, 1, 22, "HRB ", {"Berlin", "Hamburg", "München", "Frankfurt"}},
    {"NL", "EUR", 1, 1, 18, "KvK ", {"Amsterdam", "Rotterdam", "Utrecht", "Den Haag"}},
    {"AT", "EUR", 1, 1, 20, "FN ", {"Wien", "Graz", "Linz", "Salzburg"}},
    {"CH", "CHF", 95, 100, 21, "CHE-", {"Zürich", "Genève", "Basel", "Bern"}},
    {"FR", "EUR", 1, 1, 27, "RCS ", {"Paris", "Lyon", "Marseille", "Toulouse"}},
    {"BE", "EUR", 1, 1, 16, "BCE ", {"Bruxelles", "Antwerpen", "Gent", "Liège"}},
    {"IT", "EUR", 1, 1, 27, "REA ", {"Milano", "Roma", "Napoli", "Torino"}},
    {"SE", "SEK", 114, 10, 24, "", {"Stockholm", "Göteborg", "Malmö", "Uppsala"}},
    {"NO", "NOK", 115, 10, 15, "", {"Oslo", "Bergen", "Trondheim", "Stavanger"}},
    {"DK", "DKK", 746, 100, 18, "CVR ", {"København", "Aarhus", "Odense", "Aalborg"}},
    {"FI", "EUR", 1, 1, 18, "", {"Helsinki", "Espoo", "Tampere", "Turku"}},
    {"IN", "INR", 90, 1, 24, "CIN ", {"Mumbai", "Delhi", "Bengaluru", "Chennai"}},
    {"PK", "PKR", 300, 1, 24, "", {"Karachi", "Lahore", "Islamabad", "Faisalabad"}},
    {"BD", "BDT", 120, 1, 24, "", {"Dhaka", "Chattogram", "Khulna", "Sylhet"}},
    {"VG", "USD", 11, 10, 24, "BVI-", {"Road Town", "Road Town", "Tortola", "Virgin Gorda"}},
    {"CY", "EUR", 1, 1, 28, "HE ", {"Limassol", "Nicosia", "Larnaca", "Paphos"}},
    {"SG", "SGD", 145, 100, 24, "UEN ", {"Singapore", "Singapore", "Singapore", "Jurong"}},
}};
constexpr std::array<size_t, 4> kOffshore = {11, 33, 34, 35};  // AE, VG, CY, SG

// Countries of each Culture (names.h order), as indexes into kCountries.
constexpr std::array<std::array<int, 4>, kCultureCount> kCultureCountries = {{
    {0, 1, 2, 3},      // anglo
    {4, 5, 6, 4},      // hispanic
    {7, 8, 9, 10},     // slavic
    {11, 12, 13, 14},  // arabic
    {15, 16, 17, 18},  // east asian
    {19, 20, 21, 22},  // germanic
    {23, 24, 22, 23},  // french
    {25, 25, 22, 25},  // italian
    {26, 27, 28, 29},  // nordic
    {30, 31, 32, 30},  // south asian
}};

constexpr std::array<std::string_view, 21> kLegalForms = {
    " Sp. z o.o.", " Co., Ltd.", " Pvt Ltd", " S.p.A.", " S.r.l.", " GmbH", " Corp.",
    " Inc.",       " B.V.",      " N.V.",    " S.A.",   " S.L.",   " SARL", " Ltd",
    " PLC",        " LLC",       " LLP",     " OOO",    " K.K.",   " FZE",  " AG"};
constexpr std::array<std::string_view, 12> kIndustries = {
    "logistics", "trading",  "construction", "software", "real estate", "consulting",
    "retail",    "shipping", "energy",       "textiles", "agriculture", "financial services"};
constexpr std::array<std::string_view, 12> kMemos = {
    "Invoice",      "Rent",           "Groceries",       "Utilities",
    "Transfer",     "Loan repayment", "Card settlement", "Family support",
    "Subscription", "Refund",         "School fees",     "Insurance"};
constexpr std::array<std::string_view, 8> kSubjects = {
    "Meeting next week", "Quarterly figures", "Invoice attached", "Call me back",
    "Contract draft",    "Travel plans",      "Re: payment",      "Documents for the bank"};
constexpr std::array<std::string_view, 5> kCommChannels = {"email", "phone", "messenger", "sms",
                                                           "meeting"};
constexpr std::array<std::string_view, 3> kLists = {"OFAC-SDN", "EU-CONSOLIDATED", "UN"};
constexpr std::array<std::array<std::string_view, 4>, 3> kPrograms = {{
    {"SDGT", "RUSSIA-EO14024", "IRAN", "CYBER2"},
    {"EU-RUS-833/2014", "EU-BLR-765/2006", "EU-SYR-36/2012", "EU-LBY-2016/44"},
    {"UN-1267", "UN-1718", "UN-1970", "UN-2140"},
}};
constexpr std::array<std::string_view, 12> kMonths = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

// 10^(i/20) * 10^6, i = 0..19: amounts in integer arithmetic, no libm.
constexpr std::array<int64_t, 20> kPow20 = {
    1000000, 1122018, 1258925, 1412538, 1584893, 1778279, 1995262, 2238721, 2511886, 2818383,
    3162278, 3548134, 3981072, 4466836, 5011872, 5623413, 6309573, 7079458, 7943282, 8912509};

template <typename T, size_t N>
const T& Pick(const std::array<T, N>& a, Random& r) {
  return a[r.Uniform(N)];
}

uint64_t Mix64(uint64_t x) {  // SplitMix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ---- dates and JSON -------------------------------------------------------------

constexpr int64_t kDayUs = int64_t{86'400} * 1'000'000;

// Days since 1970-01-01 (H. Hinnant's civil-date algorithms).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2);
}

std::string FormatDate(int64_t days) {
  int64_t y, m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(y), static_cast<int>(m),
                static_cast<int>(d));
  return buf;
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string FormatTimestamp(int64_t us) {
  const int64_t days = FloorDiv(us, kDayUs);
  const int64_t in_day = us - days * kDayUs;
  const int64_t ms = in_day / 1000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d.%03dZ", FormatDate(days).c_str(),
                static_cast<int>(ms / 3'600'000), static_cast<int>(ms / 60'000 % 60),
                static_cast<int>(ms / 1000 % 60), static_cast<int>(ms % 1000));
  return buf;
}

using event_internal::AppendJsonString;

// Builds one minified JSON object, members in call order.
class JsonObject {
 public:
  JsonObject& Str(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(value, &s_);
    return *this;
  }
  JsonObject& Raw(std::string_view key, std::string_view json) {
    Key(key);
    s_.append(json);
    return *this;
  }
  JsonObject& Int(std::string_view key, uint64_t v) { return Raw(key, std::to_string(v)); }
  JsonObject& StrArray(std::string_view key, const std::vector<std::string>& values) {
    Key(key);
    s_.push_back('[');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) s_.push_back(',');
      AppendJsonString(values[i], &s_);
    }
    s_.push_back(']');
    return *this;
  }
  std::string Finish() {
    s_.push_back('}');
    return std::move(s_);
  }

 private:
  void Key(std::string_view key) {
    if (s_.size() > 1) s_.push_back(',');
    AppendJsonString(key, &s_);
    s_.push_back(':');
  }
  std::string s_ = "{";
};

std::string FormatCents(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%02" PRId64, cents / 100, cents % 100);
  return buf;
}

// A log-normal-ish amount in EUR cents: log10 of the amount is mu20/20 plus
// an Irwin-Hall (sum of four uniforms) approximation of a normal deviate
// with standard deviation sigma20/20 decades; all integer arithmetic.
int64_t LogNormalCents(Random& r, int64_t mu20, int64_t sigma20) {
  int64_t c = -1998;  // four Uniform(1000): mean 1998, standard deviation ~577
  for (int i = 0; i < 4; ++i) c += static_cast<int64_t>(r.Uniform(1000));
  const int64_t l20 = std::max<int64_t>(0, FloorDiv(mu20 * 577 + c * sigma20, 577));
  int64_t cents = 100 * kPow20[l20 % 20];
  for (int64_t i = 0; i < l20 / 20; ++i) cents *= 10;
  // Spread evenly inside the 1/20-decade step (10^(1/20) = 1.122).
  cents = cents / 1'000'000 * (1000 + static_cast<int64_t>(r.Uniform(122))) / 1000;
  return std::max<int64_t>(cents, 100);
}

int64_t ToCurrency(int64_t eur_cents, const Country& c, bool round_units) {
  int64_t cents = eur_cents * c.fx_num / c.fx_den;
  if (round_units || c.fx_num / c.fx_den >= 50) cents = std::max<int64_t>(100, cents / 100 * 100);
  return cents;
}

// ISO 13616 check digits of `cc` + `bban` (digits only).
std::string Iban(std::string_view cc, const std::string& bban) {
  uint64_t mod = 0;
  auto feed = [&mod](std::string_view digits) {
    for (char ch : digits) mod = (mod * 10 + static_cast<uint64_t>(ch - '0')) % 97;
  };
  feed(bban);
  for (char ch : cc) feed(std::to_string(ch - 'A' + 10));
  feed("00");
  const uint64_t check = 98 - mod;
  std::string out(cc);
  out.push_back(static_cast<char>('0' + check / 10));
  out.push_back(static_cast<char>('0' + check % 10));
  return out + bban;
}

// `width` decimal digits of a bijection of `index` (unique while index < 10^width).
std::string SerialDigits(uint64_t index, int width) {
  uint64_t mod = 1;
  for (int i = 0; i < width && i < 18; ++i) mod *= 10;
  const uint64_t v = (index % mod * 7919 + 104729) % mod;
  std::string s = std::to_string(v);
  return std::string(static_cast<size_t>(width) - std::min(s.size(), size_t(width)), '0') + s;
}

std::string StripLegalForm(const std::string& name) {
  for (std::string_view form : kLegalForms) {
    if (name.size() > form.size() && name.ends_with(form)) {
      return name.substr(0, name.size() - form.size());
    }
  }
  return name;
}

uint64_t Share(double share, uint64_t n) {
  return static_cast<uint64_t>(share * static_cast<double>(n) + 0.5);
}

// ---- the world -------------------------------------------------------------------

struct PersonRec {
  std::string id, name, first, last, dob, city, kyc, risk;
  std::vector<std::string> aliases;
  size_t nationality = 0, residence = 0;
  bool pep = false;
  int64_t employer = -1;
  bool officer = false, sanctioned = false, used = false;
  std::vector<uint32_t> accounts;
};

struct CompanyRec {
  std::string id, name, registration, industry, incorporated_on, city;
  std::vector<std::string> aliases;
  size_t country = 0;
  std::vector<uint32_t> directors, owners, signatories, employees, accounts;
  bool sanctioned = false, used = false;
};

struct AccountRec {
  std::string id, iban, currency, kind, opened_at;
  bool company = false;  // owner is companies[owner], else persons[owner]
  uint32_t owner = 0;
  size_t country = 0;
  bool late = false, used = false;
};

struct SanctionRec {
  SanctionedName name;
  std::vector<std::string> aliases;
  std::string program, listed_on, dob, country;
};

struct PlannedTx {
  int64_t from = -1;  // -1: drawn from the active accounts at emission time
  uint32_t to = 0;
  int64_t cents = 0;     // 0: an ordinary amount drawn at emission time
  std::string currency;  // "": the sending account's
  std::string memo;      // "": an ordinary memo
  bool early = false;
};

struct PlannedComm {
  uint32_t from = 0, to = 0;
  std::string subject;
};

// An update: persons, then companies, then accounts, by index.
struct UpdateTarget {
  int kind = 0;  // 0 person, 1 company, 2 account
  uint32_t index = 0;
};

}  // namespace

struct BankingWorld {
  BankingOptions options;
  std::vector<PersonRec> persons;
  std::vector<CompanyRec> companies;
  size_t officers = 0;  // persons[0, officers) are company officers
  std::vector<AccountRec> accounts;
  std::vector<SanctionRec> sanctions;
  std::vector<uint32_t> employed;  // persons with an employer
  std::vector<int32_t> tx_plan;    // transaction slot → planned index or -1
  std::vector<PlannedTx> planned_tx;
  std::vector<int32_t> comm_plan;
  std::vector<PlannedComm> planned_comms;
  std::vector<UpdateTarget> updates;
  uint64_t deletes = 0;
  std::vector<SanctionedName> names;
  PlantedPatterns planted;
  BankingCounts counts;
};

namespace {

using World = BankingWorld;

// Takes the first free slot at or after `start` (wrapping). The caller
// guarantees a free slot exists.
uint32_t TakeSlot(std::vector<int32_t>* plan, uint64_t start, int32_t value) {
  const size_t n = plan->size();
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (start + k) % n;
    if ((*plan)[i] < 0) {
      (*plan)[i] = value;
      return static_cast<uint32_t>(i);
    }
  }
  return 0;  // unreachable by the caller's guarantee
}

// Up to `k` distinct values of `candidates`, in random order (partial Fisher-Yates).
std::vector<uint32_t> Sample(std::vector<uint32_t> candidates, size_t k, Random& r) {
  k = std::min(k, candidates.size());
  for (size_t i = 0; i < k; ++i) {
    std::swap(candidates[i], candidates[i + r.Uniform(candidates.size() - i)]);
  }
  candidates.resize(k);
  return candidates;
}

std::string ListedVariant(const std::string& name, Random& r) {
  if (r.OneIn(2)) return name;
  if (!r.OneIn(3)) {  // a transliteration-like spelling first
    constexpr std::array<Variant, 3> kTranslit = {Variant::kAccent, Variant::kPhonetic,
                                                  Variant::kMiddleName};
    std::optional<std::string> v = ApplyVariant(name, Pick(kTranslit, r), r);
    if (v) return *v;
  }
  return Misspell(name, r);
}

void BuildPersons(World& w, NameGenerator& names, Random& r) {
  const BankingOptions& o = w.options;
  const int64_t dob_lo = DaysFromCivil(1945, 1, 1), dob_hi = DaysFromCivil(2005, 12, 31);
  w.persons.resize(o.persons);
  for (size_t i = 0; i < o.persons; ++i) {
    PersonRec& p = w.persons[i];
    const Person n = names.NextPerson();
    p.id = "p-" + std::to_string(i + 1);
    p.name = n.FullName();
    p.first = n.first;
    p.last = n.last;
    p.nationality = static_cast<size_t>(Pick(kCultureCountries[static_cast<size_t>(n.culture)], r));
    p.residence = r.Uniform(5) == 0 ? r.Uniform(kCountries.size()) : p.nationality;
    p.city = std::string(Pick(kCountries[p.residence].cities, r));
    p.dob = FormatDate(dob_lo + static_cast<int64_t>(r.Uniform(dob_hi - dob_lo + 1)));
    if (r.OneIn(4)) {
      if (auto v = ApplyVariant(p.name, Variant::kAccent, r)) p.aliases.push_back(*v);
    }
    if (r.OneIn(12)) p.aliases.push_back(n.first + " " + names.NextPerson().last);  // maiden name
    if (r.OneIn(20)) {
      if (auto v = ApplyVariant(p.name, Variant::kNickname, r)) p.aliases.push_back(*v);
    }
    const uint64_t k = r.Uniform(100);
    p.kyc = k < 88 ? "verified" : k < 96 ? "pending" : "review";
    const uint64_t risk = r.Uniform(100);
    p.risk = risk < 80 ? "low" : risk < 97 ? "medium" : "high";
    p.pep = r.OneIn(100);
  }
}

void BuildCompanies(World& w, NameGenerator& names, Random& r, size_t officers) {
  const BankingOptions& o = w.options;
  const int64_t inc_lo = DaysFromCivil(1970, 1, 1);
  const int64_t inc_hi = FloorDiv(o.start_us, kDayUs) - 30;
  w.companies.resize(o.companies);
  auto pick_officers = [&](size_t lo, size_t hi) {
    std::vector<uint32_t> out;
    if (officers == 0) return out;
    const size_t n = lo + r.Uniform(hi - lo + 1);
    for (size_t i = 0; i < n; ++i) {
      const auto p = static_cast<uint32_t>(r.Uniform(officers));
      if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    }
    return out;
  };
  for (size_t i = 0; i < o.companies; ++i) {
    CompanyRec& c = w.companies[i];
    c.id = "c-" + std::to_string(i + 1);
    c.name = names.CompanyName();
    c.country = r.OneIn(10) ? kOffshore[r.Uniform(kOffshore.size())] : r.Uniform(kCountries.size());
    c.city = std::string(Pick(kCountries[c.country].cities, r));
    c.registration = std::string(kCountries[c.country].registry_prefix) + SerialDigits(i, 8);
    c.industry = std::string(Pick(kIndustries, r));
    c.incorporated_on = FormatDate(
        inc_lo + static_cast<int64_t>(r.Uniform(static_cast<uint64_t>(inc_hi - inc_lo))));
    if (r.OneIn(3)) {
      const std::string trading = StripLegalForm(c.name);
      if (trading != c.name) c.aliases.push_back(trading);
    }
    if (r.OneIn(10)) c.aliases.push_back(names.CompanyName());  // former name
    c.directors = pick_officers(1, 2);
    c.owners = pick_officers(1, 2);
    c.signatories = pick_officers(0, 1);
  }
}

void BuildEmployment(World& w, Random& r) {
  if (w.companies.empty()) return;
  for (uint32_t i = 0; i < w.persons.size(); ++i) {
    PersonRec& p = w.persons[i];
    if (p.officer || r.NextDouble() >= w.options.employed_share) continue;
    p.employer = static_cast<int64_t>(r.Uniform(w.companies.size()));
    w.companies[static_cast<size_t>(p.employer)].employees.push_back(i);
    w.employed.push_back(i);
  }
}

void AddAccounts(World& w, Random& r, bool company, uint32_t owner) {
  const BankingOptions& o = w.options;
  // Skewed: about half get the minimum, the rest spread over the range.
  uint32_t n = o.min_accounts;
  if (o.max_accounts > o.min_accounts && r.OneIn(2)) {
    n += 1 + static_cast<uint32_t>(r.Uniform(o.max_accounts - o.min_accounts));
  }
  const size_t home = company ? w.companies[owner].country : w.persons[owner].residence;
  const int64_t start_day = FloorDiv(o.start_us, kDayUs);
  for (uint32_t k = 0; k < n; ++k) {
    AccountRec a;
    const auto index = static_cast<uint32_t>(w.accounts.size());
    a.id = "a-" + std::to_string(index + 1);
    a.company = company;
    a.owner = owner;
    a.country = home;
    const Country& c = kCountries[home];
    const uint64_t cur = r.Uniform(100);
    a.currency = cur < 85 ? std::string(c.currency) : cur < 93 ? "USD" : "EUR";
    std::string bban;
    for (int d = 0; d < 4; ++d) bban.push_back(static_cast<char>('0' + r.Uniform(10)));
    a.iban = Iban(c.code, bban + SerialDigits(index, c.iban_length - 8));
    a.kind = company ? "business" : k == 0 ? "checking" : r.OneIn(2) ? "savings" : "checking";
    a.opened_at = FormatDate(start_day - 1 - static_cast<int64_t>(r.Uniform(3650)));
    (company ? w.companies[owner].accounts : w.persons[owner].accounts).push_back(index);
    w.accounts.push_back(std::move(a));
  }
}

// Persons that no pattern uses yet, are no officers and are not sanctioned.
std::vector<uint32_t> OrdinaryPersons(const World& w) {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < w.persons.size(); ++i) {
    const PersonRec& p = w.persons[i];
    if (!p.officer && !p.sanctioned && !p.used) out.push_back(i);
  }
  return out;
}

std::vector<uint32_t> UniqueNamed(const World& w, bool company) {
  std::map<std::string_view, int> seen;
  const size_t n = company ? w.companies.size() : w.persons.size();
  auto name = [&](size_t i) -> std::string_view {
    return company ? w.companies[i].name : w.persons[i].name;
  };
  for (size_t i = 0; i < n; ++i) ++seen[name(i)];
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < n; ++i) {
    if (seen[name(i)] == 1) out.push_back(i);
  }
  return out;
}

void AddSanction(World& w, Random& r, bool company, uint32_t index) {
  SanctionRec s;
  const size_t list = r.Uniform(kLists.size());
  s.name.entry_id = "sanc-" + std::to_string(w.sanctions.size() + 1);
  s.name.list = std::string(kLists[list]);
  s.program = std::string(Pick(kPrograms[list], r));
  const std::string& customer = company ? w.companies[index].name : w.persons[index].name;
  s.name.customer_name = customer;
  s.name.entity_id = company ? w.companies[index].id : w.persons[index].id;
  s.name.entity_type = company ? "company" : "person";
  s.name.listed_name = ListedVariant(customer, r);
  if (!company && r.OneIn(2)) {  // the list's "SURNAME, Given" form
    std::string last = w.persons[index].last;
    for (char& ch : last) ch = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 32) : ch;
    s.aliases.push_back(last + ", " + w.persons[index].first);
  }
  if (r.OneIn(3)) s.aliases.push_back(Misspell(customer, r));
  if (!company && r.Uniform(10) < 6) s.dob = w.persons[index].dob;
  s.country = std::string(
      kCountries[company ? w.companies[index].country : w.persons[index].nationality].code);
  const int64_t lo = DaysFromCivil(2014, 1, 1);
  const int64_t hi = std::max(lo + 1, FloorDiv(w.options.start_us, kDayUs));
  s.listed_on = FormatDate(lo + static_cast<int64_t>(r.Uniform(static_cast<uint64_t>(hi - lo))));
  std::string q = s.name.listed_name;
  for (int tries = 0; tries < 8 && (q == s.name.listed_name || q == customer); ++tries) {
    q = Misspell(s.name.listed_name, r);
  }
  s.name.query = q;
  if (company) {
    w.companies[index].sanctioned = true;
  } else {
    w.persons[index].sanctioned = true;
  }
  w.sanctions.push_back(std::move(s));
}

// The country whose currency `code` is (for amount scaling); EUR's when none.
const Country& CurrencyCountry(std::string_view code) {
  for (const Country& c : kCountries) {
    if (c.currency == code) return c;
  }
  return kCountries[2];
}

const std::string& FirstAccountId(const World& w, uint32_t person) {
  return w.accounts[w.persons[person].accounts[0]].id;
}

// Chooses the sanctioned persons and companies; the first, when patterns are
// planted, is an officer who becomes director and owner of one company.
void PlanSanctions(World& w, Random& r) {
  const BankingOptions& o = w.options;
  std::vector<uint32_t> persons = UniqueNamed(w, false);
  if (o.plant_patterns && o.sanctioned_persons > 0 && !w.companies.empty()) {
    std::vector<uint32_t> officers;
    for (uint32_t p : persons) {
      if (p < w.officers) officers.push_back(p);
    }
    if (!officers.empty()) {
      const uint32_t director = officers[r.Uniform(officers.size())];
      const auto company = static_cast<uint32_t>(r.Uniform(w.companies.size()));
      CompanyRec& c = w.companies[company];
      for (std::vector<uint32_t>* roles : {&c.directors, &c.owners}) {
        std::erase(*roles, director);
        roles->insert(roles->begin(), director);
      }
      c.used = true;
      w.persons[director].used = true;
      AddSanction(w, r, false, director);
      PlantedPatterns& pp = w.planted;
      pp.director_id = w.persons[director].id;
      pp.director_name = w.persons[director].name;
      pp.director_entry = w.sanctions.back().name.entry_id;
      pp.company_id = c.id;
      std::erase(persons, director);
    }
  }
  const size_t more = o.sanctioned_persons - w.sanctions.size();
  for (uint32_t p : Sample(std::move(persons), more, r)) AddSanction(w, r, false, p);
  std::vector<uint32_t> companies;
  for (uint32_t c : UniqueNamed(w, true)) {
    if (!w.companies[c].used) companies.push_back(c);
  }
  for (uint32_t c : Sample(std::move(companies), o.sanctioned_companies, r)) {
    AddSanction(w, r, true, c);
  }
}

std::string PlanTx(World& w, PlannedTx tx, uint64_t start) {
  w.planned_tx.push_back(std::move(tx));
  const uint32_t slot = TakeSlot(&w.tx_plan, start, static_cast<int32_t>(w.planned_tx.size() - 1));
  return "t-" + std::to_string(slot + 1);
}

void MarkUsed(World& w, const std::vector<uint32_t>& persons) {
  for (uint32_t p : persons) w.persons[p].used = true;
}

void PlanChain(World& w, Random& r, size_t* budget) {
  const size_t hops = w.options.chain_hops, t = w.options.transactions;
  const std::vector<uint32_t> ordinary = OrdinaryPersons(w);
  if (hops == 0 || hops > *budget || t < 6 * hops + 1 || ordinary.size() < hops + 1) return;
  const std::vector<uint32_t> owners = Sample(ordinary, hops + 1, r);
  MarkUsed(w, owners);
  PlantedPatterns& pp = w.planted;
  for (uint32_t p : owners) pp.chain_accounts.push_back(FirstAccountId(w, p));
  const AccountRec& first = w.accounts[w.persons[owners[0]].accounts[0]];
  int64_t cents = ToCurrency(LogNormalCents(r, 94, 4), CurrencyCountry(first.currency), true);
  constexpr std::array<std::string_view, 5> kChainMemos = {
      "Consulting services", "Loan", "Investment", "Services agreement", "Repayment"};
  uint64_t slot = r.Uniform(t - 6 * hops);  // chain first: these slots are free
  for (size_t i = 0; i < hops; ++i) {
    PlannedTx tx;
    tx.from = w.persons[owners[i]].accounts[0];
    tx.to = w.persons[owners[i + 1]].accounts[0];
    tx.cents = cents;
    tx.currency = first.currency;
    tx.memo = std::string(Pick(kChainMemos, r));
    pp.chain_transactions.push_back(PlanTx(w, std::move(tx), slot));
    cents = cents * static_cast<int64_t>(970 + r.Uniform(25)) / 1000;  // each hop keeps a cut
    slot += 1 + r.Uniform(5);
  }
  *budget -= hops;
}

void PlanFanIn(World& w, Random& r, size_t* budget) {
  const size_t n = w.options.fan_in_transfers, t = w.options.transactions;
  const size_t senders = std::min(w.options.fan_in_senders, n);
  const std::vector<uint32_t> ordinary = OrdinaryPersons(w);
  if (n == 0 || senders == 0 || n > *budget || ordinary.size() < senders + 1) return;
  const std::vector<uint32_t> people = Sample(ordinary, senders + 1, r);
  MarkUsed(w, people);
  PlantedPatterns& pp = w.planted;
  pp.mule_owner = w.persons[people[0]].id;
  pp.mule_account = FirstAccountId(w, people[0]);
  for (size_t i = 1; i < people.size(); ++i)
    pp.fan_in_senders.push_back(FirstAccountId(w, people[i]));
  constexpr std::array<std::string_view, 6> kMuleMemos = {"gift", "rent share", "thanks",
                                                          "loan", "tickets",    "deposit"};
  // Clustered: all of them within a short stretch of the transactions.
  const size_t width = std::min(t, std::max(4 * n, t / 20));
  const uint64_t start = r.Uniform(t - width + 1);
  for (size_t k = 0; k < n; ++k) {
    PlannedTx tx;
    const uint32_t sender = people[1 + (k < senders ? k : r.Uniform(senders))];
    tx.from = w.persons[sender].accounts[0];
    tx.to = w.persons[people[0]].accounts[0];
    const AccountRec& from = w.accounts[static_cast<size_t>(tx.from)];
    tx.cents = ToCurrency((90 + static_cast<int64_t>(r.Uniform(900))) * 100,
                          CurrencyCountry(from.currency), r.OneIn(2));
    tx.memo = std::string(Pick(kMuleMemos, r));
    pp.fan_in_transactions.push_back(PlanTx(w, std::move(tx), start + r.Uniform(width)));
  }
  *budget -= n;
}

void PlanSanctionedFlow(World& w, Random& r, size_t* budget) {
  PlantedPatterns& pp = w.planted;
  const size_t n = w.options.sanctioned_flow_transfers, t = w.options.transactions;
  if (pp.director_id.empty() || n == 0 || n > *budget) return;
  const std::vector<uint32_t> ordinary = OrdinaryPersons(w);
  const std::vector<uint32_t> recipients = Sample(ordinary, (n + 1) / 2, r);
  if (recipients.empty()) return;
  MarkUsed(w, recipients);
  const CompanyRec* company = nullptr;
  for (const CompanyRec& c : w.companies) {
    if (c.id == pp.company_id) company = &c;
  }
  for (uint32_t a : company->accounts) pp.company_accounts.push_back(w.accounts[a].id);
  for (uint32_t p : recipients) pp.flow_recipients.push_back(FirstAccountId(w, p));
  for (size_t k = 0; k < n; ++k) {
    PlannedTx tx;
    tx.from = company->accounts[k % company->accounts.size()];
    tx.to = w.persons[recipients[k % recipients.size()]].accounts[0];
    // Structured: just under a 10,000 reporting threshold, in the account's currency.
    tx.cents = (9000 + static_cast<int64_t>(r.Uniform(950))) * 100;
    tx.memo = "Consulting fee " + std::to_string(k + 1) + "/" +
              std::to_string(1 + FloorDiv(w.options.start_us, kDayUs) / 365 + 1970 - 1);
    pp.flow_transactions.push_back(PlanTx(w, std::move(tx), r.Uniform(t)));
  }
  *budget -= n;
  const size_t c = w.options.communications;
  const size_t comms = std::min({size_t{3}, recipients.size(), c / 2});
  uint32_t director = 0;
  for (uint32_t i = 0; i < w.persons.size(); ++i) {
    if (w.persons[i].id == pp.director_id) director = i;
  }
  constexpr std::array<std::string_view, 3> kFlowSubjects = {
      "Consulting agreement, payment schedule", "Split the invoices as discussed",
      "Confirm receipt of the funds"};
  for (size_t k = 0; k < comms; ++k) {
    w.planned_comms.push_back({director, recipients[k], std::string(kFlowSubjects[k])});
    const uint32_t slot =
        TakeSlot(&w.comm_plan, r.Uniform(c), static_cast<int32_t>(w.planned_comms.size() - 1));
    pp.flow_communications.push_back("m-" + std::to_string(slot + 1));
  }
}

// Transactions into accounts whose create arrives after them.
size_t PlanEarlyArrivals(World& w, Random& r, size_t budget) {
  const size_t t = w.options.transactions;
  std::vector<uint32_t> eligible;  // an ordinary person's second or later account
  for (uint32_t p : OrdinaryPersons(w)) {
    const std::vector<uint32_t>& a = w.persons[p].accounts;
    eligible.insert(eligible.end(), a.begin() + 1, a.end());
  }
  const size_t want = std::min(Share(w.options.early_arrival_share, t), budget);
  const std::vector<uint32_t> late = Sample(std::move(eligible), want, r);
  for (uint32_t a : late) {
    w.accounts[a].late = true;
    PlannedTx tx;
    tx.to = a;
    tx.early = true;
    (void)PlanTx(w, std::move(tx), r.Uniform(t));
  }
  return late.size();
}

void PlanUpdates(World& w, Random& r) {
  std::vector<uint32_t> candidates;  // persons, then companies, then accounts, in one index space
  const auto np = static_cast<uint32_t>(w.persons.size());
  const auto nc = static_cast<uint32_t>(w.companies.size());
  for (uint32_t i = 0; i < np; ++i) {
    if (!w.persons[i].used && !w.persons[i].sanctioned) candidates.push_back(i);
  }
  for (uint32_t i = 0; i < nc; ++i) {
    if (!w.companies[i].used && !w.companies[i].sanctioned) candidates.push_back(np + i);
  }
  for (uint32_t i = 0; i < w.accounts.size(); ++i) {
    const AccountRec& a = w.accounts[i];
    const bool owner_free = a.company
                                ? !w.companies[a.owner].used && !w.companies[a.owner].sanctioned
                                : !w.persons[a.owner].used && !w.persons[a.owner].sanctioned;
    if (!a.late && owner_free) candidates.push_back(np + nc + i);
  }
  const uint64_t entities = w.persons.size() + w.companies.size() + w.accounts.size();
  for (uint32_t x : Sample(std::move(candidates), Share(w.options.updates_share, entities), r)) {
    if (x < np) {
      w.updates.push_back({0, x});
    } else if (x < np + nc) {
      w.updates.push_back({1, x - np});
    } else {
      w.updates.push_back({2, x - np - nc});
    }
  }
  w.deletes = std::min<uint64_t>(Share(w.options.updates_share, w.options.communications) / 5,
                                 w.options.communications - w.planned_comms.size());
}

void CountEvents(World& w, size_t early) {
  BankingCounts& c = w.counts;
  const BankingOptions& o = w.options;
  c.creates = {{"person", o.persons},
               {"company", o.companies},
               {"account", w.accounts.size()},
               {"transaction", o.transactions},
               {"communication", o.communications},
               {"sanction_entry", w.sanctions.size()}};
  c.updates = w.updates.size();
  c.deletes = w.deletes;
  c.early_arrivals = early;
  c.total = c.updates + c.deletes;
  for (const auto& [type, n] : c.creates) c.total += n;
}

// ---- streaming -------------------------------------------------------------------

// Stamps and numbers events and hands them to the sink.
class Emitter {
 public:
  Emitter(const World& w, const std::function<Status(const EntityEvent&)>& sink)
      : o_(w.options),
        total_(std::max<uint64_t>(1, w.counts.total)),
        sink_(sink),
        prefix_("gen-" + std::to_string(w.options.seed) + "-") {}

  // The timestamp of the next event: never decreasing, spread evenly over
  // the span with a jitter below one step.
  int64_t NextTimeUs() const {
    const auto base = static_cast<int64_t>(static_cast<__int128>(o_.span_us) * seq_ / total_);
    const int64_t step = o_.span_us / static_cast<int64_t>(total_);
    const int64_t jitter =
        step > 1 ? static_cast<int64_t>(Mix64(o_.seed * 31 + seq_) % static_cast<uint64_t>(step))
                 : 0;
    const int64_t t = o_.start_us + base + jitter;
    return t - t % 1000;
  }
  int64_t Today() const { return FloorDiv(NextTimeUs(), kDayUs); }

  Status Emit(EventType type, std::string_view entity_type, const std::string& id,
              std::string payload, std::optional<std::string> text, std::optional<int64_t> version,
              std::string_view source) {
    EntityEvent e;
    e.event_id = prefix_ + std::to_string(seq_);
    e.event_type = type;
    e.entity_type = std::string(entity_type);
    e.entity_id = id;
    e.payload = std::move(payload);
    e.text_for_embedding = std::move(text);
    e.timestamp_us = NextTimeUs();
    e.timestamp = FormatTimestamp(e.timestamp_us);
    e.version = version;
    e.source = std::string(source);
    ++seq_;
    return sink_(e);
  }

 private:
  const BankingOptions& o_;
  const uint64_t total_;
  const std::function<Status(const EntityEvent&)>& sink_;
  const std::string prefix_;
  uint64_t seq_ = 0;
};

// What a screening search compares against: the name and its aliases, and
// nothing else. Descriptive words (a city, "also") would only dilute the
// character n-grams that make a misspelled name find its entity.
std::string ScreeningText(const std::string& name, const std::vector<std::string>& aliases) {
  std::string s = name;
  for (const std::string& alias : aliases) s.append("; ").append(alias);
  return s;
}

Status EmitAccount(const World& w, Emitter& out, uint32_t index, const std::string& opened_at) {
  const AccountRec& a = w.accounts[index];
  JsonObject p;
  p.Str("owner_id", a.company ? w.companies[a.owner].id : w.persons[a.owner].id)
      .Str("iban", a.iban)
      .Str("currency", a.currency)
      .Str("kind", a.kind)
      .Str("status", "open")
      .Str("opened_at", opened_at);
  return out.Emit(EventType::kCreate, "account", a.id, p.Finish(), std::nullopt, 1, "core-banking");
}

Status EmitOwnedAccounts(const World& w, Emitter& out, const std::vector<uint32_t>& accounts) {
  for (uint32_t a : accounts) {
    if (!w.accounts[a].late)
      TANDEM_RETURN_IF_ERROR(EmitAccount(w, out, a, w.accounts[a].opened_at));
  }
  return Status::OK();
}

Status EmitPerson(const World& w, Emitter& out, uint32_t i) {
  const PersonRec& p = w.persons[i];
  const Country& home = kCountries[p.residence];
  JsonObject j;
  j.Str("name", p.name);
  if (!p.aliases.empty()) j.StrArray("aliases", p.aliases);
  j.Str("date_of_birth", p.dob)
      .Str("nationality", kCountries[p.nationality].code)
      .Str("city", p.city)
      .Str("country", home.code)
      .Str("kyc_status", p.kyc)
      .Str("risk_rating", p.risk)
      .Raw("pep", p.pep ? "true" : "false");
  if (p.employer >= 0) j.Str("employer_id", w.companies[static_cast<size_t>(p.employer)].id);
  std::string text = ScreeningText(p.name, p.aliases);
  TANDEM_RETURN_IF_ERROR(
      out.Emit(EventType::kCreate, "person", p.id, j.Finish(), std::move(text), 1, "kyc-service"));
  return EmitOwnedAccounts(w, out, p.accounts);
}

std::vector<std::string> PersonIds(const World& w, const std::vector<uint32_t>& persons) {
  std::vector<std::string> ids;
  for (uint32_t p : persons) ids.push_back(w.persons[p].id);
  return ids;
}

Status EmitCompany(const World& w, Emitter& out, uint32_t i) {
  const CompanyRec& c = w.companies[i];
  const Country& country = kCountries[c.country];
  JsonObject j;
  j.Str("name", c.name);
  if (!c.aliases.empty()) j.StrArray("aliases", c.aliases);
  j.Str("country", country.code)
      .Str("city", c.city)
      .Str("registration_number", c.registration)
      .Str("industry", c.industry)
      .Str("incorporated_on", c.incorporated_on)
      .StrArray("directors", PersonIds(w, c.directors))
      .StrArray("beneficial_owners", PersonIds(w, c.owners))
      .StrArray("signatories", PersonIds(w, c.signatories));
  std::string text =
      ScreeningText(c.name, c.aliases);
  TANDEM_RETURN_IF_ERROR(
      out.Emit(EventType::kCreate, "company", c.id, j.Finish(), std::move(text), 1, "kyc-service"));
  return EmitOwnedAccounts(w, out, c.accounts);
}

Status EmitSanction(Emitter& out, const SanctionRec& s) {
  JsonObject j;
  j.Str("list", s.name.list).Str("name", s.name.listed_name);
  j.StrArray("aliases", s.aliases);
  j.Str("program", s.program)
      .Str("listed_on", s.listed_on)
      .Str("entity_kind", s.name.entity_type == "person" ? "individual" : "entity");
  if (!s.dob.empty()) j.Str("date_of_birth", s.dob);
  j.Str("country", s.country).Str("matches_entity", s.name.entity_id);
  std::string text = s.name.listed_name;
  for (const std::string& a : s.aliases) text.append("; ").append(a);
  return out.Emit(EventType::kCreate, "sanction_entry", s.name.entry_id, j.Finish(),
                  std::move(text), 1, "sanctions-feed");
}

Status EmitEntities(const World& w, Emitter& out) {
  for (uint32_t i = 0; i < w.officers; ++i) TANDEM_RETURN_IF_ERROR(EmitPerson(w, out, i));
  for (uint32_t i = 0; i < w.companies.size(); ++i) TANDEM_RETURN_IF_ERROR(EmitCompany(w, out, i));
  for (auto i = static_cast<uint32_t>(w.officers); i < w.persons.size(); ++i) {
    TANDEM_RETURN_IF_ERROR(EmitPerson(w, out, i));
  }
  for (const SanctionRec& s : w.sanctions) TANDEM_RETURN_IF_ERROR(EmitSanction(out, s));
  return Status::OK();
}

// The state of the interleaved second part: transactions, communications,
// updates, deletes and the late account creates.
class Stream {
 public:
  Stream(const World& w, Emitter& out)
      : w_(w), out_(out), r_(Mix64(w.options.seed ^ 0x5eedf00dULL)) {
    for (uint32_t i = 0; i < w.accounts.size(); ++i) {
      if (!w.accounts[i].late) active_.push_back(i);
    }
  }

  Status Run() {
    const uint64_t t = w_.options.transactions, c = w_.options.communications;
    const uint64_t u = w_.updates.size(), d = w_.deletes;
    for (uint64_t step = 0;; ++step) {
      TANDEM_RETURN_IF_ERROR(EmitDueAccounts(step));
      const uint64_t wt = t - tx_, wc = c - comm_, wu = u - upd_;
      const uint64_t wd = live_comms_.empty() ? 0 : d - del_;
      const uint64_t total = wt + wc + wu + wd;
      if (total == 0) break;
      uint64_t x = r_.Uniform(total);
      if (x < wt) {
        TANDEM_RETURN_IF_ERROR(Transaction(step));
      } else if ((x -= wt) < wc) {
        TANDEM_RETURN_IF_ERROR(Communication());
      } else if ((x -= wc) < wu) {
        TANDEM_RETURN_IF_ERROR(Update(w_.updates[upd_++]));
      } else {
        TANDEM_RETURN_IF_ERROR(Delete());
      }
    }
    return EmitDueAccounts(UINT64_MAX);
  }

 private:
  Status EmitDueAccounts(uint64_t step) {
    while (!pending_.empty() && pending_.begin()->first <= step) {
      const uint32_t a = pending_.begin()->second;
      pending_.erase(pending_.begin());
      TANDEM_RETURN_IF_ERROR(EmitAccount(w_, out_, a, FormatDate(out_.Today())));
      active_.push_back(a);
    }
    return Status::OK();
  }

  uint32_t RandomActive() { return active_[r_.Uniform(active_.size())]; }

  Status Transaction(uint64_t step) {
    const int32_t plan = w_.tx_plan[tx_];
    uint32_t from = 0, to = 0;
    int64_t cents = 0;
    std::string currency, memo;
    if (plan >= 0) {
      const PlannedTx& p = w_.planned_tx[static_cast<size_t>(plan)];
      from = p.from >= 0 ? static_cast<uint32_t>(p.from) : RandomActive();
      to = p.to;
      cents = p.cents;
      currency = p.currency;
      memo = p.memo;
      if (p.early) pending_.insert({step + 1 + r_.Uniform(20), p.to});
    } else if (!w_.employed.empty() && r_.Uniform(100) < 12) {
      const PersonRec& p = w_.persons[w_.employed[r_.Uniform(w_.employed.size())]];
      from = w_.companies[static_cast<size_t>(p.employer)].accounts[0];
      to = p.accounts[0];
      cents =
          ToCurrency(LogNormalCents(r_, 68, 3), CurrencyCountry(w_.accounts[from].currency), true);
      int64_t y, m, d;
      CivilFromDays(out_.Today(), &y, &m, &d);
      memo = "Salary " + std::string(kMonths[static_cast<size_t>(m - 1)]) + " " + std::to_string(y);
    } else {
      from = RandomActive();
      const size_t j = r_.Uniform(active_.size() - 1);
      to = active_[j];
      if (to == from) to = active_.back();  // `from` appears once: take the one left out
    }
    const AccountRec& fa = w_.accounts[from];
    const AccountRec& ta = w_.accounts[to];
    if (currency.empty()) currency = fa.currency;
    if (cents == 0) {
      const bool large = r_.NextDouble() < w_.options.large_amount_share;
      cents = ToCurrency(large ? LogNormalCents(r_, 86, 8) : LogNormalCents(r_, 42, 12),
                         CurrencyCountry(currency), r_.Uniform(10) < 3);
    }
    if (memo.empty()) {
      memo = std::string(Pick(kMemos, r_));
      if (memo == "Invoice") memo += " " + std::to_string(1 + r_.Uniform(9999));
    }
    const bool sepa = fa.currency == "EUR" && ta.currency == "EUR" && currency == "EUR";
    const std::string_view channel = sepa                       ? "SEPA"
                                     : fa.country == ta.country ? "domestic"
                                                                : "SWIFT";
    JsonObject j;
    j.Str("from_account", fa.id)
        .Str("to_account", ta.id)
        .Raw("amount", FormatCents(cents))
        .Str("currency", currency)
        .Str("channel", channel)
        .Str("memo", memo);
    return out_.Emit(EventType::kCreate, "transaction", "t-" + std::to_string(++tx_), j.Finish(),
                     std::nullopt, std::nullopt, "payments-gateway");
  }

  Status Communication() {
    const uint64_t index = comm_++;
    const int32_t plan = w_.comm_plan[index];
    uint32_t from = 0, to = 0;
    std::string subject;
    if (plan >= 0) {
      const PlannedComm& p = w_.planned_comms[static_cast<size_t>(plan)];
      from = p.from;
      to = p.to;
      subject = p.subject;
    } else {
      const size_t n = w_.persons.size();
      from = static_cast<uint32_t>(r_.Uniform(n));
      const int64_t employer = w_.persons[from].employer;
      const std::vector<uint32_t>* colleagues =
          employer >= 0 ? &w_.companies[static_cast<size_t>(employer)].employees : nullptr;
      if (colleagues != nullptr && colleagues->size() >= 2 && r_.OneIn(2)) {
        to = (*colleagues)[r_.Uniform(colleagues->size())];
      } else {
        to = static_cast<uint32_t>(r_.Uniform(n));
      }
      if (to == from) to = static_cast<uint32_t>((from + 1) % n);
      subject = std::string(Pick(kSubjects, r_));
      live_comms_.push_back(index);
    }
    JsonObject j;
    j.Str("from_person", w_.persons[from].id)
        .Str("to_person", w_.persons[to].id)
        .Str("channel", plan >= 0 ? "email" : Pick(kCommChannels, r_))
        .Str("subject", subject);
    return out_.Emit(EventType::kCreate, "communication", "m-" + std::to_string(index + 1),
                     j.Finish(), std::nullopt, std::nullopt, "comms-archive");
  }

  Status Update(const UpdateTarget& target) {
    constexpr std::array<std::string_view, 4> kKyc = {"review", "verified", "escalated", "expired"};
    constexpr std::array<std::string_view, 3> kRisk = {"low", "medium", "high"};
    constexpr std::array<std::string_view, 3> kStatus = {"dormant", "restricted", "under_review"};
    const std::string today = FormatDate(out_.Today());
    JsonObject j;
    if (target.kind == 2) {
      j.Str("status", Pick(kStatus, r_)).Str("status_changed_at", today);
      return out_.Emit(EventType::kUpdate, "account", w_.accounts[target.index].id, j.Finish(),
                       std::nullopt, 2, "core-banking");
    }
    j.Str("kyc_status", Pick(kKyc, r_))
        .Str("risk_rating", Pick(kRisk, r_))
        .Str("reviewed_at", today);
    const std::string& id =
        target.kind == 0 ? w_.persons[target.index].id : w_.companies[target.index].id;
    return out_.Emit(EventType::kUpdate, target.kind == 0 ? "person" : "company", id, j.Finish(),
                     std::nullopt, 2, "kyc-service");
  }

  Status Delete() {
    const size_t j = r_.Uniform(live_comms_.size());
    const uint64_t index = live_comms_[j];
    live_comms_[j] = live_comms_.back();
    live_comms_.pop_back();
    ++del_;
    return out_.Emit(EventType::kDelete, "communication", "m-" + std::to_string(index + 1), "{}",
                     std::nullopt, std::nullopt, "comms-archive");
  }

  const World& w_;
  Emitter& out_;
  Random r_;
  std::vector<uint32_t> active_;                     // created accounts
  std::vector<uint64_t> live_comms_;                 // ordinary communications not deleted
  std::set<std::pair<uint64_t, uint32_t>> pending_;  // (due step, late account)
  uint64_t tx_ = 0, comm_ = 0, upd_ = 0, del_ = 0;
};

void AppendIds(JsonObject& j, std::string_view key, const std::vector<std::string>& ids) {
  j.StrArray(key, ids);
}

std::string PlantedJson(const PlantedPatterns& p) {
  JsonObject j;
  if (p.director_id.empty()) {
    j.Raw("sanctioned_director", "null");
  } else {
    JsonObject d;
    d.Str("person", p.director_id)
        .Str("name", p.director_name)
        .Str("sanction_entry", p.director_entry);
    d.Str("company", p.company_id);
    AppendIds(d, "company_accounts", p.company_accounts);
    AppendIds(d, "transactions", p.flow_transactions);
    AppendIds(d, "recipient_accounts", p.flow_recipients);
    AppendIds(d, "communications", p.flow_communications);
    j.Raw("sanctioned_director", d.Finish());
  }
  if (p.mule_account.empty()) {
    j.Raw("fan_in", "null");
  } else {
    JsonObject f;
    f.Str("account", p.mule_account).Str("owner", p.mule_owner);
    AppendIds(f, "senders", p.fan_in_senders);
    AppendIds(f, "transactions", p.fan_in_transactions);
    j.Raw("fan_in", f.Finish());
  }
  if (p.chain_accounts.empty()) {
    j.Raw("chain", "null");
  } else {
    JsonObject c;
    AppendIds(c, "accounts", p.chain_accounts);
    AppendIds(c, "transactions", p.chain_transactions);
    j.Raw("chain", c.Finish());
  }
  return j.Finish();
}

}  // namespace

Status ValidateBankingOptions(const BankingOptions& o) {
  std::vector<std::string> errors;
  auto share = [&](std::string_view name, double v) {
    if (!(v >= 0.0 && v <= 1.0))
      errors.push_back(std::string(name) + ": must be in 0..1, got " + std::to_string(v));
  };
  share("employed_share", o.employed_share);
  share("updates_share", o.updates_share);
  share("early_arrival_share", o.early_arrival_share);
  share("large_amount_share", o.large_amount_share);
  constexpr size_t kMaxCount = 100'000'000;
  const std::pair<std::string_view, size_t> counts[] = {
      {"persons", o.persons},
      {"companies", o.companies},
      {"transactions", o.transactions},
      {"communications", o.communications},
      {"sanctioned_persons", o.sanctioned_persons},
      {"sanctioned_companies", o.sanctioned_companies},
      {"fan_in_transfers", o.fan_in_transfers},
      {"fan_in_senders", o.fan_in_senders},
      {"sanctioned_flow_transfers", o.sanctioned_flow_transfers}};
  for (const auto& [name, v] : counts) {
    if (v > kMaxCount)
      errors.push_back(std::string(name) + ": must be at most 100000000, got " + std::to_string(v));
  }
  if (o.min_accounts < 1 || o.min_accounts > o.max_accounts || o.max_accounts > 10) {
    errors.push_back("min_accounts/max_accounts: need 1 <= min <= max <= 10, got " +
                     std::to_string(o.min_accounts) + ".." + std::to_string(o.max_accounts));
  }
  if (o.plant_patterns && (o.chain_hops < 1 || o.chain_hops > 50)) {
    errors.push_back("chain_hops: must be 1..50, got " + std::to_string(o.chain_hops));
  }
  constexpr int64_t kMinStart = int64_t{946'684'800} * 1'000'000;   // 2000-01-01
  constexpr int64_t kMaxEnd = int64_t{32'503'680'000} * 1'000'000;  // 3000-01-01
  if (o.start_us < kMinStart || o.start_us > kMaxEnd) {
    errors.push_back("start_us: must be between 2000-01-01 and 3000-01-01, got " +
                     std::to_string(o.start_us));
  }
  if (o.span_us < 1'000'000 || o.span_us > kMaxEnd - kMinStart) {
    errors.push_back("span_us: must be 1 s .. 1000 years, got " + std::to_string(o.span_us));
  }
  if (o.communications > 0 && o.persons < 2) {
    errors.push_back("communications: need at least 2 persons, got " + std::to_string(o.persons));
  }
  if (o.transactions > 0 && o.persons + o.companies < 2) {
    errors.push_back("transactions: need at least 2 persons or companies, got " +
                     std::to_string(o.persons + o.companies));
  }
  if (errors.empty()) return Status::OK();
  std::string msg = errors[0];
  for (size_t i = 1; i < errors.size(); ++i) msg += "; " + errors[i];
  return Status::InvalidArgument(msg);
}

Result<std::unique_ptr<BankingGenerator>> BankingGenerator::Create(const BankingOptions& options) {
  TANDEM_RETURN_IF_ERROR(ValidateBankingOptions(options));
  auto w = std::make_unique<BankingWorld>();
  w->options = options;
  Random r(Mix64(options.seed));
  NameGenerator names(Mix64(options.seed ^ 0x6e616d6573ULL));
  BuildPersons(*w, names, r);
  w->officers = options.companies == 0
                    ? 0
                    : std::min(options.persons, std::max<size_t>(1, options.companies * 3 / 4));
  for (size_t i = 0; i < w->officers; ++i) w->persons[i].officer = true;
  BuildCompanies(*w, names, r, w->officers);
  PlanSanctions(*w, r);
  BuildEmployment(*w, r);
  // Accounts in output order: officers, companies, the other persons.
  for (uint32_t i = 0; i < w->officers; ++i) AddAccounts(*w, r, false, i);
  for (uint32_t i = 0; i < w->companies.size(); ++i) AddAccounts(*w, r, true, i);
  for (auto i = static_cast<uint32_t>(w->officers); i < w->persons.size(); ++i) {
    AddAccounts(*w, r, false, i);
  }
  w->tx_plan.assign(options.transactions, -1);
  w->comm_plan.assign(options.communications, -1);
  size_t budget = options.transactions / 2;  // planted transactions: at most half of them
  if (options.plant_patterns) {
    PlanChain(*w, r, &budget);
    PlanFanIn(*w, r, &budget);
    PlanSanctionedFlow(*w, r, &budget);
  }
  const size_t early = PlanEarlyArrivals(*w, r, options.transactions - w->planned_tx.size());
  PlanUpdates(*w, r);
  for (const SanctionRec& s : w->sanctions) w->names.push_back(s.name);
  CountEvents(*w, early);
  return std::unique_ptr<BankingGenerator>(new BankingGenerator(std::move(w)));
}

BankingGenerator::BankingGenerator(std::unique_ptr<BankingWorld> world)
    : world_(std::move(world)) {}
BankingGenerator::~BankingGenerator() = default;

const BankingOptions& BankingGenerator::options() const { return world_->options; }
const BankingCounts& BankingGenerator::counts() const { return world_->counts; }
const std::vector<SanctionedName>& BankingGenerator::SanctionedNames() const {
  return world_->names;
}
const PlantedPatterns& BankingGenerator::planted() const { return world_->planted; }

Status BankingGenerator::Generate(const std::function<Status(const EntityEvent&)>& sink) const {
  Emitter out(*world_, sink);
  TANDEM_RETURN_IF_ERROR(EmitEntities(*world_, out));
  Stream stream(*world_, out);
  return stream.Run();
}

Status BankingGenerator::GenerateNdjson(
    const std::function<Status(std::string_view line)>& sink) const {
  std::string line;
  return Generate([&](const EntityEvent& e) {
    line = Serialize(e);
    line.push_back('\n');
    return sink(line);
  });
}

std::string BankingGenerator::SummaryJson() const {
  const World& w = *world_;
  JsonObject creates;
  for (const auto& [type, n] : w.counts.creates) creates.Int(type, n);
  JsonObject counts;
  counts.Raw("creates", creates.Finish())
      .Int("updates", w.counts.updates)
      .Int("deletes", w.counts.deletes)
      .Int("early_arrivals", w.counts.early_arrivals)
      .Int("total", w.counts.total);
  std::string sanctioned = "[";
  for (const SanctionedName& s : w.names) {
    if (sanctioned.size() > 1) sanctioned.push_back(',');
    JsonObject j;
    j.Str("entry_id", s.entry_id).Str("list", s.list).Str("listed_name", s.listed_name);
    j.Str("entity_id", s.entity_id).Str("entity_type", s.entity_type);
    j.Str("customer_name", s.customer_name).Str("query", s.query);
    sanctioned += j.Finish();
  }
  sanctioned.push_back(']');
  JsonObject j;
  j.Int("seed", w.options.seed)
      .Raw("counts", counts.Finish())
      .Raw("planted", PlantedJson(w.planted))
      .Raw("sanctioned", sanctioned);
  return j.Finish();
}

}  // namespace tandem::gen
