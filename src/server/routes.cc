// InstallRoutes: every route, the error handler and the request counter on an
// httplib::Server. Separate from server.cc (which binds and listens) so that
// the HTTP fuzz target (fuzz/http_request_fuzz.cc) drives the very same
// routing through httplib::Server::process_request without a socket.
#include <chrono>
#include <string>

#include "server/context.h"

namespace tandem::server {
namespace {

// Registers `handler` under `route`'s duration histogram; an escaped
// exception becomes 500 "internal".
void Route(Context& ctx, httplib::Server& http, const std::string& method,
           const std::string& pattern, const std::string& route, Handler handler) {
  Histogram* duration = &ctx.metrics.AddHistogram("tandem_http_request_duration_seconds",
                                                  "Time to handle an HTTP request, by route",
                                                  Histogram::LatencyBuckets(), {{"route", route}});
  auto wrapped = [duration, h = std::move(handler)](const httplib::Request& req,
                                                    httplib::Response& res) {
    const auto started = std::chrono::steady_clock::now();
    try {
      h(req, res);
    } catch (const std::exception& e) {
      SendError(res, 500, "internal", std::string("unexpected: ") + e.what());
    }
    duration->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  };
  if (method == "GET") {
    http.Get(pattern, wrapped);
  } else {
    http.Post(pattern, wrapped);
  }
}

void InstallHealthRoutes(Context& ctx, const Register& reg) {
  reg("GET", "/metrics", "/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    res.set_content(ctx.metrics.Render(), "text/plain; version=0.0.4");
  });
  reg("GET", "/livez", "/livez", [](const httplib::Request&, httplib::Response& res) {
    SendJson(res, 200, Json{{"status", "alive"}});
  });
  auto ready = [&ctx](const httplib::Request&, httplib::Response& res) {
    if (ctx.ready.load()) return SendJson(res, 200, Json{{"status", "ready"}});
    res.set_header("Retry-After", "1");
    SendError(res, 503, "unavailable", ctx.stopping.load() ? "shutting down" : "starting");
  };
  reg("GET", "/readyz", "/readyz", ready);
  reg("GET", "/healthz", "/healthz", ready);
}

httplib::Server::HandlerResponse OnHttpError(const httplib::Request& req,
                                             httplib::Response& res) {
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  switch (res.status) {
    case 404:
      SendError(res, 404, "not_found", "no route for " + req.method + " " + req.path);
      break;
    case 413:
      SendError(res, 413, "too_large",
                "body: larger than server.max_body (Content-Length " +
                    req.get_header_value("Content-Length") + ")");
      break;
    default:
      SendError(res, res.status, "http_error",
                "HTTP " + std::to_string(res.status) + " for " + req.method + " " + req.path);
  }
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

void InstallRoutes(Context& ctx, httplib::Server& http) {
  Register reg = [&ctx, &http](const std::string& m, const std::string& p, const std::string& r,
                               Handler h) { Route(ctx, http, m, p, r, std::move(h)); };
  RegisterEventRoutes(ctx, reg);
  RegisterQueryRoutes(ctx, reg);
  RegisterAdminRoutes(ctx, reg);
  RegisterAuditRoutes(ctx, reg);
  RegisterEnrichRoutes(ctx, reg);
  InstallHealthRoutes(ctx, reg);
  http.set_error_handler(httplib::Server::HandlerWithResponse(OnHttpError));
  http.set_logger([&ctx](const httplib::Request& req, const httplib::Response& res) {
    ctx.metrics
        .AddCounter("tandem_http_requests_total", "HTTP requests, by route and status code",
                    {{"route", RouteLabel(req.method, req.path)},
                     {"code", std::to_string(res.status)}})
        .Increment();
  });
}

}  // namespace tandem::server
