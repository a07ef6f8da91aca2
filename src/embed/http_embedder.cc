// The HTTP embedder: OpenAI-compatible POST <url>/v1/embeddings with
// batching, per-request retries with backoff, a circuit breaker and a strict
// check of the response. The only file that includes httplib and nlohmann
// JSON; no exception leaves it. Error classification: README.md.
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/http_text.h"
#include "embed/http_breaker.h"
#include "embed/url.h"
#include "tandem/embed.h"

namespace tandem {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxIdleClients = 8;

bool Transient(const Status& s) {
  return s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kIOError ||
         s.code() == StatusCode::kBusy;
}

// Retry-After in microseconds (the HTTP-date form is ignored); -1 when absent.
int64_t RetryAfterUs(const httplib::Response& res) {
  const std::optional<int64_t> s = RetryAfterSeconds(res.get_header_value("Retry-After"));
  return s.has_value() ? *s * 1'000'000 : -1;
}

// One attempt's result: the status, and the server's Retry-After.
struct Attempt {
  Status status;
  int64_t retry_after_us = -1;
};

class HttpEmbedder final : public Embedder {
 public:
  HttpEmbedder(const HttpEmbedderOptions& o, embed::ParsedUrl url)
      : o_(o),
        url_(std::move(url)),
        path_(url_.base_path + "/v1/embeddings"),
        where_("POST " + url_.origin + path_),
        clock_(o.clock != nullptr ? *o.clock : SystemClock()),
        breaker_(o.breaker_failure_threshold, o.breaker_open_us, clock_),
        random_(0x5eedULL ^ static_cast<uint64_t>(clock_.MonotonicNanos())) {}

  size_t dimension() const override { return o_.dimension; }
  std::string model_id() const override {
    return "http:" + o_.model + ":d=" + std::to_string(o_.dimension);
  }

  Status Embed(std::span<const std::string_view> texts, std::vector<float>* out) override {
    std::vector<size_t> sent;  // indexes of the texts that go to the server
    for (size_t i = 0; i < texts.size(); ++i) {
      if (texts[i].size() > o_.max_text_bytes) {
        return Status::TooLarge("text " + std::to_string(i) + ": " +
                                std::to_string(texts[i].size()) +
                                " bytes exceeds max_text_bytes " +
                                std::to_string(o_.max_text_bytes));
      }
      // Blank texts have no features: the zero vector, without asking
      // (several servers refuse an empty input with HTTP 400).
      if (texts[i].find_first_not_of(" \t\r\n") != std::string_view::npos) sent.push_back(i);
    }
    out->assign(texts.size() * o_.dimension, 0.0f);
    for (size_t begin = 0; begin < sent.size(); begin += o_.max_batch) {
      const size_t n = std::min(o_.max_batch, sent.size() - begin);
      TANDEM_RETURN_IF_ERROR(
          EmbedChunk(texts, std::span<const size_t>(sent).subspan(begin, n), out->data()));
    }
    return Status::OK();
  }

 private:
  // One request with retries. Vectors land at out[index * dimension].
  Status EmbedChunk(std::span<const std::string_view> texts, std::span<const size_t> indexes,
                    float* out) {
    TANDEM_ASSIGN_OR_RETURN(const std::string body, RequestBody(texts, indexes));
    Status last;
    for (uint32_t attempt = 1; attempt <= o_.max_attempts; ++attempt) {
      const embed::Breaker::Permit permit = breaker_.Acquire();
      if (permit == embed::Breaker::Permit::kNone) {
        return Status::Unavailable("embedder breaker open: " + where_ + " failed " +
                                   std::to_string(breaker_.failures_to_open()) +
                                   " times in a row; last error: " + breaker_.last_error());
      }
      Attempt a = Post(body, indexes, out);
      breaker_.Release(permit, Transient(a.status), a.status.message());
      if (a.status.ok() || !Transient(a.status)) return a.status;
      last = a.status;
      if (attempt == o_.max_attempts) break;
      // No point sleeping when the next Acquire will fail fast.
      if (!breaker_.open()) clock_.SleepForMicros(BackoffUs(attempt, a.retry_after_us));
    }
    return last.WithContext("after " + std::to_string(o_.max_attempts) + " attempts");
  }

  Result<std::string> RequestBody(std::span<const std::string_view> texts,
                                  std::span<const size_t> indexes) const {
    try {
      json input = json::array();
      for (size_t i : indexes) input.push_back(std::string(texts[i]));
      const json body = {{"model", o_.model}, {"input", std::move(input)},
                         {"encoding_format", "float"}};
      // Invalid UTF-8 in a text becomes U+FFFD rather than an exception.
      return body.dump(-1, ' ', false, json::error_handler_t::replace);
    } catch (const std::exception& e) {
      return Status::InvalidArgument(std::string("request body: ") + e.what());
    }
  }

  int64_t BackoffUs(uint32_t attempt, int64_t retry_after_us) {
    if (retry_after_us >= 0) return std::min(retry_after_us, o_.max_backoff_us);
    double d = static_cast<double>(o_.initial_backoff_us);
    for (uint32_t i = 1; i < attempt && d < static_cast<double>(o_.max_backoff_us); ++i) d *= 2;
    d = std::min(d, static_cast<double>(o_.max_backoff_us));
    double jitter;
    {
      std::lock_guard l(random_mu_);
      jitter = 0.8 + 0.4 * random_.NextDouble();
    }
    return static_cast<int64_t>(d * jitter);
  }

  Attempt Post(const std::string& body, std::span<const size_t> indexes, float* out) {
    std::unique_ptr<httplib::Client> client = TakeClient();
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
      // The connection is in an unknown state: drop the client.
      const httplib::Error e = res.error();
      const std::string what = where_ + ": " + httplib::to_string(e);
      if (e == httplib::Error::Read || e == httplib::Error::Write) {
        return {Status::IOError(what + " (connection reset or read timeout)")};
      }
      return {Status::Unavailable(what)};
    }
    Attempt a = Classify(*res, indexes, out);
    ReturnClient(std::move(client));
    return a;
  }

  Attempt Classify(const httplib::Response& res, std::span<const size_t> indexes, float* out) {
    const int code = res.status;
    const std::string prefix = where_ + ": HTTP " + std::to_string(code) + ": ";
    if (code >= 200 && code < 300) return {ParseResponse(res.body, indexes, out)};
    if (code == 408 || code == 429 || code >= 500) {
      return {Status::Unavailable(prefix + BodyExcerpt(res.body)), RetryAfterUs(res)};
    }
    if (code == 400 || code == 422)
      return {Status::InvalidArgument(prefix + ServerErrorMessage(res.body))};
    if (code == 413) return {Status::TooLarge(prefix + ServerErrorMessage(res.body))};
    if (code == 401 || code == 403) {
      return {
          Status::FailedPrecondition(prefix + "check api_key: " + ServerErrorMessage(res.body))};
    }
    if (code == 404) {
      return {Status::FailedPrecondition(prefix +
                                         "check url and model: " + ServerErrorMessage(res.body))};
    }
    if (code >= 400) return {Status::InvalidArgument(prefix + ServerErrorMessage(res.body))};
    // 1xx/3xx: redirects are not followed; the url is wrong.
    return {Status::FailedPrecondition(prefix + "unexpected status (redirects are not followed)")};
  }

  // {"data":[{"index":i,"embedding":[...]}, ...]}. A body that is not that
  // shape is Unavailable (transient): a truncated or garbled reply is far more
  // often a proxy or a restarting server than a deterministic server bug.
  Status ParseResponse(const std::string& body, std::span<const size_t> indexes, float* out) {
    const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    auto malformed = [&](std::string_view why) {
      return Status::Unavailable(where_ + ": malformed response (" + std::string(why) + "): " +
                                 BodyExcerpt(body));
    };
    if (!j.is_object()) return malformed("not a JSON object");
    const auto data = j.find("data");
    if (data == j.end() || !data->is_array()) return malformed("no data array");
    if (data->size() != indexes.size()) {
      return malformed("sent " + std::to_string(indexes.size()) + " inputs, got " +
                       std::to_string(data->size()) + " embeddings");
    }
    std::vector<bool> seen(indexes.size());
    for (size_t k = 0; k < data->size(); ++k) {
      const json& item = (*data)[k];
      if (!item.is_object()) return malformed("data item is not an object");
      size_t index = k;  // a server that omits "index" answers in order
      const auto idx = item.find("index");
      if (idx != item.end()) {
        if (!idx->is_number_unsigned() || idx->get<uint64_t>() >= indexes.size()) {
          return malformed("bad index");
        }
        index = idx->get<size_t>();
      }
      if (seen[index]) return malformed("index " + std::to_string(index) + " twice");
      seen[index] = true;
      const auto emb = item.find("embedding");
      if (emb == item.end() || !emb->is_array()) return malformed("no embedding array");
      if (emb->size() != o_.dimension) {
        return Status::FailedPrecondition("dimension: expected " + std::to_string(o_.dimension) +
                                          ", server returned " + std::to_string(emb->size()) +
                                          " (" + where_ + ", model " + o_.model + ")");
      }
      float* v = out + indexes[index] * o_.dimension;
      double sum = 0;
      for (size_t d = 0; d < o_.dimension; ++d) {
        const json& x = (*emb)[d];
        if (!x.is_number()) return malformed("non-numeric embedding value");
        v[d] = x.get<float>();
        if (!std::isfinite(v[d])) return malformed("non-finite embedding value");
        sum += static_cast<double>(v[d]) * v[d];
      }
      if (sum > 0) {
        const float scale = static_cast<float>(1.0 / std::sqrt(sum));
        for (size_t d = 0; d < o_.dimension; ++d) v[d] *= scale;
      }
    }
    return Status::OK();
  }

  std::unique_ptr<httplib::Client> TakeClient() {
    {
      std::lock_guard l(pool_mu_);
      if (!idle_.empty()) {
        std::unique_ptr<httplib::Client> c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<httplib::Client>(url_.origin);
    const time_t sec = static_cast<time_t>(o_.timeout_us / 1'000'000);
    const time_t usec = static_cast<time_t>(o_.timeout_us % 1'000'000);
    c->set_connection_timeout(sec, usec);
    c->set_read_timeout(sec, usec);
    c->set_write_timeout(sec, usec);
    c->set_keep_alive(true);
    c->set_follow_location(false);
    return c;
  }

  void ReturnClient(std::unique_ptr<httplib::Client> c) {
    std::lock_guard l(pool_mu_);
    if (idle_.size() < kMaxIdleClients) idle_.push_back(std::move(c));
  }

  const HttpEmbedderOptions o_;
  const embed::ParsedUrl url_;
  const std::string path_;
  const std::string where_;
  Clock& clock_;
  embed::Breaker breaker_;
  std::mutex random_mu_;
  Random random_;  // GUARDED_BY(random_mu_): backoff jitter
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_;  // GUARDED_BY(pool_mu_)
};

Status ValidateHttpOptions(const HttpEmbedderOptions& o) {
  if (o.model.empty()) return Status::InvalidArgument("model: must not be empty");
  if (o.dimension == 0 || o.dimension > 65536) {
    return Status::InvalidArgument("dimension: " + std::to_string(o.dimension) +
                                   " is outside 1..65536 (required: the server's dimension)");
  }
  if (o.api_key.find_first_of("\r\n") != std::string::npos) {
    return Status::InvalidArgument("api_key: must not contain a line break");
  }
  if (o.max_batch == 0) return Status::InvalidArgument("max_batch: must be > 0");
  if (o.timeout_us < 1000) return Status::InvalidArgument("timeout_us: must be >= 1000");
  if (o.max_attempts == 0) return Status::InvalidArgument("max_attempts: must be >= 1");
  if (o.initial_backoff_us < 0) return Status::InvalidArgument("initial_backoff_us: must be >= 0");
  if (o.max_backoff_us < o.initial_backoff_us) {
    return Status::InvalidArgument("max_backoff_us: must be >= initial_backoff_us");
  }
  if (o.breaker_failure_threshold > 0 && o.breaker_open_us <= 0) {
    return Status::InvalidArgument("breaker_open_us: must be > 0 when the breaker is enabled");
  }
  if (o.max_text_bytes == 0) return Status::InvalidArgument("max_text_bytes: must be > 0");
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Embedder>> NewHttpEmbedder(const HttpEmbedderOptions& o) {
  TANDEM_ASSIGN_OR_RETURN(embed::ParsedUrl url, embed::ParseBaseUrl(o.url));
  TANDEM_RETURN_IF_ERROR(ValidateHttpOptions(o));
  try {
    return std::unique_ptr<Embedder>(std::make_unique<HttpEmbedder>(o, std::move(url)));
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("url: ") + e.what());
  }
}

}  // namespace tandem
