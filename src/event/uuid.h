// Random (version 4) UUIDs for events that arrive without an event_id.
//
//   UuidGenerator gen(/*seed=*/0);        // 0: seed from std::random_device
//   std::string id = gen.NewV4();         // "0f8fad5b-d9cb-469f-a165-70867728950e"
//
// Thread safety: not thread-safe; each EventParser owns one.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace tandem::event_internal {

class UuidGenerator {
 public:
  // `seed` 0 draws the seed from std::random_device (256 bits); any other
  // value makes the sequence reproducible.
  explicit UuidGenerator(uint64_t seed);

  // 36 characters, lower-case hex, version nibble 4, RFC 4122 variant.
  std::string NewV4();

 private:
  std::mt19937_64 rng_;
};

}  // namespace tandem::event_internal
