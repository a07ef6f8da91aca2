// Sink wrappers for the leg tests: they sit between the leg runtime and a real
// StoreSink and inject failures or record what reached the store.
//
//  * FlakySink: whole calls failing (the first N, or while "down"), events of
//    chosen entities failing transiently a number of times (honouring the Sink
//    contract: later events of the entity in the call are held back, unapplied),
//    events refused permanently by event_id.
//  * RecordingSink: the offsets applied per entity, in apply order.
//  * BlockingSink: every call waits until released (backpressure tests).
//  * CrashingSink: lets the inner sink commit the K-th call, then "dies": that
//    call and every later one fail without touching the store, and a callback
//    (which makes the log lose its unwritten acks) runs at the moment of death.
//
// Thread safety: all wrappers are safe for concurrent use, as Sink requires.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tandem/leg.h"

namespace tandem::leg_test {

class FlakySink final : public Sink {
 public:
  explicit FlakySink(Sink& inner) : inner_(inner) {}

  // The next `n` calls fail as a whole (IOError), applying nothing.
  void FailNextCalls(int n) { fail_calls_ = n; }
  // While down, every call fails as a whole (Unavailable).
  void SetDown(bool down) { down_ = down; }
  // The events of `entity_id` fail transiently in the next `times` calls that
  // contain one (the first of them is the one reported; later ones are held).
  void FailEntity(const std::string& entity_id, int times) {
    std::lock_guard l(mu_);
    entity_failures_[entity_id] = times;
  }
  // The event `event_id` fails transiently in the next `times` calls holding it.
  void FailEvent(const std::string& event_id, int times) {
    std::lock_guard l(mu_);
    event_failures_[event_id] = times;
  }
  // Events with this event_id are refused permanently with `reason`.
  void Refuse(const std::string& event_id, const std::string& reason) {
    std::lock_guard l(mu_);
    refused_[event_id] = reason;
  }
  int calls() const { return calls_.load(); }

  Result<std::vector<ApplyOutcome>> Apply(std::span<const StoreEvent> events) override {
    calls_.fetch_add(1);
    if (down_.load()) return Status::Unavailable("flaky sink: down");
    if (fail_calls_.load() > 0 && fail_calls_.fetch_sub(1) > 0) {
      return Status::IOError("flaky sink: injected whole-batch failure");
    }
    std::vector<ApplyOutcome> out(events.size());
    std::vector<StoreEvent> pass;
    std::vector<size_t> index;
    {
      std::lock_guard l(mu_);
      std::set<std::string> failing;  // entities failing in this call
      for (size_t i = 0; i < events.size(); ++i) {
        const EntityEvent& e = events[i].event;
        if (failing.contains(e.entity_id)) {
          out[i] = {ApplyCode::kTransientError, "flaky sink: held behind an earlier event"};
          continue;
        }
        int* remaining = Remaining(entity_failures_, e.entity_id);
        if (remaining == nullptr) remaining = Remaining(event_failures_, e.event_id);
        if (remaining != nullptr) {
          --*remaining;
          failing.insert(e.entity_id);
          out[i] = {ApplyCode::kTransientError, "flaky sink: injected transient error"};
          continue;
        }
        auto r = refused_.find(e.event_id);
        if (r != refused_.end()) {
          out[i] = {ApplyCode::kPermanentError, r->second};
          continue;
        }
        pass.push_back(events[i]);
        index.push_back(i);
      }
    }
    if (pass.empty()) return out;
    TANDEM_ASSIGN_OR_RETURN(std::vector<ApplyOutcome> inner, inner_.Apply(pass));
    for (size_t k = 0; k < index.size(); ++k) out[index[k]] = std::move(inner[k]);
    return out;
  }
  Result<PositionMap> Positions() override { return inner_.Positions(); }

 private:
  static int* Remaining(std::map<std::string, int>& failures, const std::string& id) {
    auto it = failures.find(id);
    return it != failures.end() && it->second > 0 ? &it->second : nullptr;
  }

  Sink& inner_;
  std::atomic<int> calls_{0};
  std::atomic<int> fail_calls_{0};
  std::atomic<bool> down_{false};
  std::mutex mu_;
  std::map<std::string, int> entity_failures_;  // GUARDED_BY(mu_)
  std::map<std::string, int> event_failures_;   // GUARDED_BY(mu_)
  std::map<std::string, std::string> refused_;  // GUARDED_BY(mu_)
};

class RecordingSink final : public Sink {
 public:
  explicit RecordingSink(Sink& inner) : inner_(inner) {}

  Result<std::vector<ApplyOutcome>> Apply(std::span<const StoreEvent> events) override {
    TANDEM_ASSIGN_OR_RETURN(std::vector<ApplyOutcome> out, inner_.Apply(events));
    std::lock_guard l(mu_);
    for (size_t i = 0; i < events.size() && i < out.size(); ++i) {
      if (out[i].code == ApplyCode::kApplied) {
        applied_[events[i].event.entity_id].push_back(events[i].position.offset);
      }
    }
    return out;
  }
  Result<PositionMap> Positions() override { return inner_.Positions(); }

  // entity_id → offsets of its applied events, in the order they were applied.
  std::map<std::string, std::vector<uint64_t>> applied() const {
    std::lock_guard l(mu_);
    return applied_;
  }

 private:
  Sink& inner_;
  mutable std::mutex mu_;
  std::map<std::string, std::vector<uint64_t>> applied_;  // GUARDED_BY(mu_)
};

class BlockingSink final : public Sink {
 public:
  explicit BlockingSink(Sink& inner) : inner_(inner) {}

  Result<std::vector<ApplyOutcome>> Apply(std::span<const StoreEvent> events) override {
    std::unique_lock l(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(l, [this] { return released_; });
    l.unlock();
    return inner_.Apply(events);
  }
  Result<PositionMap> Positions() override { return inner_.Positions(); }

  // Waits (bounded, real time) until some call is blocked inside.
  bool WaitEntered(std::chrono::milliseconds timeout) {
    std::unique_lock l(mu_);
    return cv_.wait_for(l, timeout, [this] { return entered_ > 0; });
  }
  void Release() {
    std::lock_guard l(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  Sink& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;        // GUARDED_BY(mu_)
  bool released_ = false;  // GUARDED_BY(mu_)
};

class CrashingSink final : public Sink {
 public:
  // The `crash_call`-th call (1-based) commits through `inner`, then `on_death`
  // runs and the call fails; later calls fail without reaching `inner`.
  CrashingSink(Sink& inner, int crash_call, std::function<void()> on_death)
      : inner_(inner), crash_call_(crash_call), on_death_(std::move(on_death)) {}

  Result<std::vector<ApplyOutcome>> Apply(std::span<const StoreEvent> events) override {
    std::lock_guard l(mu_);  // serialised, so "before" and "after" death are well defined
    if (dead_) return Status::Aborted("crashing sink: the process is dead");
    TANDEM_ASSIGN_OR_RETURN(std::vector<ApplyOutcome> out, inner_.Apply(events));
    for (const ApplyOutcome& o : out) applied_ += o.code == ApplyCode::kApplied ? 1 : 0;
    if (++calls_ < crash_call_) return out;
    dead_ = true;
    on_death_();
    return Status::Aborted("crashing sink: died after the store committed, before the ack");
  }
  Result<PositionMap> Positions() override { return inner_.Positions(); }

  bool dead() const {
    std::lock_guard l(mu_);
    return dead_;
  }
  // Events the inner store applied (committed) before and at the death.
  uint64_t applied() const {
    std::lock_guard l(mu_);
    return applied_;
  }

 private:
  Sink& inner_;
  const int crash_call_;
  std::function<void()> on_death_;
  mutable std::mutex mu_;
  int calls_ = 0;         // GUARDED_BY(mu_)
  bool dead_ = false;     // GUARDED_BY(mu_)
  uint64_t applied_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace tandem::leg_test
