// Helpers for the leg tests: a log on a MemFileSystem behind a fault-injecting
// wrapper (so a test can make the log "lose" acknowledgements that were never
// committed, as a crash would), graph stores in a mkdtemp directory, the
// banking sample as events, DLQ reading and the accounting identity.
//
// Thread safety: LegEnv is used by the test thread; the Log it opens and the
// stores are thread-safe as documented.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../store/store_test_util.h"
#include "common/hash.h"
#include "env/fault_injection_fs.h"
#include "store/mem_store.h"
#include "tandem/env.h"
#include "tandem/event.h"
#include "tandem/graph.h"
#include "tandem/leg.h"
#include "tandem/log.h"
#include "tandem/producer.h"

#ifndef TANDEM_BANKING_EVENTS
#error "TANDEM_BANKING_EVENTS must name examples/banking/events.ndjson"
#endif

#define LEG_ASSERT_OK(expr) STORE_ASSERT_OK(expr)
#define LEG_EXPECT_OK(expr) STORE_EXPECT_OK(expr)

namespace tandem::leg_test {

using store_test::TempDir;

inline constexpr uint32_t kPartitions = 4;
inline constexpr int64_t kWaitUs = 60'000'000;  // bound of every wait for a leg (60 s)
// Distinct records of the banking sample (59 lines, two re-sent event_ids).
inline constexpr uint64_t kSampleRecords = 57;

// The banking sample, parsed, in file order.
inline std::vector<EntityEvent> SampleEvents() {
  std::ifstream in(TANDEM_BANKING_EVENTS, std::ios::binary);
  EXPECT_TRUE(in.good()) << TANDEM_BANKING_EVENTS;
  EventParser parser(SystemClock());
  std::vector<EntityEvent> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Result<EntityEvent> e = parser.Parse(line);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (e.ok()) out.push_back(std::move(e).value());
  }
  return out;
}

// The digest of `events` applied in order to a fresh MemStore (the reference
// model), with positions as the log assigns them (partition = hash of the key).
inline StoreDigest ReferenceDigest(const std::vector<EntityEvent>& events) {
  std::map<std::pair<std::string, uint32_t>, uint64_t> next;
  std::vector<StoreEvent> batch;
  for (const EntityEvent& e : events) {
    const uint32_t p = PartitionForKey(e.entity_id, kPartitions);
    batch.push_back(StoreEvent{e, LogPosition{e.entity_type, p, next[{e.entity_type, p}]++}});
  }
  MemStoreData data;
  std::unique_ptr<Store> store = NewMemStore(data);
  Result<BatchResult> r = store->ApplyBatch(batch);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  Result<StoreDigest> d = store->Digest();
  EXPECT_TRUE(d.ok());
  return d.ok() ? *d : StoreDigest{};
}

// A log on MemFileSystem → FaultInjectionFileSystem, real clock (so the log's
// nack backoff passes by itself), 4 partitions per topic.
class LegEnv {
 public:
  LegEnv() : base_(NewMemFileSystem()), fault_(*base_) {
    options_.dir = "/log";
    options_.fs = &fault_;
    options_.default_partitions = kPartitions;
  }
  ~LegEnv() { CloseLog(); }

  LogOptions& log_options() { return options_; }
  Log& log() { return *log_; }
  FaultInjectionFileSystem& fault() { return fault_; }

  void OpenLog() {
    Result<std::unique_ptr<Log>> log = Log::Open(options_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }
  void CloseLog() {
    if (log_ != nullptr) (void)log_->Close();  // may fail while faults are set
    log_.reset();
  }

  // From now on no subscription position reaches the file system (renames
  // fail): acknowledgements not committed yet are lost, as in a crash.
  void LoseUncommittedAcks() {
    FaultSpec spec;
    spec.op_mask = FileOpBit(FileOp::kRename);
    spec.fail_after = 1;
    spec.persistent = true;
    fault_.SetFault(spec);
  }
  // The "process" restarts: the log is reopened from what reached its files.
  void RestartLog() {
    CloseLog();
    fault_.ClearFaults();
    OpenLog();
  }

  // A graph store in <tmp>/<name> (reopened if it exists).
  std::unique_ptr<GraphStore> OpenGraph(const std::string& name) {
    GraphStoreOptions o;
    o.dir = dir_.path() + "/" + name;
    Result<std::unique_ptr<GraphStore>> g = OpenGraphStore(o);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? std::move(g).value() : nullptr;
  }

  void Publish(const std::vector<EntityEvent>& events) {
    Producer producer(*log_);
    std::vector<AppendResult> results;
    Status s = producer.PublishBatch(events, &results);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // Every record of `topic`, all partitions, in (partition, offset) order.
  std::vector<Record> ReadAll(const std::string& topic) {
    std::vector<Record> out;
    Result<TopicStats> st = log_->Stats(topic);
    if (!st.ok()) return out;
    for (const PartitionStats& p : st->partitions) {
      uint64_t from = p.start_offset;
      while (from < p.end_offset) {
        std::vector<Record> recs;
        Status s = log_->Read(topic, p.partition, from, 1 << 20, &recs);
        EXPECT_TRUE(s.ok()) << s.ToString();
        if (!s.ok() || recs.empty()) break;
        from = recs.back().offset + 1;
        for (Record& r : recs) out.push_back(std::move(r));
      }
    }
    return out;
  }

 private:
  TempDir dir_;
  std::unique_ptr<FileSystem> base_;
  FaultInjectionFileSystem fault_;
  LogOptions options_;
  std::unique_ptr<Log> log_;
};

inline std::string HeaderOf(const Record& r, const std::string& key) {
  for (const Header& h : r.headers) {
    if (h.key == key) return h.value;
  }
  return "";
}

// Small, fast defaults for tests: short backoffs, small batches.
inline LegOptions TestLegOptions(const std::string& name = "graph") {
  LegOptions o;
  o.name = name;
  o.max_batch_events = 16;
  o.retry.initial_backoff_us = 1'000;
  o.retry.max_backoff_us = 5'000;
  o.redelivery.backoff_base_us = 1'000;
  o.redelivery.backoff_max_us = 5'000;
  o.commit_interval_us = 20'000;
  o.seed = 42;
  return o;
}

// The accounting identities of a leg at rest (see LegStats).
inline void ExpectBalanced(const LegStats& s) {
  EXPECT_EQ(s.acknowledged, s.applied + s.skipped() + s.dead_lettered());
  EXPECT_EQ(s.consumed, s.acknowledged + s.nacked + s.released + s.settle_errors);
}

// Polls `done` every millisecond until it holds or `timeout` of real time passed.
template <typename F>
bool Eventually(F done, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace tandem::leg_test
