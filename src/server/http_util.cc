// Response, authentication and parameter helpers shared by every route.
#include <charconv>
#include <string>

#include "server/context.h"

namespace tandem::server {

std::unique_ptr<EventParser> ParserPool::Acquire() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!free_.empty()) {
      std::unique_ptr<EventParser> p = std::move(free_.back());
      free_.pop_back();
      return p;
    }
  }
  return std::make_unique<EventParser>(clock_, options_);
}

void ParserPool::Release(std::unique_ptr<EventParser> parser) {
  std::lock_guard<std::mutex> l(mu_);
  if (free_.size() < 64) free_.push_back(std::move(parser));
}

void SendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n",
                  "application/json");
}

void SendError(httplib::Response& res, int status, std::string_view code,
               std::string_view message) {
  SendJson(res, status,
           Json{{"error", {{"code", std::string(code)}, {"message", std::string(message)}}}});
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kTooLarge:
      return 413;
    case StatusCode::kBusy:
      return 429;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kCorruption:
      return 500;
    case StatusCode::kNoSpace:
    case StatusCode::kIOError:
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
      return 503;
  }
  return 500;
}

void SendStatus(httplib::Response& res, const Status& s) {
  std::string message = s.message();
  switch (s.code()) {
    case StatusCode::kNoSpace:
      res.set_header("Retry-After", "5");
      message = "disk full: " + message;
      break;
    case StatusCode::kBusy:
    case StatusCode::kUnavailable:
      res.set_header("Retry-After", "1");
      break;
    default:
      break;
  }
  SendError(res, HttpStatusFor(s.code()), StatusCodeName(s.code()), message);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Every byte of the longer input is looked at whatever the contents, so the
  // time depends only on the lengths.
  const size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

bool CheckAuth(const Context& ctx, const httplib::Request& req, httplib::Response& res) {
  const std::string& token = ctx.config.server.auth_token;
  if (token.empty()) return true;
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() > kBearer.size() && header.compare(0, kBearer.size(), kBearer) == 0 &&
      ConstantTimeEquals(std::string_view(header).substr(kBearer.size()), token)) {
    return true;
  }
  res.set_header("WWW-Authenticate", "Bearer realm=\"tandem\"");
  SendError(res, 401, "unauthenticated",
            header.empty() ? "Authorization: a bearer token is required for this route"
                           : "Authorization: the bearer token is not valid");
  return false;
}

Result<int64_t> IntParam(const httplib::Request& req, const std::string& name, int64_t fallback,
                         int64_t min, int64_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size() || out < min || out > max) {
    return Status::InvalidArgument(name + ": must be an integer " + std::to_string(min) + ".." +
                                   std::to_string(max) + ", got \"" + v + "\"");
  }
  return out;
}

Result<bool> BoolParam(const httplib::Request& req, const std::string& name, bool fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return Status::InvalidArgument(name + ": must be true or false, got \"" + v + "\"");
}

Result<Direction> DirectionParam(const httplib::Request& req, const std::string& name,
                                 Direction fallback) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  if (v == "out") return Direction::kOut;
  if (v == "in") return Direction::kIn;
  if (v == "both") return Direction::kBoth;
  return Status::InvalidArgument(name + ": must be out, in or both, got \"" + v + "\"");
}

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kOut:
      return "out";
    case Direction::kIn:
      return "in";
    case Direction::kBoth:
      return "both";
  }
  return "both";
}

Json JsonOrString(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Json(std::string(text));
  return j;
}

Json PositionJson(const LogPosition& p) {
  return Json{{"topic", p.topic}, {"partition", p.partition}, {"offset", p.offset}};
}

Json EdgeJson(const Edge& e) {
  return Json{{"from", e.from}, {"label", e.label}, {"to", e.to}, {"multiplicity", e.multiplicity}};
}

Json VertexJson(const Vertex& v) {
  Json j{{"id", v.id},
         {"label", v.label},
         {"placeholder", v.placeholder},
         {"deleted", v.deleted},
         {"properties", JsonOrString(v.properties)},
         {"version", nullptr},
         {"position", nullptr},
         {"references", v.references}};
  if (v.version) j["version"] = *v.version;
  if (v.position) j["position"] = PositionJson(*v.position);
  return j;
}

Json LegStatsJson(const LegStats& s) {
  return Json{{"consumed", s.consumed},
              {"acknowledged", s.acknowledged},
              {"applied", s.applied},
              {"skipped_stale", s.skipped_stale},
              {"skipped_duplicate", s.skipped_duplicate},
              {"dead_lettered_undecodable", s.dead_lettered_undecodable},
              {"dead_lettered_permanent", s.dead_lettered_permanent},
              {"dead_lettered_exhausted", s.dead_lettered_exhausted},
              {"transient_errors", s.transient_errors},
              {"held_back", s.held_back},
              {"retries", s.retries},
              {"nacked", s.nacked},
              {"released", s.released},
              {"settle_errors", s.settle_errors},
              {"dead_letter_errors", s.dead_letter_errors},
              {"poll_errors", s.poll_errors},
              {"sink_calls", s.sink_calls},
              {"sink_failures", s.sink_failures},
              {"batch_events", s.batch_events},
              {"max_batch_events", s.max_batch_events},
              {"apply_latency_us_sum", s.apply_latency_us_sum},
              {"apply_latency_us_max", s.apply_latency_us_max},
              {"breaker_opens", s.breaker_opens},
              {"breaker_half_opens", s.breaker_half_opens},
              {"breaker_closes", s.breaker_closes},
              {"redelivery_window_at_start", s.redelivery_window_at_start}};
}

std::string RouteLabel(std::string_view method, std::string_view path) {
  auto starts = [&](std::string_view p) { return path.substr(0, p.size()) == p; };
  auto ends = [&](std::string_view p) {
    return path.size() >= p.size() && path.substr(path.size() - p.size()) == p;
  };
  if (path == "/v1/events") return "/v1/events";
  if (path == "/v1/search") return "/v1/search";
  if (path == "/v1/graph/path") return "/v1/graph/path";
  if (starts("/v1/graph/") && ends("/neighbors")) return "/v1/graph/{id}/neighbors";
  if (starts("/v1/entities/")) return "/v1/entities/{id}";
  if (path == "/v1/admin/topics") return "/v1/admin/topics";
  if (starts("/v1/admin/topics/") && ends("/records")) return "/v1/admin/topics/{t}/records";
  if (path == "/v1/admin/legs") return "/v1/admin/legs";
  if (path == "/v1/admin/dlq") return "/v1/admin/dlq";
  if (path == "/v1/audit") return "/v1/audit";
  if (path == "/v1/enrich/backfill") return "/v1/enrich/backfill";
  if (starts("/v1/admin/dlq/") && ends("/replay")) return "/v1/admin/dlq/{t}/replay";
  if (path == "/metrics" || path == "/livez" || path == "/readyz" || path == "/healthz") {
    return std::string(path);
  }
  (void)method;
  return "other";
}

}  // namespace tandem::server
