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
      queue_.push_back(std::move(req));
      schedule = !std::exchange(drain_scheduled_, true);
    } else {
      done = std::move(req->done);
      FailLater(std::move(done), refuse);
    }
  }
  if (schedule) pool_.Schedule([this] { Drain(); });
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

void PartitionImpl::TakeGroupLocked(Group* g) {
  uint64_t bytes = 0;
  while (!queue_.empty()) {
    Request* r = queue_.front().get();
    if (!g->requests.empty() && bytes + r->bytes > group_limit_bytes_) break;
    bytes += r->bytes;
    g->requests.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  const Request& last = *g->requests.back();
  g->first_offset = g->requests.front()->first_offset;
  g->end_offset = last.first_offset + last.new_records;
}

void PartitionImpl::Drain() {
  Group g;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (queue_.empty()) {
      drain_scheduled_ = false;
      idle_cv_.notify_all();
      return;
    }
    TakeGroupLocked(&g);
  }
  const int64_t now = clock_.NowMicros();
  Status s;
  {
    std::lock_guard<std::mutex> io(io_mu_);
    s = WriteGroup(g, now);
    std::lock_guard<std::mutex> l(mu_);
    if (s.ok()) {
      CommitGroupLocked(g, now);
    } else {
      FailGroupLocked(g, now);
    }
    // Hand the next group to another pool thread so its write overlaps these callbacks.
    if (queue_.empty()) {
      drain_scheduled_ = false;
    } else {
      pool_.Schedule([this] { Drain(); });
    }
    ++callbacks_running_;
  }
  Complete(&g, s);
  std::lock_guard<std::mutex> l(mu_);
  if (--callbacks_running_ == 0 && !drain_scheduled_) idle_cv_.notify_all();
}

Status PartitionImpl::WriteGroup(const Group& g, int64_t now_us) {
  if (g.end_offset == g.first_offset) return Status::OK();  // duplicates only
  if (!writer_) return io_fence_.ok() ? Status::Aborted(dir_ + ": partition is closed") : io_fence_;
  TANDEM_RETURN_IF_ERROR(EncodeGroup(g));
  if (NeedsRoll(encoded_.size(), g.end_offset - g.first_offset, now_us)) {
    TANDEM_RETURN_IF_ERROR(Roll());
  }
  Status s = writer_->Append(encoded_);
  if (s.ok() && options_.fsync == FsyncPolicy::kAlways) s = writer_->Sync();
  if (encoded_.capacity() > 2 * group_limit_bytes_ + kMaxBatchTargetBytes) {
    encoded_.clear();
    encoded_.shrink_to_fit();
  }
  if (!s.ok()) return TruncateBack(s);
  return Status::OK();
}

Status PartitionImpl::FinishBatch() { return builder_.Finish(&batches_.back().header); }

Status PartitionImpl::EncodeGroup(const Group& g) {
  encoded_.clear();
  batches_.clear();
  uint64_t offset = g.first_offset;
  bool open = false;
  for (const RequestPtr& req : g.requests) {
    for (size_t i = 0; i < req->records.size(); ++i) {
      if (req->results[i].duplicate) continue;
      const ProduceRecord& r = req->records[i];
      if (open && builder_.records_bytes() + EstimateBytes(r) > batch_target_bytes_) {
        TANDEM_RETURN_IF_ERROR(FinishBatch());
        open = false;
      }
      if (!open) {
        batches_.push_back(EncodedBatch{BatchHeader{}, encoded_.size()});
        builder_.Start(offset, &encoded_);
        open = true;
      }
      builder_.Add(r, r.timestamp_us);
      ++offset;
    }
  }
  if (open) TANDEM_RETURN_IF_ERROR(FinishBatch());
  return Status::OK();
}

bool PartitionImpl::NeedsRoll(uint64_t group_bytes, uint64_t group_records, int64_t now_us) const {
  const storage::Segment& a = *active_;
  if (a.empty()) return false;
  if (must_roll_ || a.size + group_bytes > segment_bytes_) return true;
  if (a.next_offset - a.base_offset + group_records > std::numeric_limits<uint32_t>::max()) {
    return true;
  }
  int64_t age_us = now_us - a.first_append_us;
  return options_.segment_ms >= 0 && options_.segment_ms <= age_us / 1000;
}

// Seals the active segment: fdatasync it, write its index (temp, fdatasync,
// rename, fsync(dir)), create the next segment and fsync(dir). Any failure
// leaves the old segment active and makes the next group retry the roll.
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
  writer_ = std::move(w);
  std::lock_guard<std::mutex> l(mu_);
  segments_.push_back(seg);
  active_ = std::move(seg);
  must_roll_ = false;
  return Status::OK();
}

void PartitionImpl::CommitGroupLocked(const Group& g, int64_t now_us) {
  if (g.end_offset == g.first_offset) return;
  storage::Segment& a = *active_;
  const uint64_t base_position = a.size;
  if (a.empty()) a.first_append_us = now_us;
  for (const EncodedBatch& b : batches_) {
    a.AddBatch(b.header, base_position + b.position, options_.index_interval_bytes);
  }
  hw_.store(g.end_offset, std::memory_order_release);
  data_cv_.notify_all();
}

// Cuts the active segment back to its last acknowledged size after a failed
// write or sync, so nothing of the group survives. Returns `cause`.
Status PartitionImpl::TruncateBack(const Status& cause) {
  const storage::Segment& a = *active_;
  (void)writer_->Close();
  writer_.reset();
  Status s = fs_.Truncate(a.log_path, a.size);
  if (s.ok()) {
    Result<std::unique_ptr<WritableFile>> w = fs_.NewAppendableFile(a.log_path);
    if (!w.ok()) {
      s = w.status();
    } else if ((*w)->Size() != a.size) {
      s = Status::IOError("reopened at " + std::to_string((*w)->Size()) + " bytes");
    } else {
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

// The group failed: forget its dedup ids and give the queued requests behind
// it their offsets again (from the group's first offset), so offsets stay
// contiguous and a duplicate of a failed record is appended for real.
void PartitionImpl::FailGroupLocked(const Group& g, int64_t now_us) {
  if (!io_fence_.ok()) fenced_ = io_fence_;
  dedup_.EraseFrom(g.first_offset);
  next_offset_ = g.first_offset;
  for (RequestPtr& r : queue_) AssignLocked(r.get(), now_us);
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
    idle_cv_.wait(l,
                  [&] { return queue_.empty() && !drain_scheduled_ && callbacks_running_ == 0; });
  }
  Status s;
  {
    std::lock_guard<std::mutex> io(io_mu_);
    if (writer_) {
      s = writer_->Sync();
      Status c2 = writer_->Close();
      if (s.ok()) s = c2;
      writer_.reset();
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  closed_ = true;
  data_cv_.notify_all();
  return s;
}

}  // namespace tandem
