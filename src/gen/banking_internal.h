// Internals of the banking generator shared by its two halves: the tables
// and pure helpers (countries, currencies, dates, money, IBANs, a minimal
// JSON object writer), the records of the generated world, and BuildWorld.
//   banking_world.cc  builds the world and plans the transactions (Create)
//   banking.cc        streams it as events (Generate) and the public API
//
// Thread safety: pure functions and plain data.
#pragma once

#include <algorithm>
#include <array>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "event/json_text.h"
#include "gen/banking.h"
#include "gen/names.h"
#include "tandem/env.h"

namespace tandem::gen {
namespace banking_internal {

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
inline constexpr std::array<Country, 36> kCountries = {{
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
inline constexpr std::array<size_t, 4> kOffshore = {11, 33, 34, 35};  // AE, VG, CY, SG

// Countries of each Culture (names.h order), as indexes into kCountries.
inline constexpr std::array<std::array<int, 4>, kCultureCount> kCultureCountries = {{
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

inline constexpr std::array<std::string_view, 21> kLegalForms = {
    " Sp. z o.o.", " Co., Ltd.", " Pvt Ltd", " S.p.A.", " S.r.l.", " GmbH", " Corp.",
    " Inc.",       " B.V.",      " N.V.",    " S.A.",   " S.L.",   " SARL", " Ltd",
    " PLC",        " LLC",       " LLP",     " OOO",    " K.K.",   " FZE",  " AG"};
inline constexpr std::array<std::string_view, 12> kIndustries = {
    "logistics", "trading",  "construction", "software", "real estate", "consulting",
    "retail",    "shipping", "energy",       "textiles", "agriculture", "financial services"};
inline constexpr std::array<std::string_view, 12> kMemos = {
    "Invoice",      "Rent",           "Groceries",       "Utilities",
    "Transfer",     "Loan repayment", "Card settlement", "Family support",
    "Subscription", "Refund",         "School fees",     "Insurance"};
inline constexpr std::array<std::string_view, 8> kSubjects = {
    "Meeting next week", "Quarterly figures", "Invoice attached", "Call me back",
    "Contract draft",    "Travel plans",      "Re: payment",      "Documents for the bank"};
inline constexpr std::array<std::string_view, 5> kCommChannels = {"email", "phone", "messenger",
                                                                  "sms", "meeting"};
inline constexpr std::array<std::string_view, 3> kLists = {"OFAC-SDN", "EU-CONSOLIDATED", "UN"};
inline constexpr std::array<std::array<std::string_view, 4>, 3> kPrograms = {{
    {"SDGT", "RUSSIA-EO14024", "IRAN", "CYBER2"},
    {"EU-RUS-833/2014", "EU-BLR-765/2006", "EU-SYR-36/2012", "EU-LBY-2016/44"},
    {"UN-1267", "UN-1718", "UN-1970", "UN-2140"},
}};
inline constexpr std::array<std::string_view, 12> kMonths = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December"};

// 10^(i/20) * 10^6, i = 0..19: amounts in integer arithmetic, no libm.
inline constexpr std::array<int64_t, 20> kPow20 = {
    1000000, 1122018, 1258925, 1412538, 1584893, 1778279, 1995262, 2238721, 2511886, 2818383,
    3162278, 3548134, 3981072, 4466836, 5011872, 5623413, 6309573, 7079458, 7943282, 8912509};

template <typename T, size_t N>
const T& Pick(const std::array<T, N>& a, Random& r) {
  return a[r.Uniform(N)];
}

inline uint64_t Mix64(uint64_t x) {  // SplitMix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ---- dates and JSON -------------------------------------------------------------

inline constexpr int64_t kDayUs = int64_t{86'400} * 1'000'000;

// Days since 1970-01-01 (H. Hinnant's civil-date algorithms).
inline int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

inline void CivilFromDays(int64_t z, int64_t* y, int64_t* m, int64_t* d) {
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

inline std::string FormatDate(int64_t days) {
  int64_t y, m, d;
  CivilFromDays(days, &y, &m, &d);
  char buf[40];  // room for any int, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(y), static_cast<int>(m),
                static_cast<int>(d));
  return buf;
}

inline int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

inline std::string FormatTimestamp(int64_t us) {
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

inline std::string FormatCents(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRId64 ".%02" PRId64, cents / 100, cents % 100);
  return buf;
}

// A log-normal-ish amount in EUR cents: log10 of the amount is mu20/20 plus
// an Irwin-Hall (sum of four uniforms) approximation of a normal deviate
// with standard deviation sigma20/20 decades; all integer arithmetic.
inline int64_t LogNormalCents(Random& r, int64_t mu20, int64_t sigma20) {
  int64_t c = -1998;  // four Uniform(1000): mean 1998, standard deviation ~577
  for (int i = 0; i < 4; ++i) c += static_cast<int64_t>(r.Uniform(1000));
  const int64_t l20 = std::max<int64_t>(0, FloorDiv(mu20 * 577 + c * sigma20, 577));
  int64_t cents = 100 * kPow20[l20 % 20];
  for (int64_t i = 0; i < l20 / 20; ++i) cents *= 10;
  // Spread evenly inside the 1/20-decade step (10^(1/20) = 1.122).
  cents = cents / 1'000'000 * (1000 + static_cast<int64_t>(r.Uniform(122))) / 1000;
  return std::max<int64_t>(cents, 100);
}

inline int64_t ToCurrency(int64_t eur_cents, const Country& c, bool round_units) {
  int64_t cents = eur_cents * c.fx_num / c.fx_den;
  if (round_units || c.fx_num / c.fx_den >= 50) cents = std::max<int64_t>(100, cents / 100 * 100);
  return cents;
}

// ISO 13616 check digits of `cc` + `bban` (digits only).
inline std::string Iban(std::string_view cc, const std::string& bban) {
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
inline std::string SerialDigits(uint64_t index, int width) {
  uint64_t mod = 1;
  for (int i = 0; i < width && i < 18; ++i) mod *= 10;
  const uint64_t v = (index % mod * 7919 + 104729) % mod;
  std::string s = std::to_string(v);
  return std::string(static_cast<size_t>(width) - std::min(s.size(), size_t(width)), '0') + s;
}

inline std::string StripLegalForm(const std::string& name) {
  for (std::string_view form : kLegalForms) {
    if (name.size() > form.size() && name.ends_with(form)) {
      return name.substr(0, name.size() - form.size());
    }
  }
  return name;
}

inline uint64_t Share(double share, uint64_t n) {
  return static_cast<uint64_t>(share * static_cast<double>(n) + 0.5);
}

// The country whose currency `code` is (for amount scaling); EUR's when none.
inline const Country& CurrencyCountry(std::string_view code) {
  for (const Country& c : kCountries) {
    if (c.currency == code) return c;
  }
  return kCountries[2];
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

}  // namespace banking_internal

struct BankingWorld {
  BankingOptions options;
  std::vector<banking_internal::PersonRec> persons;
  std::vector<banking_internal::CompanyRec> companies;
  size_t officers = 0;  // persons[0, officers) are company officers
  std::vector<banking_internal::AccountRec> accounts;
  std::vector<banking_internal::SanctionRec> sanctions;
  std::vector<uint32_t> employed;  // persons with an employer
  std::vector<int32_t> tx_plan;    // transaction slot → planned index or -1
  std::vector<banking_internal::PlannedTx> planned_tx;
  std::vector<int32_t> comm_plan;
  std::vector<banking_internal::PlannedComm> planned_comms;
  std::vector<banking_internal::UpdateTarget> updates;
  uint64_t deletes = 0;
  std::vector<SanctionedName> names;
  PlantedPatterns planted;
  BankingCounts counts;
};

namespace banking_internal {

// Builds the world of w->options (already validated): persons, companies,
// accounts, the sanctions list, the planted patterns, the update plan and the
// event counts. Deterministic in the options.
void BuildWorld(BankingWorld* w);

}  // namespace banking_internal
}  // namespace tandem::gen
