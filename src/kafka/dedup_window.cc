#include "kafka/dedup_window.h"

namespace tandem::kafka {

DedupWindow::DedupWindow(Clock& clock, int64_t window_ms, uint32_t max_entries)
    : clock_(clock), window_us_(window_ms > 0 ? window_ms * 1000 : 0), max_entries_(max_entries) {}

std::optional<AppendResult> DedupWindow::Reserve(const std::string& topic, const std::string& id) {
  if (!enabled() || id.empty()) return std::nullopt;
  std::unique_lock lock(mu_);
  TopicWindow& w = topics_[topic];
  for (;;) {
    const int64_t now = clock_.NowMicros();
    Evict(w, now);
    auto it = w.entries.find(id);
    if (it == w.entries.end()) {
      w.entries.emplace(id, Entry{true, {}, now});
      return std::nullopt;
    }
    if (!it->second.pending) {
      AppendResult r = it->second.result;
      r.duplicate = true;
      return r;
    }
    // The reserving append always finishes (its delivery report is bounded by
    // delivery_timeout_ms), so this wait ends.
    done_.wait(lock);
  }
}

void DedupWindow::Finish(const std::string& topic, const std::string& id,
                         const AppendResult* result) {
  if (!enabled() || id.empty()) return;
  {
    std::lock_guard lock(mu_);
    TopicWindow& w = topics_[topic];
    auto it = w.entries.find(id);
    if (it != w.entries.end() && it->second.pending) {
      if (result == nullptr) {
        w.entries.erase(it);
      } else {
        it->second.pending = false;
        it->second.result = *result;
        it->second.result.duplicate = false;
        it->second.at_us = clock_.NowMicros();
        w.order.emplace_back(it->second.at_us, id);
        Evict(w, it->second.at_us);
      }
    }
  }
  done_.notify_all();
}

void DedupWindow::Remember(const std::string& topic, const std::string& id,
                           const AppendResult& result, int64_t at_us) {
  if (!enabled() || id.empty()) return;
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowMicros();
  if (at_us < now - window_us_) return;
  TopicWindow& w = topics_[topic];
  auto [it, fresh] = w.entries.emplace(id, Entry{false, result, at_us});
  if (!fresh) return;
  it->second.result.duplicate = false;
  w.order.emplace_back(at_us, id);
  Evict(w, now);
}

void DedupWindow::Evict(TopicWindow& w, int64_t now_us) {
  while (!w.order.empty() &&
         (w.order.size() > max_entries_ || w.order.front().first < now_us - window_us_)) {
    auto it = w.entries.find(w.order.front().second);
    // Only a finished entry of that very time is the one this order slot names.
    if (it != w.entries.end() && !it->second.pending && it->second.at_us == w.order.front().first) {
      w.entries.erase(it);
    }
    w.order.pop_front();
  }
}

}  // namespace tandem::kafka
