// Segments: the files of a partition. A segment is `<20-digit base>.log`
// (record batches back to back, docs/log_format.md) plus its sparse index
// `<20-digit base>.index` once it is sealed. This file holds the in-memory
// description of a segment and the read-side machinery shared by recovery,
// reads, retention and Verify: a buffered batch reader, the segment scan that
// classifies each position (whole batch / clean end / bad batch), the forward
// search for a later valid batch that tells a torn tail from corruption before
// the tail, and the read-only integrity walk.
//
// Nothing here writes files; the Partition owns every mutation and states its
// durability (fdatasync of the .log before the .index is written, SyncDir
// after a segment is created or deleted).
//
// Thread safety: Segment is guarded by its Partition's mutex; BatchReader and
// the scan functions are used by one thread at a time (they only pread).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "log/offset_index.h"
#include "log/record_batch.h"
#include "tandem/env.h"
#include "tandem/log.h"
#include "tandem/status.h"

namespace tandem::storage {

// "00000000000000000042.log" / ".index" for base offset 42.
std::string SegmentFileName(uint64_t base_offset);
std::string IndexFileName(uint64_t base_offset);
// Parses a directory entry; false when `name` is neither a segment nor an index.
bool ParseSegmentFileName(std::string_view name, uint64_t* base_offset, bool* is_index);

// The state of one segment as the partition knows it. Sizes and offsets are
// those of acknowledged (or recovered) data only.
struct Segment {
  uint64_t base_offset = 0;
  std::string log_path;
  std::string index_path;
  uint64_t next_offset = 0;  // one past the last record
  uint64_t size = 0;         // bytes of whole batches in the .log file
  uint64_t last_batch_position = 0;
  int64_t max_timestamp_us = -1;  // -1 when empty
  // When the segment's first record was appended (wall clock, micros), for
  // segment_ms. Recovered segments use their first batch's max timestamp,
  // capped at the clock, so a restart rolls at most one segment early.
  int64_t first_append_us = -1;
  OffsetIndex index;
  uint64_t bytes_since_index_entry = 0;
  std::shared_ptr<RandomAccessFile> reader;  // opened on first read, then cached

  bool empty() const { return next_offset == base_offset; }
  SegmentSummary Summary() const {
    return {base_offset, next_offset, size, last_batch_position, max_timestamp_us};
  }
  // Accounts for a batch written at `position` (index entry per interval).
  void AddBatch(const BatchHeader& h, uint64_t position, uint32_t index_interval_bytes);
};

// Reads batches of one file through a read-ahead buffer, never past `limit`.
class BatchReader {
 public:
  BatchReader(const RandomAccessFile& file, uint64_t limit, std::string path);

  // Probes the batch at `pos` (kBatch / kEnd / kBad). With `with_body`, the
  // body is read and CRC-checked too and `*body` views it until the next call.
  // A non-OK Status is an I/O error, not a verdict on the bytes.
  Status ReadAt(uint64_t pos, bool with_body, BatchProbe* probe, std::string_view* body);
  uint64_t limit() const { return limit_; }
  const std::string& path() const { return path_; }

 private:
  Status Fetch(uint64_t pos, size_t n, std::string_view* out);

  const RandomAccessFile& file_;
  uint64_t limit_;
  std::string path_;
  std::string buf_;
  uint64_t buf_pos_ = 0;
};

// What a scan of a segment file found.
struct SegmentScan {
  Segment segment;  // the valid prefix: offsets, size, index, timestamps
  uint64_t batches = 0;
  uint64_t records = 0;
  bool bad = false;  // a bad batch starts at segment.size
  std::string bad_reason;
  bool bad_incomplete = false;
};

// Walks the batches of `file` from position 0 to `limit`, checking header and
// body CRCs (`deep`: also decoding every record) and that offsets continue
// from `base_offset`; builds the index as the writer would. Stops at the first
// bad batch. Non-OK only for I/O errors.
Status ScanSegment(const RandomAccessFile& file, const std::string& path, uint64_t base_offset,
                   uint64_t limit, uint32_t index_interval_bytes, bool deep, SegmentScan* out);

// Searches (from, limit) for the start of a plausible valid batch: magic,
// header CRC, body CRC and base offset >= `min_offset`. Its position, or
// nullopt when there is none (the damage at `from` is a torn tail).
Result<std::optional<uint64_t>> FindValidBatchAfter(const RandomAccessFile& file,
                                                    const std::string& path, uint64_t from,
                                                    uint64_t limit, uint64_t min_offset);

// Cheap open-time check of a sealed segment against its index file summary:
// sizes agree, the first batch has the base offset and the last batch is whole
// and ends the file with next_offset. "" when it agrees, else the disagreement.
std::string CheckSummaryAgainstLog(const RandomAccessFile& file, const std::string& path,
                                   const SegmentSummary& summary, Status* io_error);

// VerifySegment's *next_offset when a bad batch hides the segment's end.
inline constexpr uint64_t kUnknownOffset = UINT64_MAX;

// Read-only integrity walk of one segment file up to `limit` bytes: every
// batch (CRCs, record decoding, offsets contiguous from `expected_base`) and,
// when `index_path` is not empty, its index file against it. Adds each problem
// to report->issues with file and byte offset and counts batches and records;
// `*next_offset` gets the segment's end offset, or kUnknownOffset after a bad
// batch. Modifies nothing.
Status VerifySegment(FileSystem& fs, const RandomAccessFile& file, const std::string& log_path,
                     const std::string& index_path, uint64_t expected_base, uint64_t limit,
                     VerifyReport* report, uint64_t* next_offset);

// VerifySegment over every segment of the partition directory `dir`, oldest
// first, plus continuity across segments. Indexes are checked for sealed
// segments only (the last one's index may legitimately be stale). Usable on a
// directory that refuses to open. Non-OK only when the directory cannot be
// listed.
Status VerifyPartitionDir(FileSystem& fs, const std::string& dir, VerifyReport* report);

}  // namespace tandem::storage
