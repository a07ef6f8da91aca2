// The sparse offset index of one segment, and its file `<base>.index`
// (docs/log_format.md). One entry (relative offset u32, file position u32)
// per index_interval_bytes of batches maps an offset to the position of a
// batch at or before it; a read starts there and skips forward by headers.
//
// The index is derived data: the file also carries a summary of the segment
// (size, next offset, last batch position, max timestamp) so a sealed segment
// opens without a scan, but it is never trusted blindly: Open checks the
// summary against the log file (size, first and last batch) and rebuilds the
// index from the log when the file is missing or does not agree. The file is
// written with WriteFileAtomically (temp, fdatasync, rename, fsync(dir)) when
// its segment is sealed.
//
// Thread safety: not thread-safe; the Partition guards it with its mutex.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.h"

namespace tandem::storage {

// "TDX1" read as a little-endian u32.
inline constexpr uint32_t kIndexMagic = 0x31584454;
inline constexpr uint32_t kIndexVersion = 1;
inline constexpr size_t kIndexHeaderSize = 56;
inline constexpr size_t kIndexEntrySize = 8;

struct IndexEntry {
  uint32_t relative_offset = 0;  // batch base offset - segment base offset
  uint32_t position = 0;         // byte position of the batch in the .log file
};

// What a sealed segment's index file states about its log file.
struct SegmentSummary {
  uint64_t base_offset = 0;
  uint64_t next_offset = 0;          // one past the last record
  uint64_t log_size = 0;             // bytes of the .log file
  uint64_t last_batch_position = 0;  // where the last batch starts (0 when empty)
  int64_t max_timestamp_us = -1;     // -1 when empty
  friend bool operator==(const SegmentSummary&, const SegmentSummary&) = default;
};

class OffsetIndex {
 public:
  OffsetIndex() = default;
  explicit OffsetIndex(uint64_t base_offset) : base_offset_(base_offset) {}

  uint64_t base_offset() const { return base_offset_; }
  // Records that the batch starting with `offset` is at `position`. Ignored
  // unless both grow (positions above 4 GiB cannot be indexed).
  void Add(uint64_t offset, uint64_t position);
  // Position of the last indexed batch whose base offset is <= `offset`;
  // 0 (the segment's first batch) when there is none.
  uint64_t Lookup(uint64_t offset) const;
  const std::vector<IndexEntry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

  // The whole index file: header with `summary`, then the entries.
  std::string EncodeFile(const SegmentSummary& summary) const;
  // Parses an index file. Corruption when the magic, version, checksum,
  // length or entry order is wrong, or its base offset is not `base_offset`.
  // Does not look at the log file (callers check the summary against it).
  static Status DecodeFile(std::string_view data, uint64_t base_offset, SegmentSummary* summary,
                           OffsetIndex* index);

 private:
  uint64_t base_offset_ = 0;
  std::vector<IndexEntry> entries_;
};

}  // namespace tandem::storage
