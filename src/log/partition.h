// Partition: one append-only sequence of record batches stored as segment
// files in its own directory (docs/log_format.md). It owns recovery (verify
// the tail, truncate a torn or corrupt tail, rebuild missing indexes), group
// commit, the per-partition dedup window, reads and retention.
//
// Group commit, pipelined: AppendAsync queues records; a writer task takes
// everything queued, encodes it and writes it with one write(2); a syncer
// runs fdatasync(2) (fsync=always) covering every group written before it
// began, then acknowledges those groups in offset order. While one sync is in
// flight the next group is encoded and written, so the disk is never idle
// waiting for the CPU (partition.cc has the state machine).
//
// Thread safety: all methods are safe for concurrent use.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "tandem/env.h"
#include "tandem/log.h"
#include "tandem/status.h"

namespace tandem {

struct PartitionOptions {
  uint32_t partition = 0;  // its number within the topic (reported in results)
  uint64_t segment_bytes = 128ull << 20;
  int64_t segment_ms = 7ll * 24 * 3600 * 1000;
  uint32_t index_interval_bytes = 4096;
  int64_t retention_ms = -1;
  int64_t retention_bytes = -1;
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  Compression compression = Compression::kNone;
  uint32_t max_record_bytes = (1u << 20) + (64u << 10);
  uint32_t max_batch_bytes = 4u << 20;
  int64_t dedup_window_ms = 24ll * 3600 * 1000;
  uint32_t dedup_max_entries = 200'000;  // about 53 bytes each (LogOptions)
};

class Partition {
 public:
  using AppendCallback = std::function<void(Status, std::vector<AppendResult>)>;

  // Opens (creating `dir` when missing) and recovers the partition. `fs`,
  // `clock` and `pool` must outlive it. Corruption (naming file and offset)
  // when a batch before the tail is damaged.
  static Result<std::unique_ptr<Partition>> Open(FileSystem& fs, Clock& clock, ThreadPool& pool,
                                                 std::string dir, const PartitionOptions& options);
  virtual ~Partition() = default;

  // Queues `records` for the next group; `done` runs on an io thread after the
  // group is acknowledged under the fsync policy (or failed: then none of
  // these records is visible or acknowledged). Records with an id seen in the
  // dedup window (including earlier in the same queue) are not appended: their
  // result carries the original offset and duplicate = true, and `done` runs
  // only once the original is acknowledged too.
  virtual void AppendAsync(std::vector<ProduceRecord> records, AppendCallback done) = 0;
  // Blocking form of AppendAsync.
  virtual Status Append(std::vector<ProduceRecord> records, std::vector<AppendResult>* results) = 0;

  // Acknowledged records with offset >= from (clamped to start_offset), up to
  // about max_bytes, at least one record when one exists.
  virtual Status Read(uint64_t from, size_t max_bytes, std::vector<Record>* out) = 0;
  // Waits until end_offset() > offset, up to timeout_us. True when data is there.
  virtual bool WaitForData(uint64_t offset, int64_t timeout_us) = 0;

  virtual uint64_t start_offset() const = 0;
  // The high watermark: next offset to assign; every record below it is acknowledged.
  virtual uint64_t end_offset() const = 0;
  virtual PartitionStats Stats() const = 0;

  // Deletes whole segments past retention (never the active segment).
  virtual Status EnforceRetention() = 0;
  // fdatasync now (the kInterval timer calls this).
  virtual Status Flush() = 0;
  virtual Status Verify(VerifyReport* report) = 0;
  // Completes queued appends, syncs, closes files. Idempotent.
  virtual Status Close() = 0;
};

}  // namespace tandem
