// Partition: appends, group commit, reads, rolls, retention and dedup.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <set>
#include <thread>
#include <unordered_map>

#include "log/dedup_index.h"
#include "log/partition_test_util.h"

namespace tandem {
namespace {

using testing_util::AppendOne;
using testing_util::GatedFileSystem;
using testing_util::PartitionEnv;
using testing_util::PoolGate;
using testing_util::ReadAll;
using testing_util::Rec;

PartitionOptions Small() {
  PartitionOptions o;
  o.index_interval_bytes = 64;
  return o;
}

// Counts one FileOp through the fault FS without failing it.
void CountOps(FaultInjectionFileSystem& fs, FileOp op) {
  FaultSpec spec;
  spec.op_mask = FileOpBit(op);
  fs.SetFault(spec);
}

// Starts `n` single-record appends with values "v<i>"; returns their futures.
std::vector<std::future<std::pair<Status, std::vector<AppendResult>>>> StartAppends(
    Partition& p, int n, const std::string& id_prefix = "") {
  std::vector<std::future<std::pair<Status, std::vector<AppendResult>>>> out;
  for (int i = 0; i < n; ++i) {
    auto promise = std::make_shared<std::promise<std::pair<Status, std::vector<AppendResult>>>>();
    out.push_back(promise->get_future());
    std::vector<ProduceRecord> r;
    r.push_back(
        Rec("v" + std::to_string(i), id_prefix.empty() ? "" : id_prefix + std::to_string(i)));
    p.AppendAsync(std::move(r), [promise](Status s, std::vector<AppendResult> res) {
      promise->set_value({std::move(s), std::move(res)});
    });
  }
  return out;
}

// Waits (up to 10 s) until `pred` holds.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 10'000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

// Releases a GatedFileSystem when a test ends early, so Close never hangs.
struct ReleaseOnExit {
  GatedFileSystem& gated;
  ~ReleaseOnExit() { gated.Release(); }
};

// Options under which every queued request is written early while a sync runs
// (the early-write threshold is capped by max_batch_bytes).
PartitionOptions EarlyWrites() {
  PartitionOptions o = Small();
  o.max_batch_bytes = 1;  // every request is its own group, written at once
  return o;
}

bool IsReady(std::future<std::pair<Status, std::vector<AppendResult>>>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

TEST(PartitionAppend, OffsetsAreContiguousAndReadBack) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  for (int i = 0; i < 20; ++i) {
    AppendResult r = AppendOne(*p, "value-" + std::to_string(i));
    EXPECT_EQ(r.offset, static_cast<uint64_t>(i));
    EXPECT_FALSE(r.duplicate);
  }
  std::vector<ProduceRecord> many;
  for (int i = 20; i < 30; ++i) many.push_back(Rec("value-" + std::to_string(i)));
  std::vector<AppendResult> results;
  ASSERT_TRUE(p->Append(std::move(many), &results).ok());
  ASSERT_EQ(results.size(), 10u);
  EXPECT_EQ(results[9].offset, 29u);
  EXPECT_EQ(p->end_offset(), 30u);
  std::vector<Record> all = ReadAll(*p);
  ASSERT_EQ(all.size(), 30u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].offset, i);
    EXPECT_EQ(all[i].value, "value-" + std::to_string(i));
    EXPECT_EQ(all[i].timestamp_us, env.clock.NowMicros());
  }
}

TEST(PartitionAppend, RecordFieldsSurviveIncludingHeadersAndExplicitTimestamps) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  ProduceRecord r = Rec("payload", "id-1", "person-9");
  r.headers = {{"a", "1"}, {"", ""}};
  r.timestamp_us = 12345;
  std::vector<ProduceRecord> v{r};
  ASSERT_TRUE(p->Append(std::move(v), nullptr).ok());
  std::vector<Record> all = ReadAll(*p);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].key, "person-9");
  EXPECT_EQ(all[0].id, "id-1");
  EXPECT_EQ(all[0].headers, r.headers);
  EXPECT_EQ(all[0].timestamp_us, 12345);
}

TEST(PartitionAppend, ReadHonoursMaxBytesButReturnsAtLeastOneRecord) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  for (int i = 0; i < 10; ++i) AppendOne(*p, std::string(100, 'a' + i));
  std::vector<Record> out;
  ASSERT_TRUE(p->Read(3, 1, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].offset, 3u);
  ASSERT_TRUE(p->Read(3, 350, &out).ok());
  EXPECT_EQ(out.size(), 3u);  // each record is 100 + 1 (key) bytes
  ASSERT_TRUE(p->Read(10, 1000, &out).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p->Read(1000, 1000, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST(PartitionAppend, TooLargeRecordIsRefusedAndNothingIsAppended) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.max_record_bytes = 100;
  auto p = env.MustOpen(o);
  std::vector<ProduceRecord> v{Rec("ok"), Rec(std::string(200, 'x'))};
  Status s = p->Append(std::move(v), nullptr);
  EXPECT_EQ(s.code(), StatusCode::kTooLarge);
  EXPECT_EQ(p->end_offset(), 0u);
  EXPECT_EQ(AppendOne(*p, "next").offset, 0u);
}

TEST(PartitionAppend, EmptyAppendSucceedsWithNoResults) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  std::vector<AppendResult> results{AppendResult{}};
  ASSERT_TRUE(p->Append({}, &results).ok());
  EXPECT_TRUE(results.empty());
  EXPECT_EQ(p->end_offset(), 0u);
}

TEST(PartitionAppend, AppendAfterCloseIsAborted) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  AppendOne(*p, "a");
  ASSERT_TRUE(p->Close().ok());
  ASSERT_TRUE(p->Close().ok());  // idempotent
  std::vector<ProduceRecord> v{Rec("b")};
  EXPECT_EQ(p->Append(std::move(v), nullptr).code(), StatusCode::kAborted);
}

TEST(PartitionAppend, WaitForDataSeesNewRecords) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  EXPECT_FALSE(p->WaitForData(0, 0));
  std::thread waiter([&] { EXPECT_TRUE(p->WaitForData(0, 60'000'000)); });
  AppendOne(*p, "x");
  waiter.join();
  EXPECT_TRUE(p->WaitForData(0, 0));
  EXPECT_FALSE(p->WaitForData(1, 1000));
}

// ---- Group commit ----

TEST(PartitionGroupCommit, QueuedRequestsShareOneWriteAndOneSync) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  std::vector<std::future<std::pair<Status, std::vector<AppendResult>>>> futures;
  {
    PoolGate gate(env.pool);
    CountOps(env.fault, FileOp::kSync);
    futures = StartAppends(*p, 64);
  }
  std::set<uint64_t> offsets;
  for (auto& f : futures) {
    auto [s, r] = f.get();
    ASSERT_TRUE(s.ok()) << s.ToString();
    offsets.insert(r[0].offset);
  }
  EXPECT_EQ(env.fault.ops_seen(), 1u);  // one fdatasync for the whole group
  EXPECT_EQ(offsets.size(), 64u);
  EXPECT_EQ(*offsets.rbegin(), 63u);
  EXPECT_EQ(ReadAll(*p).size(), 64u);
}

TEST(PartitionGroupCommit, GroupsAreCappedByMaxBatchBytes) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.max_batch_bytes = 100;  // about three small records per group
  auto p = env.MustOpen(o);
  std::vector<std::future<std::pair<Status, std::vector<AppendResult>>>> futures;
  {
    PoolGate gate(env.pool);
    CountOps(env.fault, FileOp::kSync);
    for (int i = 0; i < 30; ++i) {
      auto f = StartAppends(*p, 1);
      futures.push_back(std::move(f[0]));
    }
  }
  for (auto& f : futures) ASSERT_TRUE(f.get().first.ok());
  EXPECT_GT(env.fault.ops_seen(), 1u);
  EXPECT_LT(env.fault.ops_seen(), 30u);
  EXPECT_EQ(ReadAll(*p).size(), 30u);
}

TEST(PartitionGroupCommit, ConcurrentAppendersGetUniqueContiguousOffsets) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  CountOps(env.fault, FileOp::kSync);
  constexpr int kThreads = 16;
  constexpr int kPerThread = 50;
  std::vector<std::vector<std::pair<uint64_t, std::string>>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string v = std::to_string(t) + "/" + std::to_string(i);
        std::vector<ProduceRecord> recs{Rec(v), Rec(v + "b")};
        std::vector<AppendResult> res;
        ASSERT_TRUE(p->Append(std::move(recs), &res).ok());
        ASSERT_EQ(res[1].offset, res[0].offset + 1);  // one request stays contiguous
        seen[t].push_back({res[0].offset, v});
      }
    });
  }
  for (auto& th : threads) th.join();
  const uint64_t total = 2 * kThreads * kPerThread;
  EXPECT_EQ(p->end_offset(), total);
  EXPECT_LE(env.fault.ops_seen(), total / 2);
  std::vector<Record> all = ReadAll(*p);
  ASSERT_EQ(all.size(), total);
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i].offset, i);
  for (const auto& per : seen) {
    for (const auto& [offset, v] : per) EXPECT_EQ(all[offset].value, v);
  }
}

TEST(PartitionGroupCommit, HugeRequestIsSplitIntoBatchesButStaysOneGroup) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.max_batch_bytes = 2000;
  auto p = env.MustOpen(o);
  CountOps(env.fault, FileOp::kSync);
  std::vector<ProduceRecord> recs;
  for (int i = 0; i < 200; ++i) recs.push_back(Rec(std::string(100, 'z')));
  ASSERT_TRUE(p->Append(std::move(recs), nullptr).ok());
  EXPECT_EQ(env.fault.ops_seen(), 1u);
  EXPECT_EQ(ReadAll(*p).size(), 200u);
  VerifyReport report;
  ASSERT_TRUE(p->Verify(&report).ok());
  EXPECT_GT(report.batches, 5u);
  EXPECT_TRUE(report.issues.empty());
}

TEST(PartitionGroupCommit, ZstdPartitionRoundTrips) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.compression = Compression::kZstd;
  auto p = env.MustOpen(o);
  for (int i = 0; i < 50; ++i) AppendOne(*p, std::string(500, 'q') + std::to_string(i));
  ASSERT_TRUE(p->Close().ok());
  p = env.MustOpen(o);
  std::vector<Record> all = ReadAll(*p);
  ASSERT_EQ(all.size(), 50u);
  EXPECT_EQ(all[49].value, std::string(500, 'q') + "49");
  EXPECT_LT(p->Stats().bytes, 50u * 100);
}

TEST(PartitionGroupCommit, IntervalPolicyAcknowledgesBeforeSyncAndFlushSyncs) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.fsync = FsyncPolicy::kInterval;
  auto p = env.MustOpen(o);
  CountOps(env.fault, FileOp::kSync);
  for (int i = 0; i < 5; ++i) AppendOne(*p, "x");
  EXPECT_EQ(env.fault.ops_seen(), 0u);
  EXPECT_EQ(ReadAll(*p).size(), 5u);
  ASSERT_TRUE(p->Flush().ok());
  EXPECT_EQ(env.fault.ops_seen(), 1u);
  ASSERT_TRUE(env.fault.DropUnsyncedData().ok());
  p.reset();
  env.fault.ClearFaults();
  p = env.MustOpen(o);
  EXPECT_EQ(ReadAll(*p).size(), 5u);  // all were flushed before the power cut
}

// ---- Rolls ----

TEST(PartitionRoll, RollsBySizeAndWritesSealedIndexes) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.segment_bytes = 1000;
  auto p = env.MustOpen(o);
  for (int i = 0; i < 40; ++i) AppendOne(*p, std::string(100, 'r'));
  std::vector<uint64_t> segs = env.Segments();
  ASSERT_GE(segs.size(), 4u);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    EXPECT_TRUE(env.mem->FileExists(env.IndexPath(segs[i]))) << segs[i];
    EXPECT_LE(env.mem->GetFileSize(env.SegPath(segs[i])).value(), 1000u);
  }
  EXPECT_EQ(p->Stats().segments, segs.size());
  std::vector<Record> all = ReadAll(*p);
  ASSERT_EQ(all.size(), 40u);
  std::vector<Record> mid;
  ASSERT_TRUE(p->Read(segs[2] + 1, 1, &mid).ok());
  ASSERT_EQ(mid.size(), 1u);
  EXPECT_EQ(mid[0].offset, segs[2] + 1);
  VerifyReport report;
  ASSERT_TRUE(p->Verify(&report).ok());
  EXPECT_TRUE(report.issues.empty()) << report.issues[0].problem;
  EXPECT_EQ(report.records, 40u);
}

TEST(PartitionRoll, RollsByAgeOfFirstRecord) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.segment_ms = 60'000;
  auto p = env.MustOpen(o);
  AppendOne(*p, "a");
  env.clock.Advance(30'000'000);
  AppendOne(*p, "b");
  EXPECT_EQ(env.Segments().size(), 1u);
  env.clock.Advance(31'000'000);
  AppendOne(*p, "c");
  EXPECT_EQ(env.Segments(), (std::vector<uint64_t>{0, 2}));
  AppendOne(*p, "d");
  EXPECT_EQ(env.Segments().size(), 2u);
}

// ---- Pipelined group commit ----

// Group 1's fdatasync is held open: group 2 is encoded and written meanwhile,
// and neither is acknowledged (nor visible) before a sync that covers it.
TEST(PartitionPipeline, NextGroupIsWrittenWhileTheSyncIsInFlight) {
  PartitionEnv env;
  GatedFileSystem gated(env.fault);
  env.fs = &gated;
  auto p = env.MustOpen(EarlyWrites());
  ReleaseOnExit release{gated};  // destroyed before p
  FaultSpec count;
  count.op_mask = FileOpBit(FileOp::kWrite) | FileOpBit(FileOp::kSync);
  env.fault.SetFault(count);
  gated.Arm();
  auto first = StartAppends(*p, 1);
  gated.WaitForBlockedSync();
  auto second = StartAppends(*p, 3);
  ASSERT_TRUE(Eventually([&] { return env.fault.ops_seen() == 4; }));  // 4 writes, no sync
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(IsReady(first[0]));
  for (auto& f : second) EXPECT_FALSE(IsReady(f));
  EXPECT_EQ(p->end_offset(), 0u);
  EXPECT_TRUE(ReadAll(*p).empty());
  gated.Release();
  auto [s0, r0] = first[0].get();
  ASSERT_TRUE(s0.ok()) << s0.ToString();
  EXPECT_EQ(r0[0].offset, 0u);
  for (int i = 0; i < 3; ++i) {
    auto [s, r] = second[i].get();
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(r[0].offset, static_cast<uint64_t>(i + 1));
  }
  EXPECT_EQ(env.fault.ops_seen(), 6u);  // 4 writes, then 2 syncs: one covers the 3 early groups
  EXPECT_EQ(ReadAll(*p).size(), 4u);
}

// Small requests arriving during a sync are not written early: they wait and
// share one write, just before the next sync.
TEST(PartitionPipeline, SmallRequestsWaitForTheSyncAndShareOneWrite) {
  PartitionEnv env;
  GatedFileSystem gated(env.fault);
  env.fs = &gated;
  auto p = env.MustOpen(Small());
  ReleaseOnExit release{gated};  // destroyed before p
  FaultSpec count;
  count.op_mask = FileOpBit(FileOp::kWrite) | FileOpBit(FileOp::kSync);
  env.fault.SetFault(count);
  gated.Arm();
  auto a = StartAppends(*p, 1);
  gated.WaitForBlockedSync();
  auto b = StartAppends(*p, 20);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(env.fault.ops_seen(), 1u);  // only a's write
  gated.Release();
  for (auto* v : {&a, &b}) {
    for (auto& f : *v) ASSERT_TRUE(f.get().first.ok());
  }
  EXPECT_EQ(env.fault.ops_seen(), 4u);  // a's write and sync, then one write and sync for b
  EXPECT_EQ(p->end_offset(), 21u);
}

// Callbacks run in offset order even when groups complete on different threads.
TEST(PartitionPipeline, CallbacksRunInOffsetOrder) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.max_batch_bytes = 1;  // every request is its own group
  auto p = env.MustOpen(o);
  constexpr int kAppends = 300;
  std::mutex mu;
  std::vector<uint64_t> order;
  std::promise<void> all;
  for (int i = 0; i < kAppends; ++i) {
    std::vector<ProduceRecord> r{Rec("v" + std::to_string(i), i % 7 == 0 ? "id-0" : "")};
    p->AppendAsync(std::move(r), [&](Status s, std::vector<AppendResult> res) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      std::lock_guard<std::mutex> l(mu);
      order.push_back(res.empty() || res[0].duplicate ? ~uint64_t{0} : res[0].offset);
      if (order.size() == kAppends) all.set_value();
    });
  }
  all.get_future().get();
  std::vector<uint64_t> offsets;
  for (uint64_t o2 : order) {
    if (o2 != ~uint64_t{0}) offsets.push_back(o2);
  }
  EXPECT_TRUE(std::is_sorted(offsets.begin(), offsets.end()));
  EXPECT_EQ(offsets.size(), p->end_offset());
}

// A roll needs the file to itself: it waits for the in-flight sync, so the
// sealed index covers every group written to the old segment.
TEST(PartitionPipeline, RollWaitsForTheInFlightSync) {
  PartitionEnv env;
  GatedFileSystem gated(env.fault);
  env.fs = &gated;
  PartitionOptions o = EarlyWrites();
  o.segment_bytes = 400;
  auto p = env.MustOpen(o);
  ReleaseOnExit release{gated};  // destroyed before p
  AppendOne(*p, std::string(100, 'a'));
  gated.Arm();
  auto a = StartAppends(*p, 1);  // about 80 bytes: still segment 0
  gated.WaitForBlockedSync();
  std::vector<std::future<std::pair<Status, std::vector<AppendResult>>>> b;
  {
    auto promise = std::make_shared<std::promise<std::pair<Status, std::vector<AppendResult>>>>();
    b.push_back(promise->get_future());
    std::vector<ProduceRecord> r{Rec(std::string(300, 'b'))};  // needs a roll
    p->AppendAsync(std::move(r), [promise](Status s, std::vector<AppendResult> res) {
      promise->set_value({std::move(s), std::move(res)});
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(env.Segments().size(), 1u);  // not rolled under the in-flight sync
  gated.Release();
  ASSERT_TRUE(a[0].get().first.ok());
  auto [s, r] = b[0].get();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(r[0].offset, 2u);
  EXPECT_EQ(env.Segments(), (std::vector<uint64_t>{0, 2}));
  VerifyReport report;
  ASSERT_TRUE(p->Verify(&report).ok());
  EXPECT_TRUE(report.issues.empty()) << report.issues[0].problem;
  EXPECT_EQ(report.records, 3u);
}

// Close waits for the in-flight sync and acknowledges what it covers.
TEST(PartitionPipeline, CloseCompletesTheInFlightGroups) {
  PartitionEnv env;
  GatedFileSystem gated(env.fault);
  env.fs = &gated;
  auto p = env.MustOpen(Small());
  ReleaseOnExit release{gated};  // destroyed before p
  gated.Arm();
  auto a = StartAppends(*p, 1);
  gated.WaitForBlockedSync();
  auto b = StartAppends(*p, 2);
  std::future<Status> closed = std::async(std::launch::async, [&] { return p->Close(); });
  EXPECT_EQ(closed.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout);
  gated.Release();
  ASSERT_TRUE(closed.get().ok());
  for (auto* v : {&a, &b}) {
    for (auto& f : *v) ASSERT_TRUE(f.get().first.ok());
  }
  EXPECT_EQ(p->end_offset(), 3u);
  p = env.MustOpen(Small());
  EXPECT_EQ(ReadAll(*p).size(), 3u);
}

// ---- Retention ----

TEST(PartitionRetention, DeletesSealedSegmentsOlderThanRetention) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.segment_bytes = 500;
  o.retention_ms = 3'600'000;
  auto p = env.MustOpen(o);
  for (int i = 0; i < 10; ++i) AppendOne(*p, std::string(100, 'o'));
  env.clock.Advance(2 * 3'600'000'000ll);
  for (int i = 0; i < 10; ++i) AppendOne(*p, std::string(100, 'n'));
  uint64_t segments_before = env.Segments().size();
  ASSERT_TRUE(p->EnforceRetention().ok());
  EXPECT_LT(env.Segments().size(), segments_before);
  uint64_t start = p->start_offset();
  EXPECT_GT(start, 0u);
  EXPECT_LE(start, 10u);
  EXPECT_EQ(env.Segments().front(), start);
  EXPECT_FALSE(env.mem->FileExists(env.IndexPath(0)));
  std::vector<Record> out;
  ASSERT_TRUE(p->Read(0, 1, &out).ok());  // clamped to start
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].offset, start);
  // Everything old enough is gone, the active segment never is.
  env.clock.Advance(10 * 3'600'000'000ll);
  ASSERT_TRUE(p->EnforceRetention().ok());
  EXPECT_EQ(env.Segments().size(), 1u);
  EXPECT_EQ(p->Stats().segments, 1u);
  EXPECT_EQ(p->end_offset(), 20u);
  p.reset();
  p = env.MustOpen(o);
  EXPECT_EQ(p->start_offset(), env.Segments().front());
  EXPECT_EQ(p->end_offset(), 20u);
}

TEST(PartitionRetention, DeletesOldestSegmentsWhileOverRetentionBytes) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.segment_bytes = 500;
  o.retention_bytes = 1500;
  auto p = env.MustOpen(o);
  for (int i = 0; i < 30; ++i) AppendOne(*p, std::string(100, 's'));
  ASSERT_TRUE(p->EnforceRetention().ok());
  PartitionStats st = p->Stats();
  EXPECT_LE(st.bytes, 1500u);
  EXPECT_GT(st.start_offset, 0u);
  EXPECT_EQ(st.end_offset, 30u);
  std::vector<Record> all = ReadAll(*p);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front().offset, st.start_offset);
  EXPECT_EQ(all.back().offset, 29u);
  o.retention_bytes = 0;  // even then the active segment stays
  p.reset();
  p = env.MustOpen(o);
  ASSERT_TRUE(p->EnforceRetention().ok());
  EXPECT_EQ(p->Stats().segments, 1u);
}

// ---- Dedup ----

TEST(PartitionDedup, DuplicateInTheSameRequestGetsTheFirstOffset) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  std::vector<ProduceRecord> v{Rec("a", "id-1"), Rec("b", "id-2"), Rec("a again", "id-1")};
  std::vector<AppendResult> r;
  ASSERT_TRUE(p->Append(std::move(v), &r).ok());
  EXPECT_EQ(r[0].offset, 0u);
  EXPECT_EQ(r[1].offset, 1u);
  EXPECT_EQ(r[2].offset, 0u);
  EXPECT_TRUE(r[2].duplicate);
  EXPECT_EQ(p->end_offset(), 2u);
}

TEST(PartitionDedup, DuplicateFromAnotherProducerInTheSameGroup) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  std::vector<std::future<std::pair<Status, std::vector<AppendResult>>>> f;
  {
    PoolGate gate(env.pool);  // both requests queue up and form one group
    CountOps(env.fault, FileOp::kWrite);
    f = StartAppends(*p, 3, "id-");
    auto again = StartAppends(*p, 3, "id-");
    for (auto& x : again) f.push_back(std::move(x));
  }
  for (int i = 0; i < 6; ++i) {
    auto [s, r] = f[i].get();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(r[0].offset, static_cast<uint64_t>(i % 3));
    EXPECT_EQ(r[0].duplicate, i >= 3);
  }
  EXPECT_EQ(env.fault.ops_seen(), 1u);
  EXPECT_EQ(p->end_offset(), 3u);
}

TEST(PartitionDedup, DuplicateInAPendingGroupWaitsForTheOriginal) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.max_batch_bytes = 1;  // every request is its own group
  auto p = env.MustOpen(o);
  std::atomic<int> order{0};
  int original_done = -1;
  int duplicate_done = -1;
  std::promise<void> both;
  std::atomic<int> remaining{2};
  {
    PoolGate gate(env.pool);
    std::vector<ProduceRecord> a{Rec("a", "id-1")};
    p->AppendAsync(std::move(a), [&](Status s, std::vector<AppendResult> r) {
      EXPECT_TRUE(s.ok());
      original_done = order++;
      if (--remaining == 0) both.set_value();
    });
    std::vector<ProduceRecord> b{Rec("b", "id-1")};
    p->AppendAsync(std::move(b), [&](Status s, std::vector<AppendResult> r) {
      EXPECT_TRUE(s.ok());
      EXPECT_TRUE(r[0].duplicate);
      EXPECT_EQ(r[0].offset, 0u);
      EXPECT_GE(p->end_offset(), 1u);  // the original is acknowledged
      duplicate_done = order++;
      if (--remaining == 0) both.set_value();
    });
  }
  both.get_future().get();
  EXPECT_EQ(p->end_offset(), 1u);
  EXPECT_GE(original_done, 0);
  EXPECT_GE(duplicate_done, 0);
}

TEST(PartitionDedup, DuplicateAcrossGroupsAndReopen) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.segment_bytes = 300;
  auto p = env.MustOpen(o);
  for (int i = 0; i < 20; ++i) AppendOne(*p, "v", "id-" + std::to_string(i));
  AppendResult again = AppendOne(*p, "v", "id-3");
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.offset, 3u);
  ASSERT_TRUE(p->Close().ok());
  p = env.MustOpen(o);
  for (int i : {0, 7, 19}) {
    AppendResult r = AppendOne(*p, "v", "id-" + std::to_string(i));
    EXPECT_TRUE(r.duplicate) << i;
    EXPECT_EQ(r.offset, static_cast<uint64_t>(i));
  }
  EXPECT_EQ(p->end_offset(), 20u);
}

TEST(PartitionDedup, EvictionByCountAlsoBoundsTheRebuild) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.dedup_max_entries = 5;
  auto p = env.MustOpen(o);
  for (int i = 0; i < 10; ++i) AppendOne(*p, "v", "id-" + std::to_string(i));
  EXPECT_FALSE(AppendOne(*p, "v", "id-0").duplicate);  // evicted
  EXPECT_TRUE(AppendOne(*p, "v", "id-9").duplicate);
  ASSERT_TRUE(p->Close().ok());
  p = env.MustOpen(o);
  // The rebuild scans only the last 5 records: 6,7,8,9 and the re-appended 0.
  EXPECT_TRUE(AppendOne(*p, "v", "id-0").duplicate);
  EXPECT_TRUE(AppendOne(*p, "v", "id-6").duplicate);
  EXPECT_FALSE(AppendOne(*p, "v", "id-5").duplicate);
}

TEST(PartitionDedup, EvictionByWindowAlsoAppliesAfterReopen) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.dedup_window_ms = 1000;
  auto p = env.MustOpen(o);
  AppendOne(*p, "v", "old");
  env.clock.Advance(600'000);
  AppendOne(*p, "v", "new");
  EXPECT_TRUE(AppendOne(*p, "v", "old").duplicate);
  env.clock.Advance(600'000);
  EXPECT_FALSE(AppendOne(*p, "v", "old").duplicate);  // 1.2 s old: outside
  ASSERT_TRUE(p->Close().ok());
  p = env.MustOpen(o);
  EXPECT_TRUE(AppendOne(*p, "v", "new").duplicate);
  env.clock.Advance(2'000'000);
  p.reset();
  p = env.MustOpen(o);
  EXPECT_FALSE(AppendOne(*p, "v", "new").duplicate);
}

TEST(PartitionDedup, EmptyIdIsNeverDeduplicatedAndZeroWindowDisables) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  EXPECT_FALSE(AppendOne(*p, "v", "").duplicate);
  EXPECT_FALSE(AppendOne(*p, "v", "").duplicate);
  p.reset();
  PartitionOptions o = Small();
  o.dedup_window_ms = 0;
  p = env.MustOpen(o);
  EXPECT_FALSE(AppendOne(*p, "v", "x").duplicate);
  EXPECT_FALSE(AppendOne(*p, "v", "x").duplicate);
}

TEST(PartitionDedup, DuplicateOfAFailedRecordIsAppendedForReal) {
  PartitionEnv env;
  PartitionOptions o = Small();
  o.max_batch_bytes = 1;
  auto p = env.MustOpen(o);
  FaultSpec spec;
  spec.op_mask = FileOpBit(FileOp::kWrite);
  spec.fail_after = 1;
  env.fault.SetFault(spec);
  std::vector<std::future<std::pair<Status, std::vector<AppendResult>>>> f;
  {
    PoolGate gate(env.pool);
    f = StartAppends(*p, 1, "id-");       // "id-0": its group fails
    auto g = StartAppends(*p, 1, "id-");  // retry of "id-0" queued behind it
    f.push_back(std::move(g[0]));
  }
  auto first = f[0].get();
  auto second = f[1].get();
  EXPECT_FALSE(first.first.ok());
  ASSERT_TRUE(second.first.ok()) << second.first.ToString();
  EXPECT_FALSE(second.second[0].duplicate);
  EXPECT_EQ(second.second[0].offset, 0u);
  EXPECT_EQ(ReadAll(*p).size(), 1u);
  EXPECT_TRUE(AppendOne(*p, "v", "id-0").duplicate);
}

// ---- Dedup index memory ----

std::string UuidLike(uint64_t i) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08llx-%04x-4%03x-a%03x-%012llx",
                static_cast<unsigned long long>(i * 2654435761u), static_cast<unsigned>(i & 0xffff),
                static_cast<unsigned>((i >> 16) & 0xfff), static_cast<unsigned>((i >> 28) & 0xfff),
                static_cast<unsigned long long>(i));
  return buf;
}

// A full index costs at most kMaxBytesPerEntry (64) bytes per entry, whatever
// the ids' length: ids are stored as fixed-size fingerprints.
TEST(DedupIndexMemory, BytesPerEntryAreBoundedWhateverTheIdLength) {
  using storage::DedupIndex;
  for (uint64_t max : {200'000ull, 131'073ull, 1'000ull}) {
    for (size_t pad : {0, 200}) {
      DedupIndex d(max, 3'600'000'000ll);
      const std::string suffix(pad, 'x');
      for (uint64_t i = 0; i < 2 * max; ++i) {
        const std::string id = UuidLike(i) + suffix;
        ASSERT_EQ(d.FindOrInsert(id, DedupIndex::Hash(id), i, 1, 1), nullptr);
      }
      EXPECT_EQ(d.size(), max);
      EXPECT_LE(d.bytes_used(), max * DedupIndex::kMaxBytesPerEntry) << max << " pad " << pad;
      EXPECT_GE(d.bytes_used(), max * 40) << max;  // 32-byte item + at least 2 slots of 8
      // Still remembers the newest ids and has forgotten the oldest.
      EXPECT_NE(d.Find(UuidLike(2 * max - 1) + suffix, 1), nullptr);
      EXPECT_EQ(d.Find(UuidLike(0) + suffix, 1), nullptr);
    }
  }
  // The default budget: 200,000 entries in about 10.6 MB per partition.
  DedupIndex d(PartitionOptions{}.dedup_max_entries, 3'600'000'000ll);
  for (uint64_t i = 0; i < 300'000; ++i) d.Insert(UuidLike(i), i, 1);
  EXPECT_LE(d.bytes_used(), 11'000'000u);
}

// A million distinct UUID-like ids: no two share a fingerprint and none is
// taken for a duplicate, although many share the table's 32-bit tag.
TEST(DedupIndexMemory, DistinctIdsNeverCollideInAMillionIdSample) {
  using storage::DedupIndex;
  constexpr uint64_t kIds = 1'000'000;
  DedupIndex d(kIds, 3'600'000'000ll);
  std::vector<std::pair<uint64_t, uint64_t>> fps;
  fps.reserve(kIds);
  std::unordered_map<uint32_t, uint32_t> tags;
  tags.reserve(kIds);
  uint64_t tag_collisions = 0;
  for (uint64_t i = 0; i < kIds; ++i) {
    const std::string id = UuidLike(i);
    const DedupIndex::Fingerprint fp = DedupIndex::Hash(id);
    fps.emplace_back(fp.low, fp.high);
    tag_collisions += tags[static_cast<uint32_t>(fp.low)]++;
    ASSERT_EQ(d.FindOrInsert(id, fp, i, 1, 1), nullptr) << "false duplicate: " << id;
  }
  std::sort(fps.begin(), fps.end());
  EXPECT_EQ(std::adjacent_find(fps.begin(), fps.end()), fps.end());
  EXPECT_GT(tag_collisions, 10u);  // ~116 expected: the full fingerprint decides
  EXPECT_EQ(d.size(), kIds);
  for (uint64_t i = 0; i < kIds; i += 9973) {
    const DedupIndex::Entry* e = d.Find(UuidLike(i), 1);
    ASSERT_NE(e, nullptr) << i;
    EXPECT_EQ(e->offset, i);
  }
}

}  // namespace
}  // namespace tandem
