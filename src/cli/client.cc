// The HTTP client (cpp-httplib, the shared library) and the NDJSON batch
// sender. The only file of the CLI that includes httplib.h and nlohmann/json
// besides client_commands.cc (which parses replies for display).
#include "cli/client.h"

#include <fmt/core.h>
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/progress.h"

namespace tandem::cli {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kDefaultUrl = "http://127.0.0.1:7400";
constexpr std::string_view kEventsPath = "/v1/events";
constexpr double kDefaultRetryAfterSeconds = 1;

Status BadUrl(std::string_view url, std::string_view why) {
  return Status::InvalidArgument(fmt::format("--url: {}, got \"{}\"", why, url));
}

StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
    case 415:
      return StatusCode::kInvalidArgument;
    case 404:
      return StatusCode::kNotFound;
    case 409:
    case 401:
    case 403:
      return StatusCode::kFailedPrecondition;
    case 413:
    case 422:
      return StatusCode::kTooLarge;
    case 429:
      return StatusCode::kBusy;
    case 503:
      return StatusCode::kUnavailable;
    default:
      return status >= 500 ? StatusCode::kIOError : StatusCode::kInvalidArgument;
  }
}

// The server's {"error":{"code","message"}}, when the body is one.
bool DecodeError(const std::string& body, std::string* code, std::string* message) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return false;
  const Json& e = j["error"];
  if (e.contains("code") && e["code"].is_string()) *code = e["code"].get<std::string>();
  if (e.contains("message") && e["message"].is_string()) {
    *message = e["message"].get<std::string>();
  }
  return !message->empty();
}

std::string TransportError(httplib::Error e, double timeout) {
  switch (e) {
    case httplib::Error::Connection:
      return "could not connect (connection refused or host unreachable)";
    case httplib::Error::ConnectionTimeout:
      return fmt::format("connecting timed out after {} s", timeout);
    case httplib::Error::Read:
      return fmt::format("no complete reply within {} s (timed out or the connection was closed)",
                         timeout);
    case httplib::Error::Write:
      return "sending the request failed (the connection was closed)";
    default:
      return httplib::to_string(e);
  }
}

}  // namespace

const char* ExitCodeTable() {
  return "Exit codes:\n"
         "  0  success\n"
         "  1  the command ran and failed (server error 5xx other than 503, corrupt data)\n"
         "  2  bad usage or configuration (flags, --url, a request the server refused as bad)\n"
         "  3  server unreachable or unavailable (refused, timed out, 503/429 after retries): "
         "retry later\n"
         "  4  not found (entity, topic, file)\n"
         "  5  partly done (produce: some lines rejected, the rest accepted)\n"
         "  6  authentication failed (401/403: --token or $TANDEM_TOKEN)\n";
}

int ExitCodeForHttpStatus(int status) {
  if (status >= 200 && status < 300) return kExitOk;
  if (status == 401 || status == 403) return kExitUnauthenticated;
  if (status == 404) return kExitNotFound;
  if (status == 429 || status == 503) return kExitUnavailable;
  if (status == 409 || status >= 500) return kExitFailed;
  return kExitUsage;  // 400, 413, 415, 422: the request was not acceptable
}

std::string DefaultUrl() {
  const char* env = std::getenv("TANDEM_URL");
  return env != nullptr && *env != '\0' ? env : std::string(kDefaultUrl);
}

Result<Endpoint> ParseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() >= 8 && (url.substr(0, 8) == "https://" || url.substr(0, 8) == "HTTPS://")) {
    return BadUrl(url, "only http:// is supported (tandem serve has no TLS; use a proxy for it)");
  }
  if (url.size() < kScheme.size() || url.substr(0, kScheme.size()) != kScheme) {
    return BadUrl(url, "must start with http:// (like http://127.0.0.1:7400)");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return BadUrl(url, "must not have a query or fragment");
  }
  if (rest.find_first_of(" \t\r\n") != std::string_view::npos) {
    return BadUrl(url, "must not contain white space");
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  Endpoint e;
  if (slash != std::string_view::npos) {
    std::string_view path = rest.substr(slash);
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    e.base_path = std::string(path);
  }
  if (authority.find('@') != std::string_view::npos) {
    return BadUrl(url, "credentials in the URL are not supported (use --token)");
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return BadUrl(url, "unclosed '[' in the host");
    e.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return BadUrl(url, "junk after the IPv6 host");
    if (!after.empty()) port = after.substr(1);
    if (after.size() == 1) return BadUrl(url, "empty port");
  } else {
    const size_t colon = authority.find(':');
    e.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return BadUrl(url, "empty port");
    }
  }
  if (e.host.empty()) return BadUrl(url, "no host");
  if (!port.empty()) {
    int p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      return BadUrl(url, "the port must be a number 1..65535");
    }
    e.port = p;
  }
  return e;
}

Result<double> ParseTimeout(std::string_view text) {
  double scale = 1;
  std::string_view number = text;
  if (number.size() > 2 && number.substr(number.size() - 2) == "ms") {
    scale = 0.001;
    number.remove_suffix(2);
  } else if (!number.empty() && (number.back() == 's' || number.back() == 'm')) {
    scale = number.back() == 'm' ? 60 : 1;
    number.remove_suffix(1);
  }
  double v = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size() ||
      !(v * scale > 0 && v * scale <= 3600)) {
    return Status::InvalidArgument(fmt::format(
        "--timeout: must be a duration above 0 and at most 1 hour (\"30\", \"30s\", \"500ms\", "
        "\"2m\"), got \"{}\"",
        text));
  }
  return v * scale;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// --- HttpClient ------------------------------------------------------------

struct HttpClient::Impl {
  Impl(const Endpoint& e, const ClientOptions& o)
      : client(e.host, e.port), base(e.base_path), timeout(o.timeout_seconds) {
    const auto sec = static_cast<time_t>(o.timeout_seconds);
    const auto usec = static_cast<time_t>((o.timeout_seconds - static_cast<double>(sec)) * 1e6);
    client.set_connection_timeout(sec, usec);
    client.set_read_timeout(sec, usec);
    client.set_write_timeout(sec, usec);
    client.set_keep_alive(true);
    client.set_url_encode(false);  // targets arrive encoded (UrlEncode)
    if (!o.token.empty()) client.set_bearer_token_auth(o.token);
  }

  Result<HttpReply> From(const httplib::Result& r, std::string_view method, const std::string& url,
                         const std::string& target) {
    if (!r) {
      return Status::Unavailable(
          fmt::format("{} {}{}: {}; is `tandem serve` running there? "
                      "(--url, $TANDEM_URL)",
                      method, url, target, TransportError(r.error(), timeout)));
    }
    HttpReply reply;
    reply.status = r->status;
    reply.body = r->body;
    reply.retry_after = r->get_header_value("Retry-After");
    return reply;
  }

  httplib::Client client;
  std::string base;
  double timeout;
};

HttpClient::HttpClient(std::string url, std::unique_ptr<Impl> impl)
    : url_(std::move(url)), impl_(std::move(impl)) {}

HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Create(const ClientOptions& options) {
  const std::string url = options.url.empty() ? DefaultUrl() : options.url;
  TANDEM_ASSIGN_OR_RETURN(Endpoint e, ParseUrl(url));
  if (!(options.timeout_seconds > 0)) {
    return Status::InvalidArgument("--timeout: must be above 0");
  }
  return std::unique_ptr<HttpClient>(new HttpClient(url, std::make_unique<Impl>(e, options)));
}

Result<HttpReply> HttpClient::Transport(Result<HttpReply> r) {
  if (!r.ok()) failure_exit_code_ = kExitUnavailable;
  return r;
}

Result<HttpReply> HttpClient::Get(const std::string& target) {
  const std::string path = impl_->base + target;
  return Transport(impl_->From(impl_->client.Get(path), "GET", url_, target));
}

Result<HttpReply> HttpClient::Post(const std::string& target, std::string_view body,
                                   const std::string& content_type) {
  const std::string path = impl_->base + target;
  return Transport(impl_->From(impl_->client.Post(path, body.data(), body.size(), content_type),
                               "POST", url_, target));
}

Status HttpClient::Fail(const HttpReply& reply, std::string_view what) {
  failure_exit_code_ = ExitCodeForHttpStatus(reply.status);
  if (failure_exit_code_ == kExitOk) failure_exit_code_ = kExitFailed;  // a 2xx we cannot use
  std::string code, message;
  StatusCode sc = CodeForHttpStatus(reply.status);
  if (DecodeError(reply.body, &code, &message)) {
    for (int c = 1; c <= static_cast<int>(StatusCode::kTooLarge); ++c) {
      if (StatusCodeName(static_cast<StatusCode>(c)) == code) sc = static_cast<StatusCode>(c);
    }
  } else {
    message = reply.body.substr(0, 200);
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) {
      message.pop_back();
    }
    if (message.empty()) message = "no error message";
  }
  std::string hint;
  if (reply.status == 401 || reply.status == 403) {
    hint = "; pass the server's auth_token with --token or $TANDEM_TOKEN";
  }
  return Status(sc, fmt::format("{}: {} (HTTP {}){}", what, message, reply.status, hint));
}

// --- SendSummary -------------------------------------------------------------

double SendSummary::events_per_second() const {
  const double events = static_cast<double>(accepted + duplicates + rejected);
  return seconds > 0 ? events / seconds : 0;
}

std::string SendSummary::ToJson() const {
  Json j{{"lines", lines},
         {"accepted", accepted},
         {"duplicates", duplicates},
         {"rejected", rejected},
         {"batches", batches},
         {"retries", retries},
         {"seconds", std::round(seconds * 1000) / 1000},
         {"events_per_second", std::round(events_per_second())}};
  return j.dump();
}

std::string SendSummary::ToText() const {
  return fmt::format(
      "{} accepted, {} duplicates, {} rejected; {} lines in {} batch{}{}, {:.2f} s, "
      "{} events/s",
      WithThousands(accepted), WithThousands(duplicates), WithThousands(rejected),
      WithThousands(lines), WithThousands(batches), batches == 1 ? "" : "es",
      retries > 0 ? fmt::format(" ({} retried)", retries) : "", seconds,
      WithThousands(static_cast<uint64_t>(events_per_second())));
}

// --- NdjsonSender ------------------------------------------------------------

NdjsonSender::NdjsonSender(HttpClient& client, SenderOptions options, Clock& clock,
                           RejectFn on_reject, ProgressLine* progress)
    : client_(client),
      options_(options),
      clock_(clock),
      on_reject_(std::move(on_reject)),
      progress_(progress),
      started_ns_(clock.MonotonicNanos()) {}

Status NdjsonSender::Add(std::string_view line, uint64_t consumed) {
  ++summary_.lines;
  consumed_ = consumed;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return Status::OK();
  if (!pending_.empty() && (pending_.size() >= options_.batch_lines ||
                            pending_bytes_ + line.size() + 1 > options_.max_batch_bytes)) {
    TANDEM_RETURN_IF_ERROR(Flush());
  }
  pending_.emplace_back(line);
  line_numbers_.push_back(summary_.lines);
  pending_bytes_ += line.size() + 1;
  return Status::OK();
}

Status NdjsonSender::Finish() {
  TANDEM_RETURN_IF_ERROR(Flush());
  summary_.seconds = static_cast<double>(clock_.MonotonicNanos() - started_ns_) / 1e9;
  if (progress_ != nullptr) progress_->Finish();
  return Status::OK();
}

Status NdjsonSender::Flush() {
  if (pending_.empty()) return Status::OK();
  Status s = SendRange(0, pending_.size());
  pending_.clear();
  line_numbers_.clear();
  pending_bytes_ = 0;
  Tick();
  return s;
}

void NdjsonSender::Tick() {
  if (progress_ == nullptr) return;
  progress_->Update(summary_.accepted + summary_.duplicates + summary_.rejected, consumed_);
}

// Sends pending_[begin, end); a 413 splits it in halves (bounded: each split
// halves the range, so at most log2(batch_lines) levels).
Status NdjsonSender::SendRange(size_t begin, size_t end) {
  HttpReply reply;
  TANDEM_RETURN_IF_ERROR(Post(begin, end, &reply));
  if (reply.status == 413) {
    if (end - begin > 1) {
      const size_t mid = begin + (end - begin) / 2;
      TANDEM_RETURN_IF_ERROR(SendRange(begin, mid));
      return SendRange(mid, end);
    }
    std::string code, message;
    if (!DecodeError(reply.body, &code, &message)) message = "too large for the server";
    ++summary_.rejected;
    if (on_reject_) on_reject_(line_numbers_[begin], message);
    return Status::OK();
  }
  return Account(reply, begin, end);
}

Status NdjsonSender::Post(size_t begin, size_t end, HttpReply* reply) {
  std::string body;
  for (size_t i = begin; i < end; ++i) {
    body += pending_[i];
    body += '\n';
  }
  const std::string target(kEventsPath);
  for (uint32_t attempt = 0;; ++attempt) {
    TANDEM_ASSIGN_OR_RETURN(*reply, client_.Post(target, body, "application/x-ndjson"));
    if (reply->status != 429 && reply->status != 503) return Status::OK();
    if (attempt >= options_.retries) {
      return client_.Fail(
          *reply, fmt::format("POST {} (lines {}..{}, gave up after {} retries)", target,
                              line_numbers_[begin], line_numbers_[end - 1], options_.retries));
    }
    double wait = kDefaultRetryAfterSeconds;
    double given = 0;
    const std::string& ra = reply->retry_after;
    const auto [p, ec] = std::from_chars(ra.data(), ra.data() + ra.size(), given);
    if (!ra.empty() && ec == std::errc() && p == ra.data() + ra.size() && given >= 0) wait = given;
    wait = std::min(wait, options_.max_retry_wait_seconds);
    ++summary_.retries;
    clock_.SleepForMicros(static_cast<int64_t>(wait * 1e6));
  }
}

// Counts a 200 (or an all-rejected 400) reply's per-item results and reports
// the rejected lines by their number in the whole input.
Status NdjsonSender::Account(const HttpReply& reply, size_t begin, size_t end) {
  try {
    return AccountResults(reply, begin, end);
  } catch (const Json::exception& e) {  // a result of a shape the API does not document
    return Status::Corruption(fmt::format("POST {}: unexpected reply: {}", kEventsPath, e.what()));
  }
}

Status NdjsonSender::AccountResults(const HttpReply& reply, size_t begin, size_t end) {
  Json j;
  if (reply.status == 200 || reply.status == 400) j = Json::parse(reply.body, nullptr, false);
  if (!j.is_object() || !j.contains("results") || !j["results"].is_array()) {
    return client_.Fail(reply, fmt::format("POST {} (lines {}..{})", kEventsPath,
                                           line_numbers_[begin], line_numbers_[end - 1]));
  }
  const size_t n = end - begin;
  for (const Json& r : j["results"]) {
    const std::string status = r.value("status", "");
    if (status == "appended") {
      ++summary_.accepted;
    } else if (status == "duplicate") {
      ++summary_.duplicates;
    } else if (status == "rejected") {
      ++summary_.rejected;
      const uint64_t line = r.value("line", uint64_t{0});
      if (line < 1 || line > n) {
        return Status::Corruption(fmt::format(
            "POST {}: a rejected result names line {} of a {}-line batch", kEventsPath, line, n));
      }
      std::string errors;
      if (r.contains("errors") && r["errors"].is_array()) {
        for (const Json& e : r["errors"]) {
          if (!errors.empty()) errors += "; ";
          errors += e.is_string() ? e.get<std::string>() : e.dump();
        }
      }
      if (on_reject_) on_reject_(line_numbers_[begin + line - 1], errors);
    } else {
      return Status::Corruption(
          fmt::format("POST {}: unknown result status \"{}\"", kEventsPath, status));
    }
  }
  ++summary_.batches;
  return Status::OK();
}

}  // namespace tandem::cli
