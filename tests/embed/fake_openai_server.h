// A small OpenAI-compatible embeddings server for the HTTP embedder's tests:
// POST /v1/embeddings on 127.0.0.1 (a free port chosen by the kernel),
// answering with hash-embedder vectors, with failures the test injects.
//
// Thread safety: the knobs are atomics or guarded by mu; the server runs
// its own threads.
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tandem/embed.h"

namespace tandem::testing {

class FakeOpenAiServer {
 public:
  // Injected behaviour for the next requests (each knob counts down).
  std::atomic<int> fail_with_500{0};
  std::atomic<int> fail_with_429{0};
  std::atomic<int> retry_after_seconds{-1};  // sent with 429 when >= 0
  std::atomic<int> malformed_json{0};
  std::atomic<int> hang{0};  // block until Release() (or 10 s)
  std::atomic<bool> reject_400{false};
  std::atomic<bool> shuffle{false};
  std::atomic<size_t> dimension{0};  // 0 = the embedder's dimension

  explicit FakeOpenAiServer(size_t dim) : embedder_(NewHashEmbedder(Options(dim)).value()) {
    server_.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
      Handle(req, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // The socket already listens (connections queue); this only makes stop()
    // in the destructor race-free. Bounded: 5 s.
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~FakeOpenAiServer() {
    Release();
    server_.stop();
    thread_.join();
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Requests that reached the handler, and the input count of each.
  size_t requests() const {
    std::lock_guard l(mu_);
    return batch_sizes_.size();
  }
  std::vector<size_t> batch_sizes() const {
    std::lock_guard l(mu_);
    return batch_sizes_;
  }
  std::vector<std::string> auth_headers() const {
    std::lock_guard l(mu_);
    return auth_;
  }
  std::vector<std::string> models() const {
    std::lock_guard l(mu_);
    return models_;
  }
  // Lets every request held by `hang` so far answer.
  void Release() {
    std::lock_guard l(mu_);
    ++releases_;
    cv_.notify_all();
  }

 private:
  static HashEmbedderOptions Options(size_t dim) {
    HashEmbedderOptions o;
    o.dimension = dim;
    return o;
  }

  static bool Take(std::atomic<int>& knob) {
    int n = knob.load();
    while (n > 0) {
      if (knob.compare_exchange_weak(n, n - 1)) return true;
    }
    return false;
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    std::vector<std::string> input;
    if (body.is_object() && body.contains("input") && body["input"].is_array()) {
      for (const auto& t : body["input"]) input.push_back(t.get<std::string>());
    }
    {
      std::lock_guard l(mu_);
      batch_sizes_.push_back(input.size());
      auth_.push_back(req.get_header_value("Authorization"));
      models_.push_back(body.is_object() ? body.value("model", "") : "");
    }
    if (Take(hang)) {
      std::unique_lock l(mu_);
      const uint64_t seen = releases_;
      cv_.wait_for(l, std::chrono::seconds(10), [&] { return releases_ != seen; });
    }
    if (Take(fail_with_500)) {
      res.status = 500;
      res.set_content(R"({"error":{"message":"model crashed"}})", "application/json");
      return;
    }
    if (Take(fail_with_429)) {
      res.status = 429;
      if (retry_after_seconds >= 0) {
        res.set_header("Retry-After", std::to_string(retry_after_seconds.load()));
      }
      res.set_content(R"({"error":{"message":"slow down"}})", "application/json");
      return;
    }
    if (Take(malformed_json)) {
      res.set_content(R"({"data":[{"index":0,"embedding":[0.1,)", "application/json");
      return;
    }
    if (reject_400) {
      res.status = 400;
      res.set_content(R"({"error":{"message":"input is too long for model m1","type":"invalid"}})",
                      "application/json");
      return;
    }
    std::vector<std::string_view> views(input.begin(), input.end());
    std::vector<float> vectors;
    if (!embedder_->Embed(views, &vectors).ok()) {
      res.status = 500;
      return;
    }
    const size_t d = embedder_->dimension();
    const size_t out_dim = dimension.load() != 0 ? dimension.load() : d;
    nlohmann::json data = nlohmann::json::array();
    for (size_t i = 0; i < input.size(); ++i) {
      std::vector<float> v(out_dim, 0.0f);
      for (size_t k = 0; k < std::min(d, out_dim); ++k) v[k] = vectors[i * d + k] * 3.0f;
      data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", v}});
    }
    if (shuffle) std::reverse(data.begin(), data.end());
    const nlohmann::json reply = {{"object", "list"}, {"data", data}, {"model", "m1"}};
    res.set_content(reply.dump(), "application/json");
  }

  std::unique_ptr<Embedder> embedder_;
  httplib::Server server_;
  int port_ = -1;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t releases_ = 0;                 // GUARDED_BY(mu_)
  std::vector<size_t> batch_sizes_;       // GUARDED_BY(mu_)
  std::vector<std::string> auth_;         // GUARDED_BY(mu_)
  std::vector<std::string> models_;       // GUARDED_BY(mu_)
};

// A listener on 127.0.0.1 that accepts connections and closes them at once
// without answering (a crashed server behind a live socket).
class SlammingListener {
 public:
  SlammingListener();
  ~SlammingListener();
  int port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

}  // namespace tandem::testing
