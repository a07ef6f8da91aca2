// Byte coding shared by the stores' record and key formats: fixed-width big-
// and little-endian integers, varints (LEB128), length-prefixed strings, and
// a bounds-checked sequential Reader.
//
//   std::string rec;
//   PutVarint(&rec, 300);
//   PutStr(&rec, "evt-1");
//   Reader r(rec);
//   uint64_t n = r.Varint();          // 300
//   std::string id = r.Str();         // "evt-1"
//   if (!r.ok()) { /* truncated or malformed */ }
//
// Thread safety: pure functions; a Reader is a value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::coding {

inline void PutBE(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void PutLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
// `s` must hold at least `bytes` bytes.
inline uint64_t GetBE(std::string_view s, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}
inline uint64_t GetLE(std::string_view s, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}
inline void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
inline void PutStr(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

// Sequential reader over a record; any overrun or malformed varint sets
// ok() to false (and the reads after it return zero values).
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  std::string_view rest() const { return in_; }

  uint8_t U8() {
    if (!Need(1)) return 0;
    auto v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return v;
  }
  uint64_t Fixed64() {
    if (!Need(8)) return 0;
    uint64_t v = GetLE(in_, 8);
    in_.remove_prefix(8);
    return v;
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!Need(1)) return 0;
      auto b = static_cast<unsigned char>(in_[0]);
      in_.remove_prefix(1);
      v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  std::string Bytes(uint64_t n) {
    if (!Need(n)) return {};
    std::string s(in_.substr(0, n));
    in_.remove_prefix(n);
    return s;
  }
  std::string Str() { return Bytes(Varint()); }

 private:
  bool Need(uint64_t n) {
    if (ok_ && in_.size() >= n) return true;
    ok_ = false;
    return false;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace tandem::coding
