// PartitionImpl: the Partition of partition.h. Its code is in partition.cc
// (group commit, reads, retention, close) and partition_recovery.cc (Open,
// recovery, dedup rebuild, Verify).
//
// Group commit. AppendAsync assigns offsets and checks/inserts dedup ids under
// `mu_`, queues the request and, when no drain is scheduled, schedules one on
// the io pool. A drain takes queued requests up to max_batch_bytes (at least
// one), encodes them into batches, and under `io_mu_` issues one
// WritableFile::Append (write(2)) and, under kAlways, one Sync (fdatasync(2));
// it then advances the high watermark, hands the next group to a fresh pool
// task (so its write overlaps these callbacks) and runs the callbacks.
// Requests arriving during the sync form the next group.
//
// Failure. If the write or sync fails, every request of the group fails with
// that status and nothing of it becomes visible: the segment is truncated back
// (truncate(2)+fsync(2)) to the last acknowledged size, the group's dedup ids
// are forgotten and the queued requests behind it get their offsets again. If
// the truncate or reopening the file fails, the partition is fenced: every
// later append fails with IOError naming the directory, until it is reopened.
// Records of a group whose fdatasync failed are *indeterminate*: a crash
// before the truncate-back may leave them in the file, so after a restart they
// may be readable (fsyncgate; treat a failed append like a Kafka producer
// timeout and retry with the same id, which dedup makes safe).
//
// Dedup. Ids are checked and inserted at enqueue, under `mu_`, so a duplicate
// in the same or a pending group is caught and answered with the original's
// offset; it rides in a group no earlier than the original's, so its callback
// runs only after the original is acknowledged. If the original's group fails,
// a duplicate in that group fails with it, and one queued behind it is given
// an offset of its own and appended for real (its original never existed).
//
// Locking: `io_mu_` (the active segment's WritableFile, rolls, Flush) is taken
// before `mu_` (queue, offsets, dedup, segment list and sizes), never after.
// `maintenance_mu_` serialises EnforceRetention and Verify and is taken first.
// The drain thread reads the active segment's fields holding only `io_mu_`:
// every writer of those fields holds both locks.
//
// Thread safety: all public methods are safe for concurrent use.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "log/dedup_index.h"
#include "log/partition.h"
#include "log/record_batch.h"
#include "log/segment.h"

namespace tandem {

class PartitionImpl final : public Partition {
 public:
  PartitionImpl(FileSystem& fs, Clock& clock, ThreadPool& pool, std::string dir,
                const PartitionOptions& options);
  ~PartitionImpl() override;
  PartitionImpl(const PartitionImpl&) = delete;
  PartitionImpl& operator=(const PartitionImpl&) = delete;

  // Recovers the directory (partition_recovery.cc). Called once by Open.
  Status Recover();

  void AppendAsync(std::vector<ProduceRecord> records, AppendCallback done) override;
  Status Append(std::vector<ProduceRecord> records, std::vector<AppendResult>* results) override;
  Status Read(uint64_t from, size_t max_bytes, std::vector<Record>* out) override;
  bool WaitForData(uint64_t offset, int64_t timeout_us) override;
  uint64_t start_offset() const override;
  uint64_t end_offset() const override { return hw_.load(std::memory_order_acquire); }
  PartitionStats Stats() const override;
  Status EnforceRetention() override;
  Status Flush() override;
  Status Verify(VerifyReport* report) override;
  Status Close() override;

 private:
  using SegmentPtr = std::shared_ptr<storage::Segment>;

  struct Request {
    std::vector<ProduceRecord> records;
    AppendCallback done;
    std::vector<AppendResult> results;
    std::vector<uint64_t> id_hashes;  // DedupIndex::Hash of each id (when dedup is on)
    uint64_t first_offset = 0;        // offset of its first non-duplicate record
    uint32_t new_records = 0;
    uint64_t bytes = 0;  // estimated encoded size of its new records
  };
  using RequestPtr = std::unique_ptr<Request>;

  struct Group {
    std::vector<RequestPtr> requests;
    uint64_t first_offset = 0;
    uint64_t end_offset = 0;  // one past its last new record
  };

  // A batch encoded into encoded_ at `position` (relative to the group).
  struct EncodedBatch {
    storage::BatchHeader header;
    uint64_t position = 0;
  };

  // ---- append path (partition.cc) ----
  Status ValidateRecords(const std::vector<ProduceRecord>& records) const;
  void FailLater(AppendCallback done, Status s);
  void AssignLocked(Request* req, int64_t now_us);
  void TakeGroupLocked(Group* g);
  void Drain();
  Status WriteGroup(const Group& g, int64_t now_us);
  Status EncodeGroup(const Group& g);
  Status FinishBatch();
  bool NeedsRoll(uint64_t group_bytes, uint64_t group_records, int64_t now_us) const;
  Status Roll();
  void CommitGroupLocked(const Group& g, int64_t now_us);
  Status TruncateBack(const Status& cause);
  void FailGroupLocked(const Group& g, int64_t now_us);
  static void Complete(Group* g, const Status& s);

  // ---- read path (partition.cc) ----
  Result<std::shared_ptr<RandomAccessFile>> ReaderLocked(storage::Segment* seg);
  SegmentPtr FindSegmentLocked(uint64_t offset) const;
  // One Read call's progress across segments.
  struct ReadState {
    uint64_t from = 0;  // next offset wanted
    uint64_t hw = 0;    // high watermark when the read started
    size_t max_bytes = 0;
    size_t bytes = 0;
    bool full = false;  // stopped by max_bytes
  };
  Status ReadSegment(const storage::Segment& seg, const RandomAccessFile& file, uint64_t limit,
                     uint64_t position, ReadState* st, std::vector<Record>* out);
  static Status DecodeInto(const storage::BatchHeader& h, std::string_view body, ReadState* st,
                           std::vector<Record>* out);
  Status DeleteSegmentFiles(const SegmentPtr& seg);

  // ---- recovery (partition_recovery.cc) ----
  Result<SegmentPtr> RecoverSealed(uint64_t base);
  Result<SegmentPtr> RecoverLast(uint64_t base);
  Status PrepareDir(std::vector<uint64_t>* bases);
  Status CreateFirstSegment();
  Status CheckContinuity() const;
  Status RebuildDedup();
  Status RebuildDedupFrom(const SegmentPtr& seg, uint64_t from, int64_t window_start_us);
  SegmentPtr NewSegment(uint64_t base) const;
  std::string FencedMessage(const Status& cause) const;

  FileSystem& fs_;
  Clock& clock_;
  ThreadPool& pool_;
  const std::string dir_;
  const PartitionOptions options_;
  const uint64_t group_limit_bytes_;  // max_batch_bytes, clamped
  const uint64_t batch_target_bytes_;
  const uint64_t segment_bytes_;  // clamped so positions fit in u32

  std::mutex maintenance_mu_;

  std::mutex io_mu_;                      // taken before mu_
  std::unique_ptr<WritableFile> writer_;  // GUARDED_BY(io_mu_): the active segment's
  // The active segment (segments_.back()). Written holding io_mu_ and mu_.
  SegmentPtr active_;
  Status io_fence_;                    // GUARDED_BY(io_mu_): why writer_ is gone (fenced)
  bool must_roll_ = false;             // GUARDED_BY(io_mu_): a roll failed halfway
  storage::BatchBuilder builder_;      // GUARDED_BY(io_mu_)
  std::string encoded_;                // GUARDED_BY(io_mu_)
  std::vector<EncodedBatch> batches_;  // GUARDED_BY(io_mu_)

  mutable std::mutex mu_;
  std::condition_variable data_cv_;  // hw_ moved or closed
  std::condition_variable idle_cv_;  // the drain went idle
  std::deque<RequestPtr> queue_;     // GUARDED_BY(mu_)
  bool drain_scheduled_ = false;     // GUARDED_BY(mu_)
  int callbacks_running_ = 0;        // GUARDED_BY(mu_)
  bool closing_ = false;             // GUARDED_BY(mu_)
  bool closed_ = false;              // GUARDED_BY(mu_)
  Status fenced_;                    // GUARDED_BY(mu_)
  uint64_t next_offset_ = 0;         // GUARDED_BY(mu_): next offset to assign
  uint64_t start_offset_ = 0;        // GUARDED_BY(mu_)
  std::atomic<uint64_t> hw_{0};      // written under mu_
  std::deque<SegmentPtr> segments_;  // GUARDED_BY(mu_); back() is active
  storage::DedupIndex dedup_;        // GUARDED_BY(mu_)
  std::mutex close_mu_;              // serialises Close
};

}  // namespace tandem
