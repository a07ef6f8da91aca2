// The Prometheus exposition: exact text, naming rules, histograms,
// collectors, concurrent updates.

#include "tandem/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace tandem {
namespace {

TEST(Metrics, RendersTheTextFormat) {
  MetricsRegistry m;
  m.AddCounter("tandem_events_published_total", "Events appended", {{"topic", "person"}})
      .Increment(3);
  m.AddCounter("tandem_events_published_total", "Events appended", {{"topic", "account"}})
      .Increment();
  m.AddGauge("tandem_breaker_open", "1 while the breaker is open", {{"leg", "graph"}}).Set(1);
  Histogram& h = m.AddHistogram("tandem_publish_duration_seconds", "Publish latency",
                                {0.001, 0.01, 0.1});
  h.Observe(0.0005);
  h.Observe(0.001);  // on a bound: counted in that bucket (le is inclusive)
  h.Observe(0.05);
  h.Observe(3);
  m.AddCollector([](MetricsWriter& w) {
    w.Gauge("tandem_leg_lag_events", "Events not acknowledged",
            {{"leg", "vector"}, {"note", "a\"b\\c\nd"}}, 42);
  });
  EXPECT_EQ(m.Render(),
            "# HELP tandem_breaker_open 1 while the breaker is open\n"
            "# TYPE tandem_breaker_open gauge\n"
            "tandem_breaker_open{leg=\"graph\"} 1\n"
            "# HELP tandem_events_published_total Events appended\n"
            "# TYPE tandem_events_published_total counter\n"
            "tandem_events_published_total{topic=\"account\"} 1\n"
            "tandem_events_published_total{topic=\"person\"} 3\n"
            "# HELP tandem_leg_lag_events Events not acknowledged\n"
            "# TYPE tandem_leg_lag_events gauge\n"
            "tandem_leg_lag_events{leg=\"vector\",note=\"a\\\"b\\\\c\\nd\"} 42\n"
            "# HELP tandem_metrics_rejected_samples_total Collector samples dropped for a bad "
            "name, labels or type\n"
            "# TYPE tandem_metrics_rejected_samples_total counter\n"
            "tandem_metrics_rejected_samples_total 0\n"
            "# HELP tandem_publish_duration_seconds Publish latency\n"
            "# TYPE tandem_publish_duration_seconds histogram\n"
            "tandem_publish_duration_seconds_bucket{le=\"0.001\"} 2\n"
            "tandem_publish_duration_seconds_bucket{le=\"0.01\"} 2\n"
            "tandem_publish_duration_seconds_bucket{le=\"0.1\"} 3\n"
            "tandem_publish_duration_seconds_bucket{le=\"+Inf\"} 4\n"
            "tandem_publish_duration_seconds_sum 3.0515\n"
            "tandem_publish_duration_seconds_count 4\n");
}

TEST(Metrics, NamingRulesAreEnforced) {
  MetricsRegistry m;
  EXPECT_TRUE(m.TryAddCounter("tandem_events", "no _total").status().IsInvalidArgument());
  EXPECT_TRUE(m.TryAddGauge("1bad", "x").status().IsInvalidArgument());
  EXPECT_TRUE(m.TryAddGauge("tandem-lag", "x").status().IsInvalidArgument());
  EXPECT_TRUE(m.TryAddGauge("tandem_lag", "x", {{"__reserved", "v"}}).status().IsInvalidArgument());
  EXPECT_TRUE(m.TryAddGauge("tandem_lag", "x", {{"le", "v"}}).status().IsInvalidArgument());
  EXPECT_TRUE(m.TryAddGauge("tandem_lag", "x", {{"a", "1"}, {"a", "2"}}).status().IsInvalidArgument());
  EXPECT_TRUE(m.TryAddHistogram("tandem_h_seconds", "x", {1, 1}).status().IsInvalidArgument());
  // The same series twice is the same object; the name with another type is refused.
  Result<Gauge*> a = m.TryAddGauge("tandem_lag", "lag", {{"leg", "g"}, {"p", "1"}});
  Result<Gauge*> b = m.TryAddGauge("tandem_lag", "lag", {{"p", "1"}, {"leg", "g"}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  Status s = m.TryAddHistogram("tandem_lag", "lag", {1}).status();
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("registered before as a gauge"), std::string::npos) << s.ToString();
}

TEST(Metrics, BadCollectorSamplesAreCountedNotRendered) {
  MetricsRegistry m;
  m.AddCollector([](MetricsWriter& w) {
    w.Counter("tandem_good_total", "ok", {}, 1);
    w.Counter("tandem_bad", "counter without _total", {}, 1);
    w.Gauge("bad name", "space", {}, 1);
  });
  const std::string text = m.Render();
  EXPECT_NE(text.find("tandem_good_total 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("tandem_bad "), std::string::npos) << text;
  EXPECT_NE(text.find("tandem_metrics_rejected_samples_total 2\n"), std::string::npos) << text;
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry m;
  Counter& c = m.AddCounter("tandem_ops_total", "ops");
  Gauge& g = m.AddGauge("tandem_level", "level");
  Histogram& h = m.AddHistogram("tandem_op_seconds", "op", Histogram::LatencyBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        c.Increment();
        g.Add(1);
        h.Observe(0.002);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(c.value(), 40'000u);
  EXPECT_EQ(g.value(), 40'000.0);
  EXPECT_EQ(h.count(), 40'000u);
  EXPECT_EQ(h.CumulativeCounts().back(), 40'000u);
  EXPECT_NEAR(h.sum(), 80.0, 1e-6);
}

}  // namespace
}  // namespace tandem
