// Little-endian field encoding for the log's small metadata files
// (topics/<t>/topic.meta and subscriptions/<name>.pos). Each file is
//
//   magic:u32 version:u32 body crc32c:u32
//
// where the CRC-32C covers every byte before it. MetaWriter builds such a file;
// MetaReader checks the frame and reads the body, reporting truncation and bad
// checksums as Corruption naming the file and the byte offset.
//
// Thread safety: values; distinct objects may be used from distinct threads.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "common/crc32c.h"
#include "tandem/status.h"

namespace tandem::log_internal {

class MetaWriter {
 public:
  MetaWriter(uint32_t magic, uint32_t version) {
    PutU32(magic);
    PutU32(version);
  }
  void PutU16(uint16_t v) { PutFixed(v, 2); }
  void PutU32(uint32_t v) { PutFixed(v, 4); }
  void PutU64(uint64_t v) { PutFixed(v, 8); }
  // A u16 length followed by the bytes; callers keep strings under 64 KiB.
  void PutString(std::string_view s) {
    PutU16(static_cast<uint16_t>(s.size()));
    buf_.append(s);
  }
  // Appends the CRC-32C of everything so far and returns the file contents.
  std::string Finish() {
    PutU32(crc32c::Value(buf_));
    return std::move(buf_);
  }

 private:
  void PutFixed(uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string buf_;
};

class MetaReader {
 public:
  // `file` names the file in error messages; `data` must outlive the reader.
  MetaReader(std::string file, std::string_view data) : file_(std::move(file)), data_(data) {}

  // Checks length, CRC, magic and version; positions the reader on the body.
  Status Open(uint32_t magic, uint32_t version) {
    if (data_.size() < 12)
      return Corrupt(0, "file of " + std::to_string(data_.size()) + " bytes is too short");
    const size_t body_end = data_.size() - 4;
    pos_ = body_end;
    uint32_t stored = 0;
    (void)GetU32(&stored);
    if (stored != crc32c::Value(data_.substr(0, body_end)))
      return Corrupt(body_end, "CRC-32C mismatch");
    data_ = data_.substr(0, body_end);
    pos_ = 0;
    uint32_t m = 0, v = 0;
    (void)GetU32(&m);
    if (m != magic) return Corrupt(0, "bad magic");
    (void)GetU32(&v);
    if (v != version) return Corrupt(4, "unsupported version " + std::to_string(v));
    return Status::OK();
  }
  Status GetU16(uint16_t* v) { return GetFixed(v, 2); }
  Status GetU32(uint32_t* v) { return GetFixed(v, 4); }
  Status GetU64(uint64_t* v) { return GetFixed(v, 8); }
  Status GetString(std::string* s) {
    uint16_t n = 0;
    TANDEM_RETURN_IF_ERROR(GetU16(&n));
    if (data_.size() - pos_ < n) return Corrupt(pos_, "string runs past the end");
    s->assign(data_.substr(pos_, n));
    pos_ += n;
    return Status::OK();
  }
  // Corruption unless the whole body was consumed.
  Status Done() {
    if (pos_ != data_.size()) return Corrupt(pos_, "trailing bytes");
    return Status::OK();
  }
  Status Corrupt(uint64_t offset, const std::string& what) const {
    return Status::Corruption(file_ + " at byte " + std::to_string(offset) + ": " + what);
  }

 private:
  template <typename T>
  Status GetFixed(T* v, int bytes) {
    if (data_.size() - pos_ < static_cast<size_t>(bytes)) return Corrupt(pos_, "truncated");
    uint64_t x = 0;
    for (int i = 0; i < bytes; ++i) {
      x |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    *v = static_cast<T>(x);
    pos_ += bytes;
    return Status::OK();
  }

  std::string file_;
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace tandem::log_internal
