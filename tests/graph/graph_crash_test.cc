// Crash tests (ctest label "crash"): a child process applies batches to a
// graph store and is SIGKILLed, either right after a commit (before the leg
// could ack) or at a random moment. After each kill the parent reopens the
// store and checks that it holds exactly the effects and positions of a
// prefix of the batches -- never part of a batch, never less than the child
// reported committed -- that redelivering the whole log is harmless, and that
// the invariants hold. The reference for "a prefix of j batches" is MemStore.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "crash_workload.h"
#include "graph_test_util.h"
#include "store/mem_store.h"

#ifndef TANDEM_GRAPH_CRASH_HELPER
#error "TANDEM_GRAPH_CRASH_HELPER must name the graph_crash_helper binary"
#endif

namespace tandem::graph_test {
namespace {

struct ChildRun {
  std::string out;
  int status = 0;
};

// Runs the helper; with kill_after_us >= 0 SIGKILLs it after that long.
ChildRun RunChild(const std::string& dir, uint64_t seed, long kill_after_batch,
                  int64_t kill_after_us) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    std::string seed_s = std::to_string(seed), kill_s = std::to_string(kill_after_batch);
    execl(TANDEM_GRAPH_CRASH_HELPER, TANDEM_GRAPH_CRASH_HELPER, dir.c_str(), seed_s.c_str(),
          kill_s.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  if (kill_after_us >= 0) {
    usleep(static_cast<useconds_t>(kill_after_us));
    kill(pid, SIGKILL);
  }
  ChildRun run;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0) run.out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  waitpid(pid, &run.status, 0);
  return run;
}

// How many batches the child reported committed.
size_t Committed(const std::string& out) {
  size_t n = 0;
  size_t at = 0;
  while ((at = out.find("committed ", at)) != std::string::npos) {
    ++n;
    at += 10;
  }
  return n;
}

// Digest and positions of MemStore after each prefix of j batches.
struct Prefixes {
  std::vector<StoreDigest> digests;
  std::vector<PositionMap> positions;
};

Prefixes ModelPrefixes(const std::vector<StoreEvent>& log) {
  Prefixes p;
  MemStoreData data;
  ManualClock clock;
  MemStoreOptions o;
  o.clock = &clock;
  auto model = NewMemStore(data, o);
  p.digests.push_back(*model->Digest());
  p.positions.push_back({});
  for (size_t k = 0; k < CrashBatches(log); ++k) {
    EXPECT_TRUE(model->ApplyBatch(CrashBatch(log, k)).ok());
    p.digests.push_back(*model->Digest());
    p.positions.push_back(*model->Positions());
  }
  return p;
}

// Reopens the store, finds the prefix it holds, and finishes the log.
void CheckRecovered(const std::string& dir, const std::vector<StoreEvent>& log,
                    const Prefixes& prefixes, size_t committed, bool exact) {
  GraphStoreOptions o;
  o.dir = dir;
  auto store = OpenGraphStore(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  STORE_ASSERT_OK((*store)->CheckInvariants());
  auto digest = (*store)->Digest();
  auto positions = (*store)->Positions();
  STORE_ASSERT_OK(digest);
  STORE_ASSERT_OK(positions);
  // Positions grow with every batch, so they identify the prefix.
  size_t j = 0;
  while (j < prefixes.positions.size() && prefixes.positions[j] != *positions) ++j;
  ASSERT_LT(j, prefixes.positions.size()) << "positions match no prefix of whole batches";
  EXPECT_EQ(*digest, prefixes.digests[j]) << "prefix " << j;
  EXPECT_GE(j, committed) << "a batch reported committed was lost";
  EXPECT_LE(j, committed + 1);
  if (exact) {
    EXPECT_EQ(j, committed);
  }
  if (j > 0) {  // the redelivered last batch (never acked) is a no-op
    auto again = (*store)->ApplyBatch(CrashBatch(log, j - 1));
    STORE_ASSERT_OK(again);
    EXPECT_EQ(again->counts.applied, 0u);
  }
  ApplyCounts counts;
  for (size_t k = 0; k < CrashBatches(log); ++k) {  // redelivery from offset 0
    auto r = (*store)->ApplyBatch(CrashBatch(log, k));
    STORE_ASSERT_OK(r);
    counts += r->counts;
  }
  EXPECT_EQ(*(*store)->Digest(), prefixes.digests.back());
  EXPECT_EQ(*(*store)->Positions(), prefixes.positions.back());
  STORE_EXPECT_OK((*store)->CheckInvariants());
}

TEST(GraphCrash, KilledRightAfterCommitKeepsTheBatch) {
  const uint64_t seed = 11;
  const std::vector<StoreEvent> log = CrashLog(seed);
  const Prefixes prefixes = ModelPrefixes(log);
  for (long kill_after : {0L, 7L, static_cast<long>(CrashBatches(log)) - 1}) {
    SCOPED_TRACE("kill after batch " + std::to_string(kill_after));
    TempDir dir;
    ChildRun run = RunChild(dir.path() + "/graph", seed, kill_after, -1);
    ASSERT_TRUE(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL) << run.out;
    ASSERT_EQ(Committed(run.out), static_cast<size_t>(kill_after) + 1) << run.out;
    CheckRecovered(dir.path() + "/graph", log, prefixes, Committed(run.out), true);
  }
}

TEST(GraphCrash, KilledAtRandomMomentsHoldsAPrefixOfWholeBatches) {
  const uint64_t seed = 12;
  const std::vector<StoreEvent> log = CrashLog(seed);
  const Prefixes prefixes = ModelPrefixes(log);
  Random rnd(99);
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    TempDir dir;
    // 0-400 ms spans "before the store opened" to "after the last batch" on
    // the dev box; where the kill lands changes what is checked, not whether
    // the checks must pass.
    ChildRun run =
        RunChild(dir.path() + "/graph", seed, -1, static_cast<int64_t>(rnd.Uniform(400'000)));
    size_t committed = Committed(run.out);
    if (WIFEXITED(run.status)) {
      ASSERT_EQ(WEXITSTATUS(run.status), 0) << run.out;
      ASSERT_EQ(committed, CrashBatches(log)) << run.out;
    }
    std::cout << "round " << round << ": " << committed << " batches reported committed"
              << (WIFSIGNALED(run.status) ? ", killed" : ", finished") << "\n";
    CheckRecovered(dir.path() + "/graph", log, prefixes, committed, false);
  }
}

}  // namespace
}  // namespace tandem::graph_test
