// Synthetic banking data for demos, tests and benchmarks: a seeded generator
// of persons, companies, accounts, transactions, communications and a
// sanctions list, written as native EntityEvents (one NDJSON line each), with
// a few planted patterns that a screening or AML query must find.
//
//   BankingOptions o;                    // 6000 persons, 1500 companies, ...
//   o.seed = 7;
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<BankingGenerator> g, BankingGenerator::Create(o));
//   const SanctionedName& s = g->SanctionedNames()[0];   // the planted director
//   // search for s.query; expect s.entity_id among the hits
//   TANDEM_RETURN_IF_ERROR(g->GenerateNdjson([&](std::string_view line) {
//     return out->Append(line);                          // "{...}\n"
//   }));
//
// What comes out (field conventions of examples/banking/events.ndjson and the
// reference fields of BankingSchema()):
//  * person  "p-<n>": name, aliases[] (sometimes: accent transliteration,
//    maiden name, nickname), date_of_birth, nationality, city, kyc_status,
//    risk_rating, pep, employer_id (a generated company, for a share of them).
//  * company "c-<n>": name, aliases[] (trading name, former name), country,
//    registration_number, industry, incorporated_on, directors[],
//    beneficial_owners[], signatories[] (person ids).
//  * account "a-<n>": owner_id, iban (ISO 13616 check digits; unique up to
//    10 million accounts),
//    currency (mostly the owner's country's), kind, opened_at, status.
//  * transaction "t-<n>": from_account, to_account, amount (a JSON number with
//    two decimals), currency, channel, memo.
//  * communication "m-<n>": from_person, to_person, channel, subject.
//  * sanction_entry "sanc-<n>": list ("OFAC-SDN" | "EU-CONSOLIDATED" | "UN"),
//    name, aliases, program, listed_on, entity_kind, matches_entity (the
//    person or company id it corresponds to). The listed name is the
//    customer's name or, about half the time, a variant of it
//    (transliteration, phonetic spelling, dropped middle name, typo): the gap
//    that screening has to bridge.
// Persons, companies and sanction entries carry text_for_embedding: the name
// and its aliases, "; "-separated (what screening embeds; descriptive words
// would dilute the n-grams of a name); the others carry none.
//
// Every event has event_id "gen-<seed>-<n>" (n = position in the output),
// source, and a timestamp (RFC 3339 UTC, milliseconds) that never decreases
// along the output and runs from start_us through start_us + span_us.
// Persons, companies and accounts are created with version 1; a share of them
// is later updated (version 2: kyc_status, risk_rating, account status), and
// a few communications are deleted. Transactions and communications carry no
// version (as in the example).
//
// Order: company officers, then companies, then the other persons, each owner
// followed by its accounts; then the sanctions list; then transactions,
// communications, updates and deletes interleaved. Not strictly: a share of
// transactions (early_arrival_share) pays into an account whose create
// arrives a few events later, as feeds do, to exercise the graph's
// placeholders. Every reference names an entity that the output creates.
//
// Planted patterns (PlantedPatterns says which ids; each needs enough
// entities and transactions and is left out, and reported as absent, when
// the options are too small):
//  * a sanctioned person directs and owns a company whose accounts pay
//    structured amounts just under 10,000 to ordinary customers, and writes
//    to some of them;
//  * a fan-in "mule" account receiving many small transfers from many
//    accounts within a short stretch of the stream;
//  * a chain of transfers through several accounts, each hop passing on
//    slightly less, in order.
//
// Determinism: the same options give byte-identical output on every machine
// and compiler. Every draw goes through tandem::Random with its own bounded
// draw, amounts are integer arithmetic (no libm), nothing depends on
// unordered iteration or the wall clock. Changing the tables or the code
// changes the output: tests assert properties, not exact strings.
//
// Thread safety: a BankingGenerator is immutable after Create; Generate keeps
// its state on the stack, so several threads may generate from one generator
// at once (each gets the same events).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/event.h"
#include "tandem/status.h"

namespace tandem::gen {

struct BankingOptions {
  // Seeds every draw; also part of every event_id ("gen-<seed>-<n>").
  uint64_t seed = 1;
  // Entities created. 0 is allowed for each (patterns that need them are left out).
  size_t persons = 6000;
  size_t companies = 1500;
  // Accounts per person or company, skewed towards the minimum (about half
  // have min_accounts). 1 <= min_accounts <= max_accounts <= 10.
  uint32_t min_accounts = 1;
  uint32_t max_accounts = 3;
  // Transactions and communications created (planted ones included).
  size_t transactions = 20000;
  size_t communications = 2000;
  // Persons and companies that appear on the sanctions list (at most the
  // persons resp. companies with a unique name; fewer when there are fewer).
  size_t sanctioned_persons = 40;
  size_t sanctioned_companies = 10;
  // Share (0..1) of persons who are not company officers and are employed by
  // a generated company (person.employer_id; salaries are paid to them).
  double employed_share = 0.5;
  // Timestamps run from start_us (default 2024-01-01T00:00:00Z) through
  // start_us + span_us (default 90 days, >= 1 s).
  int64_t start_us = int64_t{1'704'067'200} * 1'000'000;
  int64_t span_us = int64_t{90} * 24 * 3600 * 1'000'000;
  // Share (0..1) of persons, companies and accounts that get one later
  // `update` event (version 2). A fifth of this share of communications is
  // deleted. 0: creates only.
  double updates_share = 0.05;
  // Share (0..1) of transactions that arrive before the account they pay
  // into (limited by the accounts available for it).
  double early_arrival_share = 0.01;
  // Share (0..1) of ordinary transactions drawn from the "large" amount
  // distribution (median ~20,000 instead of ~120 currency units).
  double large_amount_share = 0.03;
  // Planted patterns (false: none; the options below are then ignored).
  bool plant_patterns = true;
  // Small transfers into the mule account, and how many distinct accounts send them.
  size_t fan_in_transfers = 60;
  size_t fan_in_senders = 40;
  // Hops of the transfer chain (it passes through chain_hops + 1 accounts), 1..50.
  size_t chain_hops = 5;
  // Transfers from the sanctioned director's company to ordinary customers.
  size_t sanctioned_flow_transfers = 12;
};

// InvalidArgument naming the field and the reason for options out of range
// (shares outside 0..1, span_us < 1 s, account bounds, chain_hops, counts
// above 100 million).
Status ValidateBankingOptions(const BankingOptions& o);

// One sanctions list entry and what a screening search for it should find.
struct SanctionedName {
  std::string entry_id;       // "sanc-<n>"
  std::string list;           // "OFAC-SDN", "EU-CONSOLIDATED" or "UN"
  std::string listed_name;    // the name as the list spells it
  std::string entity_id;      // the customer it corresponds to (matches_entity)
  std::string entity_type;    // "person" or "company"
  std::string customer_name;  // the name as the customer record spells it
  // A further misspelling of listed_name, different from listed_name and
  // customer_name (unless the name admits no variant): a realistic screening
  // query whose expected answer is entity_id.
  std::string query;
};

// The ids behind the planted patterns: the expected answers of the demo.
struct PlantedPatterns {
  // Sanctioned person → director and beneficial owner of a company whose
  // accounts pay ordinary customers. Empty director_id: not planted (no
  // sanctioned person, officer or company); empty flow_transactions: too few
  // transactions or customers for the payments.
  std::string director_id;
  std::string director_name;   // as in the customer record
  std::string director_entry;  // the sanction_entry naming the director
  std::string company_id;
  std::vector<std::string> company_accounts;
  std::vector<std::string> flow_transactions;    // company accounts → customers
  std::vector<std::string> flow_recipients;      // accounts paid
  std::vector<std::string> flow_communications;  // director → recipients' owners
  // Fan-in: `fan_in_transactions` pay into mule_account from
  // fan_in_senders.size() distinct accounts. Empty mule_account: not planted.
  std::string mule_account;
  std::string mule_owner;
  std::vector<std::string> fan_in_senders;
  std::vector<std::string> fan_in_transactions;
  // Chain: chain_transactions[i] moves money from chain_accounts[i] to
  // chain_accounts[i + 1], in output order. Empty: not planted.
  std::vector<std::string> chain_accounts;
  std::vector<std::string> chain_transactions;
};

// Events the generator writes, known before generating.
struct BankingCounts {
  std::map<std::string, uint64_t> creates;  // entity_type → create events
  uint64_t updates = 0;
  uint64_t deletes = 0;
  uint64_t early_arrivals = 0;  // transactions written before their account
  uint64_t total = 0;           // every event
};

struct BankingWorld;  // banking.cc: the generated entities and the plan

class BankingGenerator {
 public:
  // Validates `options` (see ValidateBankingOptions) and builds the entities,
  // the sanctions list and the plan of the patterns in memory (about 1 KB per
  // person, company or account; transactions are made while streaming).
  static Result<std::unique_ptr<BankingGenerator>> Create(const BankingOptions& options);
  ~BankingGenerator();
  BankingGenerator(const BankingGenerator&) = delete;
  BankingGenerator& operator=(const BankingGenerator&) = delete;

  const BankingOptions& options() const;
  const BankingCounts& counts() const;
  // Every sanctions list entry, in entry order; entry 0 is the planted
  // director when that pattern is planted.
  const std::vector<SanctionedName>& SanctionedNames() const;
  const PlantedPatterns& planted() const;

  // Streams every event, in output order, to `sink`; stops at the first
  // non-OK status from it and returns that. Each call yields the same events.
  Status Generate(const std::function<Status(const EntityEvent&)>& sink) const;
  // As Generate, passing Serialize(event) + "\n" for each event.
  Status GenerateNdjson(const std::function<Status(std::string_view line)>& sink) const;

  // The counts, planted patterns and sanctioned names as one JSON object
  // ({"seed":..,"counts":{..},"planted":{..},"sanctioned":[..]}).
  std::string SummaryJson() const;

 private:
  explicit BankingGenerator(std::unique_ptr<BankingWorld> world);
  std::unique_ptr<BankingWorld> world_;
};

}  // namespace tandem::gen
