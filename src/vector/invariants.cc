// CheckInvariants: recomputes from the documents what the rest of the store
// and the in-memory indexes must hold, and compares. Memory is O(documents):
// an audit tool, not a hot path.

#include <cmath>
#include <map>
#include <set>

#include "vector/rocks_vector_store.h"

namespace tandem::vector_internal {
namespace {

Status Broken(const std::string& what) { return Status::Corruption("vector invariant: " + what); }

}  // namespace

Status RocksVectorStore::CheckInvariants() {
  std::lock_guard<std::mutex> lock(apply_mu_);  // the indexes must match the committed state
  ReadView view(*db_);
  std::optional<std::string> format;
  TANDEM_RETURN_IF_ERROR(view.Get(MetaKey("format"), &format));
  if (format != kStoreFormat) return Broken("format metadata missing or wrong");

  std::map<uint64_t, std::string> labels;        // label → id, from the documents
  std::map<uint64_t, std::string> vector_owner;  // label → entity_type of documents with a vector
  std::map<std::string, uint64_t> indexed;       // per type
  std::set<std::string> tombstones;
  uint64_t max_label = 0;
  Status bad;
  TANDEM_RETURN_IF_ERROR(view.Scan(
      std::string(1, kDocPrefix), [&](std::string_view k, std::string_view v) -> Result<bool> {
        std::string id(k.substr(1));
        DocRecord d;
        TANDEM_RETURN_IF_ERROR(DecodeDoc(id, v, &d));
        const std::string who = "document \"" + id + "\"";
        if (d.text.has_value() && (d.text->empty() || d.text_hash != TextHash(*d.text))) {
          return Broken(who + ": text hash does not match its text");
        }
        if (d.marker.deleted && (d.text.has_value() || d.payload != "{}")) {
          return Broken(who + ": a tombstone keeps a text or payload");
        }
        if (d.label.has_value()) {
          if (!labels.emplace(*d.label, id).second) {
            return Broken(who + ": label " + std::to_string(*d.label) + " is used twice");
          }
          max_label = std::max(max_label, *d.label);
        }
        if (d.has_vector) {
          vector_owner[*d.label] = d.entity_type;
          ++indexed[d.entity_type];
        }
        if (d.marker.deleted) tombstones.insert(TombstoneKey(d.marker.applied_at_us, id));
        return true;
      }));
  if (max_label >= next_label_) return Broken("a label at or above the label allocator");

  // Vectors: exactly the documents with has_vector, right dimension, unit norm.
  std::vector<float> vec;
  size_t vectors = 0;
  TANDEM_RETURN_IF_ERROR(view.Scan(
      std::string(1, kVectorPrefix), [&](std::string_view k, std::string_view v) -> Result<bool> {
        uint64_t label = 0;
        TANDEM_RETURN_IF_ERROR(DecodeLabelKey(k, &label));
        if (!vector_owner.contains(label)) {
          return Broken("vector of label " + std::to_string(label) + " without a document");
        }
        TANDEM_RETURN_IF_ERROR(DecodeVector(label, v, dimension_, &vec));
        double sum = 0;
        for (float x : vec) sum += static_cast<double>(x) * x;
        if (std::abs(std::sqrt(sum) - 1.0) > 1e-3) {
          return Broken("vector of label " + std::to_string(label) + " is not unit length");
        }
        ++vectors;
        return true;
      }));
  if (vectors != vector_owner.size()) return Broken("a document's vector is missing");

  std::map<uint64_t, std::string> label_map;
  TANDEM_RETURN_IF_ERROR(view.Scan(std::string(1, kLabelPrefix),
                                   [&](std::string_view k, std::string_view v) -> Result<bool> {
                                     uint64_t label = 0;
                                     TANDEM_RETURN_IF_ERROR(DecodeLabelKey(k, &label));
                                     label_map[label] = std::string(v);
                                     return true;
                                   }));
  if (label_map != labels) return Broken("label map differs from the documents' labels");

  std::map<std::string, uint64_t> counts;
  TANDEM_RETURN_IF_ERROR(view.Scan(
      std::string(1, kCountPrefix), [&](std::string_view k, std::string_view v) -> Result<bool> {
        TANDEM_RETURN_IF_ERROR(DecodeU64(v, &counts[std::string(k.substr(1))]));
        return true;
      }));
  if (counts != indexed) return Broken("indexed counts differ from the documents");

  std::set<std::string> tomb_keys;
  TANDEM_RETURN_IF_ERROR(view.Scan(std::string(1, kTombstonePrefix),
                                   [&](std::string_view k, std::string_view) -> Result<bool> {
                                     tomb_keys.emplace(k);
                                     return true;
                                   }));
  if (tomb_keys != tombstones) return Broken("tombstone index differs from the tombstones");

  // The in-memory indexes hold exactly the documents with a vector.
  std::shared_lock ilock(indexes_mu_);
  for (const auto& [label, type] : vector_owner) {
    auto it = indexes_.find(type);
    if (it == indexes_.end() || !it->second.index->Contains(label)) {
      return Broken("document \"" + labels.at(label) + "\" (label " + std::to_string(label) +
                    ") is not in the " + type + " index");
    }
  }
  for (const auto& [type, ti] : indexes_) {
    auto it = indexed.find(type);
    const uint64_t want = it == indexed.end() ? 0 : it->second;
    if (ti.index->size() != want) {
      return Broken("the " + type + " index holds " + std::to_string(ti.index->size()) +
                    " labels, documents say " + std::to_string(want));
    }
    if (ti.index->options().dimension != dimension_) {
      return Broken("the " + type + " index has another dimension");
    }
  }
  return Status::OK();
}

}  // namespace tandem::vector_internal
