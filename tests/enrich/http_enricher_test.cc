// The http enricher against a local test server (cpp-httplib on 127.0.0.1,
// a kernel-chosen port) with configurable latency and failure rate, alone
// and inside the enrichment leg.

#include <httplib.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "enrich_test_util.h"

namespace tandem::enrich_test {
namespace {

// POST /enrich answers {"risk_band": "<first letter of payload.name>"}.
// fail_every_nth > 0: every n-th request answers 503; refuse_status != 0:
// every request answers it.
class EnrichServer {
 public:
  std::atomic<int> latency_ms{0};
  std::atomic<int> fail_every_nth{0};
  std::atomic<int> refuse_status{0};
  std::atomic<bool> non_object{false};

  EnrichServer() {
    server_.Post("/enrich", [this](const httplib::Request& req, httplib::Response& res) {
      const int n = ++requests_;
      if (latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(latency_ms.load()));
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      {
        std::lock_guard l(mu_);
        bodies_.push_back(body);
      }
      if (refuse_status != 0) {
        res.status = refuse_status;
        res.set_content(R"({"error":{"message":"entity refused"}})", "application/json");
        return;
      }
      if (fail_every_nth > 0 && n % fail_every_nth == 0) {
        res.status = 503;
        res.set_header("Retry-After", "1");
        res.set_content("overloaded", "text/plain");
        return;
      }
      if (non_object) {
        res.set_content("[1,2]", "application/json");
        return;
      }
      const std::string name = body["payload"].value("name", "?");
      res.set_content(nlohmann::json{{"risk_band", name.substr(0, 1)}}.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 5000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~EnrichServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/enrich"; }
  int requests() const { return requests_.load(); }
  nlohmann::json first_body() {
    std::lock_guard l(mu_);
    return bodies_.empty() ? nlohmann::json() : bodies_.front();
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<nlohmann::json> bodies_;  // GUARDED_BY(mu_)
};

std::unique_ptr<Enricher> Http(const std::string& url) {
  HttpEnricherOptions o;
  o.url = url;
  o.fields = {"risk_band"};
  Result<std::unique_ptr<Enricher>> e = NewHttpEnricher(o);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? std::move(e).value() : nullptr;
}

EnrichRequest Request(const std::string& name) {
  EnrichRequest r;
  r.entity_id = "p-1";
  r.entity_type = "person";
  r.payload = "{\"name\":\"" + name + "\"}";
  r.timeout_us = 2'000'000;
  r.progress = [](double, std::string_view) {};
  return r;
}

TEST(HttpEnricher, PostsTheEntityAndReturnsTheAnswer) {
  EnrichServer server;
  std::unique_ptr<Enricher> e = Http(server.url());
  Result<std::string> r = e->Enrich(Request("Ada"));
  LEG_ASSERT_OK(r);
  EXPECT_EQ(*r, R"({"risk_band":"A"})");
  const nlohmann::json body = server.first_body();
  EXPECT_EQ(body["entity_id"], "p-1");
  EXPECT_EQ(body["entity_type"], "person");
  EXPECT_EQ(body["payload"]["name"], "Ada");
}

TEST(HttpEnricher, ClassifiesStatusesTimeoutsAndBadAnswers) {
  EnrichServer server;
  std::unique_ptr<Enricher> e = Http(server.url());
  server.fail_every_nth = 1;
  Status s = e->Enrich(Request("Ada")).status();
  EXPECT_EQ(ClassifyEnrichError(s), EnrichErrorClass::kTransient) << s.ToString();
  EXPECT_NE(s.message().find("Retry-After 1 s"), std::string::npos) << s.ToString();
  server.fail_every_nth = 0;
  for (int code : {408, 429}) {
    server.refuse_status = code;
    EXPECT_EQ(ClassifyEnrichError(e->Enrich(Request("Ada")).status()), EnrichErrorClass::kTransient);
  }
  for (int code : {400, 404, 422}) {
    server.refuse_status = code;
    s = e->Enrich(Request("Ada")).status();
    EXPECT_EQ(ClassifyEnrichError(s), EnrichErrorClass::kPermanent) << code;
    EXPECT_NE(s.message().find("entity refused"), std::string::npos) << s.ToString();
  }
  server.refuse_status = 0;
  server.non_object = true;
  EXPECT_EQ(ClassifyEnrichError(e->Enrich(Request("Ada")).status()), EnrichErrorClass::kTransient);
  server.non_object = false;
  server.latency_ms = 300;
  EnrichRequest slow = Request("Ada");
  slow.timeout_us = 50'000;
  s = e->Enrich(slow).status();
  EXPECT_EQ(ClassifyEnrichError(s), EnrichErrorClass::kTransient) << s.ToString();
  // Nobody listens on a closed port: transient.
  std::string dead_url;
  {
    EnrichServer gone;
    dead_url = gone.url();
  }
  EXPECT_EQ(ClassifyEnrichError(Http(dead_url)->Enrich(Request("Ada")).status()),
            EnrichErrorClass::kTransient);
}

TEST(HttpEnricher, BadOptionsNameTheField) {
  HttpEnricherOptions o;
  o.url = "ftp://x";
  o.fields = {"a"};
  EXPECT_TRUE(NewHttpEnricher(o).status().message().starts_with("url:"));
  o.url = "http://127.0.0.1:1/x";
  o.fields.clear();
  EXPECT_TRUE(NewHttpEnricher(o).status().message().starts_with("fields:"));
}

TEST(HttpEnricher, InTheLegWithLatencyAndAFailureRateEveryEntityCompletes) {
  LegEnv env;
  env.OpenLog();
  TempDir dir;
  EnrichServer server;
  server.latency_ms = 2;
  server.fail_every_nth = 4;  // 25% of requests fail
  std::unique_ptr<Enricher> e = Http(server.url());
  EnrichLegOptions o = TestEnrichOptions(dir.path());
  o.max_attempts = 10;
  o.breaker.failure_threshold = 0;
  std::unique_ptr<GraphStore> graph = env.OpenGraph("graph");
  std::unique_ptr<Leg> graph_leg = MakeGraphLeg(env.log(), *graph, TestLegOptions("graph")).value();
  std::unique_ptr<EnrichLeg> leg = NewEnrichLeg(env.log(), *e, o).value();
  LEG_ASSERT_OK(graph_leg->Start());
  LEG_ASSERT_OK(leg->Start());
  const std::vector<EntityEvent> events = People(40);
  env.Publish(events);
  LEG_ASSERT_OK(leg->WaitForCaughtUp(kWaitUs));
  LEG_ASSERT_OK(graph_leg->WaitForCaughtUp(kWaitUs));
  for (const EntityEvent& ev : events) {
    Result<EntityState> s = graph->Get(ev.entity_id);
    LEG_ASSERT_OK(s);
    EXPECT_EQ(Member(s->payload, "enrichment_status"), "completed");
    EXPECT_EQ(Member(s->payload, "risk_band"), "N");
  }
  const EnrichStats s = leg->enrich_stats();
  EXPECT_EQ(s.jobs_completed, events.size());
  EXPECT_GT(s.transient_errors, 0u);
  EXPECT_EQ(s.enricher_calls, static_cast<uint64_t>(server.requests()));
  ExpectJobsBalanced(s);
}

}  // namespace
}  // namespace tandem::enrich_test
