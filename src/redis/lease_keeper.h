// LeaseKeeper: keeps a consumer's partition leases and its membership alive
// from a thread and connection of its own, so a long sink call (no Poll for
// a while) does not let the partitions move to another consumer mid-batch —
// Kafka's heartbeat thread. A consumer that has not polled for
// max_poll_interval_ms is presumed stuck: the keeper stops renewing and its
// leases expire (then another consumer claims its messages).
//
// Also the lease scripts, used by the consumer too.
//
// Thread safety: SetLeases and Polled are called by the consumer's thread
// while the keeper's thread renews; guarded by a mutex.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.h"

namespace tandem::redis {

// KEYS: members zset. ARGV: member, ttl ms. Returns the live member count.
inline constexpr Script kHeartbeatScript{"heartbeat", R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
return redis.call('ZCARD', KEYS[1])
)lua"};

// KEYS: lease. ARGV: owner, ttl ms. 1 when renewed.
inline constexpr Script kRenewScript{"renew", R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
)lua"};

// KEYS: lease. ARGV: owner. Deletes the lease only when held by the owner.
inline constexpr Script kReleaseScript{"release", R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua"};

class LeaseKeeper {
 public:
  LeaseKeeper(const RedisBusOptions& options, std::string members_key, std::string owner);
  ~LeaseKeeper();  // stops and joins the thread; releases nothing
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // The lease keys the consumer holds now.
  void SetLeases(std::vector<std::string> leases);
  // The consumer polled (it is not stuck).
  void Polled();

 private:
  void Loop();
  void RenewOnce();

  const RedisBusOptions& options_;
  const std::string members_key_;
  const std::string owner_;
  RedisConnection conn_;  // the keeper thread's only
  std::atomic<int64_t> last_poll_us_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> leases_;  // GUARDED_BY(mu_)
  bool stop_ = false;                // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace tandem::redis
