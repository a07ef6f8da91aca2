#include "vindex/index_limits.h"

#include <string>

namespace tandem::vindex_internal {
namespace {

Status OutOfRange(const char* field, uint64_t value, uint64_t lo, uint64_t hi) {
  return Status::InvalidArgument("VectorIndexOptions." + std::string(field) + " must be " +
                                 std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                                 std::to_string(value));
}

}  // namespace

Status ValidateIndexOptions(const VectorIndexOptions& o) {
  if (o.dimension < 1 || o.dimension > kMaxDimension) {
    return OutOfRange("dimension", o.dimension, 1, kMaxDimension);
  }
  if (o.m < kMinM || o.m > kMaxM) return OutOfRange("m", o.m, kMinM, kMaxM);
  if (o.ef_construction < 1 || o.ef_construction > kMaxEfConstruction) {
    return OutOfRange("ef_construction", o.ef_construction, 1, kMaxEfConstruction);
  }
  if (o.initial_capacity < 1 || o.initial_capacity > kMaxElements) {
    return OutOfRange("initial_capacity", o.initial_capacity, 1, kMaxElements);
  }
  return Status::OK();
}

}  // namespace tandem::vindex_internal
