// Partition under I/O errors: ENOSPC, failed fdatasync, fencing, and the
// SQLite-style sweep of TESTING.md §5 (fail the Nth mutating operation for
// N = 1, 2, ... until the workload completes, once and persistently).
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "log/partition_test_util.h"
#include "log/record_batch.h"

namespace tandem {
namespace {

using testing_util::AppendOne;
using testing_util::GatedFileSystem;
using testing_util::PartitionEnv;
using testing_util::ReadAll;
using testing_util::Rec;

PartitionOptions Small() {
  PartitionOptions o;
  o.index_interval_bytes = 64;
  o.segment_bytes = 300;
  return o;
}

FaultSpec Fail(uint32_t mask, uint64_t n, bool persistent, InjectedError e = InjectedError::kIO,
               double partial = 0.0) {
  FaultSpec s;
  s.op_mask = mask;
  s.fail_after = n;
  s.persistent = persistent;
  s.error = e;
  s.partial_write_fraction = partial;
  return s;
}

void ExpectVerifyClean(Partition& p, const std::string& context) {
  VerifyReport report;
  ASSERT_TRUE(p.Verify(&report).ok());
  for (const VerifyIssue& i : report.issues) {
    ADD_FAILURE() << context << ": " << i.file << " @" << i.file_offset << ": " << i.problem;
  }
}

TEST(PartitionFaults, DiskFullFailsTheGroupAndThePartitionCarriesOn) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  for (int i = 0; i < 3; ++i) AppendOne(*p, "v" + std::to_string(i));
  uint64_t size = env.mem->GetFileSize(env.SegPath(0)).value();
  env.fault.SetFault(Fail(FileOpBit(FileOp::kWrite), 1, false, InjectedError::kNoSpace, 0.5));
  std::vector<ProduceRecord> v{Rec("lost", "id-lost")};
  Status s = p->Append(std::move(v), nullptr);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_EQ(env.mem->GetFileSize(env.SegPath(0)).value(), size);  // the partial write is gone
  EXPECT_EQ(p->end_offset(), 3u);
  AppendResult r = AppendOne(*p, "v3", "id-lost");  // its id was forgotten
  EXPECT_EQ(r.offset, 3u);
  EXPECT_FALSE(r.duplicate);
  std::vector<Record> all = ReadAll(*p);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[3].value, "v3");
  ExpectVerifyClean(*p, "after ENOSPC");
}

TEST(PartitionFaults, FailedSyncHidesTheGroupFromReaders) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  AppendOne(*p, "v0");
  env.fault.SetFault(Fail(FileOpBit(FileOp::kSync), 1, false));
  std::vector<ProduceRecord> v{Rec("x"), Rec("y")};
  EXPECT_FALSE(p->Append(std::move(v), nullptr).ok());
  EXPECT_EQ(p->end_offset(), 1u);
  EXPECT_EQ(ReadAll(*p).size(), 1u);
  EXPECT_EQ(AppendOne(*p, "v1").offset, 1u);
  p.reset();
  p = env.MustOpen(Small());
  std::vector<Record> all = ReadAll(*p);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].value, "v1");
}

TEST(PartitionFaults, FailedTruncateBackFencesUntilReopened) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  AppendOne(*p, "v0");
  env.fault.SetFault(Fail(FileOpBit(FileOp::kWrite) | FileOpBit(FileOp::kTruncate), 1, true,
                          InjectedError::kIO, 0.5));
  std::vector<ProduceRecord> v{Rec("x")};
  EXPECT_FALSE(p->Append(std::move(v), nullptr).ok());
  env.fault.ClearFaults();
  std::vector<ProduceRecord> w{Rec("y")};
  Status s = p->Append(std::move(w), nullptr);
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_NE(s.message().find(env.dir), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("fenced"), std::string::npos);
  EXPECT_FALSE(p->Flush().ok());
  std::vector<Record> out;
  EXPECT_TRUE(p->Read(0, 100, &out).ok());  // reads keep working
  EXPECT_EQ(out.size(), 1u);
  p.reset();
  p = env.MustOpen(Small());  // the torn partial write is truncated on open
  EXPECT_EQ(p->end_offset(), 1u);
  EXPECT_EQ(AppendOne(*p, "v1").offset, 1u);
  ExpectVerifyClean(*p, "after fencing");
}

TEST(PartitionFaults, FailedRollLeavesTheOldSegmentActiveAndRetries) {
  PartitionEnv env;
  auto p = env.MustOpen(Small());
  for (int i = 0; i < 4; ++i) AppendOne(*p, "v" + std::to_string(i));  // fills segment 0
  env.fault.SetFault(Fail(FileOpBit(FileOp::kSyncDir), 1, false));
  std::vector<ProduceRecord> v{Rec(std::string(200, 'x'))};
  EXPECT_FALSE(p->Append(std::move(v), nullptr).ok());
  EXPECT_EQ(env.Segments(), std::vector<uint64_t>{0});
  EXPECT_EQ(AppendOne(*p, "v4").offset, 4u);
  EXPECT_EQ(env.Segments().size(), 2u);
  p.reset();
  p = env.MustOpen(Small());
  EXPECT_EQ(ReadAll(*p).size(), 5u);
  ExpectVerifyClean(*p, "after roll retry");
}

using Outcome = std::pair<Status, std::vector<AppendResult>>;

std::future<Outcome> StartAppend(Partition& p, std::string value, std::string id) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> f = promise->get_future();
  std::vector<ProduceRecord> r{Rec(std::move(value), std::move(id))};
  p.AppendAsync(std::move(r), [promise](Status s, std::vector<AppendResult> res) {
    promise->set_value({std::move(s), std::move(res)});
  });
  return f;
}

// Releases a GatedFileSystem when a test ends early, so Close never hangs.
struct ReleaseOnExit {
  GatedFileSystem& gated;
  ~ReleaseOnExit() { gated.Release(); }
};

// Every request is its own group and is written while an earlier sync runs.
PartitionOptions EarlyWrites() {
  PartitionOptions o = Small();
  o.max_batch_bytes = 1;
  return o;
}

void WaitForOps(FaultInjectionFileSystem& fs, uint64_t n) {
  for (int i = 0; i < 10'000 && fs.ops_seen() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_EQ(fs.ops_seen(), n);
}

// Group 1's fdatasync fails while group 2 is already written behind it: both
// fail, the file is cut back to the acknowledged size, and their ids are
// forgotten.
TEST(PartitionFaults, FailedSyncAlsoFailsTheGroupWrittenBehindIt) {
  PartitionEnv env;
  GatedFileSystem gated(env.fault);
  env.fs = &gated;
  auto p = env.MustOpen(EarlyWrites());
  ReleaseOnExit release{gated};  // destroyed before p
  AppendOne(*p, "v0");
  const uint64_t size = env.mem->GetFileSize(env.SegPath(0)).value();
  // Ops from now: write 1, write 2, then the held sync of 1 fails.
  env.fault.SetFault(Fail(FileOpBit(FileOp::kWrite) | FileOpBit(FileOp::kSync), 3, false));
  gated.Arm();
  std::future<Outcome> first = StartAppend(*p, "a", "id-a");
  gated.WaitForBlockedSync();
  std::future<Outcome> second = StartAppend(*p, "b", "id-b");
  WaitForOps(env.fault, 2);  // both written, the first sync held
  gated.Release();
  EXPECT_FALSE(first.get().first.ok());
  Status s = second.get().first;
  EXPECT_EQ(s.code(), StatusCode::kIOError) << s.ToString();
  EXPECT_EQ(p->end_offset(), 1u);
  EXPECT_EQ(env.mem->GetFileSize(env.SegPath(0)).value(), size);
  EXPECT_EQ(ReadAll(*p).size(), 1u);
  AppendResult r = AppendOne(*p, "b", "id-b");  // forgotten: appended for real
  EXPECT_FALSE(r.duplicate);
  EXPECT_EQ(r.offset, 1u);
  p.reset();
  p = env.MustOpen(EarlyWrites());
  std::vector<Record> all = ReadAll(*p);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].value, "b");
  ExpectVerifyClean(*p, "after a failed pipelined sync");
}

// Group 2's write fails while group 1's fdatasync is in flight: group 1 is
// still acknowledged once its sync succeeds; only group 2 fails and is cut.
TEST(PartitionFaults, FailedWriteDuringAnInFlightSyncFailsOnlyItsGroup) {
  PartitionEnv env;
  GatedFileSystem gated(env.fault);
  env.fs = &gated;
  auto p = env.MustOpen(EarlyWrites());
  ReleaseOnExit release{gated};  // destroyed before p
  env.fault.SetFault(Fail(FileOpBit(FileOp::kWrite), 2, false, InjectedError::kNoSpace, 0.5));
  gated.Arm();
  std::future<Outcome> first = StartAppend(*p, "a", "id-a");
  gated.WaitForBlockedSync();
  std::future<Outcome> second = StartAppend(*p, "b", "id-b");
  WaitForOps(env.fault, 2);  // the second write failed, half written
  gated.Release();
  Outcome a = first.get();
  ASSERT_TRUE(a.first.ok()) << a.first.ToString();
  EXPECT_EQ(a.second[0].offset, 0u);
  EXPECT_TRUE(second.get().first.IsNoSpace());
  EXPECT_EQ(p->end_offset(), 1u);
  EXPECT_EQ(AppendOne(*p, "c", "id-b").offset, 1u);
  p.reset();
  p = env.MustOpen(EarlyWrites());
  std::vector<Record> all = ReadAll(*p);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].value, "a");
  EXPECT_EQ(all[1].value, "c");
  ExpectVerifyClean(*p, "after a failed pipelined write");
}

// Runs appends (one or two records each, rolling every few) while the fault
// spec is armed; remembers what was acknowledged and what was attempted.
struct SweepRun {
  std::map<uint64_t, std::string> acked;
  std::set<std::string> attempted;
};

void RunWorkload(Partition& p, SweepRun* run) {
  for (int i = 0; i < 14; ++i) {
    std::vector<ProduceRecord> recs;
    for (int j = 0; j <= i % 2; ++j) {
      std::string v = "r" + std::to_string(i) + "." + std::to_string(j);
      run->attempted.insert(v);
      recs.push_back(Rec(v, "id-" + v));
    }
    std::vector<std::string> values;
    for (const ProduceRecord& r : recs) values.push_back(r.value);
    std::vector<AppendResult> res;
    if (!p.Append(std::move(recs), &res).ok()) continue;
    for (size_t j = 0; j < res.size(); ++j) run->acked[res[j].offset] = values[j];
  }
}

// The same from four threads at once, so groups are written while an
// earlier group's fdatasync runs (the pipeline) and fail together.
void RunConcurrentWorkload(Partition& p, SweepRun* run) {
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string v = "t" + std::to_string(t) + "." + std::to_string(i);
        {
          std::lock_guard<std::mutex> l(mu);
          run->attempted.insert(v);
        }
        std::vector<ProduceRecord> recs{Rec(v, "id-" + v)};
        std::vector<AppendResult> res;
        if (!p.Append(std::move(recs), &res).ok()) continue;
        std::lock_guard<std::mutex> l(mu);
        run->acked[res[0].offset] = v;
      }
    });
  }
  for (std::thread& th : threads) th.join();
}

// After the faults are healed and a power cut: the partition opens, every
// acknowledged record is at its offset, offsets are contiguous, anything
// else read back was at least attempted (an indeterminate failed group), and
// Verify is clean.
void CheckAfterReopen(PartitionEnv& env, const SweepRun& run, const std::string& context) {
  auto r = env.Open(Small());
  ASSERT_TRUE(r.ok()) << context << ": " << r.status().ToString();
  Partition& p = **r;
  std::vector<Record> all = ReadAll(p);
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].offset, i) << context;
    EXPECT_TRUE(run.attempted.count(all[i].value)) << context << ": " << all[i].value;
  }
  for (const auto& [offset, value] : run.acked) {
    ASSERT_LT(offset, all.size()) << context << ": acknowledged offset lost";
    EXPECT_EQ(all[offset].value, value) << context;
  }
  ExpectVerifyClean(p, context);
  EXPECT_EQ(AppendOne(p, "after").offset, all.size()) << context;
}

void Sweep(bool persistent, bool power_cut, bool concurrent = false) {
  uint64_t n = 1;
  for (; n < 2000; ++n) {
    PartitionEnv env;
    auto p = env.MustOpen(Small());
    ASSERT_NE(p, nullptr);
    InjectedError e = n % 3 == 0 ? InjectedError::kNoSpace : InjectedError::kIO;
    env.fault.SetFault(Fail(kMutatingOps, n, persistent, e, n % 2 == 0 ? 0.5 : 0.0));
    SweepRun run;
    if (concurrent) {
      RunConcurrentWorkload(*p, &run);
    } else {
      RunWorkload(*p, &run);
    }
    (void)p->Close();
    p.reset();
    const bool injected = env.fault.faults_injected() > 0;
    env.fault.ClearFaults();
    if (power_cut) {
      ASSERT_TRUE(env.fault.DropUnsyncedData().ok());
    }
    std::string context = "N=" + std::to_string(n) + (persistent ? " persistent" : " once");
    CheckAfterReopen(env, run, context);
    if (::testing::Test::HasFailure()) return;
    if (!injected) break;  // the workload ran to completion without reaching op N
  }
  // The workload has many mutating operations (fewer when groups form at random).
  EXPECT_GT(n, concurrent ? 10u : 40u);
  EXPECT_LT(n, 2000u);
}

TEST(PartitionFaultSweep, FailNthOperationOnce) { Sweep(false, false); }
TEST(PartitionFaultSweep, FailNthOperationPersistently) { Sweep(true, false); }
TEST(PartitionFaultSweep, FailNthOperationOnceThenPowerCut) { Sweep(false, true); }
TEST(PartitionFaultSweep, FailNthOperationPersistentlyThenPowerCut) { Sweep(true, true); }
TEST(PartitionFaultSweep, FailNthOperationOnceWithConcurrentAppends) { Sweep(false, false, true); }
TEST(PartitionFaultSweep, FailNthOperationOnceWithConcurrentAppendsThenPowerCut) {
  Sweep(false, true, true);
}

// A damaged directory (torn tail, a missing index) recovered while the Nth
// mutating operation of Open fails: Open fails or succeeds, and the next
// clean Open always recovers everything acknowledged.
TEST(PartitionFaultSweep, FailDuringRecoveryThenReopen) {
  uint64_t n = 1;
  for (; n < 200; ++n) {
    PartitionEnv env;
    {
      auto p = env.MustOpen(Small());
      for (int i = 0; i < 10; ++i) AppendOne(*p, "v" + std::to_string(i));
    }
    std::vector<uint64_t> segs = env.Segments();
    ASSERT_GE(segs.size(), 3u);
    ASSERT_TRUE(env.fault.DeleteFile(env.IndexPath(segs[0])).ok());
    std::string last = env.ReadFile(env.SegPath(segs.back()));
    env.WriteFile(env.SegPath(segs.back()), last + std::string(100, '\0'));
    env.fault.SetFault(Fail(kMutatingOps, n, n % 2 == 0));
    auto r = env.Open(Small());
    if (r.ok()) r->reset();
    const bool injected = env.fault.faults_injected() > 0;
    env.fault.ClearFaults();
    auto p = env.Open(Small());
    ASSERT_TRUE(p.ok()) << "N=" << n << ": " << p.status().ToString();
    std::vector<Record> all = ReadAll(**p);
    ASSERT_EQ(all.size(), 10u) << "N=" << n;
    for (int i = 0; i < 10; ++i) EXPECT_EQ(all[i].value, "v" + std::to_string(i));
    ExpectVerifyClean(**p, "N=" + std::to_string(n));
    if (!injected) break;
  }
  EXPECT_GT(n, 2u);
}

}  // namespace
}  // namespace tandem
