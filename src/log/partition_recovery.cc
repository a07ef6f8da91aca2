// Partition: Open, recovery, dedup rebuild and Verify (docs/log_format.md,
// "Recovery"). Recover runs before the partition is shared, so it takes no
// locks.
//
//  * Sealed segments are checked cheaply: their index file's summary against
//    the log (size, first batch, last batch whole with the right end offset).
//    A missing or disagreeing index is rebuilt by a CRC scan of the segment;
//    a bad batch there is Corruption (a sealed segment was fdatasync'ed whole).
//  * The last segment is scanned batch by batch. At the first bad batch at
//    byte p, the rest of the file is searched for a later valid batch: if one
//    exists the damage is before the tail and Open refuses with Corruption
//    naming the file and p (never silent data loss); otherwise it is a torn
//    tail (or zero-filled pages) and the file is truncated to p (truncate(2)
//    + fsync(2)).
//  * Segments must continue each other's offsets, else Corruption.
//  * The dedup index is rebuilt from about dedup_max_entries recent records,
//    skipping batches whose max timestamp is outside the window unread.
#include <algorithm>

#include "log/partition_impl.h"

namespace tandem {
namespace {

using storage::BatchHeader;
using storage::ProbeOutcome;

constexpr std::string_view kTmpSuffix = ".tmp";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string BadBatch(const std::string& path, uint64_t pos, const std::string& reason) {
  return path + ": bad batch at byte " + std::to_string(pos) + " (" + reason + ")";
}

}  // namespace

Result<std::unique_ptr<Partition>> Partition::Open(FileSystem& fs, Clock& clock, ThreadPool& pool,
                                                   std::string dir,
                                                   const PartitionOptions& options) {
  auto p = std::make_unique<PartitionImpl>(fs, clock, pool, std::move(dir), options);
  TANDEM_RETURN_IF_ERROR(p->Recover());
  return std::unique_ptr<Partition>(std::move(p));
}

PartitionImpl::SegmentPtr PartitionImpl::NewSegment(uint64_t base) const {
  auto seg = std::make_shared<storage::Segment>();
  seg->base_offset = base;
  seg->next_offset = base;
  seg->log_path = JoinPath(dir_, storage::SegmentFileName(base));
  seg->index_path = JoinPath(dir_, storage::IndexFileName(base));
  seg->index = storage::OffsetIndex(base);
  return seg;
}

Status PartitionImpl::Recover() {
  std::vector<uint64_t> bases;
  TANDEM_RETURN_IF_ERROR(PrepareDir(&bases));
  if (bases.empty()) {
    TANDEM_RETURN_IF_ERROR(CreateFirstSegment());
  } else {
    for (size_t i = 0; i + 1 < bases.size(); ++i) {
      TANDEM_ASSIGN_OR_RETURN(SegmentPtr seg, RecoverSealed(bases[i]));
      segments_.push_back(std::move(seg));
    }
    TANDEM_ASSIGN_OR_RETURN(SegmentPtr last, RecoverLast(bases.back()));
    segments_.push_back(std::move(last));
    TANDEM_RETURN_IF_ERROR(CheckContinuity());
  }
  active_ = segments_.back();
  if (!writer_) {
    TANDEM_ASSIGN_OR_RETURN(writer_, fs_.NewAppendableFile(active_->log_path));
    if (writer_->Size() != active_->size) {
      return Status::IOError(active_->log_path + ": opened at " + std::to_string(writer_->Size()) +
                             " bytes, expected " + std::to_string(active_->size));
    }
  }
  written_size_ = active_->size;
  next_offset_ = active_->next_offset;
  hw_.store(next_offset_, std::memory_order_release);
  start_offset_ = segments_.front()->base_offset;
  return RebuildDedup();
}

// Creates the directory when missing, removes leftovers (temp files of an
// interrupted index write, indexes whose segment was deleted) and lists the
// segments' base offsets in order.
Status PartitionImpl::PrepareDir(std::vector<uint64_t>* bases) {
  Result<std::vector<std::string>> children = fs_.GetChildren(dir_);
  if (!children.ok()) {
    if (!children.status().IsNotFound()) return children.status();
    TANDEM_RETURN_IF_ERROR(fs_.CreateDirs(dir_));
    std::string parent = DirName(dir_);
    if (!parent.empty()) TANDEM_RETURN_IF_ERROR(fs_.SyncDir(parent));
    children = std::vector<std::string>();
  }
  std::vector<uint64_t> indexes;
  for (const std::string& name : *children) {
    uint64_t base = 0;
    bool is_index = false;
    if (EndsWith(name, kTmpSuffix)) {
      (void)fs_.DeleteFile(JoinPath(dir_, name));
    } else if (storage::ParseSegmentFileName(name, &base, &is_index)) {
      (is_index ? indexes : *bases).push_back(base);
    }
  }
  std::sort(bases->begin(), bases->end());
  for (uint64_t base : indexes) {
    if (!std::binary_search(bases->begin(), bases->end(), base)) {
      (void)fs_.DeleteFile(JoinPath(dir_, storage::IndexFileName(base)));
    }
  }
  return Status::OK();
}

Status PartitionImpl::CreateFirstSegment() {
  SegmentPtr seg = NewSegment(0);
  TANDEM_ASSIGN_OR_RETURN(writer_, fs_.NewWritableFile(seg->log_path));
  TANDEM_RETURN_IF_ERROR(fs_.SyncDir(dir_));
  segments_.push_back(std::move(seg));
  return Status::OK();
}

namespace {

// Moves what a scan found into `seg`, keeping its paths.
void TakeScan(storage::SegmentScan* scan, storage::Segment* seg) {
  std::string log_path = std::move(seg->log_path);
  std::string index_path = std::move(seg->index_path);
  *seg = std::move(scan->segment);
  seg->log_path = std::move(log_path);
  seg->index_path = std::move(index_path);
}

}  // namespace

Result<PartitionImpl::SegmentPtr> PartitionImpl::RecoverSealed(uint64_t base) {
  SegmentPtr seg = NewSegment(base);
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> opened,
                          fs_.NewRandomAccessFile(seg->log_path));
  std::shared_ptr<RandomAccessFile> file = std::move(opened);
  std::string data;
  Status rs = ReadFileToString(fs_, seg->index_path, &data);
  if (!rs.ok() && !rs.IsNotFound()) return rs;
  storage::SegmentSummary summary;
  storage::OffsetIndex index;
  if (rs.ok() && storage::OffsetIndex::DecodeFile(data, base, &summary, &index).ok()) {
    Status io;
    std::string why = storage::CheckSummaryAgainstLog(*file, seg->log_path, summary, &io);
    TANDEM_RETURN_IF_ERROR(io);
    if (why.empty()) {
      seg->next_offset = summary.next_offset;
      seg->size = summary.log_size;
      seg->last_batch_position = summary.last_batch_position;
      seg->max_timestamp_us = summary.max_timestamp_us;
      seg->index = std::move(index);
      seg->reader = std::move(file);
      return seg;
    }
  }
  // Missing or disagreeing index: rebuild it from the log (a full CRC scan).
  TANDEM_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  storage::SegmentScan scan;
  TANDEM_RETURN_IF_ERROR(storage::ScanSegment(*file, seg->log_path, base, size,
                                              options_.index_interval_bytes, false, &scan));
  if (scan.bad) {
    return Status::Corruption(BadBatch(seg->log_path, scan.segment.size, scan.bad_reason) +
                              " in a sealed segment");
  }
  TakeScan(&scan, seg.get());
  TANDEM_RETURN_IF_ERROR(
      WriteFileAtomically(fs_, seg->index_path, seg->index.EncodeFile(seg->Summary())));
  seg->reader = std::move(file);
  return seg;
}

Result<PartitionImpl::SegmentPtr> PartitionImpl::RecoverLast(uint64_t base) {
  SegmentPtr seg = NewSegment(base);
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<RandomAccessFile> opened,
                          fs_.NewRandomAccessFile(seg->log_path));
  std::shared_ptr<RandomAccessFile> file = std::move(opened);
  TANDEM_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  storage::SegmentScan scan;
  TANDEM_RETURN_IF_ERROR(storage::ScanSegment(*file, seg->log_path, base, size,
                                              options_.index_interval_bytes, false, &scan));
  if (scan.bad) {
    const uint64_t p = scan.segment.size;
    TANDEM_ASSIGN_OR_RETURN(
        std::optional<uint64_t> later,
        storage::FindValidBatchAfter(*file, seg->log_path, p + 1, size, scan.segment.next_offset));
    if (later) {
      return Status::Corruption(BadBatch(seg->log_path, p, scan.bad_reason) +
                                "; a valid batch follows at byte " + std::to_string(*later) +
                                ", so this is not a torn tail: refusing to drop it");
    }
    // A torn tail: only a write that was never acknowledged can end here.
    TANDEM_RETURN_IF_ERROR(fs_.Truncate(seg->log_path, p));
  }
  TakeScan(&scan, seg.get());
  if (!seg->empty()) seg->first_append_us = std::min(seg->first_append_us, clock_.NowMicros());
  seg->reader = std::move(file);
  return seg;
}

Status PartitionImpl::CheckContinuity() const {
  for (size_t i = 1; i < segments_.size(); ++i) {
    const storage::Segment& prev = *segments_[i - 1];
    const storage::Segment& seg = *segments_[i];
    if (seg.base_offset != prev.next_offset) {
      return Status::Corruption(
          seg.log_path + ": segment starts at offset " + std::to_string(seg.base_offset) +
          " but the previous segment ends at offset " + std::to_string(prev.next_offset));
    }
  }
  return Status::OK();
}

// Rebuilds the dedup index from the last ~dedup_max_entries records, reading
// only batches whose max timestamp is inside the window, so startup cost is
// bounded by the index size rather than the log size.
Status PartitionImpl::RebuildDedup() {
  if (!dedup_.enabled()) return Status::OK();
  const int64_t now = clock_.NowMicros();
  const int64_t window_ms = std::min<int64_t>(options_.dedup_window_ms, now / 1000);
  const int64_t window_start = now - window_ms * 1000;
  const uint64_t end = next_offset_;
  const uint64_t from = end - std::min<uint64_t>(end - start_offset_, options_.dedup_max_entries);
  for (const SegmentPtr& seg : segments_) {
    if (seg->next_offset <= from || seg->empty() || seg->max_timestamp_us < window_start) continue;
    TANDEM_RETURN_IF_ERROR(RebuildDedupFrom(seg, std::max(from, seg->base_offset), window_start));
  }
  return Status::OK();
}

Status PartitionImpl::RebuildDedupFrom(const SegmentPtr& seg, uint64_t from,
                                       int64_t window_start_us) {
  TANDEM_ASSIGN_OR_RETURN(std::shared_ptr<RandomAccessFile> file, ReaderLocked(seg.get()));
  storage::BatchReader reader(*file, seg->size, seg->log_path);
  storage::RecordDecoder decoder;
  for (uint64_t pos = seg->index.Lookup(from);;) {
    storage::BatchProbe p;
    std::string_view body;
    TANDEM_RETURN_IF_ERROR(reader.ReadAt(pos, false, &p, &body));
    if (p.outcome == ProbeOutcome::kEnd) return Status::OK();
    const BatchHeader h = p.header;
    bool skip = p.outcome == ProbeOutcome::kBatch &&
                (h.next_offset() <= from || h.max_timestamp_us < window_start_us);
    if (!skip && p.outcome == ProbeOutcome::kBatch) {
      TANDEM_RETURN_IF_ERROR(reader.ReadAt(pos, true, &p, &body));
    }
    if (p.outcome != ProbeOutcome::kBatch) {
      return Status::Corruption(BadBatch(seg->log_path, pos, p.reason));
    }
    if (!skip) {
      Status s = decoder.Decode(h, body, [&](const storage::RecordView& v) {
        if (v.offset >= from && v.timestamp_us >= window_start_us) {
          dedup_.Insert(v.id, v.offset, v.timestamp_us);
        }
        return true;
      });
      if (!s.ok()) return s.WithContext(BadBatch(seg->log_path, pos, "records"));
    }
    pos += h.size();
  }
}

// Walks every batch of every segment (up to the acknowledged size of the
// active one) without modifying anything; see storage::VerifySegment.
Status PartitionImpl::Verify(VerifyReport* report) {
  std::lock_guard<std::mutex> m(maintenance_mu_);
  struct Item {
    SegmentPtr seg;
    std::shared_ptr<RandomAccessFile> file;
    uint64_t limit = 0;
    bool sealed = false;
  };
  std::vector<Item> items;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = 0; i < segments_.size(); ++i) {
      Result<std::shared_ptr<RandomAccessFile>> f = ReaderLocked(segments_[i].get());
      if (!f.ok()) {
        report->issues.push_back(VerifyIssue{segments_[i]->log_path, 0, f.status().ToString()});
        continue;
      }
      items.push_back(Item{segments_[i], *f, segments_[i]->size, i + 1 < segments_.size()});
    }
  }
  report->segments += items.size();
  uint64_t expected = items.empty() ? 0 : items.front().seg->base_offset;
  for (const Item& it : items) {
    if (it.seg->base_offset != expected && expected != storage::kUnknownOffset) {
      report->issues.push_back(
          VerifyIssue{it.seg->log_path, 0,
                      "segment starts at offset " + std::to_string(it.seg->base_offset) +
                          " but the previous one ends at " + std::to_string(expected)});
    }
    TANDEM_RETURN_IF_ERROR(
        storage::VerifySegment(fs_, *it.file, it.seg->log_path, it.sealed ? it.seg->index_path : "",
                               it.seg->base_offset, it.limit, report, &expected));
  }
  return Status::OK();
}

}  // namespace tandem
