#include "log/segment.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace tandem::storage {
namespace {

constexpr size_t kBaseDigits = 20;
constexpr size_t kReadAheadBytes = 64u << 10;
constexpr size_t kSearchChunkBytes = 1u << 20;
constexpr std::string_view kLogSuffix = ".log";
constexpr std::string_view kIndexSuffix = ".index";

std::string BaseName(uint64_t base_offset) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(base_offset));
  return buf;
}

}  // namespace

std::string SegmentFileName(uint64_t base_offset) {
  return BaseName(base_offset) + std::string(kLogSuffix);
}

std::string IndexFileName(uint64_t base_offset) {
  return BaseName(base_offset) + std::string(kIndexSuffix);
}

bool ParseSegmentFileName(std::string_view name, uint64_t* base_offset, bool* is_index) {
  if (name.size() <= kBaseDigits) return false;
  std::string_view suffix = name.substr(kBaseDigits);
  if (suffix != kLogSuffix && suffix != kIndexSuffix) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < kBaseDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *base_offset = v;
  *is_index = suffix == kIndexSuffix;
  return true;
}

void Segment::AddBatch(const BatchHeader& h, uint64_t position, uint32_t index_interval_bytes) {
  if (bytes_since_index_entry >= index_interval_bytes) {
    index.Add(h.base_offset, position);
    bytes_since_index_entry = 0;
  }
  bytes_since_index_entry += h.size();
  next_offset = h.next_offset();
  size = position + h.size();
  last_batch_position = position;
  max_timestamp_us = std::max(max_timestamp_us, h.max_timestamp_us);
}

// ---- BatchReader ----

BatchReader::BatchReader(const RandomAccessFile& file, uint64_t limit, std::string path)
    : file_(file), limit_(limit), path_(std::move(path)) {}

Status BatchReader::Fetch(uint64_t pos, size_t n, std::string_view* out) {
  if (pos < buf_pos_ || pos + n > buf_pos_ + buf_.size()) {
    uint64_t len = std::min<uint64_t>(std::max(n, kReadAheadBytes), limit_ - pos);
    TANDEM_RETURN_IF_ERROR(file_.Read(pos, static_cast<size_t>(len), &buf_));
    buf_pos_ = pos;
  }
  size_t from = static_cast<size_t>(pos - buf_pos_);
  *out = std::string_view(buf_).substr(from, std::min(n, buf_.size() - from));
  return Status::OK();
}

Status BatchReader::ReadAt(uint64_t pos, bool with_body, BatchProbe* probe,
                           std::string_view* body) {
  if (pos >= limit_) {
    *probe = BatchProbe{};
    return Status::OK();
  }
  uint64_t available = limit_ - pos;
  std::string_view h;
  size_t want = static_cast<size_t>(std::min<uint64_t>(available, kBatchHeaderSize));
  TANDEM_RETURN_IF_ERROR(Fetch(pos, want, &h));
  if (h.size() < want) available = h.size();  // the file is shorter than limit
  *probe = ProbeBatchHeader(h, available);
  if (probe->outcome != ProbeOutcome::kBatch || !with_body) return Status::OK();
  std::string_view b;
  TANDEM_RETURN_IF_ERROR(Fetch(pos + kBatchHeaderSize, probe->header.body_length, &b));
  if (b.size() < probe->header.body_length) {
    probe->outcome = ProbeOutcome::kBad;
    probe->incomplete = true;
    probe->reason = "file ends inside a batch body";
  } else if (!BodyCrcMatches(probe->header, b)) {
    probe->outcome = ProbeOutcome::kBad;
    probe->reason = "body checksum mismatch";
  }
  *body = b;
  return Status::OK();
}

// ---- Scans ----

namespace {

// Decodes every record of a checked batch; "" when they are well formed.
std::string DecodeAll(RecordDecoder* decoder, const BatchHeader& h, std::string_view body) {
  Status s = decoder->Decode(h, body, [](const RecordView&) { return true; });
  return s.ok() ? "" : s.message();
}

}  // namespace

Status ScanSegment(const RandomAccessFile& file, const std::string& path, uint64_t base_offset,
                   uint64_t limit, uint32_t index_interval_bytes, bool deep, SegmentScan* out) {
  *out = SegmentScan{};
  Segment& seg = out->segment;
  seg.base_offset = base_offset;
  seg.next_offset = base_offset;
  seg.index = OffsetIndex(base_offset);
  BatchReader reader(file, limit, path);
  RecordDecoder decoder;
  for (uint64_t pos = 0;;) {
    BatchProbe p;
    std::string_view body;
    TANDEM_RETURN_IF_ERROR(reader.ReadAt(pos, true, &p, &body));
    if (p.outcome == ProbeOutcome::kEnd) return Status::OK();
    if (p.outcome == ProbeOutcome::kBatch && p.header.base_offset != seg.next_offset) {
      p.outcome = ProbeOutcome::kBad;
      p.reason = "batch offset " + std::to_string(p.header.base_offset) + ", expected " +
                 std::to_string(seg.next_offset);
    }
    if (p.outcome == ProbeOutcome::kBatch && deep) p.reason = DecodeAll(&decoder, p.header, body);
    if (p.outcome == ProbeOutcome::kBad || !p.reason.empty()) {
      out->bad = true;
      out->bad_reason = p.reason;
      out->bad_incomplete = p.incomplete;
      return Status::OK();
    }
    if (seg.empty()) seg.first_append_us = p.header.max_timestamp_us;
    seg.AddBatch(p.header, pos, index_interval_bytes);
    ++out->batches;
    out->records += p.header.record_count;
    pos += p.header.size();
  }
}

Result<std::optional<uint64_t>> FindValidBatchAfter(const RandomAccessFile& file,
                                                    const std::string& path, uint64_t from,
                                                    uint64_t limit, uint64_t min_offset) {
  char magic[4];
  StoreFixed32(magic, kBatchMagic);
  BatchReader candidate(file, limit, path);
  std::string chunk;
  for (uint64_t start = from; start + sizeof(magic) <= limit;) {
    size_t len = static_cast<size_t>(std::min<uint64_t>(kSearchChunkBytes, limit - start));
    TANDEM_RETURN_IF_ERROR(file.Read(start, len, &chunk));
    for (size_t i = 0; i + sizeof(magic) <= chunk.size();) {
      const void* hit = memmem(chunk.data() + i, chunk.size() - i, magic, sizeof(magic));
      if (hit == nullptr) break;
      size_t at = static_cast<size_t>(static_cast<const char*>(hit) - chunk.data());
      BatchProbe p;
      std::string_view body;
      TANDEM_RETURN_IF_ERROR(candidate.ReadAt(start + at, true, &p, &body));
      if (p.outcome == ProbeOutcome::kBatch && p.header.base_offset >= min_offset) {
        return std::optional<uint64_t>(start + at);
      }
      i = at + 1;
    }
    if (chunk.size() < len || start + len >= limit) break;
    start += len - (sizeof(magic) - 1);
  }
  return std::optional<uint64_t>();
}

std::string CheckSummaryAgainstLog(const RandomAccessFile& file, const std::string& path,
                                   const SegmentSummary& s, Status* io_error) {
  Result<uint64_t> size = file.Size();
  if (!size.ok()) {
    *io_error = size.status();
    return "unreadable";
  }
  if (*size != s.log_size) {
    return "log is " + std::to_string(*size) + " bytes, index says " + std::to_string(s.log_size);
  }
  if (s.log_size == 0) return s.next_offset == s.base_offset ? "" : "empty log, index has records";
  BatchReader reader(file, s.log_size, path);
  BatchProbe p;
  std::string_view body;
  *io_error = reader.ReadAt(0, false, &p, &body);
  if (!io_error->ok()) return "unreadable";
  if (p.outcome != ProbeOutcome::kBatch || p.header.base_offset != s.base_offset) {
    return "first batch does not match";
  }
  *io_error = reader.ReadAt(s.last_batch_position, true, &p, &body);
  if (!io_error->ok()) return "unreadable";
  if (p.outcome != ProbeOutcome::kBatch || p.header.next_offset() != s.next_offset ||
      s.last_batch_position + p.header.size() != s.log_size) {
    return "last batch does not match";
  }
  return "";
}

// ---- Verify ----

namespace {

void AddIssue(VerifyReport* report, const std::string& file, uint64_t pos, std::string problem) {
  report->issues.push_back(VerifyIssue{file, pos, std::move(problem)});
}

void VerifyIndexFile(FileSystem& fs, const RandomAccessFile& file, const std::string& index_path,
                     const SegmentScan& scan, uint64_t limit, VerifyReport* report) {
  std::string data;
  Status s = ReadFileToString(fs, index_path, &data);
  if (!s.ok()) {
    AddIssue(report, index_path, 0, "index of a sealed segment unreadable: " + s.ToString());
    return;
  }
  SegmentSummary summary;
  OffsetIndex index;
  s = OffsetIndex::DecodeFile(data, scan.segment.base_offset, &summary, &index);
  if (!s.ok()) {
    AddIssue(report, index_path, 0, s.message());
    return;
  }
  if (!scan.bad && !(summary == scan.segment.Summary())) {
    AddIssue(report, index_path, 0, "index summary disagrees with the segment");
  }
  BatchReader reader(file, limit, index_path);
  for (size_t i = 0; i < index.size(); ++i) {
    const IndexEntry& e = index.entries()[i];
    BatchProbe p;
    std::string_view body;
    Status rs = reader.ReadAt(e.position, false, &p, &body);
    if (!rs.ok() || p.outcome != ProbeOutcome::kBatch ||
        p.header.base_offset != index.base_offset() + e.relative_offset) {
      AddIssue(report, index_path, kIndexHeaderSize + i * kIndexEntrySize,
               "entry points to byte " + std::to_string(e.position) +
                   ", which is not the batch it names");
      return;
    }
  }
}

}  // namespace

Status VerifySegment(FileSystem& fs, const RandomAccessFile& file, const std::string& log_path,
                     const std::string& index_path, uint64_t expected_base, uint64_t limit,
                     VerifyReport* report, uint64_t* next_offset) {
  SegmentScan scan;
  Status s = ScanSegment(file, log_path, expected_base, limit, 4096, true, &scan);
  if (!s.ok()) {
    AddIssue(report, log_path, 0, "read failed: " + s.ToString());
    *next_offset = kUnknownOffset;
    return Status::OK();
  }
  report->batches += scan.batches;
  report->records += scan.records;
  *next_offset = scan.segment.next_offset;
  if (scan.bad) {
    std::string what = scan.bad_incomplete ? "torn batch: " : "bad batch: ";
    AddIssue(report, log_path, scan.segment.size, what + scan.bad_reason);
  }
  if (!index_path.empty()) VerifyIndexFile(fs, file, index_path, scan, limit, report);
  // Past a bad batch the segment's end offset is unknown: do not report the
  // next segment as a gap because of it.
  if (scan.bad) *next_offset = kUnknownOffset;
  return Status::OK();
}

Status VerifyPartitionDir(FileSystem& fs, const std::string& dir, VerifyReport* report) {
  TANDEM_ASSIGN_OR_RETURN(std::vector<std::string> children, fs.GetChildren(dir));
  std::vector<uint64_t> bases;
  for (const std::string& name : children) {
    uint64_t base = 0;
    bool is_index = false;
    if (ParseSegmentFileName(name, &base, &is_index) && !is_index) bases.push_back(base);
  }
  std::sort(bases.begin(), bases.end());
  report->segments += bases.size();
  uint64_t expected = bases.empty() ? 0 : bases.front();
  for (size_t i = 0; i < bases.size(); ++i) {
    std::string path = JoinPath(dir, SegmentFileName(bases[i]));
    if (bases[i] != expected && expected != kUnknownOffset) {
      AddIssue(report, path, 0,
               "segment starts at offset " + std::to_string(bases[i]) +
                   " but the previous one ends at " + std::to_string(expected));
    }
    Result<std::unique_ptr<RandomAccessFile>> file = fs.NewRandomAccessFile(path);
    Result<uint64_t> size = file.ok() ? (*file)->Size() : Result<uint64_t>(file.status());
    if (!size.ok()) {
      AddIssue(report, path, 0, "cannot read: " + size.status().ToString());
      continue;
    }
    bool sealed = i + 1 < bases.size();
    std::string index_path = sealed ? JoinPath(dir, IndexFileName(bases[i])) : "";
    TANDEM_RETURN_IF_ERROR(
        VerifySegment(fs, **file, path, index_path, bases[i], *size, report, &expected));
  }
  return Status::OK();
}

}  // namespace tandem::storage
