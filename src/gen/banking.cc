// The banking generator of banking.h. Create builds the "world" (persons,
// companies, accounts, the sanctions list and the slots of the planted
// transactions) from one Random; Generate streams it, drawing the ordinary
// transactions and communications from a second Random seeded the same way
// on every call, so every call yields the same bytes.
#include "gen/banking.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include "gen/banking_internal.h"
#include "gen/names.h"
#include "tandem/env.h"

namespace tandem::gen {
namespace {

using namespace banking_internal;  // NOLINT: the generator's own internals
using World = BankingWorld;

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
  std::string text = ScreeningText(c.name, c.aliases);
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
  banking_internal::BuildWorld(w.get());
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
