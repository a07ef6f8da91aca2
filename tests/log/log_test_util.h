// Helpers shared by the Log and subscription tests: a log on a MemFileSystem
// with a ManualClock, record builders, and bounded polling.
//
// Thread safety: LogEnv is used by one test thread; the Log it opens is
// thread-safe as documented in include/tandem/log.h.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tandem/env.h"
#include "tandem/log.h"

namespace tandem::testing {

inline ProduceRecord Rec(std::string key, std::string value, std::string id = "") {
  ProduceRecord r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.id = std::move(id);
  return r;
}

// A log directory on a MemFileSystem with a ManualClock; Open/Reopen/Close.
class LogEnv {
 public:
  LogEnv() : fs_(NewMemFileSystem()) {
    options_.dir = "/log";
    options_.fs = fs_.get();
    options_.clock = &clock_;
    options_.default_partitions = 4;
  }
  ~LogEnv() { Close(); }

  LogOptions& options() { return options_; }
  FileSystem& fs() { return *fs_; }
  ManualClock& clock() { return clock_; }
  Log& log() { return *log_; }

  void Open() {
    Result<std::unique_ptr<Log>> log = Log::Open(options_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
  }
  void Close() {
    if (log_ != nullptr) {
      EXPECT_TRUE(log_->Close().ok());
    }
    log_.reset();
  }
  void Reopen() {
    Close();
    Open();
  }

  std::unique_ptr<Subscription> Subscribe(SubscriptionOptions o) {
    Result<std::unique_ptr<Subscription>> s = log_->Subscribe(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  AppendResult Append(const std::string& topic, ProduceRecord r) {
    Result<AppendResult> a = log_->Append(topic, r);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : AppendResult{};
  }

 private:
  std::unique_ptr<FileSystem> fs_;
  ManualClock clock_;
  LogOptions options_;
  std::unique_ptr<Log> log_;
};

// SubscriptionOptions named `name`, adjusted by `adjust`.
inline SubscriptionOptions Opts(std::string name,
                                const std::function<void(SubscriptionOptions&)>& adjust = {}) {
  SubscriptionOptions o;
  o.name = std::move(name);
  if (adjust) adjust(o);
  return o;
}

inline std::unique_ptr<Consumer> AddConsumer(Subscription& s, const std::string& name) {
  Result<std::unique_ptr<Consumer>> c = s.AddConsumer(name);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(*c) : nullptr;
}

// Polls until `n` messages arrived or 10 s passed (a bound, never the verdict).
inline std::vector<Message> PollN(Consumer& c, size_t n, size_t max_per_poll = 1000) {
  std::vector<Message> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    Result<std::vector<Message>> got = c.Poll(std::min(max_per_poll, n - out.size()), 50'000);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok()) break;
    for (Message& m : *got) out.push_back(std::move(m));
  }
  return out;
}

// Polls until a poll comes back empty (bounded by 10 s): everything deliverable now.
inline std::vector<Message> PollUntilQuiet(Consumer& c, size_t max_per_poll = 1000) {
  std::vector<Message> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    Result<std::vector<Message>> got = c.Poll(max_per_poll, 50'000);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok() || got->empty()) break;
    for (Message& m : *got) out.push_back(std::move(m));
  }
  return out;
}

// One short poll that is expected to come back empty.
inline std::vector<Message> PollNone(Consumer& c, int64_t timeout_us = 20'000) {
  Result<std::vector<Message>> got = c.Poll(1000, timeout_us);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  return got.ok() ? std::move(*got) : std::vector<Message>{};
}

inline std::string HeaderValue(const Record& r, const std::string& key) {
  for (const Header& h : r.headers) {
    if (h.key == key) return h.value;
  }
  return "<missing " + key + ">";
}

}  // namespace tandem::testing
