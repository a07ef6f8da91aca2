#include "vector/codec.h"

#include <xxhash.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "common/coding.h"

namespace tandem::vector_internal {
namespace {

static_assert(std::endian::native == std::endian::little,
              "vectors are stored as the in-memory float bytes (little-endian)");

using coding::GetBE;
using coding::GetLE;
using coding::PutBE;
using coding::PutLE;
using coding::PutStr;
using coding::PutVarint;
using coding::Reader;

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

bool NormalizeVector(std::vector<float>* v) {
  double sum = 0;
  for (float x : *v) {
    if (!std::isfinite(x)) return false;
    sum += static_cast<double>(x) * x;
  }
  if (sum == 0) {
    v->clear();
    return true;
  }
  const double norm = std::sqrt(sum);
  if (std::abs(norm - 1.0) > 1e-4) {
    for (float& x : *v) x = static_cast<float>(x / norm);
  }
  return true;
}

}  // namespace tandem::vector_internal
