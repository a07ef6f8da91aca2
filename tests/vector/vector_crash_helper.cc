// Child process of vector_crash_test: applies the seeded workload to a vector
// store in batches of kCrashBatch events, printing "committed <k>" after
// batch k is committed (WAL fsync'ed), then either SIGKILLs itself right
// after batch <kill_after> or runs to the end and prints "done" (the parent
// may SIGKILL it at any moment, also while a snapshot is being written).
//
//   vector_crash_helper <dir> <seed> <kill_after | -1>

#include <signal.h>
#include <stdio.h>

#include <cstdlib>
#include <string>

#include "vector_crash_workload.h"

int main(int argc, char** argv) {
  using namespace tandem;
  if (argc != 4) {
    fprintf(stderr, "usage: %s <dir> <seed> <kill_after|-1>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  const long kill_after = std::strtol(argv[3], nullptr, 10);
  HashEmbedderOptions eo;
  eo.dimension = vector_test::kDim;
  auto embedder = NewHashEmbedder(eo);
  if (!embedder.ok()) return 1;
  auto store = OpenVectorStore(vector_test::CrashStoreOptions(dir, embedder->get()));
  if (!store.ok()) {
    fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 1;
  }
  std::vector<StoreEvent> log = vector_test::CrashLog(seed);
  const size_t batches = vector_test::CrashBatches(log);
  for (size_t k = 0; k < batches; ++k) {
    auto r = (*store)->ApplyBatch(vector_test::CrashBatch(log, k));
    if (!r.ok()) {
      fprintf(stderr, "batch %zu: %s\n", k, r.status().ToString().c_str());
      return 1;
    }
    printf("committed %zu\n", k);
    fflush(stdout);
    if (static_cast<long>(k) == kill_after) raise(SIGKILL);
  }
  printf("done\n");
  fflush(stdout);
  return 0;
}
