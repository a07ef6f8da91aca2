// The traversal algorithms shared by the graph stores (RocksDB:
// src/graph/traversal.cc, PostgreSQL: src/pggraph/pg_read.cc): k-hop
// breadth-first expansion and bidirectional shortest path, written over two
// callbacks that fetch a whole frontier at once. So both backends give the
// same answers within the same limits, and a backend with round trips (SQL)
// pays one per breadth-first level instead of one per vertex.
//
// Visiting order: a level's vertices in the order they were discovered, each
// vertex's edges in the order the callback returns them (the stores: out-edges,
// then in-edges; by label length, label, other end; only the requested labels,
// in their order, when any are given; a self-loop once for Direction::kBoth).
//
// Thread safety: pure functions; the callbacks run on the caller's thread.
#pragma once

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tandem/graph.h"
#include "tandem/status.h"

namespace tandem::graph_internal {

// The edges of each of `ids` in `direction` (an id without edges may be
// missing from the map). Edge labels are the caller's to filter.
using FrontierEdgesFn = std::function<Result<std::map<std::string, std::vector<Edge>>>(
    const std::vector<std::string>& ids, Direction direction)>;
// The vertices among `ids`; an id that is not a vertex is missing from the map.
using LoadVerticesFn =
    std::function<Result<std::map<std::string, Vertex>>(const std::vector<std::string>& ids)>;

namespace path_search_detail {

inline Direction Reverse(Direction d) {
  if (d == Direction::kOut) return Direction::kIn;
  if (d == Direction::kIn) return Direction::kOut;
  return Direction::kBoth;
}

// The end of `e` that is not `from` (`from` itself for a self-loop).
inline const std::string& OtherEnd(const Edge& e, std::string_view from) {
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
inline void Chain(const SearchSide& side, const std::string& v, std::vector<std::string>* vertices,
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

inline Path JoinPath(const SearchSide& forward, const SearchSide& backward,
                     const std::string& meet) {
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

}  // namespace path_search_detail

// Breadth-first expansion from `root` within the options' limits (see
// GraphStore::Expand). Corruption when an edge leads to a vertex that
// `load` does not find.
inline Result<Subgraph> BreadthFirstExpand(Vertex root, const ExpandOptions& options,
                                           const FrontierEdgesFn& edges_of,
                                           const LoadVerticesFn& load) {
  using path_search_detail::OtherEnd;
  Subgraph g;
  if (options.max_vertices == 0) {
    g.truncated = true;
    return g;
  }
  std::unordered_map<std::string, uint32_t> depth_of{{root.id, 0}};
  std::set<std::tuple<std::string, std::string, std::string>> edges_seen;
  std::map<std::string, Edge> found_by;  // the edge that discovered each vertex
  g.vertices.push_back({std::move(root), 0});
  for (size_t level_begin = 0; level_begin < g.vertices.size();) {
    const size_t level_end = g.vertices.size();
    const uint32_t depth = g.vertices[level_begin].depth;
    if (depth >= options.max_depth) break;
    std::vector<std::string> ids;
    for (size_t i = level_begin; i < level_end; ++i) ids.push_back(g.vertices[i].vertex.id);
    TANDEM_ASSIGN_OR_RETURN(auto edges, edges_of(ids, options.direction));
    std::vector<std::string> discovered;
    for (const std::string& id : ids) {
      for (Edge& e : edges[id]) {
        const std::string other = OtherEnd(e, id);
        if (!depth_of.contains(other)) {
          if (g.vertices.size() >= options.max_vertices) {
            g.truncated = true;
            continue;
          }
          depth_of.emplace(other, depth + 1);
          discovered.push_back(other);
          found_by.emplace(other, e);
          g.vertices.push_back({Vertex{}, depth + 1});
          g.vertices.back().vertex.id = other;
        }
        if (edges_seen.emplace(e.from, e.label, e.to).second) g.edges.push_back(std::move(e));
      }
    }
    TANDEM_ASSIGN_OR_RETURN(auto loaded, load(discovered));
    for (size_t i = level_end; i < g.vertices.size(); ++i) {
      const std::string& id = g.vertices[i].vertex.id;
      auto it = loaded.find(id);
      if (it == loaded.end()) {
        const Edge& e = found_by.at(id);
        return Status::Corruption("graph: edge " + e.from + " -" + e.label + "-> " + e.to +
                                  " leads to the missing vertex \"" + id + "\"");
      }
      g.vertices[i].vertex = std::move(it->second);
    }
    level_begin = level_end;
  }
  return g;
}

// A shortest path from `from` to `to` (both known vertices) of at most
// options.max_depth edges, expanding the smaller frontier first; nullopt
// when there is none within the bound; TooLarge past max_visited vertices.
inline Result<std::optional<Path>> BidirectionalShortestPath(std::string_view from,
                                                             std::string_view to,
                                                             const PathOptions& options,
                                                             const FrontierEdgesFn& edges_of) {
  using path_search_detail::OtherEnd;
  using path_search_detail::SearchSide;
  if (from == to) return std::optional<Path>(Path{{std::string(from)}, {}});
  SearchSide fwd{options.direction, {}, {std::string(from)}, 0};
  SearchSide bwd{path_search_detail::Reverse(options.direction), {}, {std::string(to)}, 0};
  fwd.visits.emplace(std::string(from), SearchSide::Visit{});
  bwd.visits.emplace(std::string(to), SearchSide::Visit{});
  size_t visited = 2;
  while (fwd.depth + bwd.depth < options.max_depth && !fwd.frontier.empty() &&
         !bwd.frontier.empty()) {
    const bool forward = fwd.frontier.size() <= bwd.frontier.size();
    SearchSide& side = forward ? fwd : bwd;
    const SearchSide& other = forward ? bwd : fwd;
    TANDEM_ASSIGN_OR_RETURN(auto edges, edges_of(side.frontier, side.direction));
    std::vector<std::string> next;
    std::optional<std::string> meet;
    uint32_t best = std::numeric_limits<uint32_t>::max();
    for (const std::string& u : side.frontier) {
      for (Edge& e : edges[u]) {
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
    if (meet.has_value()) {
      return std::optional<Path>(path_search_detail::JoinPath(fwd, bwd, *meet));
    }
  }
  return std::optional<Path>();
}

}  // namespace tandem::graph_internal
