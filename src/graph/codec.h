// The graph store's bytes in RocksDB: key layout and the vertex record.
// src/graph/README.md has the same layout as a table.
//
// Everything lives in the default column family; the first key byte names
// the kind of entry, so one WriteBatch covers all of them and each kind is a
// contiguous key range:
//
//   'm' name                                  → metadata ("format", "schema")
//   'v' id                                    → VertexRecord (below)
//   'o' u16be(|from|) from u8(|label|) label to → u32le multiplicity (out-edge)
//   'i' u16be(|to|)   to   u8(|label|) label from → u32le multiplicity (in-edge)
//   'l' u8(|label|) label id                  → ""  (label index)
//   'c' label                                 → u64le vertex count of the label
//   't' be64(applied_at_us ^ 2^63) id         → ""  (tombstones by age)
//   'p' u16be(|topic|) topic be32(partition)  → u64le highest handled offset
//
// Lengths prefix the variable parts so that any byte may appear in an id and
// a prefix scan of one vertex's edges (or of one label) never runs into
// another's.
//
// VertexRecord value (format 2):
//   u8 format=2, u8 flags (1 has_marker, 2 deleted, 4 has_version, 8 referenced),
//   if has_marker: [fixed64 version if has_version] str topic, varint partition,
//                  varint offset, str event_id, fixed64 applied_at_us,
//   str entity_type, varint n, n × (str label, u8 orientation, str target),
//   rest: canonical payload JSON
// where str = varint length + bytes, fixed64 little-endian.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "graph/references.h"
#include "tandem/status.h"
#include "tandem/store.h"

namespace tandem::graph_internal {

inline constexpr char kMetaPrefix = 'm';
inline constexpr char kVertexPrefix = 'v';
inline constexpr char kOutPrefix = 'o';
inline constexpr char kInPrefix = 'i';
inline constexpr char kLabelPrefix = 'l';
inline constexpr char kCountPrefix = 'c';
inline constexpr char kTombstonePrefix = 't';
inline constexpr char kPositionPrefix = 'p';

inline constexpr uint8_t kVertexFormat = 2;
// Format 1 kept a reference count in every vertex record; format 2 keeps a
// "referenced" flag on non-live vertices only (src/graph/README.md).
inline constexpr std::string_view kStoreFormat = "tandem-graph-2";

std::string MetaKey(std::string_view name);
std::string VertexKey(std::string_view id);
// Out-edge key of from -label-> to; with `to` empty and/or `label` empty it
// is the prefix of the matching out-edges (label empty: all of `from`).
std::string OutEdgeKey(std::string_view from, std::string_view label, std::string_view to);
std::string OutEdgePrefix(std::string_view from, std::string_view label);
std::string InEdgeKey(std::string_view to, std::string_view label, std::string_view from);
std::string InEdgePrefix(std::string_view to, std::string_view label);
std::string LabelKey(std::string_view label, std::string_view id);
std::string LabelPrefix(std::string_view label);
std::string CountKey(std::string_view label);
std::string TombstoneKey(int64_t applied_at_us, std::string_view id);
std::string TombstonePrefixBefore(int64_t applied_at_us);  // keys < it are older
std::string PositionKey(std::string_view topic, uint32_t partition);

// The smallest key greater than every key starting with `prefix` ("" when
// there is none: the prefix is all 0xff).
std::string PrefixEnd(std::string_view prefix);

// Decoded edge key: for an out-edge (owner=from, other=to), for an in-edge
// (owner=to, other=from).
struct DecodedEdge {
  std::string owner;
  std::string label;
  std::string other;
};
Status DecodeEdgeKey(std::string_view key, DecodedEdge* out);
Status DecodeLabelKey(std::string_view key, std::string* label, std::string* id);
Status DecodeTombstoneKey(std::string_view key, int64_t* applied_at_us, std::string* id);
Status DecodePositionKey(std::string_view key, TopicPartition* out);

std::string EncodeU32(uint32_t v);
std::string EncodeU64(uint64_t v);
Status DecodeU32(std::string_view v, uint32_t* out);
Status DecodeU64(std::string_view v, uint64_t* out);

// What the store keeps per vertex: the entity's applied marker and content,
// and, for a vertex that is not a live entity, whether any edge touches it
// (then it is a placeholder, kept and indexed as such).
struct VertexRecord {
  bool has_marker = false;  // an event was applied (and the tombstone, if any, kept)
  AppliedMarker marker;
  std::string entity_type;       // of the last applied event; "" without a marker
  // Not live and some edge touches it (which, for a vertex that declares
  // nothing, means some live entity references it). Always false when live:
  // a live vertex's record does not change when others reference it.
  bool referenced = false;
  std::vector<OwnRef> own_refs;  // references this entity declares (live only)
  std::string payload = "{}";    // canonical JSON; "{}" unless live

  bool live() const { return has_marker && !marker.deleted; }
  bool tombstone() const { return has_marker && marker.deleted; }
  bool placeholder() const { return !live() && referenced; }
  // Worth keeping: live, a tombstone, or referenced.
  bool needed() const { return has_marker || referenced; }
  // The label index entry: entity_type when live, kPlaceholderLabel when a
  // placeholder, none ("") otherwise.
  std::string_view index_label() const;
  friend bool operator==(const VertexRecord&, const VertexRecord&) = default;
};

std::string EncodeVertex(const VertexRecord& v);
// EncodeVertex appending to *out.
void AppendVertex(const VertexRecord& v, std::string* out);
// Corruption naming `id` when the bytes are not a format-2 record.
Status DecodeVertex(std::string_view id, std::string_view bytes, VertexRecord* out);

}  // namespace tandem::graph_internal
