// Metrics in the Prometheus text exposition format (version 0.0.4), served
// by `tandem serve` at GET /metrics.
//
//   MetricsRegistry m;
//   Counter& published = m.AddCounter("tandem_events_published_total",
//                                     "Events appended to the log", {{"topic", "person"}});
//   Histogram& latency = m.AddHistogram("tandem_publish_duration_seconds",
//                                       "Time from receipt to durable append",
//                                       Histogram::LatencyBuckets());
//   published.Increment();
//   latency.Observe(0.0012);
//   m.AddCollector([&](MetricsWriter& w) {        // values read at scrape time
//     w.Gauge("tandem_leg_lag_events", "Events not yet acknowledged", {{"leg", "graph"}}, lag);
//   });
//   std::string text = m.Render();
//
// Naming follows the Prometheus conventions (checked): base units
// (`_seconds`, `_bytes`), counters end in `_total`; metric names match
// [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and do not
// start with "__"; label values are escaped (\\, \", \n). A series is
// (name, labels); adding the same series twice returns the same object, and
// adding a name with another type or help text is a programming error
// reported by Status from TryAdd* (Add* aborts on it, as it is a bug).
//
// Thread safety: everything is safe for concurrent use; counters, gauges and
// histograms are lock-free to update. Collectors run on the scraping thread
// and must be safe to call from it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tandem/status.h"

namespace tandem {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v);
  void Add(double delta);
  double value() const;

 private:
  std::atomic<uint64_t> bits_{0};  // the double's bits
};

class Histogram {
 public:
  // `bounds`: strictly increasing finite upper bounds; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  // Counts `v` in the first bucket whose bound is >= v (NaN is ignored).
  void Observe(double v);

  // 100 µs .. 10 s, roughly ×2.5 per bucket: request and commit latencies.
  static std::vector<double> LatencyBuckets();
  // 1 .. 10000, ×~3: batch sizes.
  static std::vector<double> SizeBuckets();

  const std::vector<double>& bounds() const { return bounds_; }
  // Cumulative counts per bound, then +Inf; and the sum of observations.
  std::vector<uint64_t> CumulativeCounts() const;
  double sum() const;
  uint64_t count() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<uint64_t> sum_bits_{0};
  std::atomic<uint64_t> count_{0};
};

// What collectors write: samples computed at scrape time.
class MetricsWriter {
 public:
  virtual ~MetricsWriter() = default;
  virtual void Counter(std::string_view name, std::string_view help, const MetricLabels& labels,
                       double value) = 0;
  virtual void Gauge(std::string_view name, std::string_view help, const MetricLabels& labels,
                     double value) = 0;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // InvalidArgument naming the problem for a bad name or labels, or a name
  // registered before with another type, help or bucket layout.
  Result<tandem::Counter*> TryAddCounter(std::string_view name, std::string_view help,
                                         const MetricLabels& labels = {});
  Result<tandem::Gauge*> TryAddGauge(std::string_view name, std::string_view help,
                                     const MetricLabels& labels = {});
  Result<tandem::Histogram*> TryAddHistogram(std::string_view name, std::string_view help,
                                             std::vector<double> bounds,
                                             const MetricLabels& labels = {});
  // The same, aborting with the message on a programming error.
  tandem::Counter& AddCounter(std::string_view name, std::string_view help,
                              const MetricLabels& labels = {});
  tandem::Gauge& AddGauge(std::string_view name, std::string_view help,
                          const MetricLabels& labels = {});
  tandem::Histogram& AddHistogram(std::string_view name, std::string_view help,
                                  std::vector<double> bounds, const MetricLabels& labels = {});

  // Called at every Render, in the order added.
  void AddCollector(std::function<void(MetricsWriter&)> collector);

  // The exposition text: families sorted by name, each with # HELP and
  // # TYPE, series sorted by labels. Collector samples with a bad name are
  // skipped and counted in tandem_metrics_rejected_samples_total.
  std::string Render() const;

 private:
  struct Family;
  Result<Family*> FamilyFor(std::string_view name, std::string_view help, std::string_view type,
                            const std::vector<double>* bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;  // GUARDED_BY(mu_)
  std::vector<std::function<void(MetricsWriter&)>> collectors_;          // GUARDED_BY(mu_)
  mutable std::atomic<uint64_t> rejected_{0};
};

// Validation used by the registry, exposed for tests and collectors.
Status ValidateMetricName(std::string_view name);
Status ValidateMetricLabels(const MetricLabels& labels);

}  // namespace tandem
