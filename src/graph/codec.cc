#include "graph/codec.h"

#include <cstring>

#include "common/coding.h"
#include "tandem/graph.h"

namespace tandem::graph_internal {
namespace {

using coding::GetBE;
using coding::GetLE;
using coding::PutBE;
using coding::PutLE;
using coding::PutStr;
using coding::PutVarint;
using coding::Reader;

std::string EdgeKeyImpl(char kind, std::string_view owner, std::string_view label,
                        std::string_view other) {
  std::string k;
  k.reserve(4 + owner.size() + label.size() + other.size());
  k.push_back(kind);
  PutBE(&k, owner.size(), 2);
  k.append(owner);
  if (label.empty()) return k;
  k.push_back(static_cast<char>(label.size()));
  k.append(label);
  k.append(other);
  return k;
}

enum Flags : uint8_t { kHasMarker = 1, kDeleted = 2, kHasVersion = 4, kReferenced = 8 };

}  // namespace

std::string MetaKey(std::string_view name) { return std::string(1, kMetaPrefix).append(name); }
std::string VertexKey(std::string_view id) { return std::string(1, kVertexPrefix).append(id); }

std::string OutEdgeKey(std::string_view from, std::string_view label, std::string_view to) {
  return EdgeKeyImpl(kOutPrefix, from, label, to);
}
std::string OutEdgePrefix(std::string_view from, std::string_view label) {
  return EdgeKeyImpl(kOutPrefix, from, label, "");
}
std::string InEdgeKey(std::string_view to, std::string_view label, std::string_view from) {
  return EdgeKeyImpl(kInPrefix, to, label, from);
}
std::string InEdgePrefix(std::string_view to, std::string_view label) {
  return EdgeKeyImpl(kInPrefix, to, label, "");
}

std::string LabelPrefix(std::string_view label) {
  std::string k(1, kLabelPrefix);
  k.push_back(static_cast<char>(label.size()));
  k.append(label);
  return k;
}
std::string LabelKey(std::string_view label, std::string_view id) {
  return LabelPrefix(label).append(id);
}
std::string CountKey(std::string_view label) { return std::string(1, kCountPrefix).append(label); }

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

Status DecodeEdgeKey(std::string_view key, DecodedEdge* out) {
  if (key.size() < 4 || (key[0] != kOutPrefix && key[0] != kInPrefix)) {
    return Status::Corruption("graph: bad edge key");
  }
  size_t owner_len = GetBE(key.substr(1), 2);
  if (key.size() < 3 + owner_len + 1) return Status::Corruption("graph: short edge key");
  out->owner.assign(key.substr(3, owner_len));
  size_t pos = 3 + owner_len;
  size_t label_len = static_cast<unsigned char>(key[pos]);
  if (label_len == 0 || key.size() < pos + 1 + label_len) {
    return Status::Corruption("graph: bad label in edge key of \"" + out->owner + "\"");
  }
  out->label.assign(key.substr(pos + 1, label_len));
  out->other.assign(key.substr(pos + 1 + label_len));
  return Status::OK();
}

Status DecodeLabelKey(std::string_view key, std::string* label, std::string* id) {
  if (key.size() < 2 || key[0] != kLabelPrefix) return Status::Corruption("graph: bad label key");
  size_t n = static_cast<unsigned char>(key[1]);
  if (key.size() < 2 + n) return Status::Corruption("graph: short label key");
  label->assign(key.substr(2, n));
  id->assign(key.substr(2 + n));
  return Status::OK();
}

Status DecodeTombstoneKey(std::string_view key, int64_t* applied_at_us, std::string* id) {
  if (key.size() < 9 || key[0] != kTombstonePrefix) {
    return Status::Corruption("graph: bad tombstone key");
  }
  *applied_at_us = static_cast<int64_t>(GetBE(key.substr(1), 8) ^ (uint64_t{1} << 63));
  id->assign(key.substr(9));
  return Status::OK();
}

Status DecodePositionKey(std::string_view key, TopicPartition* out) {
  if (key.size() < 3 || key[0] != kPositionPrefix) {
    return Status::Corruption("graph: bad position key");
  }
  size_t n = GetBE(key.substr(1), 2);
  if (key.size() != 3 + n + 4) return Status::Corruption("graph: bad position key length");
  out->topic.assign(key.substr(3, n));
  out->partition = static_cast<uint32_t>(GetBE(key.substr(3 + n), 4));
  return Status::OK();
}

std::string EncodeU32(uint32_t v) {
  std::string s;
  PutLE(&s, v, 4);
  return s;
}
std::string EncodeU64(uint64_t v) {
  std::string s;
  PutLE(&s, v, 8);
  return s;
}
Status DecodeU32(std::string_view v, uint32_t* out) {
  if (v.size() != 4) return Status::Corruption("graph: expected a 4-byte count");
  *out = static_cast<uint32_t>(GetLE(v, 4));
  return Status::OK();
}
Status DecodeU64(std::string_view v, uint64_t* out) {
  if (v.size() != 8) return Status::Corruption("graph: expected an 8-byte value");
  *out = GetLE(v, 8);
  return Status::OK();
}

std::string_view VertexRecord::index_label() const {
  if (live()) return entity_type;
  if (referenced) return kPlaceholderLabel;
  return "";
}

std::string EncodeVertex(const VertexRecord& v) {
  std::string out;
  out.reserve(64 + v.payload.size());
  AppendVertex(v, &out);
  return out;
}

void AppendVertex(const VertexRecord& v, std::string* out_ptr) {
  std::string& out = *out_ptr;
  out.push_back(static_cast<char>(kVertexFormat));
  uint8_t flags = 0;
  if (v.has_marker) flags |= kHasMarker;
  if (v.has_marker && v.marker.deleted) flags |= kDeleted;
  if (v.has_marker && v.marker.version.has_value()) flags |= kHasVersion;
  if (v.referenced && !v.live()) flags |= kReferenced;
  out.push_back(static_cast<char>(flags));
  if (v.has_marker) {
    if (v.marker.version.has_value()) PutLE(&out, static_cast<uint64_t>(*v.marker.version), 8);
    PutStr(&out, v.marker.position.topic);
    PutVarint(&out, v.marker.position.partition);
    PutVarint(&out, v.marker.position.offset);
    PutStr(&out, v.marker.event_id);
    PutLE(&out, static_cast<uint64_t>(v.marker.applied_at_us), 8);
  }
  PutStr(&out, v.entity_type);
  PutVarint(&out, v.own_refs.size());
  for (const OwnRef& r : v.own_refs) {
    PutStr(&out, r.label);
    out.push_back(r.orientation == ReferenceSpec::Orientation::kOut ? 'o' : 'i');
    PutStr(&out, r.target);
  }
  out.append(v.payload);
}

Status DecodeVertex(std::string_view id, std::string_view bytes, VertexRecord* out) {
  auto bad = [&](std::string_view why) {
    return Status::Corruption("graph: vertex \"" + std::string(id) + "\": " + std::string(why));
  };
  Reader r(bytes);
  if (r.U8() != kVertexFormat) return bad("unknown record format");
  uint8_t flags = r.U8();
  *out = VertexRecord{};
  out->has_marker = (flags & kHasMarker) != 0;
  out->referenced = (flags & kReferenced) != 0;
  if (out->has_marker) {
    out->marker.deleted = (flags & kDeleted) != 0;
    if (flags & kHasVersion) out->marker.version = static_cast<int64_t>(r.Fixed64());
    out->marker.position.topic = r.Str();
    out->marker.position.partition = static_cast<uint32_t>(r.Varint());
    out->marker.position.offset = r.Varint();
    out->marker.event_id = r.Str();
    out->marker.applied_at_us = static_cast<int64_t>(r.Fixed64());
  }
  out->entity_type = r.Str();
  uint64_t n = r.Varint();
  if (n > bytes.size()) return bad("reference count exceeds record size");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    OwnRef ref;
    ref.label = r.Str();
    uint8_t o = r.U8();
    if (o != 'o' && o != 'i') return bad("bad reference orientation");
    ref.orientation = o == 'o' ? ReferenceSpec::Orientation::kOut : ReferenceSpec::Orientation::kIn;
    ref.target = r.Str();
    out->own_refs.push_back(std::move(ref));
  }
  if (!r.ok()) return bad("truncated record");
  out->payload.assign(r.rest());
  return Status::OK();
}

}  // namespace tandem::graph_internal
