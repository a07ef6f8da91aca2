// Runs every file of a fuzz target's corpus through its LLVMFuzzerTestOneInput,
// built with the normal compiler and no libFuzzer: the CI tier's check that
// the seeds and every input that once crashed (kept in the corpus after the
// fix) still pass the target's oracles. A failing oracle aborts the process,
// so the test fails with the oracle's message on stderr. The fuzzing itself
// runs with clang (scripts/fuzz.sh, `make fuzz-long`).
//
// Built once per target with TANDEM_FUZZ_CORPUS (the corpus directory) and
// TANDEM_FUZZ_SUITE (the test suite name) defined.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

TEST(TANDEM_FUZZ_SUITE, EveryCorpusInputPassesTheOracles) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(TANDEM_FUZZ_CORPUS)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no corpus under " << TANDEM_FUZZ_CORPUS;
  for (const auto& path : files) {
    SCOPED_TRACE(path.string());
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replaying %s (%zu bytes)\n", path.c_str(), bytes.size());
    EXPECT_EQ(LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
              0);
  }
  std::printf("%zu corpus inputs replayed\n", files.size());
}

}  // namespace
