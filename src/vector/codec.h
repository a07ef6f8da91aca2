// The vector store's bytes in RocksDB: key layout, the document record and
// the change journal. src/vector/README.md has the same layout as a table.
//
// Everything lives in the default column family; the first key byte names
// the kind of entry, so one WriteBatch covers all of them and each kind is a
// contiguous key range:
//
//   'm' name                                 → metadata (format, model_id,
//                                               dimension, sequence,
//                                               next_label, journal_floor)
//   'd' id                                   → DocRecord (below)
//   'x' be64(label)                          → vector: dimension × f32 little-endian
//   'l' be64(label)                          → entity_id owning the label
//   'c' entity_type                          → u64le documents in the type's index
//   't' be64(applied_at_us ^ 2^63) id        → ""  (tombstones by age)
//   'p' u16be(|topic|) topic be32(partition) → u64le highest handled offset
//   'j' be64(sequence)                       → JournalEntry of one committed batch
//
// DocRecord value (format 1):
//   u8 format=1, u8 flags (1 deleted, 2 has_version, 4 has_text, 8 has_vector,
//   16 has_label), [fixed64 version], str topic, varint partition,
//   varint offset, str event_id, fixed64 applied_at_us, str entity_type,
//   [fixed64 label], [16 bytes XXH3-128 of the text, str text],
//   rest: canonical payload JSON
// JournalEntry value: varint n, n × (str entity_type, fixed64 label, u8 'u'|'r')
// where str = varint length + bytes, fixed64 little-endian.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.h"
#include "tandem/store.h"

namespace tandem::vector_internal {

inline constexpr char kMetaPrefix = 'm';
inline constexpr char kDocPrefix = 'd';
inline constexpr char kVectorPrefix = 'x';
inline constexpr char kLabelPrefix = 'l';
inline constexpr char kCountPrefix = 'c';
inline constexpr char kTombstonePrefix = 't';
inline constexpr char kPositionPrefix = 'p';
inline constexpr char kJournalPrefix = 'j';

inline constexpr uint8_t kDocFormat = 1;
inline constexpr std::string_view kStoreFormat = "tandem-vector-1";

std::string MetaKey(std::string_view name);
std::string DocKey(std::string_view id);
std::string VectorKey(uint64_t label);
std::string LabelKey(uint64_t label);
std::string CountKey(std::string_view entity_type);
std::string TombstoneKey(int64_t applied_at_us, std::string_view id);
std::string TombstonePrefixBefore(int64_t applied_at_us);  // keys < it are older
std::string PositionKey(std::string_view topic, uint32_t partition);
std::string JournalKey(uint64_t sequence);

// The smallest key greater than every key starting with `prefix`.
std::string PrefixEnd(std::string_view prefix);

Status DecodeLabelKey(std::string_view key, uint64_t* label);  // 'x' or 'l' keys
Status DecodeTombstoneKey(std::string_view key, int64_t* applied_at_us, std::string* id);
Status DecodePositionKey(std::string_view key, TopicPartition* out);
Status DecodeJournalKey(std::string_view key, uint64_t* sequence);

std::string EncodeU64(uint64_t v);
Status DecodeU64(std::string_view v, uint64_t* out);

std::string EncodeVector(std::span<const float> v);
// Corruption naming `label` unless `bytes` holds exactly `dimension` floats.
Status DecodeVector(uint64_t label, std::string_view bytes, size_t dimension,
                    std::vector<float>* out);

// Makes `v` unit length; false when a value is not finite. A zero vector
// (a text without features) is returned empty.
bool NormalizeVector(std::vector<float>* v);

// XXH3-128 of a text, as 16 bytes (big-endian high, then low half).
std::string TextHash(std::string_view text);

// What the store keeps per entity: the applied marker and content, the text
// that was embedded and where its vector lives.
struct DocRecord {
  AppliedMarker marker;
  std::string entity_type;
  std::string payload = "{}";       // canonical JSON; "{}" for a tombstone
  std::optional<std::string> text;  // nullopt: no text (never "")
  std::string text_hash;            // TextHash(*text) when text, else ""
  std::optional<uint64_t> label;    // allocated the first time it had a vector
  bool has_vector = false;          // 'x' label holds its vector; it is in the type's index

  bool live() const { return !marker.deleted; }
  friend bool operator==(const DocRecord&, const DocRecord&) = default;
};

std::string EncodeDoc(const DocRecord& d);
// Corruption naming `id` when the bytes are not a format-1 record.
Status DecodeDoc(std::string_view id, std::string_view bytes, DocRecord* out);

enum class IndexOp : uint8_t { kUpsert = 'u', kRemove = 'r' };
struct IndexChange {
  std::string entity_type;
  uint64_t label = 0;
  IndexOp op = IndexOp::kUpsert;
  friend bool operator==(const IndexChange&, const IndexChange&) = default;
};

std::string EncodeJournal(const std::vector<IndexChange>& changes);
Status DecodeJournal(uint64_t sequence, std::string_view bytes, std::vector<IndexChange>* out);

}  // namespace tandem::vector_internal
