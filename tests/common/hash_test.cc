#include "common/hash.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tandem {
namespace {

// Partition assignment is persisted implicitly (records live in the partition
// their key hashed to), so the hash must never change. These are XXH64 seed-0
// reference values.
TEST(StableHash, IsFrozen) {
  EXPECT_EQ(StableHash64(""), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(StableHash64("a"), 0xD24EC4F1A98C6E5Bull);
}

TEST(StableHash, PartitionsSpreadKeys) {
  std::vector<int> counts(8, 0);
  for (int i = 0; i < 8000; ++i) ++counts[PartitionForKey("person-" + std::to_string(i), 8)];
  for (int c : counts) {
    EXPECT_GT(c, 800);
    EXPECT_LT(c, 1200);
  }
}

}  // namespace
}  // namespace tandem
