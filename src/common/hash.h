// Stable hashing. Partition assignment and on-disk structures depend on these
// values, so they must never change across versions or platforms: XXH64 with
// seed 0 (libxxhash, whose XXH64 output is frozen by its specification).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace tandem {

uint64_t StableHash64(std::string_view data);

// The partition of `key` among `num_partitions` (> 0): StableHash64(key) mod n.
inline uint32_t PartitionForKey(std::string_view key, uint32_t num_partitions) {
  return static_cast<uint32_t>(StableHash64(key) % num_partitions);
}

}  // namespace tandem
