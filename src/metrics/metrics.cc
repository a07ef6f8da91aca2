// MetricsRegistry and the Prometheus text format.

#include "tandem/metrics.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace tandem {
namespace {

double FromBits(uint64_t b) { return std::bit_cast<double>(b); }
uint64_t ToBits(double d) { return std::bit_cast<uint64_t>(d); }

void AtomicAdd(std::atomic<uint64_t>& bits, double delta) {
  uint64_t old = bits.load(std::memory_order_relaxed);
  while (!bits.compare_exchange_weak(old, ToBits(FromBits(old) + delta),
                                     std::memory_order_relaxed)) {
  }
}

bool NameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool NameChar(char c) { return NameStart(c) || (c >= '0' && c <= '9'); }

// Prometheus float formatting: the shortest text that reads back as the same
// double ("0.1", "3.0515", "42"), +Inf/-Inf/NaN spelled as the format wants.
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::string("NaN");
}

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

MetricLabels Sorted(MetricLabels labels) {
  std::sort(labels.begin(), labels.end());
  return labels;
}

std::string LabelText(const MetricLabels& labels, const std::pair<std::string, std::string>* extra) {
  if (labels.empty() && extra == nullptr) return "";
  std::string out = "{";
  bool first = true;
  auto add = [&](const std::string& k, const std::string& v) {
    if (!first) out.push_back(',');
    first = false;
    out += k + "=\"" + EscapeLabelValue(v) + "\"";
  };
  for (const auto& [k, v] : labels) add(k, v);
  if (extra != nullptr) add(extra->first, extra->second);
  out.push_back('}');
  return out;
}

}  // namespace

Status ValidateMetricName(std::string_view name) {
  if (name.empty() || !NameStart(name[0]) ||
      !std::all_of(name.begin(), name.end(), NameChar)) {
    return Status::InvalidArgument("metric name \"" + std::string(name) +
                                   "\": must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  return Status::OK();
}

Status ValidateMetricLabels(const MetricLabels& labels) {
  std::set<std::string> seen;
  for (const auto& [k, v] : labels) {
    const bool ok = !k.empty() && NameStart(k[0]) && k[0] != ':' &&
                    std::all_of(k.begin(), k.end(), [](char c) { return NameChar(c) && c != ':'; });
    if (!ok) {
      return Status::InvalidArgument("label name \"" + k + "\": must match [a-zA-Z_][a-zA-Z0-9_]*");
    }
    if (k.starts_with("__")) {
      return Status::InvalidArgument("label name \"" + k + "\": names starting with __ are reserved");
    }
    if (k == "le") return Status::InvalidArgument("label name \"le\": reserved for histogram buckets");
    if (!seen.insert(k).second) return Status::InvalidArgument("label \"" + k + "\": given twice");
  }
  return Status::OK();
}

// ---- Gauge, Histogram ------------------------------------------------------

void Gauge::Set(double v) { bits_.store(ToBits(v), std::memory_order_relaxed); }
void Gauge::Add(double delta) { AtomicAdd(bits_, delta); }
double Gauge::value() const { return FromBits(bits_.load(std::memory_order_relaxed)); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double v) {
  if (std::isnan(v)) return;  // no bucket holds NaN; it would poison the sum
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                       bounds_.begin());  // first bound >= v: le semantics
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(sum_bits_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<double> Histogram::LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5, 5, 10};
}
std::vector<double> Histogram::SizeBuckets() {
  return {1, 3, 10, 30, 100, 300, 1000, 3000, 10000};
}

std::vector<uint64_t> Histogram::CumulativeCounts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    out[i] = running;
  }
  return out;
}
double Histogram::sum() const { return FromBits(sum_bits_.load(std::memory_order_relaxed)); }
uint64_t Histogram::count() const { return count_.load(std::memory_order_relaxed); }

// ---- Registry --------------------------------------------------------------

struct MetricsRegistry::Family {
  std::string help;
  std::string type;  // "counter", "gauge", "histogram"
  std::vector<double> bounds;
  std::map<MetricLabels, std::unique_ptr<tandem::Counter>> counters;
  std::map<MetricLabels, std::unique_ptr<tandem::Gauge>> gauges;
  std::map<MetricLabels, std::unique_ptr<tandem::Histogram>> histograms;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

Result<MetricsRegistry::Family*> MetricsRegistry::FamilyFor(std::string_view name,
                                                            std::string_view help,
                                                            std::string_view type,
                                                            const std::vector<double>* bounds) {
  TANDEM_RETURN_IF_ERROR(ValidateMetricName(name));
  if (type == "counter" && !name.ends_with("_total")) {
    return Status::InvalidArgument("metric name \"" + std::string(name) +
                                   "\": a counter's name ends in _total");
  }
  auto it = families_.find(name);
  if (it == families_.end()) {
    auto f = std::make_unique<Family>();
    f->help = std::string(help);
    f->type = std::string(type);
    if (bounds != nullptr) f->bounds = *bounds;
    it = families_.emplace(std::string(name), std::move(f)).first;
    return it->second.get();
  }
  Family* f = it->second.get();
  if (f->type != type || f->help != help || (bounds != nullptr && f->bounds != *bounds)) {
    return Status::InvalidArgument("metric \"" + std::string(name) + "\": registered before as a " +
                                   f->type + " with other help text or buckets");
  }
  return f;
}

Result<Counter*> MetricsRegistry::TryAddCounter(std::string_view name, std::string_view help,
                                                const MetricLabels& labels) {
  TANDEM_RETURN_IF_ERROR(ValidateMetricLabels(labels));
  std::lock_guard<std::mutex> l(mu_);
  TANDEM_ASSIGN_OR_RETURN(Family * f, FamilyFor(name, help, "counter", nullptr));
  auto& slot = f->counters[Sorted(labels)];
  if (slot == nullptr) slot = std::make_unique<tandem::Counter>();
  return slot.get();
}

Result<Gauge*> MetricsRegistry::TryAddGauge(std::string_view name, std::string_view help,
                                            const MetricLabels& labels) {
  TANDEM_RETURN_IF_ERROR(ValidateMetricLabels(labels));
  std::lock_guard<std::mutex> l(mu_);
  TANDEM_ASSIGN_OR_RETURN(Family * f, FamilyFor(name, help, "gauge", nullptr));
  auto& slot = f->gauges[Sorted(labels)];
  if (slot == nullptr) slot = std::make_unique<tandem::Gauge>();
  return slot.get();
}

Result<Histogram*> MetricsRegistry::TryAddHistogram(std::string_view name, std::string_view help,
                                                    std::vector<double> bounds,
                                                    const MetricLabels& labels) {
  TANDEM_RETURN_IF_ERROR(ValidateMetricLabels(labels));
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      return Status::InvalidArgument("histogram \"" + std::string(name) +
                                     "\": bucket bounds must be finite and strictly increasing");
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  TANDEM_ASSIGN_OR_RETURN(Family * f, FamilyFor(name, help, "histogram", &bounds));
  auto& slot = f->histograms[Sorted(labels)];
  if (slot == nullptr) slot = std::make_unique<tandem::Histogram>(bounds);
  return slot.get();
}

namespace {
template <typename T>
T& OrDie(Result<T*> r) {
  if (!r.ok()) {
    std::fprintf(stderr, "tandem metrics: %s\n", r.status().ToString().c_str());
    std::abort();
  }
  return **r;
}
}  // namespace

Counter& MetricsRegistry::AddCounter(std::string_view name, std::string_view help,
                                     const MetricLabels& labels) {
  return OrDie(TryAddCounter(name, help, labels));
}
Gauge& MetricsRegistry::AddGauge(std::string_view name, std::string_view help,
                                 const MetricLabels& labels) {
  return OrDie(TryAddGauge(name, help, labels));
}
Histogram& MetricsRegistry::AddHistogram(std::string_view name, std::string_view help,
                                         std::vector<double> bounds, const MetricLabels& labels) {
  return OrDie(TryAddHistogram(name, help, std::move(bounds), labels));
}

void MetricsRegistry::AddCollector(std::function<void(MetricsWriter&)> collector) {
  std::lock_guard<std::mutex> l(mu_);
  collectors_.push_back(std::move(collector));
}

namespace {

// Collector samples, grouped like registered families.
struct Collected {
  struct Series {
    std::string help, type;
    std::map<MetricLabels, double> values;
  };
  std::map<std::string, Series> families;
};

class CollectingWriter final : public MetricsWriter {
 public:
  CollectingWriter(Collected* out, std::atomic<uint64_t>* rejected)
      : out_(out), rejected_(rejected) {}
  void Counter(std::string_view name, std::string_view help, const MetricLabels& labels,
               double value) override {
    Add(name, help, "counter", labels, value);
  }
  void Gauge(std::string_view name, std::string_view help, const MetricLabels& labels,
             double value) override {
    Add(name, help, "gauge", labels, value);
  }

 private:
  void Add(std::string_view name, std::string_view help, const char* type,
           const MetricLabels& labels, double value) {
    const bool bad_counter = std::string_view(type) == "counter" && !name.ends_with("_total");
    if (!ValidateMetricName(name).ok() || !ValidateMetricLabels(labels).ok() || bad_counter) {
      rejected_->fetch_add(1, std::memory_order_relaxed);
      return;
    }
    Collected::Series& s = out_->families[std::string(name)];
    if (s.type.empty()) {
      s.type = type;
      s.help = std::string(help);
    } else if (s.type != type) {
      rejected_->fetch_add(1, std::memory_order_relaxed);
      return;
    }
    s.values[Sorted(labels)] = value;
  }
  Collected* out_;
  std::atomic<uint64_t>* rejected_;
};

void Header(std::string* out, const std::string& name, const std::string& help,
            const std::string& type) {
  *out += "# HELP " + name + " " + EscapeHelp(help) + "\n";
  *out += "# TYPE " + name + " " + type + "\n";
}

}  // namespace

std::string MetricsRegistry::Render() const {
  std::vector<std::function<void(MetricsWriter&)>> collectors;
  {
    std::lock_guard<std::mutex> l(mu_);
    collectors = collectors_;
  }
  Collected collected;
  CollectingWriter writer(&collected, &rejected_);
  for (const auto& c : collectors) c(writer);

  std::string out;
  std::lock_guard<std::mutex> l(mu_);
  std::set<std::string> names;
  for (const auto& [name, f] : families_) names.insert(name);
  for (const auto& [name, s] : collected.families) names.insert(name);
  names.insert("tandem_metrics_rejected_samples_total");
  for (const std::string& name : names) {
    if (name == "tandem_metrics_rejected_samples_total") {
      Header(&out, name, "Collector samples dropped for a bad name, labels or type", "counter");
      out += name + " " + std::to_string(rejected_.load(std::memory_order_relaxed)) + "\n";
      continue;
    }
    auto fit = families_.find(name);
    auto cit = collected.families.find(name);
    if (fit != families_.end()) {
      const Family& f = *fit->second;
      if (cit != collected.families.end() && cit->second.type != f.type) {
        rejected_.fetch_add(cit->second.values.size(), std::memory_order_relaxed);
        cit = collected.families.end();
      }
      Header(&out, name, f.help, f.type);
      for (const auto& [labels, c] : f.counters) {
        out += name + LabelText(labels, nullptr) + " " + std::to_string(c->value()) + "\n";
      }
      for (const auto& [labels, g] : f.gauges) {
        out += name + LabelText(labels, nullptr) + " " + FormatValue(g->value()) + "\n";
      }
      for (const auto& [labels, h] : f.histograms) {
        const std::vector<uint64_t> counts = h->CumulativeCounts();
        for (size_t i = 0; i <= h->bounds().size(); ++i) {
          const std::pair<std::string, std::string> le{
              "le", i < h->bounds().size() ? FormatValue(h->bounds()[i]) : "+Inf"};
          out += name + "_bucket" + LabelText(labels, &le) + " " + std::to_string(counts[i]) + "\n";
        }
        out += name + "_sum" + LabelText(labels, nullptr) + " " + FormatValue(h->sum()) + "\n";
        out += name + "_count" + LabelText(labels, nullptr) + " " + std::to_string(counts.back()) +
               "\n";
      }
      if (cit != collected.families.end()) {
        for (const auto& [labels, v] : cit->second.values) {
          out += name + LabelText(labels, nullptr) + " " + FormatValue(v) + "\n";
        }
      }
      continue;
    }
    const Collected::Series& s = cit->second;
    Header(&out, name, s.help, s.type);
    for (const auto& [labels, v] : s.values) {
      out += name + LabelText(labels, nullptr) + " " + FormatValue(v) + "\n";
    }
  }
  return out;
}

}  // namespace tandem
