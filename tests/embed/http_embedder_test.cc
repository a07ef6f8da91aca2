#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "fake_openai_server.h"
#include "tandem/embed.h"

namespace tandem::testing {

SlammingListener::SlammingListener() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd_, 16) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "listener setup failed";
    return;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      accepted_.fetch_add(1);
      ::close(c);
    }
  });
}

SlammingListener::~SlammingListener() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

namespace {

constexpr size_t kDim = 64;

// A port with nothing listening: bound, then closed.
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class HttpEmbedderTest : public ::testing::Test {
 protected:
  HttpEmbedderOptions Options() {
    HttpEmbedderOptions o;
    o.url = server_.url();
    o.model = "m1";
    o.dimension = kDim;
    o.clock = &clock_;
    o.timeout_us = 5'000'000;
    return o;
  }
  std::unique_ptr<Embedder> Make(const HttpEmbedderOptions& o) {
    Result<std::unique_ptr<Embedder>> e = NewHttpEmbedder(o);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return std::move(e).value();
  }
  std::vector<float> Reference(const std::vector<std::string_view>& texts) {
    HashEmbedderOptions h;
    h.dimension = kDim;
    std::vector<float> out;
    EXPECT_TRUE(NewHashEmbedder(h).value()->Embed(texts, &out).ok());
    return out;
  }
  static void ExpectNear(const std::vector<float>& a, const std::vector<float>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-6) << i;
  }

  ManualClock clock_;
  FakeOpenAiServer server_{kDim};
  const std::vector<std::string_view> texts_ = {"John Smith", "Nordic Timber GmbH", "José"};
};

TEST_F(HttpEmbedderTest, EmbedsThroughTheApiAndRenormalises) {
  auto e = Make(Options());
  EXPECT_EQ(e->dimension(), kDim);
  EXPECT_EQ(e->model_id(), "http:m1:d=64");
  std::vector<float> out;
  ASSERT_TRUE(e->Embed(texts_, &out).ok());
  // The server scales its vectors by 3; the embedder returns unit vectors.
  ExpectNear(out, Reference(texts_));
  EXPECT_EQ(server_.models(), std::vector<std::string>{"m1"});
  std::vector<float> none = {1.0f};
  ASSERT_TRUE(e->Embed({}, &none).ok());
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(server_.requests(), 1u);
}

TEST_F(HttpEmbedderTest, SplitsIntoMaxBatchRequestsAndSkipsBlankTexts) {
  HttpEmbedderOptions o = Options();
  o.max_batch = 4;
  auto e = Make(o);
  std::vector<std::string> owned;
  for (int i = 0; i < 10; ++i) owned.push_back("name " + std::to_string(i));
  owned.insert(owned.begin() + 3, "  ");
  owned.insert(owned.begin(), "");
  const std::vector<std::string_view> texts(owned.begin(), owned.end());
  std::vector<float> out;
  ASSERT_TRUE(e->Embed(texts, &out).ok());
  EXPECT_EQ(server_.batch_sizes(), (std::vector<size_t>{4, 4, 2}));
  ExpectNear(out, Reference(texts));  // blank texts: zero vectors, like the hash embedder
}

TEST_F(HttpEmbedderTest, ShuffledResponseIsPutBackInInputOrder) {
  server_.shuffle = true;
  auto e = Make(Options());
  std::vector<float> out;
  ASSERT_TRUE(e->Embed(texts_, &out).ok());
  ExpectNear(out, Reference(texts_));
}

TEST_F(HttpEmbedderTest, SendsTheApiKeyAsBearerToken) {
  HttpEmbedderOptions o = Options();
  std::vector<float> out;
  ASSERT_TRUE(Make(o)->Embed(texts_, &out).ok());
  o.api_key = "sk-test-123";
  ASSERT_TRUE(Make(o)->Embed(texts_, &out).ok());
  EXPECT_EQ(server_.auth_headers(), (std::vector<std::string>{"", "Bearer sk-test-123"}));
}

TEST_F(HttpEmbedderTest, RetriesServerErrorsWithBackoffThenSucceeds) {
  server_.fail_with_500 = 2;
  auto e = Make(Options());  // 3 attempts, 100 ms initial backoff ±20%
  const int64_t start = clock_.NowMicros();
  std::vector<float> out;
  ASSERT_TRUE(e->Embed(texts_, &out).ok());
  EXPECT_EQ(server_.requests(), 3u);
  const int64_t slept = clock_.NowMicros() - start;
  EXPECT_GE(slept, 80'000 + 160'000);
  EXPECT_LE(slept, 120'000 + 240'000);
  ExpectNear(out, Reference(texts_));
}

TEST_F(HttpEmbedderTest, GivesUpAfterMaxAttemptsWithTheServersError) {
  server_.fail_with_500 = 100;
  HttpEmbedderOptions o = Options();
  o.max_attempts = 4;
  std::vector<float> out;
  const Status s = Make(o)->Embed(texts_, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("HTTP 500"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("model crashed"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("after 4 attempts"), std::string::npos) << s.message();
  EXPECT_EQ(server_.requests(), 4u);
}

TEST_F(HttpEmbedderTest, HonoursRetryAfterCappedByMaxBackoff) {
  server_.fail_with_429 = 1;
  server_.retry_after_seconds = 1;
  auto e = Make(Options());
  int64_t start = clock_.NowMicros();
  std::vector<float> out;
  ASSERT_TRUE(e->Embed(texts_, &out).ok());
  EXPECT_EQ(clock_.NowMicros() - start, 1'000'000);
  EXPECT_EQ(server_.requests(), 2u);

  server_.fail_with_429 = 1;
  server_.retry_after_seconds = 3600;
  start = clock_.NowMicros();
  ASSERT_TRUE(e->Embed(texts_, &out).ok());
  EXPECT_EQ(clock_.NowMicros() - start, Options().max_backoff_us);
}

TEST_F(HttpEmbedderTest, BadRequestIsInvalidArgumentWithTheServersMessageAndNotRetried) {
  server_.reject_400 = true;
  std::vector<float> out;
  const Status s = Make(Options())->Embed(texts_, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("HTTP 400"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("input is too long for model m1"), std::string::npos) << s.message();
  EXPECT_EQ(server_.requests(), 1u);
}

TEST_F(HttpEmbedderTest, WrongDimensionIsFailedPreconditionNamingBothAndNotRetried) {
  server_.dimension = 32;
  std::vector<float> out;
  const Status s = Make(Options())->Embed(texts_, &out);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("dimension: expected 64, server returned 32"), std::string::npos)
      << s.message();
  EXPECT_EQ(server_.requests(), 1u);
}

TEST_F(HttpEmbedderTest, MalformedJsonIsTransient) {
  server_.malformed_json = 1;
  auto e = Make(Options());
  std::vector<float> out;
  ASSERT_TRUE(e->Embed(texts_, &out).ok());
  EXPECT_EQ(server_.requests(), 2u);

  server_.malformed_json = 1;
  HttpEmbedderOptions o = Options();
  o.max_attempts = 1;
  const Status s = Make(o)->Embed(texts_, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("malformed response"), std::string::npos) << s.message();
}

TEST_F(HttpEmbedderTest, BreakerOpensFailsFastAndRecoversThroughHalfOpen) {
  server_.fail_with_500 = 1000;
  HttpEmbedderOptions o = Options();
  o.max_attempts = 1;
  o.breaker_failure_threshold = 3;
  o.breaker_open_us = 10'000'000;
  auto e = Make(o);
  std::vector<float> out;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(e->Embed(texts_, &out).code(), StatusCode::kUnavailable);
  EXPECT_EQ(server_.requests(), 3u);

  // Open: fails fast without contacting the server.
  for (int i = 0; i < 5; ++i) {
    const Status s = e->Embed(texts_, &out);
    EXPECT_EQ(s.code(), StatusCode::kUnavailable);
    EXPECT_NE(s.message().find("embedder breaker open"), std::string::npos) << s.message();
  }
  EXPECT_EQ(server_.requests(), 3u);

  // Half-open: the trial request fails, the breaker opens again.
  clock_.Advance(o.breaker_open_us);
  EXPECT_NE(e->Embed(texts_, &out).message().find("HTTP 500"), std::string::npos);
  EXPECT_EQ(server_.requests(), 4u);
  EXPECT_NE(e->Embed(texts_, &out).message().find("embedder breaker open"), std::string::npos);
  EXPECT_EQ(server_.requests(), 4u);

  // Half-open again, the server has recovered: the trial closes the breaker.
  server_.fail_with_500 = 0;
  clock_.Advance(o.breaker_open_us - 1);
  EXPECT_NE(e->Embed(texts_, &out).message().find("embedder breaker open"), std::string::npos);
  clock_.Advance(1);
  ASSERT_TRUE(e->Embed(texts_, &out).ok());
  ASSERT_TRUE(e->Embed(texts_, &out).ok());
  EXPECT_EQ(server_.requests(), 6u);
}

TEST_F(HttpEmbedderTest, BreakerCountsAttemptsWithinOneCall) {
  server_.fail_with_500 = 1000;
  HttpEmbedderOptions o = Options();
  o.max_attempts = 10;
  o.breaker_failure_threshold = 2;
  std::vector<float> out;
  const int64_t start = clock_.NowMicros();
  const Status s = Make(o)->Embed(texts_, &out);
  EXPECT_NE(s.message().find("embedder breaker open"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("HTTP 500"), std::string::npos) << s.message();  // last error
  EXPECT_EQ(server_.requests(), 2u);
  // One backoff between the two attempts; none once the breaker opened.
  EXPECT_LE(clock_.NowMicros() - start, 120'000);
}

TEST_F(HttpEmbedderTest, PermanentErrorsDoNotOpenTheBreaker) {
  server_.reject_400 = true;
  HttpEmbedderOptions o = Options();
  o.breaker_failure_threshold = 2;
  auto e = Make(o);
  std::vector<float> out;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(e->Embed(texts_, &out).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(server_.requests(), 4u);
}

TEST_F(HttpEmbedderTest, ReadTimeoutIsTransientAndRetried) {
  // The only test on real time: a 200 ms read timeout against a handler that
  // holds the first request until released.
  server_.hang = 1;
  HttpEmbedderOptions o = Options();
  o.timeout_us = 200'000;
  auto e = Make(o);
  std::vector<float> out;
  ASSERT_TRUE(e->Embed(texts_, &out).ok());
  EXPECT_EQ(server_.requests(), 2u);
  server_.Release();

  server_.hang = 1;
  o.max_attempts = 1;
  const Status s = Make(o)->Embed(texts_, &out);
  EXPECT_TRUE(s.code() == StatusCode::kIOError || s.code() == StatusCode::kUnavailable)
      << s.ToString();
  server_.Release();
}

TEST_F(HttpEmbedderTest, ConnectionRefusedIsUnavailableAfterRetries) {
  HttpEmbedderOptions o = Options();
  o.url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  std::vector<float> out;
  const Status s = Make(o)->Embed(texts_, &out);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("after 3 attempts"), std::string::npos) << s.message();
}

TEST_F(HttpEmbedderTest, ClosedConnectionIsTransientAndRetried) {
  SlammingListener listener;
  HttpEmbedderOptions o = Options();
  o.url = "http://127.0.0.1:" + std::to_string(listener.port());
  std::vector<float> out;
  const Status s = Make(o)->Embed(texts_, &out);
  EXPECT_TRUE(s.code() == StatusCode::kIOError || s.code() == StatusCode::kUnavailable)
      << s.ToString();
  EXPECT_NE(s.message().find("after 3 attempts"), std::string::npos) << s.message();
  EXPECT_GE(listener.accepted(), 3);
}

TEST_F(HttpEmbedderTest, TextOverTheLimitIsTooLargeBeforeAnyRequest) {
  HttpEmbedderOptions o = Options();
  o.max_text_bytes = 8;
  std::vector<float> out;
  const Status s = Make(o)->Embed(texts_, &out);
  EXPECT_EQ(s.code(), StatusCode::kTooLarge);
  EXPECT_NE(s.message().find("text 0"), std::string::npos) << s.message();
  EXPECT_EQ(server_.requests(), 0u);
}

TEST_F(HttpEmbedderTest, ConcurrentCallsShareTheEmbedder) {
  auto e = Make(Options());
  const std::vector<float> want = Reference(texts_);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        std::vector<float> out;
        if (!e->Embed(texts_, &out).ok() || out.size() != want.size()) continue;
        bool same = true;
        for (size_t k = 0; k < out.size(); ++k) same = same && std::fabs(out[k] - want[k]) < 1e-6f;
        if (same) ok.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
  EXPECT_EQ(server_.requests(), 20u);
}

TEST_F(HttpEmbedderTest, BaseUrlMayCarryAPrefixOrV1) {
  HttpEmbedderOptions o = Options();
  o.url = server_.url() + "/v1/";
  std::vector<float> out;
  ASSERT_TRUE(Make(o)->Embed(texts_, &out).ok());
  o.url = server_.url() + "/proxy";  // → /proxy/v1/embeddings: not served here
  const Status s = Make(o)->Embed(texts_, &out);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("/proxy/v1/embeddings"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("HTTP 404"), std::string::npos) << s.message();
}

TEST(HttpEmbedderOptions, BadOptionsNameTheField) {
  auto expect_bad = [](const HttpEmbedderOptions& o, std::string_view field) {
    Result<std::unique_ptr<Embedder>> e = NewHttpEmbedder(o);
    ASSERT_FALSE(e.ok()) << o.url;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(e.status().message().starts_with(field)) << e.status().message();
  };
  HttpEmbedderOptions good;
  good.url = "http://127.0.0.1:8080";
  good.model = "m";
  good.dimension = 8;
  ASSERT_TRUE(NewHttpEmbedder(good).ok());
  for (const char* url : {"http://[::1]:11434/", "https://api.openai.com/v1", "http://gw/openai/",
                          "http://embed-1.internal"}) {
    HttpEmbedderOptions o = good;
    o.url = url;
    EXPECT_TRUE(NewHttpEmbedder(o).ok()) << url;
  }
  for (const char* url : {"", "ftp://h", "127.0.0.1:8080", "http://", "http://:80", "http://h:",
                          "http://h:0", "http://h:70000", "http://h:8x", "http://u@h",
                          "http://h/x?y=1", "http://h/#f", "http://h a", "http://[::1",
                          "http://h//v1"}) {
    HttpEmbedderOptions o = good;
    o.url = url;
    expect_bad(o, "url");
  }
  HttpEmbedderOptions o = good;
  o.model = "";
  expect_bad(o, "model");
  o = good;
  o.dimension = 0;
  expect_bad(o, "dimension");
  o = good;
  o.api_key = "k\r\nX-Evil: 1";
  expect_bad(o, "api_key");
  o = good;
  o.max_batch = 0;
  expect_bad(o, "max_batch");
  o = good;
  o.timeout_us = 0;
  expect_bad(o, "timeout_us");
  o = good;
  o.max_attempts = 0;
  expect_bad(o, "max_attempts");
  o = good;
  o.max_backoff_us = o.initial_backoff_us - 1;
  expect_bad(o, "max_backoff_us");
  o = good;
  o.breaker_open_us = 0;
  expect_bad(o, "breaker_open_us");
  o = good;
  o.max_text_bytes = 0;
  expect_bad(o, "max_text_bytes");
}

}  // namespace
}  // namespace tandem::testing
