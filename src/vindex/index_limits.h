// Limits of the vector index and the validation of VectorIndexOptions, shared
// by VectorIndex::Create and the snapshot reader (a snapshot whose header is
// outside these limits is Corruption, not a huge allocation).
//
// Thread safety: constants and a pure function.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tandem/status.h"
#include "vindex/vector_index.h"

namespace tandem::vindex_internal {

constexpr size_t kMaxDimension = 4096;
constexpr size_t kMinM = 2;
constexpr size_t kMaxM = 100;
constexpr size_t kMaxEfConstruction = 100'000;
// hnswlib numbers elements with a 32-bit tableint; stay well below it.
constexpr size_t kMaxElements = size_t{1} << 31;
// hnswlib draws levels as -ln(U) / ln(M); a level above this is impossible in
// practice (probability M^-64) and marks a corrupt snapshot.
constexpr uint32_t kMaxLevel = 64;

// OK, or InvalidArgument naming the field, its value and the allowed range.
Status ValidateIndexOptions(const VectorIndexOptions& options);

}  // namespace tandem::vindex_internal
