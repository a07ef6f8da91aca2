// Reads of the PostgreSQL graph store: entity state, positions, digest, the
// audit scan and the traversals. Each call runs in one REPEATABLE READ READ
// ONLY transaction, so it sees one committed state.
//
// Traversals run the algorithms the RocksDB store runs (graph/path_search.h)
// with the same edge order within a vertex, so both backends return the same
// subgraphs and paths; each breadth-first level costs one round trip for the
// edges of the whole frontier and one for the vertices it discovers. A recursive CTE cannot stop at
// max_vertices in breadth-first order nor search from both ends, which the limits need.

#include <algorithm>
#include <limits>
#include <utility>

#include "graph/path_search.h"
#include "pggraph/pg_store.h"

namespace tandem::pggraph_internal {
namespace {

constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();

long long SqlLimit(size_t n) {
  return static_cast<long long>(std::min<size_t>(n, std::numeric_limits<long long>::max()));
}

Edge EdgeFrom(const pqxx::row& r) {
  return Edge{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
              r[3].as<uint32_t>()};
}

// Appends `edges` (already in key order) to `out`: all of them, or those of
// each of `labels` in turn; stops when `out` holds `stop_at`.
void Emit(const std::vector<Edge>& edges, const std::vector<std::string>& labels,
          const std::function<bool(const Edge&)>& keep, size_t stop_at, std::vector<Edge>* out) {
  auto emit_label = [&](const std::string* label) {
    for (const Edge& e : edges) {
      if (out->size() >= stop_at) return;
      if (label != nullptr && e.label != *label) continue;
      if (keep(e)) out->push_back(e);
    }
  };
  if (labels.empty()) emit_label(nullptr);
  for (const std::string& l : labels) emit_label(&l);
}

Status NotAVertex(std::string_view id) {
  return Status::NotFound("vertex \"" + std::string(id) + "\"");
}

}  // namespace

// ---- Store reads -------------------------------------------------------------

Result<PositionMap> PgGraphStore::Positions() {
  PositionMap out;
  TANDEM_RETURN_IF_ERROR(RunRead("positions", [&](pqxx::transaction_base& t) -> Status {
    for (const pqxx::row& r : t.exec_prepared("positions")) {
      out[{r[0].as<std::string>(), static_cast<uint32_t>(r[1].as<int64_t>())}] =
          std::stoull(r[2].as<std::string>());
    }
    return Status::OK();
  }));
  return out;
}

Result<EntityState> PgGraphStore::Get(std::string_view entity_id) {
  std::optional<Row> row;
  TANDEM_RETURN_IF_ERROR(RunRead("get", [&](pqxx::transaction_base& t) -> Status {
    pqxx::result r = t.exec_prepared("get", std::string(entity_id));
    if (!r.empty()) row = RowFrom(r[0]);
    return Status::OK();
  }));
  if (!row.has_value() || !row->has_marker || Expired(row->marker, clock_.NowMicros())) {
    return Status::NotFound("entity \"" + std::string(entity_id) + "\"");
  }
  EntityState s;
  s.entity_id = std::move(row->id);
  s.entity_type = std::move(row->entity_type);
  s.payload = std::move(row->payload);
  s.marker = std::move(row->marker);
  return s;
}

Status PgGraphStore::ScanRows(pqxx::transaction_base& t, const std::string& statement,
                              std::string_view begin, std::string_view end,
                              const std::function<Result<bool>(Row&)>& fn) {
  std::string lower(begin);
  const std::string upper(end);
  for (;;) {
    pqxx::result r = t.exec_prepared(statement, lower, upper, SqlLimit(options_.scan_page_rows));
    for (const pqxx::row& pr : r) {
      Row row = RowFrom(pr);
      // Ids hold no NUL, so in byte order the least id after `row.id` is
      // row.id + "\x01": the next page starts there.
      lower = row.id + '\x01';
      TANDEM_ASSIGN_OR_RETURN(bool more, fn(row));
      if (!more) return Status::OK();
    }
    if (r.size() < options_.scan_page_rows) return Status::OK();
  }
}

Result<StoreDigest> PgGraphStore::Digest() {
  StoreDigest d;
  TANDEM_RETURN_IF_ERROR(RunRead("digest", [&](pqxx::transaction_base& t) -> Status {
    d = StoreDigest{};
    return ScanRows(t, "scan_live", "", "", [&](Row& r) -> Result<bool> {
      d.Add(EntityHash(r.entity_type, r.id, r.marker.version, r.payload));
      return true;
    });
  }));
  return d;
}

Status PgGraphStore::ScanEntities(std::string_view begin, std::string_view end,
                                  const EntityVisitor& fn) {
  const int64_t now = clock_.NowMicros();
  return RunRead("scan entities", [&](pqxx::transaction_base& t) -> Status {
    return ScanRows(t, "scan_marked", begin, end, [&](Row& r) -> Result<bool> {
      if (Expired(r.marker, now)) return true;
      EntityState s;
      s.entity_id = std::move(r.id);
      s.entity_type = std::move(r.entity_type);
      s.payload = std::move(r.payload);
      s.marker = std::move(r.marker);
      return fn(s);
    });
  });
}

// ---- Graph reads ------------------------------------------------------------

Result<std::map<std::string, Vertex>> PgGraphStore::LoadVertices(
    pqxx::transaction_base& t, const std::vector<std::string>& ids) {
  std::map<std::string, Vertex> out;
  if (ids.empty()) return out;
  for (const pqxx::row& pr : t.exec_prepared("vertices", TextArray(ids))) {
    const Row r = RowFrom(pr);
    const uint64_t units = pr[13].as<uint64_t>();
    TANDEM_ASSIGN_OR_RETURN(std::vector<OwnRef> own, OwnRefs(r));
    Vertex v;
    v.id = r.id;
    v.placeholder = !r.live() && r.referenced;
    v.deleted = r.tombstone();
    // As the RocksDB store: every unit of multiplicity is one declaration by
    // one end; the vertex's own declarations are not references to it.
    v.references = units - std::min<uint64_t>(units, own.size());
    if (r.live()) {
      v.label = r.entity_type;
      v.properties = r.payload;
    }
    if (r.has_marker) {
      v.version = r.marker.version;
      v.position = r.marker.position;
    }
    out.emplace(r.id, std::move(v));
  }
  return out;
}

Result<std::map<std::string, std::vector<Edge>>> PgGraphStore::EdgesOf(
    pqxx::transaction_base& t, const std::vector<std::string>& ids, Direction direction,
    const std::vector<std::string>& labels, size_t limit) {
  std::map<std::string, std::vector<Edge>> outs, ins, result;
  const std::string id_array = TextArray(ids);
  const std::string label_array = TextArray(labels);
  // A SQL limit is exact only for one vertex and at most one label.
  const long long sql_limit =
      ids.size() == 1 && labels.size() <= 1 ? SqlLimit(limit) : SqlLimit(kUnlimited);
  if (direction != Direction::kIn) {
    for (const pqxx::row& r : t.exec_prepared("out_edges", id_array, label_array, sql_limit)) {
      Edge e = EdgeFrom(r);
      outs[e.from].push_back(std::move(e));
    }
  }
  if (direction != Direction::kOut) {
    for (const pqxx::row& r : t.exec_prepared("in_edges", id_array, label_array, sql_limit)) {
      Edge e = EdgeFrom(r);
      ins[e.to].push_back(std::move(e));
    }
  }
  for (const std::string& id : ids) {
    std::vector<Edge>& out = result[id];
    const size_t stop_at = limit;
    if (auto it = outs.find(id); it != outs.end()) {
      Emit(
          it->second, labels, [](const Edge&) { return true; }, stop_at, &out);
    }
    if (auto it = ins.find(id); it != ins.end()) {
      // A self-loop was already reported as an out-edge.
      auto keep = [&](const Edge& e) { return direction != Direction::kBoth || e.from != id; };
      Emit(it->second, labels, keep, stop_at, &out);
    }
  }
  return result;
}

Result<Vertex> PgGraphStore::GetVertex(std::string_view id) {
  std::optional<Vertex> v;
  TANDEM_RETURN_IF_ERROR(RunRead("get vertex", [&](pqxx::transaction_base& t) -> Status {
    TANDEM_ASSIGN_OR_RETURN(auto found, LoadVertices(t, {std::string(id)}));
    if (!found.empty()) v = std::move(found.begin()->second);
    return Status::OK();
  }));
  if (!v.has_value()) return NotAVertex(id);
  return std::move(*v);
}

Result<std::vector<Edge>> PgGraphStore::Neighbors(std::string_view id, Direction direction,
                                                  std::string_view edge_label, size_t limit) {
  std::vector<Edge> out;
  TANDEM_RETURN_IF_ERROR(RunRead("neighbors", [&](pqxx::transaction_base& t) -> Status {
    const std::string key(id);
    TANDEM_ASSIGN_OR_RETURN(auto found, LoadVertices(t, {key}));
    if (found.empty()) return NotAVertex(id);
    std::vector<std::string> labels;
    if (!edge_label.empty()) labels.emplace_back(edge_label);
    TANDEM_ASSIGN_OR_RETURN(auto edges, EdgesOf(t, {key}, direction, labels, limit));
    out = std::move(edges[key]);
    return Status::OK();
  }));
  return out;
}

Result<Subgraph> PgGraphStore::Expand(std::string_view start, const ExpandOptions& options) {
  Subgraph g;
  TANDEM_RETURN_IF_ERROR(RunRead("expand", [&](pqxx::transaction_base& t) -> Status {
    TANDEM_ASSIGN_OR_RETURN(auto roots, LoadVertices(t, {std::string(start)}));
    if (roots.empty()) return NotAVertex(start);
    auto edges = [&](const std::vector<std::string>& ids, Direction d) {
      return EdgesOf(t, ids, d, options.edge_labels, kUnlimited);
    };
    auto load = [&](const std::vector<std::string>& ids) { return LoadVertices(t, ids); };
    TANDEM_ASSIGN_OR_RETURN(g, graph_internal::BreadthFirstExpand(std::move(roots.begin()->second),
                                                                  options, edges, load));
    return Status::OK();
  }));
  return g;
}

Result<std::optional<Path>> PgGraphStore::ShortestPath(std::string_view from, std::string_view to,
                                                       const PathOptions& options) {
  std::optional<Path> found;
  TANDEM_RETURN_IF_ERROR(RunRead("shortest path", [&](pqxx::transaction_base& t) -> Status {
    TANDEM_ASSIGN_OR_RETURN(auto ends, LoadVertices(t, {std::string(from), std::string(to)}));
    if (!ends.contains(std::string(from))) return NotAVertex(from);
    if (!ends.contains(std::string(to))) return NotAVertex(to);
    auto edges = [&](const std::vector<std::string>& ids, Direction d) {
      return EdgesOf(t, ids, d, options.edge_labels, kUnlimited);
    };
    TANDEM_ASSIGN_OR_RETURN(found,
                            graph_internal::BidirectionalShortestPath(from, to, options, edges));
    return Status::OK();
  }));
  return found;
}

Result<std::map<std::string, uint64_t>> PgGraphStore::CountByLabel() {
  std::map<std::string, uint64_t> out;
  TANDEM_RETURN_IF_ERROR(RunRead("count by label", [&](pqxx::transaction_base& t) -> Status {
    for (const pqxx::row& r : t.exec_prepared("count_labels")) {
      out[r[0].as<std::string>()] = r[1].as<uint64_t>();
    }
    return Status::OK();
  }));
  return out;
}

Result<std::vector<std::string>> PgGraphStore::VerticesWithLabel(std::string_view label,
                                                                 size_t limit) {
  std::vector<std::string> out;
  TANDEM_RETURN_IF_ERROR(RunRead("vertices with label", [&](pqxx::transaction_base& t) -> Status {
    for (const pqxx::row& r : t.exec_prepared("with_label", std::string(label), SqlLimit(limit))) {
      out.push_back(r[0].as<std::string>());
    }
    return Status::OK();
  }));
  return out;
}

}  // namespace tandem::pggraph_internal
