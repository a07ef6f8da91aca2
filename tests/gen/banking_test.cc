// The banking generator: deterministic bytes, counts as asked, every event
// valid for tandem's parser, every reference resolvable, a sanctions list
// whose names a screening embedder maps back to the customer, and the
// planted patterns where the summary says they are.
#include "gen/banking.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tandem/embed.h"
#include "tandem/env.h"
#include "tandem/event.h"
#include "tandem/graph.h"

namespace tandem::gen {
namespace {

using nlohmann::json;

BankingOptions Small(uint64_t seed = 7) {
  BankingOptions o;
  o.seed = seed;
  o.persons = 600;
  o.companies = 150;
  o.transactions = 3000;
  o.communications = 300;
  o.sanctioned_persons = 12;
  o.sanctioned_companies = 4;
  o.updates_share = 0.1;
  o.early_arrival_share = 0.02;
  return o;
}

std::unique_ptr<BankingGenerator> Make(const BankingOptions& o) {
  Result<std::unique_ptr<BankingGenerator>> g = BankingGenerator::Create(o);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? std::move(*g) : nullptr;
}

std::string Ndjson(const BankingGenerator& g) {
  std::string out;
  Status s = g.GenerateNdjson([&](std::string_view line) {
    out.append(line);
    return Status::OK();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// Every event, parsed back from the NDJSON through tandem's own parser.
std::vector<EntityEvent> ParseAll(const std::string& ndjson) {
  ManualClock clock;
  EventParser parser(clock);
  std::vector<EntityEvent> events;
  size_t line_no = 0;
  for (size_t pos = 0; pos < ndjson.size();) {
    const size_t end = ndjson.find('\n', pos);
    const std::string_view line(ndjson.data() + pos, end - pos);
    ++line_no;
    Result<EntityEvent> e = parser.Parse(line);
    EXPECT_TRUE(e.ok()) << "line " << line_no << ": " << e.status().ToString() << "\n" << line;
    if (e.ok()) events.push_back(*std::move(e));
    pos = end + 1;
  }
  return events;
}

TEST(BankingGenerator, SameSeedSameBytesOtherSeedOtherBytes) {
  const std::string a = Ndjson(*Make(Small(7)));
  const std::string b = Ndjson(*Make(Small(7)));
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  std::unique_ptr<BankingGenerator> g = Make(Small(7));
  EXPECT_EQ(Ndjson(*g), Ndjson(*g)) << "a second Generate call must repeat the first";
  EXPECT_NE(a, Ndjson(*Make(Small(8))));
}

TEST(BankingGenerator, CountsMatchTheOptions) {
  const BankingOptions o = Small();
  std::unique_ptr<BankingGenerator> g = Make(o);
  const std::vector<EntityEvent> events = ParseAll(Ndjson(*g));
  std::map<std::string, uint64_t> creates;
  uint64_t updates = 0, deletes = 0;
  for (const EntityEvent& e : events) {
    if (e.event_type == EventType::kCreate) ++creates[e.entity_type];
    if (e.event_type == EventType::kUpdate) ++updates;
    if (e.event_type == EventType::kDelete) ++deletes;
  }
  EXPECT_EQ(events.size(), g->counts().total);
  EXPECT_EQ(creates["person"], o.persons);
  EXPECT_EQ(creates["company"], o.companies);
  EXPECT_EQ(creates["transaction"], o.transactions);
  EXPECT_EQ(creates["communication"], o.communications);
  EXPECT_EQ(creates["sanction_entry"], o.sanctioned_persons + o.sanctioned_companies);
  EXPECT_GE(creates["account"], o.persons + o.companies);
  EXPECT_LE(creates["account"], 3 * (o.persons + o.companies));
  EXPECT_EQ(creates, g->counts().creates);
  EXPECT_EQ(updates, g->counts().updates);
  EXPECT_EQ(deletes, g->counts().deletes);
  // 10% of persons + companies + accounts (less the few that patterns use).
  const double entities = static_cast<double>(o.persons + o.companies + creates["account"]);
  EXPECT_NEAR(static_cast<double>(updates), 0.1 * entities, 0.01 * entities);
  EXPECT_EQ(deletes, 6u);  // a fifth of 10% of 300 communications
}

TEST(BankingGenerator, EveryEventIsValidUniqueAndInTimeOrder) {
  const BankingOptions o = Small();
  const std::string ndjson = Ndjson(*Make(o));
  const std::vector<EntityEvent> events = ParseAll(ndjson);
  ASSERT_EQ(events.size(), static_cast<size_t>(std::count(ndjson.begin(), ndjson.end(), '\n')));
  std::set<std::string> ids;
  int64_t last = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const EntityEvent& e = events[i];
    EXPECT_EQ(e.event_id, "gen-7-" + std::to_string(i));
    EXPECT_TRUE(ids.insert(e.event_id).second);
    EXPECT_GE(e.timestamp_us, last) << e.event_id;
    EXPECT_GE(e.timestamp_us, o.start_us);
    EXPECT_LE(e.timestamp_us, o.start_us + o.span_us);
    last = e.timestamp_us;
    EXPECT_FALSE(e.source.empty());
    const bool screened = e.entity_type == "person" || e.entity_type == "company" ||
                          e.entity_type == "sanction_entry";
    if (e.event_type == EventType::kCreate) {
      EXPECT_EQ(screened, e.text_for_embedding.has_value()) << e.event_id;
    }
    if (e.event_type == EventType::kUpdate) {
      EXPECT_EQ(e.version, 2);
    }
  }
  // The span is used: the last event is in its final percent.
  EXPECT_GT(last, o.start_us + o.span_us / 100 * 99);
  // Amounts are JSON numbers with two decimals, written as such.
  size_t amounts = 0;
  for (size_t pos = ndjson.find("\"amount\":"); pos != std::string::npos;
       pos = ndjson.find("\"amount\":", pos + 1)) {
    const size_t start = pos + 9, comma = ndjson.find(',', start);
    const std::string a = ndjson.substr(start, comma - start);
    const size_t dot = a.find('.');
    ASSERT_NE(dot, std::string::npos) << a;
    EXPECT_EQ(a.size() - dot, 3u) << a;
    EXPECT_GT(std::stod(a), 0.0) << a;
    ++amounts;
  }
  EXPECT_EQ(amounts, o.transactions);
}

// Every reference (BankingSchema's fields) names an entity the output creates;
// the ones named before their create are exactly the planned early arrivals.
TEST(BankingGenerator, ReferencesResolveAndFewArriveEarly) {
  const BankingOptions o = Small();
  std::unique_ptr<BankingGenerator> g = Make(o);
  const std::vector<EntityEvent> events = ParseAll(Ndjson(*g));
  std::map<std::string, size_t> created_at;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].event_type == EventType::kCreate) {
      EXPECT_TRUE(created_at.emplace(events[i].entity_id, i).second) << events[i].entity_id;
    }
  }
  const GraphSchema schema = BankingSchema();
  size_t refs = 0, early = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const EntityEvent& e = events[i];
    const json payload = json::parse(e.payload);
    for (const ReferenceSpec& spec : schema.references) {
      if (spec.entity_type != e.entity_type || !payload.contains(spec.field)) continue;
      const json& v = payload[spec.field];
      std::vector<std::string> targets;
      if (v.is_string()) targets.push_back(v.get<std::string>());
      if (v.is_array()) targets = v.get<std::vector<std::string>>();
      for (const std::string& t : targets) {
        ++refs;
        auto it = created_at.find(t);
        ASSERT_NE(it, created_at.end()) << e.entity_id << "." << spec.field << " → " << t;
        if (it->second > i) {
          ++early;
          EXPECT_EQ(e.entity_type + "." + spec.field, "transaction.to_account");
          EXPECT_LT(it->second, i + 40) << "the late account follows soon";
        }
      }
    }
  }
  EXPECT_GT(refs, o.transactions * 2);
  EXPECT_EQ(early, g->counts().early_arrivals);
  EXPECT_EQ(early, static_cast<size_t>(o.transactions * o.early_arrival_share));
  // The deletes name communications that exist and are not deleted twice.
  std::set<std::string> deleted;
  for (const EntityEvent& e : events) {
    if (e.event_type != EventType::kDelete) continue;
    EXPECT_EQ(e.entity_type, "communication");
    EXPECT_TRUE(created_at.count(e.entity_id));
    EXPECT_TRUE(deleted.insert(e.entity_id).second);
  }
}

float Cosine(const float* a, const float* b, size_t d) {
  float dot = 0;
  for (size_t i = 0; i < d; ++i) dot += a[i] * b[i];
  return dot;  // the embedder's vectors are L2-normalised
}

// The sanctions list names the generated customers, sometimes spelled
// differently; the hash embedder (what screening uses) still ranks the
// customer in the top 5 for the listed name, and mostly for the query.
TEST(BankingGenerator, SanctionedNamesFindTheirCustomer) {
  BankingOptions o;  // defaults: 6000 persons, 1500 companies, 50 sanctioned
  o.transactions = 0;
  o.communications = 0;
  std::unique_ptr<BankingGenerator> g = Make(o);
  const std::vector<EntityEvent> events = ParseAll(Ndjson(*g));
  std::map<std::string, const EntityEvent*> by_id;
  std::vector<std::string> ids;
  std::vector<std::string_view> texts;
  std::map<std::string, json> entries;
  for (const EntityEvent& e : events) {
    by_id[e.entity_id] = &e;
    if (e.entity_type == "person" || e.entity_type == "company") {
      ids.push_back(e.entity_id);
      texts.push_back(*e.text_for_embedding);
    }
    if (e.entity_type == "sanction_entry") entries[e.entity_id] = json::parse(e.payload);
  }
  const std::vector<SanctionedName>& names = g->SanctionedNames();
  ASSERT_EQ(names.size(), 50u);
  ASSERT_EQ(entries.size(), 50u);
  EXPECT_EQ(names[0].entity_id, g->planted().director_id);
  size_t respelled = 0;
  for (const SanctionedName& s : names) {
    const json& entry = entries.at(s.entry_id);
    EXPECT_EQ(entry["matches_entity"], s.entity_id);
    EXPECT_EQ(entry["name"], s.listed_name);
    EXPECT_EQ(entry["list"], s.list);
    ASSERT_TRUE(by_id.count(s.entity_id)) << s.entity_id;
    EXPECT_EQ(by_id[s.entity_id]->entity_type, s.entity_type);
    EXPECT_EQ(json::parse(by_id[s.entity_id]->payload)["name"], s.customer_name);
    EXPECT_NE(s.query, s.listed_name);
    respelled += s.listed_name != s.customer_name;
  }
  EXPECT_GE(respelled, 10u) << "about half the list spells the name differently";
  EXPECT_LE(respelled, 40u);

  std::unique_ptr<Embedder> embedder = NewHashEmbedder({}).value();
  const size_t d = embedder->dimension();
  std::vector<float> docs;
  ASSERT_TRUE(embedder->Embed(texts, &docs).ok());
  auto rank_of = [&](const std::string& query, const std::string& want) {
    std::vector<float> q;
    std::string_view qv = query;
    EXPECT_TRUE(embedder->Embed({&qv, 1}, &q).ok());
    size_t want_index = 0;
    while (ids[want_index] != want) ++want_index;
    const float target = Cosine(q.data(), &docs[want_index * d], d);
    size_t better = 0;
    for (size_t i = 0; i < ids.size(); ++i) better += Cosine(q.data(), &docs[i * d], d) > target;
    return better + 1;
  };
  size_t listed_top1 = 0, query_top5 = 0;
  for (const SanctionedName& s : names) {
    const size_t r = rank_of(s.listed_name, s.entity_id);
    EXPECT_LE(r, 5u) << s.listed_name << " vs " << s.customer_name;
    listed_top1 += r == 1;
    query_top5 += rank_of(s.query, s.entity_id) <= 5;
  }
  std::printf("listed name ranks the customer first: %zu/50; misspelled query in top 5: %zu/50\n",
              listed_top1, query_top5);
  EXPECT_GE(query_top5, 40u);
}

TEST(BankingGenerator, PlantedPatternsArePresent) {
  const BankingOptions o = Small();
  std::unique_ptr<BankingGenerator> g = Make(o);
  const PlantedPatterns& p = g->planted();
  ASSERT_FALSE(p.director_id.empty());
  ASSERT_FALSE(p.mule_account.empty());
  ASSERT_EQ(p.chain_accounts.size(), o.chain_hops + 1);
  ASSERT_EQ(p.chain_transactions.size(), o.chain_hops);
  ASSERT_EQ(p.flow_transactions.size(), o.sanctioned_flow_transfers);
  ASSERT_EQ(p.fan_in_transactions.size(), o.fan_in_transfers);

  const std::vector<EntityEvent> events = ParseAll(Ndjson(*g));
  std::map<std::string, json> payload;
  std::map<std::string, size_t> position;
  std::map<std::string, std::set<std::string>> senders_to;
  std::map<std::string, size_t> incoming;
  for (size_t i = 0; i < events.size(); ++i) {
    const EntityEvent& e = events[i];
    if (e.event_type != EventType::kCreate) continue;
    payload[e.entity_id] = json::parse(e.payload);
    position[e.entity_id] = i;
    if (e.entity_type == "transaction") {
      const std::string to = payload[e.entity_id]["to_account"];
      ++incoming[to];
      senders_to[to].insert(payload[e.entity_id]["from_account"].get<std::string>());
    }
  }
  // Sanctioned director: on the list, director and owner of the company,
  // whose accounts pay structured amounts to customers.
  const json& company = payload.at(p.company_id);
  EXPECT_EQ(company["directors"][0], p.director_id);
  EXPECT_EQ(company["beneficial_owners"][0], p.director_id);
  EXPECT_EQ(payload.at(p.director_entry)["matches_entity"], p.director_id);
  for (const std::string& a : p.company_accounts)
    EXPECT_EQ(payload.at(a)["owner_id"], p.company_id);
  for (const std::string& t : p.flow_transactions) {
    const json& tx = payload.at(t);
    EXPECT_NE(std::find(p.company_accounts.begin(), p.company_accounts.end(),
                        tx["from_account"].get<std::string>()),
              p.company_accounts.end());
    EXPECT_NE(std::find(p.flow_recipients.begin(), p.flow_recipients.end(),
                        tx["to_account"].get<std::string>()),
              p.flow_recipients.end());
    EXPECT_GE(tx["amount"].get<double>(), 9000.0);
    EXPECT_LT(tx["amount"].get<double>(), 10000.0);
  }
  ASSERT_FALSE(p.flow_communications.empty());
  for (const std::string& m : p.flow_communications) {
    EXPECT_EQ(payload.at(m)["from_person"], p.director_id);
  }
  // Fan-in: many small transfers from many accounts, close together.
  EXPECT_GE(incoming[p.mule_account], o.fan_in_transfers);
  EXPECT_GE(senders_to[p.mule_account].size(), o.fan_in_senders);
  size_t first = SIZE_MAX, last = 0;
  for (const std::string& t : p.fan_in_transactions) {
    EXPECT_EQ(payload.at(t)["to_account"], p.mule_account);
    EXPECT_LT(payload.at(t)["amount"].get<double>(), 1000.0 * 26000);  // small (VND at most)
    first = std::min(first, position[t]);
    last = std::max(last, position[t]);
  }
  EXPECT_LT(last - first, events.size() / 4) << "the fan-in is clustered in time";
  // Chain: hop i moves money from account i to account i+1, in order, each
  // hop passing on less.
  double previous = 1e18;
  for (size_t i = 0; i < p.chain_transactions.size(); ++i) {
    const json& tx = payload.at(p.chain_transactions[i]);
    EXPECT_EQ(tx["from_account"], p.chain_accounts[i]);
    EXPECT_EQ(tx["to_account"], p.chain_accounts[i + 1]);
    EXPECT_LT(tx["amount"].get<double>(), previous);
    previous = tx["amount"].get<double>();
    if (i > 0) {
      EXPECT_GT(position[p.chain_transactions[i]], position[p.chain_transactions[i - 1]]);
    }
  }
  // The summary names them too.
  const json summary = json::parse(g->SummaryJson());
  EXPECT_EQ(summary["planted"]["fan_in"]["account"], p.mule_account);
  EXPECT_EQ(summary["planted"]["sanctioned_director"]["person"], p.director_id);
  EXPECT_EQ(summary["counts"]["total"], g->counts().total);
  EXPECT_EQ(summary["sanctioned"].size(), g->SanctionedNames().size());
}

TEST(BankingGenerator, TinyWorldsLeavePatternsOutButStayValid) {
  BankingOptions o;
  o.persons = 3;
  o.companies = 1;
  o.transactions = 20;
  o.communications = 4;
  std::unique_ptr<BankingGenerator> g = Make(o);
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->planted().mule_account.empty());
  EXPECT_TRUE(g->planted().chain_accounts.empty());
  EXPECT_TRUE(g->planted().flow_transactions.empty());
  const std::vector<EntityEvent> events = ParseAll(Ndjson(*g));
  EXPECT_EQ(events.size(), g->counts().total);

  o = BankingOptions{};
  o.persons = o.companies = o.transactions = o.communications = 0;
  g = Make(o);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->counts().total, 0u);
  EXPECT_EQ(Ndjson(*g), "");
}

TEST(BankingGenerator, BadOptionsNameTheField) {
  auto error = [](const BankingOptions& o) {
    Result<std::unique_ptr<BankingGenerator>> g = BankingGenerator::Create(o);
    EXPECT_FALSE(g.ok());
    return g.ok() ? std::string() : g.status().ToString();
  };
  BankingOptions o;
  o.updates_share = 1.5;
  EXPECT_NE(error(o).find("updates_share: must be in 0..1, got 1.5"), std::string::npos)
      << error(o);
  o = {};
  o.early_arrival_share = -0.1;
  EXPECT_NE(error(o).find("early_arrival_share"), std::string::npos);
  o = {};
  o.min_accounts = 3;
  o.max_accounts = 2;
  EXPECT_NE(error(o).find("min_accounts"), std::string::npos);
  o = {};
  o.persons = 1;
  o.communications = 5;
  EXPECT_NE(error(o).find("communications: need at least 2 persons"), std::string::npos);
  o = {};
  o.span_us = 10;
  EXPECT_NE(error(o).find("span_us"), std::string::npos);
  o = {};
  o.persons = 200'000'000;
  EXPECT_NE(error(o).find("persons: must be at most"), std::string::npos);
}

// Measured, not asserted: timing never decides a unit test.
TEST(BankingGenerator, ThroughputOf100kEvents) {
  BankingOptions o;
  o.transactions = 80'000;
  o.communications = 3'000;
  const auto t0 = std::chrono::steady_clock::now();
  std::unique_ptr<BankingGenerator> g = Make(o);
  uint64_t events = 0, bytes = 0;
  ASSERT_TRUE(g->GenerateNdjson([&](std::string_view line) {
                 ++events;
                 bytes += line.size();
                 return Status::OK();
               }).ok());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(events, g->counts().total);
  EXPECT_GE(events, 100'000u);
  std::printf("generated %llu events (%.1f MB NDJSON) in %.3f s: %.0f events/s\n",
              static_cast<unsigned long long>(events), static_cast<double>(bytes) / 1e6, s,
              static_cast<double>(events) / s);
  RecordProperty("events_per_second", static_cast<int>(static_cast<double>(events) / s));
}

TEST(BankingGenerator, SinkErrorStopsGeneration) {
  std::unique_ptr<BankingGenerator> g = Make(Small());
  int calls = 0;
  Status s = g->Generate([&](const EntityEvent&) {
    return ++calls == 10 ? Status::IOError("disk full") : Status::OK();
  });
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_EQ(calls, 10);
}

}  // namespace
}  // namespace tandem::gen
