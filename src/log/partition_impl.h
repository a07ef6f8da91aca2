// PartitionImpl: the Partition of partition.h. Its code is in partition.cc
// (group commit, reads, retention, close) and partition_recovery.cc (Open,
// recovery, dedup rebuild, Verify).
//
// Group commit, pipelined. AppendAsync assigns offsets and checks/inserts
// dedup ids under `mu_`, queues the request and wakes the writer. Two roles
// per partition, each held by at most one thread at a time:
//  * the writer (WriteLoop, a pool task, holding `io_mu_`) takes queued
//    requests up to max_batch_bytes (at least one) as a group, encodes it
//    into batches and issues one WritableFile::Append (write(2)). Under
//    kInterval/kNever the group is acknowledged at once. Under kAlways it
//    joins `written_`; if no sync runs, the writer thread leaves the writer
//    role and becomes the syncer;
//  * the syncer (SyncLoop, no I/O lock) issues one Sync (fdatasync(2)) of the
//    active segment covering every group written when it began, then
//    acknowledges them in offset order: the segment's size and index and the
//    high watermark advance, and their callbacks are queued. If groups were
//    written meanwhile and nothing is queued, it syncs again at once;
//    otherwise it stops, so the writer first writes what is queued and then
//    starts the next sync, covering everything.
// So while group N's fdatasync is in flight, the requests arriving are
// written (early) when they add up to early_write_bytes_ (256 KiB, capped by
// max_batch_bytes): overlapping a big write with the sync takes it off the
// path between two syncs. Smaller ones wait and are written just before the
// next sync: a separate write, and worse a separate sync, for a few records
// would cost more than it saves (measured: closed-loop single-record
// producers lose a third of their records per fdatasync otherwise). Either
// way each sync covers everything that arrived during the previous one.
// WritableFile::Sync runs concurrently with Append on the same file; every
// FileSystem in the tree allows that (Sync touches only the descriptor), and
// fdatasync(2) covers what was written before it began.
// Callbacks run in acknowledgement order: acknowledged and failed groups are
// queued in `acks_` and one thread at a time (whichever finds none running,
// or a pool task when the syncer goes straight on to the next sync) runs
// them, outside the locks.
//
// Rolls and failures need the file to themselves: the writer waits (a
// condition variable under `mu_`) until no sync runs, then syncs on its own
// thread the groups written early, so every written group is acknowledged
// (or failed). The wait needs no other pool task: a sync is always run by the
// thread that started it, never queued. A roll then seals a segment whose
// index describes every byte in it, and no fdatasync of the old file is in
// flight when it is closed.
//
// Failure. If a sync fails, every group not yet acknowledged fails with that
// status: the groups it covered, those written after it and the writer's
// current group. If a write fails, the groups written before it are synced
// and acknowledged first and only its group fails. Either way the writer
// (once no sync runs) cuts the segment back to its last acknowledged size
// (truncate(2)+fsync(2)), the failed groups' dedup ids are forgotten and the
// queued requests behind them get their offsets again; nothing of a failed
// group ever became visible. If the truncate or reopening the file fails, the
// partition is fenced: every later append fails with IOError naming the
// directory, until it is reopened. Records of a group whose fdatasync failed
// are *indeterminate*: a crash before the truncate-back may leave them in the
// file, so after a restart they may be readable (fsyncgate; treat a failed
// append like a Kafka producer timeout and retry with the same id, which
// dedup makes safe). Only one fdatasync of a file is ever in flight, so its
// error cannot be consumed by a concurrent fdatasync and go unseen.
//
// Dedup. Ids are checked and inserted at enqueue, under `mu_`, so a duplicate
// in the same or a pending group is caught and answered with the original's
// offset; it rides in a group no earlier than the original's, so its callback
// runs only after the original is acknowledged. If the original's group fails,
// a duplicate in that or a later unacknowledged group fails with it, and one
// still queued is given an offset of its own and appended for real (its
// original never existed).
//
// Locking: `io_mu_` (the writer role: the active segment's WritableFile,
// encoding, rolls, Flush) is taken before `mu_` (queue, offsets, dedup,
// written groups, syncer state, segment list and sizes), never after.
// `maintenance_mu_` serialises EnforceRetention and Verify and is taken first.
// `writer_` and `active_` change holding both locks and only while no sync
// runs; the syncer reads `writer_` under `mu_`. The syncer updates the active
// segment's acknowledged fields (size, index, next_offset) under `mu_`; the
// writer reads them only after waiting for the syncer under `mu_`, and keeps
// its own `written_size_` and `first_append_us` for roll decisions.
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
    // DedupIndex::Hash of each id (when dedup is on)
    std::vector<storage::DedupIndex::Fingerprint> id_hashes;
    uint64_t first_offset = 0;  // offset of its first non-duplicate record
    uint32_t new_records = 0;
    uint64_t bytes = 0;  // estimated encoded size of its new records
  };
  using RequestPtr = std::unique_ptr<Request>;

  // A batch encoded at `position` relative to its group's first byte.
  struct EncodedBatch {
    storage::BatchHeader header;
    uint64_t position = 0;
  };

  struct Group {
    std::vector<RequestPtr> requests;
    uint64_t first_offset = 0;
    uint64_t end_offset = 0;  // one past its last new record
    // Set when written: where its bytes start in the active segment, its batches.
    uint64_t position = 0;
    std::vector<EncodedBatch> batches;
    bool empty() const { return end_offset == first_offset; }  // duplicates only
  };

  // A group to complete (acknowledged when status is OK), in offset order.
  struct Ack {
    Group group;
    Status status;
  };

  // kStarting: a thread left the writer role to run the sync (SyncLoop).
  enum class SyncState { kIdle, kStarting, kRunning };
  // What the writer does after a step.
  enum class Next { kStop, kContinue, kSync };

  // ---- append path (partition.cc) ----
  Status ValidateRecords(const std::vector<ProduceRecord>& records) const;
  void FailLater(AppendCallback done, Status s);
  void AssignLocked(Request* req, int64_t now_us);
  bool WriterHasWorkLocked() const;
  bool WantsWriterLocked();
  void TakeGroupLocked(Group* g);
  void WriteLoop();
  Next WriteStep();
  Next WriteGroup(Group g);
  Next AcknowledgeEmpty(Group g);
  Next StartSyncLocked();
  bool WaitForSyncIdle();
  Status EncodeGroup(Group* g);
  bool NeedsRoll(const Group& g, uint64_t group_bytes, int64_t now_us) const;
  Status Roll();
  void SyncLoop();
  Status SyncOnce(std::unique_lock<std::mutex>& l);
  void CommitGroupLocked(const Group& g);
  Next FailUnacknowledged(Group* g, const Status& g_status, bool truncate);
  Status TruncateBack(const Status& cause);
  void CompleteAcks(std::unique_lock<std::mutex>& l);
  void DrainAcks(std::unique_lock<std::mutex>& l);
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
  const uint64_t early_write_bytes_;  // see kEarlyWriteBytes
  const uint64_t segment_bytes_;      // clamped so positions fit in u32

  std::mutex maintenance_mu_;

  std::mutex io_mu_;                      // taken before mu_
  std::unique_ptr<WritableFile> writer_;  // GUARDED_BY(io_mu_), read by the syncer under mu_
  // The active segment (segments_.back()). Written holding io_mu_ and mu_.
  SegmentPtr active_;
  uint64_t written_size_ = 0;      // GUARDED_BY(io_mu_): active segment bytes written
  Status io_fence_;                // GUARDED_BY(io_mu_): why writer_ is gone (fenced)
  bool must_roll_ = false;         // GUARDED_BY(io_mu_): a roll failed halfway
  storage::BatchBuilder builder_;  // GUARDED_BY(io_mu_)
  std::string encoded_;            // GUARDED_BY(io_mu_)

  mutable std::mutex mu_;
  std::condition_variable data_cv_;  // hw_ moved or closed
  std::condition_variable idle_cv_;  // a role went idle or callbacks finished
  std::condition_variable sync_cv_;  // the syncer went idle
  std::deque<RequestPtr> queue_;     // GUARDED_BY(mu_)
  uint64_t queued_bytes_ = 0;        // GUARDED_BY(mu_): sum of queue_'s Request::bytes
  bool writer_scheduled_ = false;    // GUARDED_BY(mu_)
  std::deque<Group> written_;        // GUARDED_BY(mu_): written, not yet acknowledged
  size_t covered_ = 0;               // GUARDED_BY(mu_): written_ prefix the running sync covers
  SyncState sync_state_ = SyncState::kIdle;  // GUARDED_BY(mu_)
  Status pending_failure_;           // GUARDED_BY(mu_): a failed sync the writer must handle
  std::deque<Ack> acks_;             // GUARDED_BY(mu_): callbacks to run, in order
  bool completing_ = false;          // GUARDED_BY(mu_): a thread is running callbacks
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
