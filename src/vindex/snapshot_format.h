// The vector index snapshot file: encoding and validated decoding. The byte
// grammar is in src/vindex/README.md ("Snapshot format"). The body mirrors
// hnswlib's own memory layout (what HierarchicalNSW::saveIndex writes), so a
// snapshot is loaded by copying blocks instead of re-inserting every vector;
// but this file never includes hnswlib: it knows the layout as formulas of
// (dimension, m), and hnsw_index.cc checks that hnswlib agrees.
//
// DecodeSnapshot trusts nothing: after the CRC it still checks every count,
// level, neighbour id and label, so even a file with a valid checksum but an
// inconsistent structure is Corruption rather than an out-of-bounds read later.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.h"

namespace tandem::vindex_internal {

// hnswlib's per-element layout for float vectors and M = m (maxM0 = 2m).
struct ElementLayout {
  size_t dimension = 0;
  size_t m = 0;
  // Level-0 link list: u16 count, u8 flags (bit 0: deleted), u8 unused, then 2m u32 ids.
  size_t links0_bytes() const { return 2 * m * 4 + 4; }
  size_t vector_offset() const { return links0_bytes(); }
  size_t label_offset() const { return links0_bytes() + dimension * 4; }
  // Links, vector, u64 label.
  size_t element_bytes() const { return label_offset() + 8; }
  // One upper-level link list: u32 count, then m u32 ids.
  size_t upper_link_bytes() const { return m * 4 + 4; }
};

constexpr uint32_t kNoEntryPoint = 0xFFFFFFFFu;

// The content of one snapshot. The string_views point into the index memory
// (encoding) or into the file bytes (decoding); they must outlive the image.
struct SnapshotImage {
  uint32_t dimension = 0;
  uint32_t m = 0;
  uint32_t ef_construction = 0;
  uint64_t seed = 0;
  uint64_t element_count = 0;  // slots in use, removed ones included
  uint64_t live_count = 0;     // slots not marked deleted
  uint64_t sequence = 0;       // the caller's opaque position
  int32_t max_level = -1;
  uint32_t entry_point = kNoEntryPoint;
  std::string level_rng;   // textual state of hnswlib's level generator
  std::string update_rng;  // ... and of its update-probability generator
  std::string_view level0;  // element_count * element_bytes
  std::vector<uint32_t> levels;               // per element, its top level
  std::vector<std::string_view> upper_links;  // per element, levels[i] * upper_link_bytes

  ElementLayout layout() const { return {dimension, m}; }
};

// The whole file, CRC included.
std::string EncodeSnapshot(const SnapshotImage& image);

// Parses and validates `data` (the whole file). Corruption "<path>: <what>"
// on any inconsistency. On OK the views in `*out` point into `data`.
Status DecodeSnapshot(const std::string& path, std::string_view data, SnapshotImage* out);

}  // namespace tandem::vindex_internal
