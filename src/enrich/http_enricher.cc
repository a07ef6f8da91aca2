// The http enricher: POST {"entity_id","entity_type","payload"} to a URL and
// take the JSON object answer as the result. The only file of src/enrich that
// includes httplib; no exception leaves it. Error classification: enrich.h.
#include <httplib.h>

#include <algorithm>
#include <optional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/http_text.h"
#include "embed/url.h"
#include "tandem/enrich.h"

namespace tandem {
namespace {

using json = nlohmann::json;

// " (Retry-After <n> s)" when the answer carries one, for the error message.
std::string RetryAfter(const httplib::Response& res) {
  const std::optional<int64_t> s = RetryAfterSeconds(res.get_header_value("Retry-After"));
  return s.has_value() ? " (Retry-After " + std::to_string(*s) + " s)" : "";
}

class HttpEnricher final : public Enricher {
 public:
  HttpEnricher(const HttpEnricherOptions& o, std::string origin, std::string path)
      : o_(o), origin_(std::move(origin)), path_(std::move(path)),
        where_("POST " + origin_ + path_) {}

  std::string_view kind() const override { return "http"; }
  const std::vector<std::string>& fields() const override { return o_.fields; }

  Result<std::string> Enrich(const EnrichRequest& r) override {
    std::string body;
    try {
      json payload = json::parse(r.payload);
      body = json{{"entity_id", r.entity_id}, {"entity_type", r.entity_type},
                  {"payload", std::move(payload)}}
                 .dump(-1, ' ', false, json::error_handler_t::replace);
    } catch (const std::exception& e) {
      return Status::InvalidArgument(std::string("payload: ") + e.what());
    }
    std::unique_ptr<httplib::Client> client = TakeClient(r.timeout_us);
    httplib::Headers headers;
    if (!o_.api_key.empty()) headers.emplace("Authorization", "Bearer " + o_.api_key);
    httplib::Result res = [&] {
      try {
        return client->Post(path_, headers, body, "application/json");
      } catch (const std::exception&) {
        return httplib::Result(nullptr, httplib::Error::Unknown);
      }
    }();
    if (!res) {
      const httplib::Error e = res.error();
      const std::string what = where_ + ": " + httplib::to_string(e);
      if (e == httplib::Error::Read || e == httplib::Error::Write) {
        return Status::IOError(what + " (connection reset or timeout)");
      }
      return Status::Unavailable(what);
    }
    Result<std::string> out = Classify(*res);
    ReturnClient(std::move(client));
    return out;
  }

 private:
  Result<std::string> Classify(const httplib::Response& res) {
    const int code = res.status;
    const std::string prefix = where_ + ": HTTP " + std::to_string(code) + ": ";
    if (code >= 200 && code < 300) {
      const json j = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) {
        return Status::Unavailable(prefix +
                                   "answer is not a JSON object: " + BodyExcerpt(res.body));
      }
      return j.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    if (code == 408 || code == 429 || code >= 500) {
      return Status::Unavailable(prefix + BodyExcerpt(res.body) + RetryAfter(res));
    }
    if (code >= 400) return Status::InvalidArgument(prefix + ServerErrorMessage(res.body));
    return Status::FailedPrecondition(prefix + "unexpected status (redirects are not followed)");
  }

  std::unique_ptr<httplib::Client> TakeClient(int64_t timeout_us) {
    std::unique_ptr<httplib::Client> c;
    {
      std::lock_guard l(mu_);
      if (!idle_.empty()) {
        c = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (c == nullptr) {
      c = std::make_unique<httplib::Client>(origin_);
      c->set_keep_alive(true);
      c->set_follow_location(false);
    }
    const int64_t us = std::max<int64_t>(timeout_us, 1000);
    const auto sec = static_cast<time_t>(us / 1'000'000);
    const auto usec = static_cast<time_t>(us % 1'000'000);
    c->set_connection_timeout(sec, usec);
    c->set_read_timeout(sec, usec);
    c->set_write_timeout(sec, usec);
    return c;
  }

  void ReturnClient(std::unique_ptr<httplib::Client> c) {
    std::lock_guard l(mu_);
    if (idle_.size() < o_.max_idle_connections) idle_.push_back(std::move(c));
  }

  const HttpEnricherOptions o_;
  const std::string origin_;
  const std::string path_;
  const std::string where_;
  std::mutex mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;  // GUARDED_BY(mu_)
};

}  // namespace

Result<std::unique_ptr<Enricher>> NewHttpEnricher(const HttpEnricherOptions& o) {
  // The embedder's URL grammar (scheme, host, port); the path is kept whole
  // here (ParseBaseUrl drops a trailing "/v1", which an enrichment URL may need).
  TANDEM_ASSIGN_OR_RETURN(embed::ParsedUrl url, embed::ParseBaseUrl(o.url));
  if (!o.url.starts_with(url.origin)) return Status::InvalidArgument("url: cannot parse \"" + o.url + "\"");
  std::string path = o.url.substr(url.origin.size());
  if (path.empty()) path = "/";
  if (o.fields.empty()) {
    return Status::InvalidArgument("fields: the members the service answers with are required");
  }
  for (const std::string& f : o.fields) {
    if (f.empty()) return Status::InvalidArgument("fields: an empty name");
  }
  if (o.api_key.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("api_key: must not contain a line break");
  }
  try {
    return std::unique_ptr<Enricher>(
        std::make_unique<HttpEnricher>(o, std::move(url.origin), std::move(path)));
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("url: ") + e.what());
  }
}

}  // namespace tandem
