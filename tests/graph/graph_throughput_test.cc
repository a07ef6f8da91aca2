// Throughput of ApplyBatch on a banking-shaped workload (persons, accounts
// owned by persons, transactions between accounts; creates and updates), in
// batches of 500. Disabled by default: it measures, it does not judge.
//   graph_test --gtest_also_run_disabled_tests --gtest_filter='GraphThroughput*'

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>

#include "graph_test_util.h"

namespace tandem::graph_test {
namespace {

std::vector<StoreEvent> Workload(size_t n) {
  Random rnd(7);
  std::vector<StoreEvent> out;
  out.reserve(n);
  const size_t persons = n / 20, accounts = n / 10;
  uint64_t offset = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t kind = rnd.Uniform(10);
    std::string payload;
    if (kind == 0) {
      payload = R"({"name":"Person )" + std::to_string(i) + R"(","city":"Berlin","kyc":"ok"})";
      out.push_back(Ev(EventType::kUpsert, "person", "p" + std::to_string(rnd.Uniform(persons)),
                       offset++, payload));
    } else if (kind == 1) {
      payload = R"({"owner_id":"p)" + std::to_string(rnd.Uniform(persons)) +
                R"(","currency":"EUR","status":"open"})";
      out.push_back(Ev(EventType::kUpdate, "account", "a" + std::to_string(rnd.Uniform(accounts)),
                       offset++, payload));
    } else {
      payload = R"({"from_account":"a)" + std::to_string(rnd.Uniform(accounts)) +
                R"(","to_account":"a)" + std::to_string(rnd.Uniform(accounts)) +
                R"(","amount":125.5,"currency":"EUR","memo":"invoice"})";
      out.push_back(
          Ev(EventType::kCreate, "transaction", "t" + std::to_string(i), offset++, payload));
    }
  }
  return out;
}

void Measure(bool sync) {
  TempDir dir;
  GraphStoreOptions o;
  o.dir = dir.path() + "/graph";
  o.sync = sync;
  auto store = OpenGraphStore(o);
  STORE_ASSERT_OK(store);
  const std::vector<StoreEvent> events = Workload(200'000);
  const auto start = std::chrono::steady_clock::now();
  uint64_t applied = 0;
  for (size_t i = 0; i < events.size(); i += 500) {
    size_t n = std::min<size_t>(500, events.size() - i);
    auto r = (*store)->ApplyBatch(std::span<const StoreEvent>(events).subspan(i, n));
    STORE_ASSERT_OK(r);
    applied += r->counts.applied;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(applied, events.size());
  std::cout << "sync=" << sync << ": " << events.size() << " events in " << secs
            << " s = " << static_cast<uint64_t>(events.size() / secs) << " events/s\n";
}

TEST(GraphThroughput, DISABLED_BankingWorkloadInBatchesOf500) {
  Measure(true);
  Measure(false);
}

}  // namespace
}  // namespace tandem::graph_test
