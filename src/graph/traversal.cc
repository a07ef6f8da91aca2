// Graph reads: vertices, neighbours, k-hop expansion, shortest path, label
// counts. Each call reads one RocksDB snapshot (ReadView).

#include <limits>
#include <utility>

#include "graph/path_search.h"
#include "graph/rocks_graph_store.h"

namespace tandem::graph_internal {
namespace {

constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();

}  // namespace

Result<Vertex> RocksGraphStore::VertexAt(const ReadView& view, std::string_view id) const {
  std::optional<VertexRecord> r;
  TANDEM_RETURN_IF_ERROR(view.LoadVertex(id, &r));
  if (!r.has_value() || (!r->live() && !r->placeholder())) {
    return Status::NotFound("vertex \"" + std::string(id) + "\"");
  }
  Vertex v;
  v.id = std::string(id);
  v.placeholder = r->placeholder();
  v.deleted = r->tombstone();
  // Every unit of an edge's multiplicity is one declaration by one of its
  // ends; the vertex's own declarations are its own_refs (a self-loop shows
  // up as both an out- and an in-edge, and is both declared by and pointing
  // at the vertex), so the rest point at it.
  std::vector<Edge> edges;  // out-edges, then in-edges: a self-loop twice
  TANDEM_RETURN_IF_ERROR(EdgesOf(view, id, Direction::kOut, {}, kUnlimited, &edges));
  TANDEM_RETURN_IF_ERROR(EdgesOf(view, id, Direction::kIn, {}, kUnlimited, &edges));
  uint64_t units = 0;
  for (const Edge& e : edges) units += e.multiplicity;
  v.references = units - std::min<uint64_t>(units, r->live() ? r->own_refs.size() : 0);
  if (r->live()) {
    v.label = r->entity_type;
    v.properties = r->payload;
  }
  if (r->has_marker) {
    v.version = r->marker.version;
    v.position = r->marker.position;
  }
  return v;
}

Status RocksGraphStore::EdgesOf(const ReadView& view, std::string_view id, Direction direction,
                                const std::vector<std::string>& labels, size_t limit,
                                std::vector<Edge>* out) const {
  const size_t stop_at = limit == kUnlimited ? kUnlimited : out->size() + limit;
  auto scan = [&](bool outgoing) -> Status {
    std::vector<std::string> prefixes;
    if (labels.empty()) {
      prefixes.push_back(outgoing ? OutEdgePrefix(id, "") : InEdgePrefix(id, ""));
    }
    for (const std::string& label : labels) {
      prefixes.push_back(outgoing ? OutEdgePrefix(id, label) : InEdgePrefix(id, label));
    }
    for (const std::string& prefix : prefixes) {
      TANDEM_RETURN_IF_ERROR(
          view.Scan(prefix, [&](std::string_view k, std::string_view val) -> Result<bool> {
            if (out->size() >= stop_at) return false;
            DecodedEdge d;
            TANDEM_RETURN_IF_ERROR(DecodeEdgeKey(k, &d));
            // A self-loop was already reported as an out-edge.
            if (!outgoing && direction == Direction::kBoth && d.other == id) return true;
            uint32_t m = 0;
            TANDEM_RETURN_IF_ERROR(DecodeU32(val, &m));
            out->push_back(outgoing ? Edge{d.owner, d.label, d.other, m}
                                    : Edge{d.other, d.label, d.owner, m});
            return true;
          }));
    }
    return Status::OK();
  };
  if (direction != Direction::kIn) TANDEM_RETURN_IF_ERROR(scan(true));
  if (direction != Direction::kOut) TANDEM_RETURN_IF_ERROR(scan(false));
  return Status::OK();
}

Result<Vertex> RocksGraphStore::GetVertex(std::string_view id) {
  ReadView view(*db_);
  return VertexAt(view, id);
}

Result<std::vector<Edge>> RocksGraphStore::Neighbors(std::string_view id, Direction direction,
                                                     std::string_view edge_label, size_t limit) {
  ReadView view(*db_);
  TANDEM_RETURN_IF_ERROR(VertexAt(view, id).status());
  std::vector<std::string> labels;
  if (!edge_label.empty()) labels.emplace_back(edge_label);
  std::vector<Edge> out;
  TANDEM_RETURN_IF_ERROR(EdgesOf(view, id, direction, labels, limit, &out));
  return out;
}

namespace {

// A frontier callback of the shared traversals (graph/path_search.h) from a
// per-vertex edge scan `edges_of(id, direction, &out)`.
template <typename EdgesOf>
FrontierEdgesFn PerVertex(EdgesOf edges_of) {
  return [edges_of](const std::vector<std::string>& ids,
                    Direction d) -> Result<std::map<std::string, std::vector<Edge>>> {
    std::map<std::string, std::vector<Edge>> out;
    for (const std::string& id : ids) TANDEM_RETURN_IF_ERROR(edges_of(id, d, &out[id]));
    return out;
  };
}

}  // namespace

Result<Subgraph> RocksGraphStore::Expand(std::string_view start, const ExpandOptions& options) {
  ReadView view(*db_);
  TANDEM_ASSIGN_OR_RETURN(Vertex root, VertexAt(view, start));
  auto load = [&](const std::vector<std::string>& ids) -> Result<std::map<std::string, Vertex>> {
    std::map<std::string, Vertex> out;
    for (const std::string& id : ids) {
      Result<Vertex> v = VertexAt(view, id);
      if (v.status().IsNotFound()) continue;
      TANDEM_RETURN_IF_ERROR(v.status());
      out.emplace(id, std::move(v).value());
    }
    return out;
  };
  auto edges = [&](const std::string& id, Direction d, std::vector<Edge>* out) {
    return EdgesOf(view, id, d, options.edge_labels, kUnlimited, out);
  };
  return BreadthFirstExpand(std::move(root), options, PerVertex(edges), load);
}

Result<std::optional<Path>> RocksGraphStore::ShortestPath(std::string_view from,
                                                          std::string_view to,
                                                          const PathOptions& options) {
  ReadView view(*db_);
  TANDEM_RETURN_IF_ERROR(VertexAt(view, from).status());
  TANDEM_RETURN_IF_ERROR(VertexAt(view, to).status());
  auto edges = [&](const std::string& id, Direction d, std::vector<Edge>* out) {
    return EdgesOf(view, id, d, options.edge_labels, kUnlimited, out);
  };
  return BidirectionalShortestPath(from, to, options, PerVertex(edges));
}

Result<std::map<std::string, uint64_t>> RocksGraphStore::CountByLabel() {
  ReadView view(*db_);
  std::map<std::string, uint64_t> out;
  TANDEM_RETURN_IF_ERROR(view.Scan(
      std::string(1, kCountPrefix), [&](std::string_view k, std::string_view v) -> Result<bool> {
        TANDEM_RETURN_IF_ERROR(DecodeU64(v, &out[std::string(k.substr(1))]));
        return true;
      }));
  return out;
}

Result<std::vector<std::string>> RocksGraphStore::VerticesWithLabel(std::string_view label,
                                                                    size_t limit) {
  ReadView view(*db_);
  std::vector<std::string> out;
  TANDEM_RETURN_IF_ERROR(
      view.Scan(LabelPrefix(label), [&](std::string_view k, std::string_view) -> Result<bool> {
        if (out.size() >= limit) return false;
        std::string l, id;
        TANDEM_RETURN_IF_ERROR(DecodeLabelKey(k, &l, &id));
        out.push_back(std::move(id));
        return true;
      }));
  return out;
}

}  // namespace tandem::graph_internal
