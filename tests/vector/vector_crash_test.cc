// Crash tests (ctest label "crash"): a child process applies batches to a
// vector store (WAL fsync per batch, a snapshot every 40 index changes) and
// is SIGKILLed, right after a commit or at a random moment (possibly while
// it writes a snapshot or trims the journal). After each kill the parent
// reopens the store -- which loads the snapshots and replays the journal, or
// rebuilds -- and checks: the invariants hold (every document with text is
// in its index, nothing else is), the store holds exactly a prefix of whole
// batches and never less than the child reported committed (digest and
// positions equal MemStore's after that prefix), redelivery is harmless, and
// finishing the log reaches MemStore's final state.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "store/mem_store.h"
#include "vector_crash_workload.h"

#ifndef TANDEM_VECTOR_CRASH_HELPER
#error "TANDEM_VECTOR_CRASH_HELPER must name the vector_crash_helper binary"
#endif

namespace tandem::vector_test {
namespace {

struct ChildRun {
  std::string out;
  int status = 0;
};

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
    execl(TANDEM_VECTOR_CRASH_HELPER, TANDEM_VECTOR_CRASH_HELPER, dir.c_str(), seed_s.c_str(),
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

size_t Committed(const std::string& out) {
  size_t n = 0, at = 0;
  while ((at = out.find("committed ", at)) != std::string::npos) {
    ++n;
    at += 10;
  }
  return n;
}

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

void CheckRecovered(const std::string& dir, const std::vector<StoreEvent>& log,
                    const Prefixes& prefixes, size_t committed, bool exact) {
  std::unique_ptr<Embedder> embedder = HashEmbedder();
  auto store = OpenVectorStore(CrashStoreOptions(dir, embedder.get()));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  STORE_ASSERT_OK((*store)->CheckInvariants());
  const VectorCounters c = (*store)->vector_counters();
  std::cout << "  reopened: " << c.journal_entries_replayed << " journal entries replayed, "
            << c.index_rebuilds << " rebuilds\n";
  auto digest = (*store)->Digest();
  auto positions = (*store)->Positions();
  STORE_ASSERT_OK(digest);
  STORE_ASSERT_OK(positions);
  size_t j = 0;
  while (j < prefixes.positions.size() && prefixes.positions[j] != *positions) ++j;
  ASSERT_LT(j, prefixes.positions.size()) << "positions match no prefix of whole batches";
  EXPECT_EQ(*digest, prefixes.digests[j]) << "prefix " << j;
  EXPECT_GE(j, committed) << "a batch reported committed was lost";
  EXPECT_LE(j, committed + 1);
  if (exact) {
    EXPECT_EQ(j, committed);
  }
  if (j > 0) {
    auto again = (*store)->ApplyBatch(CrashBatch(log, j - 1));
    STORE_ASSERT_OK(again);
    EXPECT_EQ(again->counts.applied, 0u);
  }
  for (size_t k = 0; k < CrashBatches(log); ++k) {
    STORE_ASSERT_OK((*store)->ApplyBatch(CrashBatch(log, k)));
  }
  EXPECT_EQ(*(*store)->Digest(), prefixes.digests.back());
  EXPECT_EQ(*(*store)->Positions(), prefixes.positions.back());
  STORE_EXPECT_OK((*store)->CheckInvariants());
}

TEST(VectorCrash, KilledRightAfterCommitKeepsTheBatch) {
  const uint64_t seed = 21;
  const std::vector<StoreEvent> log = CrashLog(seed);
  const Prefixes prefixes = ModelPrefixes(log);
  for (long kill_after : {0L, 6L, static_cast<long>(CrashBatches(log)) - 1}) {
    SCOPED_TRACE("kill after batch " + std::to_string(kill_after));
    TempDir dir;
    ChildRun run = RunChild(dir.path() + "/v", seed, kill_after, -1);
    ASSERT_TRUE(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL) << run.out;
    ASSERT_EQ(Committed(run.out), static_cast<size_t>(kill_after) + 1) << run.out;
    CheckRecovered(dir.path() + "/v", log, prefixes, Committed(run.out), true);
  }
}

TEST(VectorCrash, KilledAtRandomMomentsHoldsAPrefixOfWholeBatches) {
  const uint64_t seed = 22;
  const std::vector<StoreEvent> log = CrashLog(seed);
  const Prefixes prefixes = ModelPrefixes(log);
  Random rnd(7);
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    TempDir dir;
    // Where the kill lands changes what is checked, not whether the checks must pass.
    ChildRun run =
        RunChild(dir.path() + "/v", seed, -1, 30'000 + static_cast<int64_t>(rnd.Uniform(300'000)));
    const size_t committed = Committed(run.out);
    if (WIFEXITED(run.status)) {
      ASSERT_EQ(WEXITSTATUS(run.status), 0) << run.out;
      ASSERT_EQ(committed, CrashBatches(log)) << run.out;
    }
    std::cout << "round " << round << ": " << committed << " batches reported committed"
              << (WIFSIGNALED(run.status) ? ", killed" : ", finished") << "\n";
    CheckRecovered(dir.path() + "/v", log, prefixes, committed, false);
  }
}

}  // namespace
}  // namespace tandem::vector_test
