// Record batches: the unit the log writes, checksums, compresses and reads
// (docs/log_format.md has the byte grammar). A batch is a fixed 52-byte
// header protected by its own CRC32C, followed by a body (the records section,
// optionally zstd-compressed) protected by a second CRC32C. The header CRC lets
// recovery test a candidate position cheaply and resynchronise after damage;
// the body CRC covers the bytes as stored, so a batch is checked without
// decompressing it.
//
// Decoding never trusts its input: every length is bounds-checked and bad bytes
// yield kBad / Corruption, never an assert or a crash. Probing a position has
// three outcomes (Redpanda's): a whole batch, a clean end (no byte left), or a
// bad batch (corrupt, or torn: the file ends inside it).
//
// This file does no I/O and holds no durability state.
//
// Thread safety: free functions are pure. A BatchBuilder or RecordDecoder is
// used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/log.h"
#include "tandem/status.h"

namespace tandem::storage {

// Little-endian fixed-width coding used by every on-disk structure of the log.
inline void StoreFixed32(char* dst, uint32_t v) {
  for (int i = 0; i < 4; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}
inline void StoreFixed64(char* dst, uint64_t v) {
  for (int i = 0; i < 8; ++i) dst[i] = static_cast<char>(v >> (8 * i));
}
inline uint32_t LoadFixed32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t LoadFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// "TDB1" read as a little-endian u32.
inline constexpr uint32_t kBatchMagic = 0x31424454;
inline constexpr uint8_t kBatchVersion = 1;
inline constexpr size_t kBatchHeaderSize = 52;
// No batch body (stored or uncompressed) is larger; bigger lengths are corruption.
inline constexpr uint32_t kMaxBatchBodyBytes = 256u << 20;
// Attribute bits 0-2: compression codec.
inline constexpr uint8_t kCompressionMask = 0x07;

struct BatchHeader {
  uint64_t base_offset = 0;
  uint32_t record_count = 0;
  uint32_t body_length = 0;          // bytes stored after the header
  uint32_t body_crc = 0;             // CRC32C of the stored body
  uint32_t uncompressed_length = 0;  // records section size before compression
  int64_t first_timestamp_us = 0;
  int64_t max_timestamp_us = 0;
  Compression compression = Compression::kNone;

  uint64_t next_offset() const { return base_offset + record_count; }
  uint64_t size() const { return kBatchHeaderSize + body_length; }
};

// Serialises `h` (computing the header CRC) into dst[0, kBatchHeaderSize).
void EncodeBatchHeader(const BatchHeader& h, char* dst);

enum class ProbeOutcome { kBatch, kEnd, kBad };

struct BatchProbe {
  ProbeOutcome outcome = ProbeOutcome::kEnd;
  BatchHeader header;       // valid when kBatch (and when a kBad had a good header)
  bool incomplete = false;  // kBad because the bytes end inside the batch (torn)
  std::string reason;       // why kBad
};

// Checks the header at the start of `header_bytes` (which holds every byte up
// to `available` bytes until end of file, or at least kBatchHeaderSize):
// magic, header CRC, field plausibility and whether the body fits.
BatchProbe ProbeBatchHeader(std::string_view header_bytes, uint64_t available);
// Full check of one batch at the start of `data` (every remaining byte of the
// file, or at least the whole batch): the header checks plus the body CRC.
BatchProbe ProbeBatch(std::string_view data);
// True when the body CRC matches.
bool BodyCrcMatches(const BatchHeader& h, std::string_view body);

// A record decoded in place; views point into the decoder's buffer or the
// caller's body and stay valid until the next Decode call.
struct RecordView {
  uint64_t offset = 0;
  int64_t timestamp_us = 0;
  std::string_view key;
  std::string_view id;
  std::string_view value;
  uint32_t header_count = 0;
  std::string_view headers;  // header_count encoded headers

  // Copies the view into an owning Record (fails on malformed headers).
  Status ToRecord(Record* out) const;
};

// Sum of key, value, id and header bytes: what max_record_bytes limits.
size_t RecordPayloadBytes(const ProduceRecord& r);

// Encodes batches straight into a caller's buffer. Reuse one builder: its
// buffers are kept between batches, so the hot path allocates nothing per
// record (uncompressed records are written in place, not copied).
class BatchBuilder {
 public:
  explicit BatchBuilder(Compression compression);
  ~BatchBuilder();
  BatchBuilder(const BatchBuilder&) = delete;
  BatchBuilder& operator=(const BatchBuilder&) = delete;

  // Starts a batch whose first record gets `base_offset`, to be appended to
  // `*out` (which must stay alive and untouched by others until Finish).
  void Start(uint64_t base_offset, std::string* out);
  // Adds a record with the given timestamp (ProduceRecord::timestamp_us is ignored).
  void Add(const ProduceRecord& r, int64_t timestamp_us);
  uint32_t count() const { return count_; }
  // Bytes of the records section so far (uncompressed).
  size_t records_bytes() const { return records_bytes_; }
  // Completes the batch in `*out` (header + body). InvalidArgument without
  // records, TooLarge over kMaxBatchBodyBytes, IOError if zstd fails; on
  // failure `*out` is restored to its size at Start.
  Status Finish(BatchHeader* header = nullptr);

 private:
  struct ZstdState;
  std::string* Sink() { return compression_ == Compression::kNone ? out_ : &records_; }

  Compression compression_;
  std::string* out_ = nullptr;
  size_t start_ = 0;  // where the header goes in *out_
  uint64_t base_offset_ = 0;
  uint32_t count_ = 0;
  size_t records_bytes_ = 0;
  int64_t first_ts_ = 0;
  int64_t max_ts_ = 0;
  std::string records_;  // the uncompressed section when compressing
  std::unique_ptr<ZstdState> zstd_;
};

// Decodes the records of checked batches (CRC already verified by a probe).
class RecordDecoder {
 public:
  RecordDecoder();
  ~RecordDecoder();
  RecordDecoder(const RecordDecoder&) = delete;
  RecordDecoder& operator=(const RecordDecoder&) = delete;

  // Calls `fn` for each record in order; Corruption (naming the record) when
  // the records section is malformed or does not hold header.record_count
  // records. `fn` returning false stops early with OK.
  Status Decode(const BatchHeader& header, std::string_view body,
                const std::function<bool(const RecordView&)>& fn);

 private:
  struct ZstdState;
  std::string scratch_;
  std::unique_ptr<ZstdState> zstd_;
};

}  // namespace tandem::storage
