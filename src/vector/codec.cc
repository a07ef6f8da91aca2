#include "vector/codec.h"

#include <xxhash.h>

#include <bit>
#include <cstring>

namespace tandem::vector_internal {
namespace {

static_assert(std::endian::native == std::endian::little,
              "vectors are stored as the in-memory float bytes (little-endian)");

void PutBE(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutLE(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetBE(std::string_view s, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}
uint64_t GetLE(std::string_view s, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}
void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}
void PutStr(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

// Sequential reader over a record; any overrun sets ok() to false.
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

std::string LabelKeyImpl(char kind, uint64_t label) {
  std::string k(1, kind);
  PutBE(&k, label, 8);
  return k;
}

enum Flags : uint8_t {
  kDeleted = 1,
  kHasVersion = 2,
  kHasText = 4,
  kHasVector = 8,
  kHasLabel = 16
};

}  // namespace

std::string MetaKey(std::string_view name) { return std::string(1, kMetaPrefix).append(name); }
std::string DocKey(std::string_view id) { return std::string(1, kDocPrefix).append(id); }
std::string VectorKey(uint64_t label) { return LabelKeyImpl(kVectorPrefix, label); }
std::string LabelKey(uint64_t label) { return LabelKeyImpl(kLabelPrefix, label); }
std::string CountKey(std::string_view entity_type) {
  return std::string(1, kCountPrefix).append(entity_type);
}
std::string TombstonePrefixBefore(int64_t applied_at_us) {
  std::string k(1, kTombstonePrefix);
  PutBE(&k, static_cast<uint64_t>(applied_at_us) ^ (uint64_t{1} << 63), 8);
  return k;
}
std::string TombstoneKey(int64_t applied_at_us, std::string_view id) {
  return TombstonePrefixBefore(applied_at_us).append(id);
}
std::string PositionKey(std::string_view topic, uint32_t partition) {
  std::string k(1, kPositionPrefix);
  PutBE(&k, topic.size(), 2);
  k.append(topic);
  PutBE(&k, partition, 4);
  return k;
}
std::string JournalKey(uint64_t sequence) { return LabelKeyImpl(kJournalPrefix, sequence); }

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

Status DecodeLabelKey(std::string_view key, uint64_t* label) {
  if (key.size() != 9) return Status::Corruption("vector: bad label key");
  *label = GetBE(key.substr(1), 8);
  return Status::OK();
}

Status DecodeJournalKey(std::string_view key, uint64_t* sequence) {
  if (key.size() != 9 || key[0] != kJournalPrefix) {
    return Status::Corruption("vector: bad journal key");
  }
  *sequence = GetBE(key.substr(1), 8);
  return Status::OK();
}

Status DecodeTombstoneKey(std::string_view key, int64_t* applied_at_us, std::string* id) {
  if (key.size() < 9 || key[0] != kTombstonePrefix) {
    return Status::Corruption("vector: bad tombstone key");
  }
  *applied_at_us = static_cast<int64_t>(GetBE(key.substr(1), 8) ^ (uint64_t{1} << 63));
  id->assign(key.substr(9));
  return Status::OK();
}

Status DecodePositionKey(std::string_view key, TopicPartition* out) {
  if (key.size() < 3 || key[0] != kPositionPrefix) {
    return Status::Corruption("vector: bad position key");
  }
  size_t n = GetBE(key.substr(1), 2);
  if (key.size() != 3 + n + 4) return Status::Corruption("vector: bad position key length");
  out->topic.assign(key.substr(3, n));
  out->partition = static_cast<uint32_t>(GetBE(key.substr(3 + n), 4));
  return Status::OK();
}

std::string EncodeU64(uint64_t v) {
  std::string s;
  PutLE(&s, v, 8);
  return s;
}
Status DecodeU64(std::string_view v, uint64_t* out) {
  if (v.size() != 8) return Status::Corruption("vector: expected an 8-byte value");
  *out = GetLE(v, 8);
  return Status::OK();
}

std::string EncodeVector(std::span<const float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

Status DecodeVector(uint64_t label, std::string_view bytes, size_t dimension,
                    std::vector<float>* out) {
  if (bytes.size() != dimension * sizeof(float)) {
    return Status::Corruption("vector: vector of label " + std::to_string(label) + " has " +
                              std::to_string(bytes.size()) + " bytes, expected " +
                              std::to_string(dimension * sizeof(float)));
  }
  out->resize(dimension);
  std::memcpy(out->data(), bytes.data(), bytes.size());
  return Status::OK();
}

std::string TextHash(std::string_view text) {
  XXH128_hash_t h = XXH3_128bits(text.data(), text.size());
  std::string out;
  PutBE(&out, h.high64, 8);
  PutBE(&out, h.low64, 8);
  return out;
}

std::string EncodeDoc(const DocRecord& d) {
  std::string out;
  out.reserve(64 + d.payload.size() + (d.text ? d.text->size() : 0));
  out.push_back(static_cast<char>(kDocFormat));
  uint8_t flags = 0;
  if (d.marker.deleted) flags |= kDeleted;
  if (d.marker.version.has_value()) flags |= kHasVersion;
  if (d.text.has_value()) flags |= kHasText;
  if (d.has_vector) flags |= kHasVector;
  if (d.label.has_value()) flags |= kHasLabel;
  out.push_back(static_cast<char>(flags));
  if (d.marker.version.has_value()) PutLE(&out, static_cast<uint64_t>(*d.marker.version), 8);
  PutStr(&out, d.marker.position.topic);
  PutVarint(&out, d.marker.position.partition);
  PutVarint(&out, d.marker.position.offset);
  PutStr(&out, d.marker.event_id);
  PutLE(&out, static_cast<uint64_t>(d.marker.applied_at_us), 8);
  PutStr(&out, d.entity_type);
  if (d.label.has_value()) PutLE(&out, *d.label, 8);
  if (d.text.has_value()) {
    out.append(d.text_hash);
    PutStr(&out, *d.text);
  }
  out.append(d.payload);
  return out;
}

Status DecodeDoc(std::string_view id, std::string_view bytes, DocRecord* out) {
  auto bad = [&](std::string_view why) {
    return Status::Corruption("vector: document \"" + std::string(id) + "\": " + std::string(why));
  };
  Reader r(bytes);
  if (r.U8() != kDocFormat) return bad("unknown record format");
  const uint8_t flags = r.U8();
  *out = DocRecord{};
  out->marker.deleted = (flags & kDeleted) != 0;
  if (flags & kHasVersion) out->marker.version = static_cast<int64_t>(r.Fixed64());
  out->marker.position.topic = r.Str();
  out->marker.position.partition = static_cast<uint32_t>(r.Varint());
  out->marker.position.offset = r.Varint();
  out->marker.event_id = r.Str();
  out->marker.applied_at_us = static_cast<int64_t>(r.Fixed64());
  out->entity_type = r.Str();
  if (flags & kHasLabel) out->label = r.Fixed64();
  if (flags & kHasText) {
    out->text_hash = r.Bytes(16);
    out->text = r.Str();
  }
  out->has_vector = (flags & kHasVector) != 0;
  if (!r.ok()) return bad("truncated record");
  if (out->has_vector && (!out->label.has_value() || !out->text.has_value())) {
    return bad("a vector without a label or text");
  }
  out->payload.assign(r.rest());
  return Status::OK();
}

std::string EncodeJournal(const std::vector<IndexChange>& changes) {
  std::string out;
  PutVarint(&out, changes.size());
  for (const IndexChange& c : changes) {
    PutStr(&out, c.entity_type);
    PutLE(&out, c.label, 8);
    out.push_back(static_cast<char>(c.op));
  }
  return out;
}

Status DecodeJournal(uint64_t sequence, std::string_view bytes, std::vector<IndexChange>* out) {
  Reader r(bytes);
  uint64_t n = r.Varint();
  out->clear();
  if (n > bytes.size()) r = Reader("");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    IndexChange c;
    c.entity_type = r.Str();
    c.label = r.Fixed64();
    uint8_t op = r.U8();
    if (op != 'u' && op != 'r') {
      return Status::Corruption("vector: journal entry " + std::to_string(sequence) +
                                ": bad operation");
    }
    c.op = static_cast<IndexOp>(op);
    out->push_back(std::move(c));
  }
  if (!r.ok() || !r.rest().empty()) {
    return Status::Corruption("vector: journal entry " + std::to_string(sequence) +
                              " is truncated or too long");
  }
  return Status::OK();
}

}  // namespace tandem::vector_internal
