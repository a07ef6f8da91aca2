// Read routes: GET /v1/entities/{id}, /v1/search, /v1/graph/{id}/neighbors,
// /v1/graph/path.
#include <charconv>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "server/context.h"

namespace tandem::server {
namespace {


Json MarkerJson(const AppliedMarker& m) {
  Json j{{"event_id", m.event_id},
         {"version", nullptr},
         {"deleted", m.deleted},
         {"position", PositionJson(m.position)}};
  if (m.version) j["version"] = *m.version;
  return j;
}

bool SameMarker(const AppliedMarker& a, const AppliedMarker& b) {
  return a.event_id == b.event_id && a.version == b.version && a.deleted == b.deleted;
}

// The graph part of the entity view; null when the graph does not know `id`.
// Edges counted per label and direction are capped at
// server.entity_edge_summary (beyond it the counts are marked truncated); the
// first server.entity_neighbors edges are listed.
Result<Json> GraphView(GraphStore& g, const ServerConfig& limits, const std::string& id) {
  const size_t summary_limit = limits.entity_edge_summary;
  Result<Vertex> v = g.GetVertex(id);
  if (!v.ok()) {
    if (v.status().IsNotFound()) return Json(nullptr);
    return v.status();
  }
  Json j = VertexJson(*v);
  Json edges{{"out", Json::object()}, {"in", Json::object()}, {"truncated", false}};
  for (Direction d : {Direction::kOut, Direction::kIn}) {
    TANDEM_ASSIGN_OR_RETURN(std::vector<Edge> all, g.Neighbors(id, d, "", summary_limit));
    std::map<std::string, uint64_t> counts;
    for (const Edge& e : all) ++counts[e.label];
    Json& side = edges[d == Direction::kOut ? "out" : "in"];
    for (const auto& [label, n] : counts) side[label] = n;
    if (all.size() >= summary_limit) edges["truncated"] = true;
  }
  j["edges"] = std::move(edges);
  TANDEM_ASSIGN_OR_RETURN(std::vector<Edge> first,
                          g.Neighbors(id, Direction::kBoth, "", limits.entity_neighbors));
  Json neighbors = Json::array();
  for (const Edge& e : first) neighbors.push_back(EdgeJson(e));
  j["neighbors"] = std::move(neighbors);
  return j;
}

void GetEntity(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  Json body{{"id", id}, {"graph", nullptr}, {"vector", nullptr}};
  Json positions{{"graph", nullptr}, {"vector", nullptr}};
  std::optional<AppliedMarker> graph_marker, vector_marker;
  if (ctx.graph) {
    Result<Json> g = GraphView(*ctx.graph, ctx.config.server, id);
    if (!g.ok()) return SendStatus(res, g.status().WithContext("graph"));
    body["graph"] = std::move(*g);
    Result<EntityState> st = ctx.graph->Get(id);
    if (st.ok()) {
      graph_marker = st->marker;
      positions["graph"] = MarkerJson(st->marker);
    } else if (!st.status().IsNotFound()) {
      return SendStatus(res, st.status().WithContext("graph"));
    }
  }
  if (ctx.vector) {
    Result<VectorDocument> d = ctx.vector->GetDocument(id);
    if (d.ok()) {
      vector_marker = d->state.marker;
      positions["vector"] = MarkerJson(d->state.marker);
      body["vector"] = Json{{"entity_type", d->state.entity_type},
                            {"payload", JsonOrString(d->state.payload)},
                            {"text", d->text ? Json(*d->text) : Json(nullptr)},
                            {"indexed", d->indexed},
                            {"deleted", d->state.deleted()},
                            {"marker", MarkerJson(d->state.marker)}};
    } else if (!d.status().IsNotFound()) {
      return SendStatus(res, d.status().WithContext("vector"));
    }
  }
  if (body["graph"].is_null() && body["vector"].is_null()) {
    return SendError(res, 404, "not_found", "entity \"" + id + "\": no store knows it");
  }
  bool agree = false;
  if (ctx.graph && ctx.vector) {
    agree = (!graph_marker && !vector_marker) ||
            (graph_marker && vector_marker && SameMarker(*graph_marker, *vector_marker));
  } else {
    agree = true;  // one store: nothing to disagree with
  }
  body["agree"] = agree;
  body["positions"] = std::move(positions);
  SendJson(res, 200, body);
}

// "42" → 42, "true" → true, anything else → a JSON string.
std::string FilterValue(const std::string& v) {
  if (v == "true" || v == "false") return v;
  double d = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (!v.empty() && ec == std::errc() && end == v.data() + v.size() &&
      v.find_first_of("xXnN") == std::string::npos) {
    return v;
  }
  return Json(v).dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<FieldFilter> ParseFilter(const std::string& name, const std::string& value) {
  static const std::map<std::string, FieldFilter::Op> kOps = {{"ne", FieldFilter::Op::kNe},
                                                              {"lt", FieldFilter::Op::kLt},
                                                              {"lte", FieldFilter::Op::kLe},
                                                              {"gt", FieldFilter::Op::kGt},
                                                              {"gte", FieldFilter::Op::kGe}};
  FieldFilter f;
  f.field = name;
  const size_t sep = name.rfind("__");
  if (sep != std::string::npos) {
    const std::string op = name.substr(sep + 2);
    auto it = kOps.find(op);
    if (it == kOps.end()) {
      return Status::InvalidArgument(name + ": unknown operator \"__" + op +
                                     "\"; use __ne, __lt, __lte, __gt or __gte");
    }
    f.op = it->second;
    f.field = name.substr(0, sep);
  }
  if (f.field.empty()) return Status::InvalidArgument(name + ": empty field name");
  f.value = FilterValue(value);
  return f;
}

Result<VectorQuery> ParseSearch(const httplib::Request& req, uint32_t* enrich) {
  static const std::set<std::string> kReserved = {"q", "k", "type", "enrich", "exact", "ef"};
  VectorQuery q;
  if (!req.has_param("q") || req.get_param_value("q").empty()) {
    return Status::InvalidArgument("q: required (the text to search for)");
  }
  q.text = req.get_param_value("q");
  TANDEM_ASSIGN_OR_RETURN(int64_t k, IntParam(req, "k", 10, 1, 1000));
  q.k = static_cast<size_t>(k);
  TANDEM_ASSIGN_OR_RETURN(int64_t e, IntParam(req, "enrich", 1, 0, 3));
  *enrich = static_cast<uint32_t>(e);
  TANDEM_ASSIGN_OR_RETURN(q.exact, BoolParam(req, "exact", false));
  TANDEM_ASSIGN_OR_RETURN(int64_t ef, IntParam(req, "ef", 0, 0, 10'000));
  q.ef = static_cast<size_t>(ef);
  for (size_t i = 0, n = req.get_param_value_count("type"); i < n; ++i) {
    q.entity_types.push_back(req.get_param_value("type", i));
  }
  for (const auto& [name, value] : req.params) {
    if (kReserved.contains(name)) continue;
    TANDEM_ASSIGN_OR_RETURN(FieldFilter f, ParseFilter(name, value));
    q.filters.push_back(std::move(f));
  }
  return q;
}

Json SubgraphJson(const Subgraph& s) {
  Json vertices = Json::array();
  for (const Subgraph::Entry& e : s.vertices) {
    Json v = VertexJson(e.vertex);
    v["depth"] = e.depth;
    vertices.push_back(std::move(v));
  }
  Json edges = Json::array();
  for (const Edge& e : s.edges) edges.push_back(EdgeJson(e));
  return Json{
      {"vertices", std::move(vertices)}, {"edges", std::move(edges)}, {"truncated", s.truncated}};
}

void Search(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const auto started = std::chrono::steady_clock::now();
  if (!ctx.vector) return SendError(res, 503, "unavailable", "vector: the store is disabled");
  uint32_t enrich = 1;
  Result<VectorQuery> q = ParseSearch(req, &enrich);
  if (!q.ok()) return SendStatus(res, q.status());
  Result<std::vector<VectorHit>> hits = ctx.vector->Search(*q);
  if (!hits.ok()) return SendStatus(res, hits.status());
  Json out = Json::array();
  for (const VectorHit& h : *hits) {
    Json hit{{"entity_id", h.entity_id}, {"entity_type", h.entity_type},
             {"score", h.score},         {"payload", JsonOrString(h.payload)},
             {"text", h.text},           {"graph", nullptr}};
    if (ctx.graph) {
      ExpandOptions o;
      o.max_depth = enrich;
      o.max_vertices = ctx.config.server.search_context_vertices;
      Result<Subgraph> s = ctx.graph->Expand(h.entity_id, o);
      if (s.ok()) {
        hit["graph"] = SubgraphJson(*s);
      } else if (!s.status().IsNotFound()) {
        return SendStatus(res, s.status().WithContext("graph"));
      }
    }
    out.push_back(std::move(hit));
  }
  const double took =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  SendJson(res, 200,
           Json{{"query", *q->text},
                {"k", q->k},
                {"enrich", enrich},
                {"hits", std::move(out)},
                {"took_ms", took}});
}

void Neighbors(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!ctx.graph) return SendError(res, 503, "unavailable", "graph: the store is disabled");
  const std::string id = req.matches[1];
  Result<Direction> d = DirectionParam(req, "direction", Direction::kBoth);
  if (!d.ok()) return SendStatus(res, d.status());
  Result<int64_t> limit = IntParam(req, "limit", 100, 1, 10'000);
  if (!limit.ok()) return SendStatus(res, limit.status());
  const std::string label = req.get_param_value("label");
  Result<std::vector<Edge>> edges =
      ctx.graph->Neighbors(id, *d, label, static_cast<size_t>(*limit));
  if (!edges.ok()) return SendStatus(res, edges.status());
  Json list = Json::array();
  for (const Edge& e : *edges) {
    Json j = EdgeJson(e);
    j["neighbor"] = e.from == id ? e.to : e.from;
    list.push_back(std::move(j));
  }
  SendJson(res, 200,
           Json{{"id", id},
                {"direction", DirectionName(*d)},
                {"label", label},
                {"count", list.size()},
                {"edges", std::move(list)}});
}

void ShortestPath(Context& ctx, const httplib::Request& req, httplib::Response& res) {
  if (!ctx.graph) return SendError(res, 503, "unavailable", "graph: the store is disabled");
  for (const char* p : {"from", "to"}) {
    if (req.get_param_value(p).empty()) {
      return SendError(res, 400, "invalid_argument", std::string(p) + ": required");
    }
  }
  PathOptions o;
  Result<int64_t> depth = IntParam(req, "max_depth", 6, 1, 12);
  if (!depth.ok()) return SendStatus(res, depth.status());
  Result<Direction> d = DirectionParam(req, "direction", Direction::kBoth);
  if (!d.ok()) return SendStatus(res, d.status());
  o.max_depth = static_cast<uint32_t>(*depth);
  o.direction = *d;
  const std::string from = req.get_param_value("from"), to = req.get_param_value("to");
  Result<std::optional<Path>> p = ctx.graph->ShortestPath(from, to, o);
  if (!p.ok()) {
    if (p.status().code() == StatusCode::kTooLarge) {
      return SendError(res, 422, "too_large", p.status().message());
    }
    return SendStatus(res, p.status());
  }
  if (!p->has_value()) {
    return SendError(res, 404, "not_found",
                     "no path within max_depth " + std::to_string(o.max_depth) + " from \"" + from +
                         "\" to \"" + to + "\"");
  }
  Json edges = Json::array();
  for (const Edge& e : (*p)->edges) edges.push_back(EdgeJson(e));
  SendJson(res, 200,
           Json{{"from", from},
                {"to", to},
                {"length", (*p)->edges.size()},
                {"vertices", (*p)->vertices},
                {"edges", std::move(edges)}});
}

}  // namespace

void RegisterQueryRoutes(Context& ctx, const Register& reg) {
  reg("GET", R"(/v1/entities/([^/]+))", "/v1/entities/{id}",
      [&ctx](const httplib::Request& q, httplib::Response& r) { GetEntity(ctx, q, r); });
  reg("GET", "/v1/search", "/v1/search",
      [&ctx](const httplib::Request& q, httplib::Response& r) { Search(ctx, q, r); });
  reg("GET", "/v1/graph/path", "/v1/graph/path",
      [&ctx](const httplib::Request& q, httplib::Response& r) { ShortestPath(ctx, q, r); });
  reg("GET", R"(/v1/graph/([^/]+)/neighbors)", "/v1/graph/{id}/neighbors",
      [&ctx](const httplib::Request& q, httplib::Response& r) { Neighbors(ctx, q, r); });
}

}  // namespace tandem::server
