// Graph reads: vertices, neighbours, k-hop expansion, shortest path, label
// counts. Each call reads one RocksDB snapshot (ReadView).

#include <algorithm>
#include <limits>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "graph/rocks_graph_store.h"

namespace tandem::graph_internal {
namespace {

constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();

Direction Reverse(Direction d) {
  if (d == Direction::kOut) return Direction::kIn;
  if (d == Direction::kIn) return Direction::kOut;
  return Direction::kBoth;
}

// The end of `e` that is not `from` (`from` itself for a self-loop).
const std::string& OtherEnd(const Edge& e, std::string_view from) {
  return e.from == from ? e.to : e.from;
}

// One side of the bidirectional search: who discovered each vertex, by
// which edge, at which depth.
struct SearchSide {
  struct Visit {
    std::string parent;
    Edge edge;
    uint32_t depth = 0;
  };
  Direction direction;
  std::unordered_map<std::string, Visit> visits;
  std::vector<std::string> frontier;
  uint32_t depth = 0;
};

// Vertices from the side's root to `v` (root first) and the edges between them.
void Chain(const SearchSide& side, const std::string& v, std::vector<std::string>* vertices,
           std::vector<Edge>* edges) {
  std::string cur = v;
  vertices->push_back(cur);
  for (;;) {
    const SearchSide::Visit& visit = side.visits.at(cur);
    if (visit.depth == 0) break;
    edges->push_back(visit.edge);
    cur = visit.parent;
    vertices->push_back(cur);
  }
  std::reverse(vertices->begin(), vertices->end());
  std::reverse(edges->begin(), edges->end());
}

Path JoinPath(const SearchSide& forward, const SearchSide& backward, const std::string& meet) {
  Path p;
  Chain(forward, meet, &p.vertices, &p.edges);
  std::vector<std::string> back_vertices;
  std::vector<Edge> back_edges;
  Chain(backward, meet, &back_vertices, &back_edges);
  // back_vertices runs to..meet; append it reversed without repeating `meet`.
  for (auto it = back_vertices.rbegin() + 1; it != back_vertices.rend(); ++it) {
    p.vertices.push_back(*it);
  }
  p.edges.insert(p.edges.end(), back_edges.rbegin(), back_edges.rend());
  return p;
}

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

Result<Subgraph> RocksGraphStore::Expand(std::string_view start, const ExpandOptions& options) {
  ReadView view(*db_);
  TANDEM_ASSIGN_OR_RETURN(Vertex root, VertexAt(view, start));
  Subgraph g;
  std::unordered_map<std::string, uint32_t> depth_of{{root.id, 0}};
  std::set<std::tuple<std::string, std::string, std::string>> edges_seen;
  g.vertices.push_back({std::move(root), 0});
  if (options.max_vertices == 0) {
    g.vertices.clear();
    g.truncated = true;
    return g;
  }
  for (size_t i = 0; i < g.vertices.size(); ++i) {
    const uint32_t depth = g.vertices[i].depth;
    if (depth >= options.max_depth) continue;
    const std::string id = g.vertices[i].vertex.id;
    std::vector<Edge> edges;
    TANDEM_RETURN_IF_ERROR(
        EdgesOf(view, id, options.direction, options.edge_labels, kUnlimited, &edges));
    for (Edge& e : edges) {
      const std::string other = OtherEnd(e, id);
      if (!depth_of.contains(other)) {
        if (g.vertices.size() >= options.max_vertices) {
          g.truncated = true;
          continue;
        }
        Result<Vertex> v = VertexAt(view, other);
        if (!v.ok()) {
          return Status::Corruption("graph: edge " + e.from + " -" + e.label + "-> " + e.to +
                                    " leads to a missing vertex: " + v.status().ToString());
        }
        depth_of.emplace(other, depth + 1);
        g.vertices.push_back({std::move(v).value(), depth + 1});
      }
      if (edges_seen.emplace(e.from, e.label, e.to).second) g.edges.push_back(std::move(e));
    }
  }
  return g;
}

Result<std::optional<Path>> RocksGraphStore::ShortestPath(std::string_view from,
                                                          std::string_view to,
                                                          const PathOptions& options) {
  ReadView view(*db_);
  TANDEM_RETURN_IF_ERROR(VertexAt(view, from).status());
  TANDEM_RETURN_IF_ERROR(VertexAt(view, to).status());
  if (from == to) return std::optional<Path>(Path{{std::string(from)}, {}});
  SearchSide fwd{options.direction, {}, {std::string(from)}, 0};
  SearchSide bwd{Reverse(options.direction), {}, {std::string(to)}, 0};
  fwd.visits.emplace(std::string(from), SearchSide::Visit{});
  bwd.visits.emplace(std::string(to), SearchSide::Visit{});
  size_t visited = 2;
  while (fwd.depth + bwd.depth < options.max_depth && !fwd.frontier.empty() &&
         !bwd.frontier.empty()) {
    const bool forward = fwd.frontier.size() <= bwd.frontier.size();
    SearchSide& side = forward ? fwd : bwd;
    const SearchSide& other = forward ? bwd : fwd;
    std::vector<std::string> next;
    std::optional<std::string> meet;
    uint32_t best = std::numeric_limits<uint32_t>::max();
    for (const std::string& u : side.frontier) {
      std::vector<Edge> edges;
      TANDEM_RETURN_IF_ERROR(
          EdgesOf(view, u, side.direction, options.edge_labels, kUnlimited, &edges));
      for (Edge& e : edges) {
        const std::string v = OtherEnd(e, u);
        if (side.visits.contains(v)) continue;
        if (++visited > options.max_visited) {
          return Status::TooLarge("shortest path: visited more than " +
                                  std::to_string(options.max_visited) + " vertices");
        }
        side.visits.emplace(v, SearchSide::Visit{u, std::move(e), side.depth + 1});
        if (auto it = other.visits.find(v); it != other.visits.end() && it->second.depth < best) {
          best = it->second.depth;
          meet = v;
        }
        next.push_back(v);
      }
    }
    ++side.depth;
    side.frontier = std::move(next);
    if (meet.has_value()) return std::optional<Path>(JoinPath(fwd, bwd, *meet));
  }
  return std::optional<Path>();
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
