#include "redis/lease_keeper.h"

#include <chrono>

namespace tandem::redis {
namespace {

int64_t SteadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

LeaseKeeper::LeaseKeeper(const RedisBusOptions& options, std::string members_key,
                         std::string owner)
    : options_(options),
      members_key_(std::move(members_key)),
      owner_(std::move(owner)),
      conn_(options),
      last_poll_us_(SteadyUs()),
      thread_([this] { Loop(); }) {}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LeaseKeeper::SetLeases(std::vector<std::string> leases) {
  std::lock_guard<std::mutex> l(mu_);
  leases_ = std::move(leases);
}

void LeaseKeeper::Polled() { last_poll_us_.store(SteadyUs(), std::memory_order_relaxed); }

void LeaseKeeper::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_for(l, std::chrono::milliseconds(options_.lease_renew_ms));
    if (stop_) break;
    l.unlock();
    RenewOnce();
    l.lock();
  }
}

// Best effort: a failure here is seen (and acted on) by the consumer's own
// renewal in Poll, or the leases expire.
void LeaseKeeper::RenewOnce() {
  const int64_t idle_ms = (SteadyUs() - last_poll_us_.load(std::memory_order_relaxed)) / 1000;
  if (idle_ms > options_.max_poll_interval_ms) return;  // presumed stuck: let the leases lapse
  std::vector<std::string> leases;
  {
    std::lock_guard<std::mutex> l(mu_);
    leases = leases_;
  }
  const std::string ttl = std::to_string(options_.lease_ttl_ms);
  std::vector<Argv> cmds;
  Result<Argv> heartbeat = conn_.EvalArgv(kHeartbeatScript, {members_key_}, {owner_, ttl});
  if (!heartbeat.ok()) return;
  cmds.push_back(std::move(*heartbeat));
  for (const std::string& lease : leases) {
    Result<Argv> renew = conn_.EvalArgv(kRenewScript, {lease}, {owner_, ttl});
    if (!renew.ok()) return;
    cmds.push_back(std::move(*renew));
  }
  std::vector<Reply> replies;
  if (conn_.Pipeline(cmds, &replies).ok()) {
    for (const Reply& r : replies) {
      if (r.is_error() && r.str.starts_with("NOSCRIPT")) conn_.ForgetScripts();
    }
  }
}

}  // namespace tandem::redis
