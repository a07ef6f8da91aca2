// What the HTTP handlers of `tandem serve` share: the open log, stores, legs
// and producer, the metrics, a pool of event parsers, and the helpers that
// turn a Status into an HTTP response (the one place that maps codes).
// Internal to src/server: it includes httplib and nlohmann/json.
//
// Thread safety: Context members are safe for concurrent use once Start
// returned (Log, stores, legs, Producer, MetricsRegistry are thread-safe; the
// ParserPool is guarded by its mutex). Start/Stop mutate it from one thread
// while no handler runs.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/config.h"
#include "tandem/embed.h"
#include "tandem/enrich.h"
#include "tandem/event.h"
#include "tandem/graph.h"
#include "tandem/leg.h"
#include "tandem/log.h"
#include "tandem/metrics.h"
#include "tandem/producer.h"
#include "tandem/status.h"
#include "tandem/vector.h"

namespace tandem::server {

using Json = nlohmann::json;

// EventParsers are not thread-safe and hold reusable buffers: handlers borrow
// one for a request and give it back.
class ParserPool {
 public:
  ParserPool(Clock& clock, EventParserOptions options) : clock_(clock), options_(options) {}
  std::unique_ptr<EventParser> Acquire();
  void Release(std::unique_ptr<EventParser> parser);

 private:
  Clock& clock_;
  const EventParserOptions options_;
  std::mutex mu_;
  std::vector<std::unique_ptr<EventParser>> free_;  // GUARDED_BY(mu_)
};

// A leg with the name of the store it feeds ("graph", "vector").
struct LegEntry {
  std::string store;
  std::unique_ptr<Leg> leg;
};

struct Context {
  explicit Context(const Config& c) : config(c), parsers(SystemClock(), c.events) {}

  const Config config;
  std::unique_ptr<Log> log;
  std::unique_ptr<GraphStore> graph;  // nullptr when graph.enabled is false
  std::unique_ptr<Embedder> embedder;
  std::unique_ptr<VectorStore> vector;  // nullptr when vector.enabled is false
  std::vector<LegEntry> legs;
  // Enrichers and their legs (the legs are also in `legs`, as "enrich-<name>").
  std::vector<std::unique_ptr<Enricher>> enrichers;
  std::vector<EnrichLeg*> enrich_legs;
  std::unique_ptr<Producer> producer;
  MetricsRegistry metrics;
  Histogram* publish_duration = nullptr;
  ParserPool parsers;
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
};

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// ---- Responses (http_util.cc) ---------------------------------------------

// `body` as JSON (invalid UTF-8 replaced, never thrown).
void SendJson(httplib::Response& res, int status, const Json& body);
// {"error": {"code", "message"}}.
void SendError(httplib::Response& res, int status, std::string_view code, std::string_view message);
// The HTTP status for a non-OK Status: InvalidArgument 400, NotFound 404,
// TooLarge 413, Busy 429, NoSpace/IOError/Unavailable/Aborted 503,
// FailedPrecondition/AlreadyExists 409, Corruption 500.
int HttpStatusFor(StatusCode code);
// SendError with HttpStatusFor; adds Retry-After (Busy, Unavailable: 1 s;
// NoSpace: 5 s) and prefixes NoSpace's message with "disk full: ".
void SendStatus(httplib::Response& res, const Status& s);

// True when the request may proceed: no token configured, or the request
// carries "Authorization: Bearer <token>" (compared in constant time).
// Otherwise sends 401 with WWW-Authenticate: Bearer and returns false.
bool CheckAuth(const Context& ctx, const httplib::Request& req, httplib::Response& res);
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// ---- Query parameters (http_util.cc) ----------------------------------------

// The parameter as an integer in [min, max], `fallback` when absent.
// InvalidArgument "<name>: must be an integer <min>..<max>, got \"x\"".
Result<int64_t> IntParam(const httplib::Request& req, const std::string& name, int64_t fallback,
                         int64_t min, int64_t max);
// true/false (also 1/0); InvalidArgument naming the parameter otherwise.
Result<bool> BoolParam(const httplib::Request& req, const std::string& name, bool fallback);
// out|in|both.
Result<Direction> DirectionParam(const httplib::Request& req, const std::string& name,
                                 Direction fallback);
std::string_view DirectionName(Direction d);

// ---- JSON views of tandem values (http_util.cc) -----------------------------

// `text` parsed as JSON; the string itself when it is not JSON.
Json JsonOrString(std::string_view text);
Json PositionJson(const LogPosition& p);
Json EdgeJson(const Edge& e);
Json VertexJson(const Vertex& v);
Json LegStatsJson(const LegStats& s);

// ---- Routes -----------------------------------------------------------------

// Registers `handler` for `method` + `pattern`, instrumented under `route`
// (duration histogram; exceptions become 500).
using Register = std::function<void(const std::string& method, const std::string& pattern,
                                    const std::string& route, Handler handler)>;

void RegisterEventRoutes(Context& ctx, const Register& reg);  // event_routes.cc
void RegisterQueryRoutes(Context& ctx, const Register& reg);  // query_routes.cc
void RegisterAdminRoutes(Context& ctx, const Register& reg);  // admin_routes.cc
void RegisterAuditRoutes(Context& ctx, const Register& reg);  // audit_routes.cc
void RegisterEnrichRoutes(Context& ctx, const Register& reg);  // enrich_routes.cc

// The route label of a request path for tandem_http_requests_total
// ("/v1/entities/{id}", ...; "other" for unknown paths).
std::string RouteLabel(std::string_view method, std::string_view path);

// Registers every route (the four Register* above, /metrics and health), the
// JSON error handler and the per-request counter on `http` (routes.cc).
// `ctx` must outlive `http`'s use of the handlers.
void InstallRoutes(Context& ctx, httplib::Server& http);

// Registers the metric families and the collectors reading the legs and the
// vector store (metrics_setup.cc).
void SetUpMetrics(Context& ctx);

}  // namespace tandem::server
