// Partition: group commit, reads, retention and close. Recovery and Verify
// are in partition_recovery.cc; the design is described in partition_impl.h.
#include <algorithm>
#include <chrono>
#include <future>
#include <limits>
#include <utility>

#include "log/partition_impl.h"

namespace tandem {
namespace {

using storage::BatchHeader;
using storage::ProbeOutcome;

// Encoded bytes of a record beyond its payload (varints, attributes), an
// upper bound used to size groups and batches before encoding.
constexpr uint64_t kRecordOverheadBytes = 24;
// Segment positions are u32 in the index; a segment stays below 4 GiB with
// this bound plus one request.
constexpr uint64_t kMaxSegmentBytes = 1ull << 30;
constexpr uint64_t kMaxBatchTargetBytes = 1u << 20;
// While a sync runs, queued requests are written early (overlapping it) once
// they are at least this big (or a whole group): about 100 µs of encoding and
// write(2) here, worth taking off the path between two syncs. Smaller ones
// wait and are written just before the next sync, which keeps groups large
// instead of adding a write and a sync for a few records.
constexpr uint64_t kEarlyWriteBytes = 256u << 10;
// A single request (all-or-nothing, so written in one group) is at most this big.
constexpr uint64_t kMaxRequestBytes = storage::kMaxBatchBodyBytes / 2;

uint64_t EstimateBytes(const ProduceRecord& r) {
  return storage::RecordPayloadBytes(r) + 4 * r.headers.size() + kRecordOverheadBytes;
}

// Saturating ms -> us for windows; <= 0 stays 0 (disabled).
int64_t MillisToMicros(int64_t ms) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 4;
  if (ms <= 0) return 0;
  return ms > kMax / 1000 ? kMax : ms * 1000;
}

size_t PayloadBytes(const storage::RecordView& v) {
  return v.key.size() + v.value.size() + v.id.size() + v.headers.size();
}

}  // namespace

PartitionImpl::PartitionImpl(FileSystem& fs, Clock& clock, ThreadPool& pool, std::string dir,
                             const PartitionOptions& options)
    : fs_(fs),
      clock_(clock),
      pool_(pool),
      dir_(std::move(dir)),
      options_(options),
      group_limit_bytes_(std::clamp<uint64_t>(options.max_batch_bytes, 1, kMaxRequestBytes)),
      batch_target_bytes_(std::min(group_limit_bytes_, kMaxBatchTargetBytes)),
      early_write_bytes_(std::min(group_limit_bytes_, kEarlyWriteBytes)),
      segment_bytes_(std::clamp<uint64_t>(options.segment_bytes, 1, kMaxSegmentBytes)),
      builder_(options.compression),
      dedup_(options.dedup_max_entries, MillisToMicros(options.dedup_window_ms)) {}

PartitionImpl::~PartitionImpl() { (void)Close(); }

// ---- Append path ----

Status PartitionImpl::ValidateRecords(const std::vector<ProduceRecord>& records) const {
  uint64_t max_record = std::min<uint64_t>(options_.max_record_bytes, kMaxRequestBytes);
  uint64_t total = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    uint64_t n = storage::RecordPayloadBytes(records[i]);
    if (n > max_record) {
      return Status::TooLarge(dir_ + ": record " + std::to_string(i) + " is " + std::to_string(n) +
                              " bytes, over max_record_bytes " + std::to_string(max_record));
    }
    total += EstimateBytes(records[i]);
  }
  if (total > kMaxRequestBytes) {
    return Status::TooLarge(dir_ + ": one append of " + std::to_string(total) +
                            " bytes is over the limit of " + std::to_string(kMaxRequestBytes));
  }
  return Status::OK();
}

void PartitionImpl::FailLater(AppendCallback done, Status s) {
  pool_.Schedule([done = std::move(done), s = std::move(s)]() { done(s, {}); });
}

void PartitionImpl::AppendAsync(std::vector<ProduceRecord> records, AppendCallback done) {
  if (Status s = ValidateRecords(records); !s.ok()) return FailLater(std::move(done), s);
  auto req = std::make_unique<Request>();
  req->records = std::move(records);
  req->done = std::move(done);
  if (dedup_.enabled()) {  // hashing is pure: keep it out of the lock
    req->id_hashes.resize(req->records.size());
    for (size_t i = 0; i < req->records.size(); ++i) {
      req->id_hashes[i] = storage::DedupIndex::Hash(req->records[i].id);
    }
  }
  const int64_t now = clock_.NowMicros();
  bool schedule = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    Status refuse = closing_ ? Status::Aborted(dir_ + ": partition is closed") : fenced_;
    if (refuse.ok()) {
      AssignLocked(req.get(), now);
      queued_bytes_ += req->bytes;
      queue_.push_back(std::move(req));
      schedule = WantsWriterLocked();
    } else {
      done = std::move(req->done);
      FailLater(std::move(done), refuse);
    }
  }
  if (schedule) pool_.Schedule([this] { WriteLoop(); });
}

Status PartitionImpl::Append(std::vector<ProduceRecord> records,
                             std::vector<AppendResult>* results) {
  using Outcome = std::pair<Status, std::vector<AppendResult>>;
  auto promise = std::make_shared<std::promise<Outcome>>();
  std::future<Outcome> future = promise->get_future();
  AppendAsync(std::move(records), [promise](Status s, std::vector<AppendResult> r) {
    promise->set_value(Outcome(std::move(s), std::move(r)));
  });
  Outcome outcome = future.get();
  if (results != nullptr) *results = std::move(outcome.second);
  return outcome.first;
}

// Offsets and dedup are decided here, at enqueue, so a duplicate in the same
// or a pending group is caught and gets its original's offset at once. A
// duplicate rides in a group no earlier than its original's, so its callback
// never runs before the original is acknowledged.
void PartitionImpl::AssignLocked(Request* req, int64_t now_us) {
  dedup_.Expire(now_us);
  dedup_.Prefetch(req->id_hashes.data(), req->id_hashes.size());
  req->results.resize(req->records.size());
  req->first_offset = next_offset_;
  req->new_records = 0;
  req->bytes = 0;
  for (size_t i = 0; i < req->records.size(); ++i) {
    ProduceRecord& r = req->records[i];
    if (r.timestamp_us == 0) r.timestamp_us = now_us;
    AppendResult& res = req->results[i];
    res.partition = options_.partition;
    const storage::DedupIndex::Entry* original =
        req->id_hashes.empty()
            ? nullptr
            : dedup_.FindOrInsert(r.id, req->id_hashes[i], next_offset_, r.timestamp_us, now_us);
    res.duplicate = original != nullptr;
    if (res.duplicate) {
      res.offset = original->offset;
      continue;
    }
    res.offset = next_offset_++;
    ++req->new_records;
    req->bytes += EstimateBytes(r);
  }
}

// Whether the writer has something to do now: a failed sync to handle, or
// queued requests to write. While a sync runs it writes early only a queue
// worth overlapping (early_write_bytes_): a smaller one waits and is written
// right before the next sync, with everything else that arrived meanwhile,
// so each sync still covers what arrived during the previous one.
bool PartitionImpl::WriterHasWorkLocked() const {
  if (!pending_failure_.ok()) return true;
  if (queue_.empty()) return false;
  switch (sync_state_) {
    case SyncState::kIdle:
      return true;
    case SyncState::kRunning:
      return queued_bytes_ >= early_write_bytes_;
    case SyncState::kStarting:
      return false;  // asked again when it runs
  }
  return false;
}

// Marks the writer scheduled when it has work and is not already running.
bool PartitionImpl::WantsWriterLocked() {
  if (writer_scheduled_ || !WriterHasWorkLocked()) return false;
  writer_scheduled_ = true;
  return true;
}

void PartitionImpl::TakeGroupLocked(Group* g) {
  uint64_t bytes = 0;
  while (!queue_.empty()) {
    Request* r = queue_.front().get();
    if (!g->requests.empty() && bytes + r->bytes > group_limit_bytes_) break;
    bytes += r->bytes;
    g->requests.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  queued_bytes_ -= bytes;
  const Request& last = *g->requests.back();
  g->first_offset = g->requests.front()->first_offset;
  g->end_offset = last.first_offset + last.new_records;
}

// The writer role: writes groups until it has nothing to do, or until it
// starts a sync, which this thread then runs as the syncer. When a step left
// callbacks to run, the role moves to a fresh pool task first, so the next
// write overlaps them.
void PartitionImpl::WriteLoop() {
  for (;;) {
    Next next = Next::kStop;
    {
      std::lock_guard<std::mutex> io(io_mu_);
      next = WriteStep();
    }
    if (next == Next::kStop) return;
    if (next == Next::kSync) return SyncLoop();
    std::unique_lock<std::mutex> l(mu_);
    if (acks_.empty() || completing_) continue;
    pool_.Schedule([this] { WriteLoop(); });
    CompleteAcks(l);
    return;
  }
}

// One step of the writer: handles a failed sync, or writes one group. kStop
// (the role ended) when it has nothing to do.
PartitionImpl::Next PartitionImpl::WriteStep() {
  Group g;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!WriterHasWorkLocked()) {
      writer_scheduled_ = false;
      idle_cv_.notify_all();
      return Next::kStop;
    }
    if (pending_failure_.ok()) TakeGroupLocked(&g);
  }
  if (g.requests.empty()) {  // the syncer failed and is idle
    FailUnacknowledged(nullptr, Status::OK(), true);
    return Next::kContinue;
  }
  return g.empty() ? AcknowledgeEmpty(std::move(g)) : WriteGroup(std::move(g));
}

// Encodes and writes `g` (write(2)), rolling first when needed; then hands it
// to the syncer (kAlways) or acknowledges it (kInterval, kNever).
PartitionImpl::Next PartitionImpl::WriteGroup(Group g) {
  const int64_t now = clock_.NowMicros();
  Status s = EncodeGroup(&g);
  if (s.ok() && NeedsRoll(g, encoded_.size(), now)) {
    if (!WaitForSyncIdle()) return FailUnacknowledged(&g, Status::OK(), true);
    s = Roll();
  }
  bool wrote = false;
  if (s.ok()) {
    s = writer_->Append(encoded_);
    wrote = true;
  }
  const uint64_t bytes = encoded_.size();
  if (encoded_.capacity() > 2 * group_limit_bytes_ + kMaxBatchTargetBytes) {
    encoded_.clear();
    encoded_.shrink_to_fit();
  }
  if (!s.ok()) {
    (void)WaitForSyncIdle();  // acknowledges the groups written before this one
    return FailUnacknowledged(&g, s, wrote);
  }
  std::unique_lock<std::mutex> l(mu_);
  if (!pending_failure_.ok()) {  // an earlier group's sync failed: this one follows it
    l.unlock();
    return FailUnacknowledged(&g, Status::OK(), true);
  }
  g.position = written_size_;
  written_size_ += bytes;
  if (g.position == 0) active_->first_append_us = now;
  if (options_.fsync != FsyncPolicy::kAlways) {
    CommitGroupLocked(g);
    acks_.push_back(Ack{std::move(g), Status::OK()});
    return Next::kContinue;
  }
  written_.push_back(std::move(g));
  return StartSyncLocked();
}

// A group of duplicates only writes nothing; it is acknowledged right after
// the groups before it.
PartitionImpl::Next PartitionImpl::AcknowledgeEmpty(Group g) {
  std::unique_lock<std::mutex> l(mu_);
  if (!pending_failure_.ok()) {
    l.unlock();
    return FailUnacknowledged(&g, Status::OK(), true);
  }
  if (written_.empty()) {
    acks_.push_back(Ack{std::move(g), Status::OK()});
    return Next::kContinue;
  }
  written_.push_back(std::move(g));
  if (sync_state_ == SyncState::kRunning && covered_ + 1 == written_.size()) {
    ++covered_;  // rides with the running sync: it has no bytes to cover
    return Next::kContinue;
  }
  return StartSyncLocked();
}

// After a write: when no sync runs, this thread leaves the writer role and
// becomes the syncer (kSync); otherwise the sync after the running one
// covers the new group.
PartitionImpl::Next PartitionImpl::StartSyncLocked() {
  if (sync_state_ != SyncState::kIdle) return Next::kContinue;
  sync_state_ = SyncState::kStarting;
  writer_scheduled_ = false;
  return Next::kSync;
}

// Waits until no sync runs, then syncs on this thread the groups written
// since, so every written group is acknowledged. True when no sync failed.
// Needs no other pool task: a sync is always run by a thread already past
// this point (see partition_impl.h).
bool PartitionImpl::WaitForSyncIdle() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    sync_cv_.wait(l, [&] { return sync_state_ == SyncState::kIdle; });
    if (!pending_failure_.ok()) return false;
    if (written_.empty()) return true;
    (void)SyncOnce(l);
    sync_state_ = SyncState::kIdle;
  }
}

Status PartitionImpl::EncodeGroup(Group* g) {
  if (!writer_) return io_fence_.ok() ? Status::Aborted(dir_ + ": partition is closed") : io_fence_;
  encoded_.clear();
  uint64_t offset = g->first_offset;
  bool open = false;
  for (const RequestPtr& req : g->requests) {
    for (size_t i = 0; i < req->records.size(); ++i) {
      if (req->results[i].duplicate) continue;
      const ProduceRecord& r = req->records[i];
      if (open && builder_.records_bytes() + EstimateBytes(r) > batch_target_bytes_) {
        TANDEM_RETURN_IF_ERROR(builder_.Finish(&g->batches.back().header));
        open = false;
      }
      if (!open) {
        g->batches.push_back(EncodedBatch{BatchHeader{}, encoded_.size()});
        builder_.Start(offset, &encoded_);
        open = true;
      }
      builder_.Add(r, r.timestamp_us);
      ++offset;
    }
  }
  if (open) TANDEM_RETURN_IF_ERROR(builder_.Finish(&g->batches.back().header));
  return Status::OK();
}

// Reads only writer-owned state: written_size_, first_append_us (set by the
// writer) and the immutable base offset.
bool PartitionImpl::NeedsRoll(const Group& g, uint64_t group_bytes, int64_t now_us) const {
  if (written_size_ == 0) return false;
  if (must_roll_ || written_size_ + group_bytes > segment_bytes_) return true;
  const storage::Segment& a = *active_;
  if (g.end_offset - a.base_offset > std::numeric_limits<uint32_t>::max()) return true;
  int64_t age_us = now_us - a.first_append_us;
  return options_.segment_ms >= 0 && options_.segment_ms <= age_us / 1000;
}

// Seals the active segment: fdatasync it, write its index (temp, fdatasync,
// rename, fsync(dir)), create the next segment and fsync(dir). Any failure
// leaves the old segment active and makes the next group retry the roll.
// Runs only while no sync runs and every written group is acknowledged.
Status PartitionImpl::Roll() {
  must_roll_ = true;
  const storage::Segment& old = *active_;
  TANDEM_RETURN_IF_ERROR(writer_->Sync());
  TANDEM_RETURN_IF_ERROR(
      WriteFileAtomically(fs_, old.index_path, old.index.EncodeFile(old.Summary())));
  SegmentPtr seg = NewSegment(old.next_offset);
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> w, fs_.NewWritableFile(seg->log_path));
  if (Status s = fs_.SyncDir(dir_); !s.ok()) {
    (void)w->Close();
    (void)fs_.DeleteFile(seg->log_path);
    return s;
  }
  (void)writer_->Close();
  std::lock_guard<std::mutex> l(mu_);
  writer_ = std::move(w);
  segments_.push_back(seg);
  active_ = std::move(seg);
  written_size_ = 0;
  must_roll_ = false;
  return Status::OK();
}

// The syncer role, entered from the writer (StartSyncLocked). Syncs back to
// back while groups were written during the last sync and nothing is queued;
// when requests are queued it stops, so the writer writes them and starts the
// next sync covering everything. Callbacks of a sync followed by another run
// on a pool task, so they never delay that fdatasync.
void PartitionImpl::SyncLoop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    Status s = SyncOnce(l);
    if (!s.ok() || written_.empty() || !queue_.empty()) break;
    if (!acks_.empty() && !completing_) {
      completing_ = true;
      pool_.Schedule([this] {
        std::unique_lock<std::mutex> cl(mu_);
        DrainAcks(cl);
      });
    }
  }
  sync_state_ = SyncState::kIdle;
  sync_cv_.notify_all();
  idle_cv_.notify_all();
  if (WantsWriterLocked()) pool_.Schedule([this] { WriteLoop(); });
  CompleteAcks(l);
}

// One fdatasync covering every group written so far, then their
// acknowledgement (or, on failure, pending_failure_ for the writer). Starts
// the writer for an early write. `l` holds mu_ (released during the sync).
Status PartitionImpl::SyncOnce(std::unique_lock<std::mutex>& l) {
  sync_state_ = SyncState::kRunning;
  covered_ = written_.size();
  WritableFile* file = writer_.get();  // stays open: rolls and truncates wait for this sync
  const bool start_writer = WantsWriterLocked();
  l.unlock();
  if (start_writer) pool_.Schedule([this] { WriteLoop(); });
  Status s = file->Sync();
  l.lock();
  if (!s.ok()) {
    pending_failure_ = s;  // the writer fails written_ and truncates
    covered_ = 0;
    return s;
  }
  for (; covered_ > 0; --covered_) {
    CommitGroupLocked(written_.front());
    acks_.push_back(Ack{std::move(written_.front()), Status::OK()});
    written_.pop_front();
  }
  return s;
}

void PartitionImpl::CommitGroupLocked(const Group& g) {
  if (g.empty()) return;
  storage::Segment& a = *active_;
  for (const EncodedBatch& b : g.batches) {
    a.AddBatch(b.header, g.position + b.position, options_.index_interval_bytes);
  }
  hw_.store(g.end_offset, std::memory_order_release);
  data_cv_.notify_all();
}

// Fails every group not acknowledged: those left by a failed sync (with its
// status) and `g` (with `g_status`, or the failed sync's when OK). With
// `truncate`, first cuts the segment back to its acknowledged size. Then
// forgets their dedup ids and gives the queued requests behind them their
// offsets again (from the first failed offset), so offsets stay contiguous
// and a duplicate of a failed record is appended for real. Runs on the writer
// while no sync runs. (A failed sync always truncates.)
PartitionImpl::Next PartitionImpl::FailUnacknowledged(Group* g, const Status& g_status,
                                                      bool truncate) {
  Status sync_failure;
  {
    std::lock_guard<std::mutex> l(mu_);
    sync_failure = std::exchange(pending_failure_, Status::OK());
  }
  const Status& cause = sync_failure.ok() ? g_status : sync_failure;
  if ((truncate || !sync_failure.ok()) && writer_) (void)TruncateBack(cause);
  const int64_t now = clock_.NowMicros();
  std::lock_guard<std::mutex> l(mu_);
  if (!io_fence_.ok()) fenced_ = io_fence_;
  written_size_ = active_->size;
  covered_ = 0;
  if (written_.empty() && g == nullptr) return Next::kContinue;
  const uint64_t first = written_.empty() ? g->first_offset : written_.front().first_offset;
  for (Group& w : written_) acks_.push_back(Ack{std::move(w), sync_failure});
  written_.clear();
  if (g != nullptr) acks_.push_back(Ack{std::move(*g), g_status.ok() ? sync_failure : g_status});
  dedup_.EraseFrom(first);
  next_offset_ = first;
  queued_bytes_ = 0;
  for (RequestPtr& r : queue_) {
    AssignLocked(r.get(), now);
    queued_bytes_ += r->bytes;
  }
  return Next::kContinue;
}

// Cuts the active segment back to its last acknowledged size after a failed
// write or sync, so nothing unacknowledged survives. Returns `cause`.
Status PartitionImpl::TruncateBack(const Status& cause) {
  const storage::Segment& a = *active_;
  (void)writer_->Close();
  {
    std::lock_guard<std::mutex> l(mu_);
    writer_.reset();
  }
  Status s = fs_.Truncate(a.log_path, a.size);
  if (s.ok()) {
    Result<std::unique_ptr<WritableFile>> w = fs_.NewAppendableFile(a.log_path);
    if (!w.ok()) {
      s = w.status();
    } else if ((*w)->Size() != a.size) {
      s = Status::IOError("reopened at " + std::to_string((*w)->Size()) + " bytes");
    } else {
      std::lock_guard<std::mutex> l(mu_);
      writer_ = std::move(*w);
    }
  }
  if (!s.ok()) {
    io_fence_ =
        Status::IOError(dir_ + ": partition fenced until reopened: could not truncate " +
                        a.log_path + " back to " + std::to_string(a.size) +
                        " bytes after a failed append (" + cause.ToString() + "): " + s.ToString());
  }
  return cause;
}

// Runs queued callbacks in order, outside the lock, unless another thread
// already is (it will run these too). `l` holds mu_.
void PartitionImpl::CompleteAcks(std::unique_lock<std::mutex>& l) {
  if (completing_) return;
  completing_ = true;
  DrainAcks(l);
}

// The completer's loop; completing_ is set.
void PartitionImpl::DrainAcks(std::unique_lock<std::mutex>& l) {
  while (!acks_.empty()) {
    std::deque<Ack> batch = std::exchange(acks_, {});
    l.unlock();
    for (Ack& a : batch) Complete(&a.group, a.status);
    batch.clear();
    l.lock();
  }
  completing_ = false;
  idle_cv_.notify_all();
}

void PartitionImpl::Complete(Group* g, const Status& s) {
  for (RequestPtr& r : g->requests) {
    if (s.ok()) {
      r->done(Status::OK(), std::move(r->results));
    } else {
      r->done(s, {});
    }
  }
}

// ---- Read path ----

Result<std::shared_ptr<RandomAccessFile>> PartitionImpl::ReaderLocked(storage::Segment* seg) {
  if (!seg->reader) {
    TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> f,
                            fs_.NewRandomAccessFile(seg->log_path));
    seg->reader = std::move(f);
  }
  return seg->reader;
}

PartitionImpl::SegmentPtr PartitionImpl::FindSegmentLocked(uint64_t offset) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](uint64_t o, const SegmentPtr& s) { return o < s->base_offset; });
  return it == segments_.begin() ? segments_.front() : *std::prev(it);
}

Status PartitionImpl::Read(uint64_t from, size_t max_bytes, std::vector<Record>* out) {
  out->clear();
  ReadState st;
  st.from = from;
  st.max_bytes = max_bytes;
  for (int not_found = 0;;) {
    SegmentPtr seg;
    std::shared_ptr<RandomAccessFile> file;
    uint64_t limit = 0;
    uint64_t position = 0;
    {
      std::lock_guard<std::mutex> l(mu_);
      st.hw = hw_.load(std::memory_order_acquire);
      st.from = std::max(st.from, start_offset_);
      if (st.from >= st.hw || st.full) return Status::OK();
      seg = FindSegmentLocked(st.from);
      Result<std::shared_ptr<RandomAccessFile>> f = ReaderLocked(seg.get());
      // Retention may delete the file between listing and opening: look again.
      if (!f.ok() && f.status().IsNotFound() && ++not_found < 3) continue;
      if (!f.ok()) return f.status();
      file = *f;
      limit = seg->size;
      position = seg->index.Lookup(st.from);
    }
    const uint64_t before = st.from;
    TANDEM_RETURN_IF_ERROR(ReadSegment(*seg, *file, limit, position, &st, out));
    if (st.from == before && !st.full) {
      if (seg->next_offset > st.from) {
        return Status::Corruption(seg->log_path + ": offset " + std::to_string(st.from) +
                                  " not found");
      }
      st.from = seg->next_offset;  // (cannot happen for a healthy list; avoids spinning)
    }
  }
}

Status PartitionImpl::ReadSegment(const storage::Segment& seg, const RandomAccessFile& file,
                                  uint64_t limit, uint64_t position, ReadState* st,
                                  std::vector<Record>* out) {
  storage::BatchReader reader(file, limit, seg.log_path);
  for (uint64_t pos = position;;) {
    storage::BatchProbe p;
    std::string_view body;
    TANDEM_RETURN_IF_ERROR(reader.ReadAt(pos, false, &p, &body));
    if (p.outcome == ProbeOutcome::kEnd) return Status::OK();
    const bool whole = p.outcome == ProbeOutcome::kBatch;
    if (whole && p.header.next_offset() <= st->from) {  // skip by header alone
      pos += p.header.size();
      continue;
    }
    if (whole && p.header.base_offset >= st->hw) return Status::OK();
    if (whole) TANDEM_RETURN_IF_ERROR(reader.ReadAt(pos, true, &p, &body));
    if (p.outcome != ProbeOutcome::kBatch) {
      return Status::Corruption(seg.log_path + ": bad batch at byte " + std::to_string(pos) + " (" +
                                p.reason + ")");
    }
    Status s = DecodeInto(p.header, body, st, out);
    if (!s.ok()) return s.WithContext(seg.log_path + " byte " + std::to_string(pos));
    if (st->full || st->from >= st->hw) return Status::OK();
    pos += p.header.size();
  }
}

Status PartitionImpl::DecodeInto(const BatchHeader& h, std::string_view body, ReadState* st,
                                 std::vector<Record>* out) {
  thread_local storage::RecordDecoder decoder;  // keeps its zstd context and buffer
  Status conv;
  Status s = decoder.Decode(h, body, [&](const storage::RecordView& v) {
    if (v.offset < st->from) return true;
    if (v.offset >= st->hw) return false;
    size_t n = PayloadBytes(v);
    if (!out->empty() && st->bytes + n > st->max_bytes) {
      st->full = true;
      return false;
    }
    out->emplace_back();
    conv = v.ToRecord(&out->back());
    st->bytes += n;
    st->from = v.offset + 1;
    return conv.ok();
  });
  return s.ok() ? conv : s;
}

bool PartitionImpl::WaitForData(uint64_t offset, int64_t timeout_us) {
  std::unique_lock<std::mutex> l(mu_);
  data_cv_.wait_for(l, std::chrono::microseconds(std::max<int64_t>(timeout_us, 0)),
                    [&] { return hw_.load(std::memory_order_acquire) > offset || closed_; });
  return hw_.load(std::memory_order_acquire) > offset;
}

uint64_t PartitionImpl::start_offset() const {
  std::lock_guard<std::mutex> l(mu_);
  return start_offset_;
}

PartitionStats PartitionImpl::Stats() const {
  std::lock_guard<std::mutex> l(mu_);
  PartitionStats s;
  s.partition = options_.partition;
  s.start_offset = start_offset_;
  s.end_offset = hw_.load(std::memory_order_acquire);
  for (const SegmentPtr& seg : segments_) s.bytes += seg->size;
  s.segments = static_cast<uint32_t>(segments_.size());
  return s;
}

// ---- Retention, flush, close ----

Status PartitionImpl::EnforceRetention() {
  std::lock_guard<std::mutex> m(maintenance_mu_);
  const int64_t now = clock_.NowMicros();
  const bool by_age = options_.retention_ms >= 0 &&
                      options_.retention_ms < std::numeric_limits<int64_t>::max() / 1000;
  const int64_t oldest_kept_us = by_age ? now - options_.retention_ms * 1000 : 0;
  for (;;) {
    SegmentPtr victim;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (closed_ || segments_.size() < 2) return Status::OK();
      uint64_t total = 0;
      for (const SegmentPtr& seg : segments_) total += seg->size;
      victim = segments_.front();
      bool old = by_age && victim->max_timestamp_us < oldest_kept_us;
      bool big =
          options_.retention_bytes >= 0 && total > static_cast<uint64_t>(options_.retention_bytes);
      if (!old && !big) return Status::OK();
    }
    TANDEM_RETURN_IF_ERROR(DeleteSegmentFiles(victim));
  }
}

// Deletes the oldest segment: the .log first (then it leaves the list, so
// memory and disk agree on a prefix), its index, then fsync(dir).
Status PartitionImpl::DeleteSegmentFiles(const SegmentPtr& seg) {
  Status s = fs_.DeleteFile(seg->log_path);
  if (!s.ok() && !s.IsNotFound()) return s;
  {
    std::lock_guard<std::mutex> l(mu_);
    segments_.pop_front();
    start_offset_ = segments_.front()->base_offset;
  }
  s = fs_.DeleteFile(seg->index_path);
  if (!s.ok() && !s.IsNotFound()) return s;
  return fs_.SyncDir(dir_);
}

Status PartitionImpl::Flush() {
  std::lock_guard<std::mutex> io(io_mu_);
  if (!writer_) return io_fence_;
  if (options_.fsync == FsyncPolicy::kAlways) return Status::OK();  // every append synced
  return writer_->Sync();
}

Status PartitionImpl::Close() {
  std::lock_guard<std::mutex> c(close_mu_);
  {
    std::unique_lock<std::mutex> l(mu_);
    if (closed_) return Status::OK();
    closing_ = true;
    idle_cv_.wait(l, [&] {
      return queue_.empty() && !writer_scheduled_ && sync_state_ == SyncState::kIdle &&
             written_.empty() && pending_failure_.ok() && acks_.empty() && !completing_;
    });
  }
  Status s;
  {
    std::lock_guard<std::mutex> io(io_mu_);
    if (writer_) {
      s = writer_->Sync();
      Status c2 = writer_->Close();
      if (s.ok()) s = c2;
      std::lock_guard<std::mutex> l(mu_);
      writer_.reset();
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  data_cv_.notify_all();
  return s;
}

}  // namespace tandem
