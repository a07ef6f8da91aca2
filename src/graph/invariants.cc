// CheckInvariants: recomputes, from the vertex records alone, every edge,
// placeholder flag, label index entry, label count and tombstone index entry
// the store should hold, and compares with what it holds. Memory is
// O(vertices + edges): an audit tool, not a hot path.

#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "graph/rocks_graph_store.h"

namespace tandem::graph_internal {
namespace {

using EdgeCounts = std::map<std::tuple<std::string, std::string, std::string>, uint32_t>;

Status Broken(const std::string& what) { return Status::Corruption("graph invariant: " + what); }

std::string EdgeText(const std::tuple<std::string, std::string, std::string>& e) {
  return std::get<0>(e) + " -" + std::get<1>(e) + "-> " + std::get<2>(e);
}

// What the vertex records say the rest of the store must hold.
struct Expected {
  std::map<std::string, VertexRecord> vertices;
  EdgeCounts edges;
  std::map<std::string, uint64_t> refs;                  // per target
  std::set<std::pair<std::string, std::string>> labels;  // (label, id)
  std::map<std::string, uint64_t> counts;
  std::set<std::string> tombstones;  // tombstone keys
};

Status CheckEdges(const ReadView& view, char kind, const Expected& x) {
  EdgeCounts found;
  TANDEM_RETURN_IF_ERROR(
      view.Scan(std::string(1, kind), [&](std::string_view k, std::string_view v) -> Result<bool> {
        DecodedEdge d;
        TANDEM_RETURN_IF_ERROR(DecodeEdgeKey(k, &d));
        uint32_t m = 0;
        TANDEM_RETURN_IF_ERROR(DecodeU32(v, &m));
        auto key = kind == kOutPrefix ? std::make_tuple(d.owner, d.label, d.other)
                                      : std::make_tuple(d.other, d.label, d.owner);
        found[key] = m;
        return true;
      }));
  const char* name = kind == kOutPrefix ? "out-edge" : "in-edge";
  for (const auto& [edge, m] : found) {
    auto it = x.edges.find(edge);
    if (it == x.edges.end()) {
      return Broken(std::string(name) + " " + EdgeText(edge) +
                    " is declared by no live entity (or has no twin)");
    }
    if (it->second != m) {
      return Broken(std::string(name) + " " + EdgeText(edge) + " has multiplicity " +
                    std::to_string(m) + ", references say " + std::to_string(it->second));
    }
  }
  for (const auto& [edge, m] : x.edges) {
    if (!found.contains(edge))
      return Broken(std::string(name) + " " + EdgeText(edge) + " is missing");
  }
  return Status::OK();
}

// Reads every vertex record and derives what the rest of the store must hold.
Status CollectExpected(const ReadView& view, const ReferenceExtractor& extractor, Expected* x) {
  TANDEM_RETURN_IF_ERROR(view.Scan(std::string(1, kVertexPrefix),
                                   [&](std::string_view k, std::string_view v) -> Result<bool> {
                                     std::string id(k.substr(1));
                                     TANDEM_RETURN_IF_ERROR(DecodeVertex(id, v, &x->vertices[id]));
                                     return true;
                                   }));
  for (const auto& [id, v] : x->vertices) {
    if (!v.needed()) return Broken("vertex \"" + id + "\" is neither applied nor referenced");
    if (!v.live() && (!v.own_refs.empty() || v.payload != "{}")) {
      return Broken("vertex \"" + id + "\" is not live but keeps references or a payload");
    }
    if (v.live()) {
      TANDEM_ASSIGN_OR_RETURN(store_internal::JsonValue payload,
                              store_internal::ParseJson(v.payload));
      Result<std::vector<OwnRef>> refs = extractor.Extract(v.entity_type, payload);
      if (!refs.ok() || *refs != v.own_refs) {
        return Broken("vertex \"" + id + "\": stored references differ from its payload's");
      }
      for (const OwnRef& r : v.own_refs) {
        EdgeKey e = EdgeOf(id, r);
        ++x->edges[{e.from, e.label, e.to}];
        ++x->refs[r.target];
      }
    }
    if (std::string label(v.index_label()); !label.empty()) {
      x->labels.emplace(label, id);
      ++x->counts[label];
    }
    if (v.tombstone()) x->tombstones.insert(TombstoneKey(v.marker.applied_at_us, id));
  }
  return Status::OK();
}

// A vertex that is not live is flagged referenced exactly when live
// entities declare references towards it (a live one never is), and every
// referenced id has a vertex (no dangling edge).
Status CheckReferencedFlags(const Expected& x) {
  for (const auto& [id, v] : x.vertices) {
    const bool want = !v.live() && x.refs.contains(id);
    if (v.referenced != want) {
      return Broken("vertex \"" + id + "\" is " + (v.referenced ? "" : "not ") +
                    "flagged referenced, but " + std::to_string(x.refs.count(id) ? x.refs.at(id) : 0) +
                    " references from live entities point at it" +
                    (v.live() ? " and it is live" : ""));
    }
  }
  for (const auto& [target, n] : x.refs) {
    if (!x.vertices.contains(target)) {
      return Broken("\"" + target + "\" is referenced but has no vertex (dangling edge)");
    }
  }
  return Status::OK();
}

// The label index, the label counts and the tombstone index.
Status CheckIndexes(const ReadView& view, const Expected& x) {
  std::set<std::pair<std::string, std::string>> labels;
  TANDEM_RETURN_IF_ERROR(view.Scan(std::string(1, kLabelPrefix),
                                   [&](std::string_view k, std::string_view) -> Result<bool> {
                                     std::string label, id;
                                     TANDEM_RETURN_IF_ERROR(DecodeLabelKey(k, &label, &id));
                                     labels.emplace(std::move(label), std::move(id));
                                     return true;
                                   }));
  if (labels != x.labels) return Broken("label index differs from the vertices' labels");

  std::map<std::string, uint64_t> counts;
  TANDEM_RETURN_IF_ERROR(view.Scan(
      std::string(1, kCountPrefix), [&](std::string_view k, std::string_view v) -> Result<bool> {
        TANDEM_RETURN_IF_ERROR(DecodeU64(v, &counts[std::string(k.substr(1))]));
        return true;
      }));
  if (counts != x.counts) return Broken("label counts differ from the label index");

  std::set<std::string> tombstones;
  TANDEM_RETURN_IF_ERROR(view.Scan(std::string(1, kTombstonePrefix),
                                   [&](std::string_view k, std::string_view) -> Result<bool> {
                                     tombstones.emplace(k);
                                     return true;
                                   }));
  if (tombstones != x.tombstones) return Broken("tombstone index differs from the tombstones");
  return Status::OK();
}

}  // namespace

Status RocksGraphStore::CheckInvariants() {
  ReadView view(*db_);
  std::optional<std::string> format;
  TANDEM_RETURN_IF_ERROR(view.Get(MetaKey("format"), &format));
  if (format != kStoreFormat) return Broken("format metadata missing or wrong");
  Expected x;
  TANDEM_RETURN_IF_ERROR(CollectExpected(view, extractor_, &x));
  TANDEM_RETURN_IF_ERROR(CheckReferencedFlags(x));
  TANDEM_RETURN_IF_ERROR(CheckEdges(view, kOutPrefix, x));
  TANDEM_RETURN_IF_ERROR(CheckEdges(view, kInPrefix, x));
  return CheckIndexes(view, x);
}

}  // namespace tandem::graph_internal
