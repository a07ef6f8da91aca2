#include "log/record_batch.h"

#include <zstd.h>

#include <cstring>

#include "common/crc32c.h"

namespace tandem::storage {
namespace {

// Header field positions (docs/log_format.md).
constexpr size_t kMagicPos = 0;
constexpr size_t kHeaderCrcPos = 4;
constexpr size_t kBaseOffsetPos = 8;
constexpr size_t kRecordCountPos = 16;
constexpr size_t kBodyLengthPos = 20;
constexpr size_t kBodyCrcPos = 24;
constexpr size_t kUncompressedPos = 28;
constexpr size_t kFirstTsPos = 32;
constexpr size_t kMaxTsPos = 40;
constexpr size_t kVersionPos = 48;
constexpr size_t kAttributesPos = 49;
constexpr size_t kReservedPos = 50;
static_assert(kReservedPos + 2 == kBatchHeaderSize, "batch header is 52 bytes");
static_assert(kHeaderCrcPos + 4 == kBaseOffsetPos, "the header CRC covers [8, 52)");
// The smallest record: length, attributes, timestamp delta, offset delta,
// three empty strings and a header count, one byte each.
constexpr uint32_t kMinRecordBytes = 8;
constexpr int kZstdLevel = 3;

uint32_t HeaderCrc(const char* header) {
  return crc32c::Value(header + kBaseOffsetPos, kBatchHeaderSize - kBaseOffsetPos);
}

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutVarint(std::string* dst, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}

bool GetVarint(const char** p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < limit; shift += 7) {
    uint64_t byte = static_cast<uint8_t>(**p);
    ++*p;
    if (shift == 63 && byte > 1) return false;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool GetLengthPrefixed(const char** p, const char* limit, std::string_view* out) {
  uint64_t n = 0;
  if (!GetVarint(p, limit, &n) || n > static_cast<uint64_t>(limit - *p)) return false;
  *out = std::string_view(*p, n);
  *p += n;
  return true;
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

void PutString(std::string* dst, std::string_view s) {
  PutVarint(dst, s.size());
  dst->append(s);
}

BatchProbe Bad(std::string reason, bool incomplete = false) {
  BatchProbe p;
  p.outcome = ProbeOutcome::kBad;
  p.incomplete = incomplete;
  p.reason = std::move(reason);
  return p;
}

BatchHeader DecodeHeaderFields(const char* h) {
  BatchHeader b;
  b.base_offset = LoadFixed64(h + kBaseOffsetPos);
  b.record_count = LoadFixed32(h + kRecordCountPos);
  b.body_length = LoadFixed32(h + kBodyLengthPos);
  b.body_crc = LoadFixed32(h + kBodyCrcPos);
  b.uncompressed_length = LoadFixed32(h + kUncompressedPos);
  b.first_timestamp_us = static_cast<int64_t>(LoadFixed64(h + kFirstTsPos));
  b.max_timestamp_us = static_cast<int64_t>(LoadFixed64(h + kMaxTsPos));
  b.compression =
      static_cast<Compression>(static_cast<uint8_t>(h[kAttributesPos]) & kCompressionMask);
  return b;
}

// Field checks after the header CRC matched; "" when plausible.
std::string ImplausibleField(const char* h, const BatchHeader& b) {
  if (static_cast<uint8_t>(h[kVersionPos]) != kBatchVersion) return "unknown version";
  uint8_t attributes = static_cast<uint8_t>(h[kAttributesPos]);
  if ((attributes & ~kCompressionMask) != 0 || h[kReservedPos] != 0 || h[kReservedPos + 1] != 0)
    return "unknown attribute bits";
  if (b.compression != Compression::kNone && b.compression != Compression::kZstd)
    return "unknown compression";
  if (b.record_count == 0) return "empty batch";
  if (b.body_length > kMaxBatchBodyBytes || b.uncompressed_length > kMaxBatchBodyBytes)
    return "body length out of range";
  if (b.compression == Compression::kNone && b.uncompressed_length != b.body_length)
    return "length mismatch";
  if (static_cast<uint64_t>(b.record_count) * kMinRecordBytes > b.uncompressed_length)
    return "record count exceeds body";
  if (b.base_offset > (uint64_t{1} << 62)) return "base offset out of range";
  if (b.max_timestamp_us < b.first_timestamp_us) return "max timestamp before first";
  return "";
}

}  // namespace

void EncodeBatchHeader(const BatchHeader& b, char* h) {
  StoreFixed32(h + kMagicPos, kBatchMagic);
  StoreFixed64(h + kBaseOffsetPos, b.base_offset);
  StoreFixed32(h + kRecordCountPos, b.record_count);
  StoreFixed32(h + kBodyLengthPos, b.body_length);
  StoreFixed32(h + kBodyCrcPos, b.body_crc);
  StoreFixed32(h + kUncompressedPos, b.uncompressed_length);
  StoreFixed64(h + kFirstTsPos, static_cast<uint64_t>(b.first_timestamp_us));
  StoreFixed64(h + kMaxTsPos, static_cast<uint64_t>(b.max_timestamp_us));
  h[kVersionPos] = static_cast<char>(kBatchVersion);
  h[kAttributesPos] = static_cast<char>(static_cast<uint8_t>(b.compression) & kCompressionMask);
  h[kReservedPos] = 0;
  h[kReservedPos + 1] = 0;
  StoreFixed32(h + kHeaderCrcPos, HeaderCrc(h));
}

BatchProbe ProbeBatchHeader(std::string_view bytes, uint64_t available) {
  if (available == 0) return BatchProbe{};  // kEnd
  if (available < kBatchHeaderSize || bytes.size() < kBatchHeaderSize) {
    return Bad("file ends inside a batch header", true);
  }
  const char* h = bytes.data();
  if (LoadFixed32(h + kMagicPos) != kBatchMagic) return Bad("bad magic");
  if (LoadFixed32(h + kHeaderCrcPos) != HeaderCrc(h)) return Bad("header checksum mismatch");
  BatchProbe p;
  p.header = DecodeHeaderFields(h);
  if (std::string why = ImplausibleField(h, p.header); !why.empty()) {
    BatchProbe bad = Bad(std::move(why));
    bad.header = p.header;
    return bad;
  }
  if (p.header.size() > available) {
    BatchProbe bad = Bad("file ends inside a batch body", true);
    bad.header = p.header;
    return bad;
  }
  p.outcome = ProbeOutcome::kBatch;
  return p;
}

bool BodyCrcMatches(const BatchHeader& h, std::string_view body) {
  return body.size() == h.body_length && crc32c::Value(body) == h.body_crc;
}

BatchProbe ProbeBatch(std::string_view data) {
  BatchProbe p = ProbeBatchHeader(data, data.size());
  if (p.outcome != ProbeOutcome::kBatch) return p;
  if (!BodyCrcMatches(p.header, data.substr(kBatchHeaderSize, p.header.body_length))) {
    BatchProbe bad = Bad("body checksum mismatch");
    bad.header = p.header;
    return bad;
  }
  return p;
}

size_t RecordPayloadBytes(const ProduceRecord& r) {
  size_t n = r.key.size() + r.value.size() + r.id.size();
  for (const Header& h : r.headers) n += h.key.size() + h.value.size();
  return n;
}

// ---- BatchBuilder ----

struct BatchBuilder::ZstdState {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ~ZstdState() { ZSTD_freeCCtx(cctx); }
};

BatchBuilder::BatchBuilder(Compression compression) : compression_(compression) {
  if (compression_ == Compression::kZstd) zstd_ = std::make_unique<ZstdState>();
}

BatchBuilder::~BatchBuilder() = default;

void BatchBuilder::Start(uint64_t base_offset, std::string* out) {
  out_ = out;
  start_ = out->size();
  out->resize(start_ + kBatchHeaderSize);
  base_offset_ = base_offset;
  count_ = 0;
  records_bytes_ = 0;
  records_.clear();
}

void BatchBuilder::Add(const ProduceRecord& r, int64_t timestamp_us) {
  if (count_ == 0) {
    first_ts_ = timestamp_us;
    max_ts_ = timestamp_us;
  }
  if (timestamp_us > max_ts_) max_ts_ = timestamp_us;
  uint64_t ts_delta = ZigZag(
      static_cast<int64_t>(static_cast<uint64_t>(timestamp_us) - static_cast<uint64_t>(first_ts_)));
  size_t len = 1 + VarintLength(ts_delta) + VarintLength(count_) + VarintLength(r.key.size()) +
               r.key.size() + VarintLength(r.id.size()) + r.id.size() +
               VarintLength(r.value.size()) + r.value.size() + VarintLength(r.headers.size());
  for (const Header& h : r.headers) {
    len +=
        VarintLength(h.key.size()) + h.key.size() + VarintLength(h.value.size()) + h.value.size();
  }
  std::string* dst = Sink();
  size_t before = dst->size();
  PutVarint(dst, len);
  dst->push_back(0);  // record attributes
  PutVarint(dst, ts_delta);
  PutVarint(dst, count_);
  PutString(dst, r.key);
  PutString(dst, r.id);
  PutString(dst, r.value);
  PutVarint(dst, r.headers.size());
  for (const Header& h : r.headers) {
    PutString(dst, h.key);
    PutString(dst, h.value);
  }
  records_bytes_ += dst->size() - before;
  ++count_;
}

Status BatchBuilder::Finish(BatchHeader* header_out) {
  auto fail = [&](Status s) {
    out_->resize(start_);
    count_ = 0;
    return s;
  };
  if (count_ == 0) return fail(Status::InvalidArgument("empty batch"));
  if (records_bytes_ > kMaxBatchBodyBytes) return fail(Status::TooLarge("batch body too large"));
  size_t body_pos = start_ + kBatchHeaderSize;
  if (compression_ == Compression::kZstd) {
    size_t bound = ZSTD_compressBound(records_.size());
    out_->resize(body_pos + bound);
    size_t n = ZSTD_compressCCtx(zstd_->cctx, out_->data() + body_pos, bound, records_.data(),
                                 records_.size(), kZstdLevel);
    if (ZSTD_isError(n)) return fail(Status::IOError(ZSTD_getErrorName(n)));
    if (n > kMaxBatchBodyBytes) return fail(Status::TooLarge("batch body too large"));
    out_->resize(body_pos + n);
  }
  BatchHeader h;
  h.base_offset = base_offset_;
  h.record_count = count_;
  h.body_length = static_cast<uint32_t>(out_->size() - body_pos);
  h.uncompressed_length = static_cast<uint32_t>(records_bytes_);
  h.body_crc = crc32c::Value(out_->data() + body_pos, h.body_length);
  h.first_timestamp_us = first_ts_;
  h.max_timestamp_us = max_ts_;
  h.compression = compression_;
  EncodeBatchHeader(h, out_->data() + start_);
  if (header_out != nullptr) *header_out = h;
  count_ = 0;
  return Status::OK();
}

// ---- RecordDecoder ----

struct RecordDecoder::ZstdState {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ~ZstdState() { ZSTD_freeDCtx(dctx); }
};

RecordDecoder::RecordDecoder() = default;
RecordDecoder::~RecordDecoder() = default;

namespace {

// Parses one record's fields from [p, limit) (exactly the record's bytes).
bool ParseRecord(const char* p, const char* limit, RecordView* r, uint64_t* offset_delta,
                 int64_t first_ts) {
  if (p >= limit || *p != 0) return false;  // attributes must be 0
  ++p;
  uint64_t ts = 0;
  if (!GetVarint(&p, limit, &ts) || !GetVarint(&p, limit, offset_delta)) return false;
  r->timestamp_us =
      static_cast<int64_t>(static_cast<uint64_t>(first_ts) + static_cast<uint64_t>(UnZigZag(ts)));
  uint64_t header_count = 0;
  if (!GetLengthPrefixed(&p, limit, &r->key) || !GetLengthPrefixed(&p, limit, &r->id) ||
      !GetLengthPrefixed(&p, limit, &r->value) || !GetVarint(&p, limit, &header_count) ||
      header_count > static_cast<uint64_t>(limit - p) / 2) {
    return false;
  }
  const char* headers = p;
  for (uint64_t i = 0; i < header_count; ++i) {
    std::string_view k, v;
    if (!GetLengthPrefixed(&p, limit, &k) || !GetLengthPrefixed(&p, limit, &v)) return false;
  }
  r->header_count = static_cast<uint32_t>(header_count);
  r->headers = std::string_view(headers, p - headers);
  return p == limit;
}

}  // namespace

Status RecordDecoder::Decode(const BatchHeader& h, std::string_view body,
                             const std::function<bool(const RecordView&)>& fn) {
  std::string_view records = body;
  if (h.compression == Compression::kZstd) {
    if (!zstd_) zstd_ = std::make_unique<ZstdState>();
    scratch_.resize(h.uncompressed_length);
    size_t n = ZSTD_decompressDCtx(zstd_->dctx, scratch_.data(), scratch_.size(), body.data(),
                                   body.size());
    if (ZSTD_isError(n) || n != h.uncompressed_length) {
      return Status::Corruption("zstd body does not decompress to its stated length");
    }
    records = scratch_;
  } else if (records.size() != h.uncompressed_length) {
    return Status::Corruption("records section length mismatch");
  }
  const char* p = records.data();
  const char* end = p + records.size();
  for (uint32_t i = 0; i < h.record_count; ++i) {
    std::string_view rec;
    RecordView view;
    uint64_t delta = 0;
    if (!GetLengthPrefixed(&p, end, &rec) ||
        !ParseRecord(rec.data(), rec.data() + rec.size(), &view, &delta, h.first_timestamp_us) ||
        delta != i) {
      return Status::Corruption("malformed record " + std::to_string(i) + " of batch at offset " +
                                std::to_string(h.base_offset));
    }
    view.offset = h.base_offset + i;
    if (!fn(view)) return Status::OK();
  }
  if (p != end) return Status::Corruption("trailing bytes after the last record");
  return Status::OK();
}

Status RecordView::ToRecord(Record* out) const {
  out->offset = offset;
  out->timestamp_us = timestamp_us;
  out->key.assign(key);
  out->id.assign(id);
  out->value.assign(value);
  out->headers.clear();
  out->headers.reserve(header_count);
  const char* p = headers.data();
  const char* end = p + headers.size();
  for (uint32_t i = 0; i < header_count; ++i) {
    std::string_view k, v;
    if (!GetLengthPrefixed(&p, end, &k) || !GetLengthPrefixed(&p, end, &v)) {
      return Status::Corruption("malformed headers at offset " + std::to_string(offset));
    }
    out->headers.push_back(Header{std::string(k), std::string(v)});
  }
  return Status::OK();
}

}  // namespace tandem::storage
