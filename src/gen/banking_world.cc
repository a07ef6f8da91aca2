// Building the banking world (BankingGenerator::Create): persons, companies,
// accounts, the sanctions list, and the plan of the transactions — the
// planted patterns' slots, early arrivals, updates — all from one Random.
#include <algorithm>
#include <set>
#include <utility>

#include "gen/banking_internal.h"
#include "gen/names.h"

namespace tandem::gen::banking_internal {
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

}  // namespace

void BuildWorld(BankingWorld* w) {
  const BankingOptions& options = w->options;
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
}

}  // namespace tandem::gen::banking_internal
