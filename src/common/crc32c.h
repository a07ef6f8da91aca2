// CRC-32C (Castagnoli), as used by the log's batch checksums. Uses the SSE4.2
// crc32 instruction when the CPU has it (checked once at run time, so the
// binary stays portable: no -march=native), else a slicing-by-8 table.
// Debian 12 ships no CRC-32C library (no libcrc32c-dev), so this is written by
// hand; it is checked against the RFC 3720 test vectors.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tandem::crc32c {

// Returns the CRC-32C of data[0, n) continuing from `crc` (the CRC of earlier data).
uint32_t Extend(uint32_t crc, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

}  // namespace tandem::crc32c
