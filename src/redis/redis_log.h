// RedisLog: tandem::Log on Redis Streams (design and key layout in README.md).
//
// Thread safety: safe for concurrent use (a pool of connections; the topic
// cache under a mutex). Subscriptions must be destroyed before the RedisLog.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.h"
#include "tandem/bus.h"
#include "tandem/log.h"

namespace tandem::redis {

// Key names. `{topic:partition}` is a hash tag: a partition's stream, counter,
// dedup markers and leases live in one Redis Cluster slot, as the append
// script needs.
struct Keys {
  std::string prefix;
  std::string Topics() const { return prefix + "topics"; }
  std::string Tag(std::string_view t, uint32_t p) const {
    return prefix + "{" + std::string(t) + ":" + std::to_string(p) + "}";
  }
  std::string Stream(std::string_view t, uint32_t p) const { return Tag(t, p) + ":s"; }
  std::string Counter(std::string_view t, uint32_t p) const { return Tag(t, p) + ":n"; }
  std::string Marker(std::string_view t, uint32_t p, std::string_view id) const {
    return Tag(t, p) + ":d:" + std::string(id);
  }
  std::string Lease(std::string_view t, uint32_t p, std::string_view sub) const {
    return Tag(t, p) + ":l:" + std::string(sub);
  }
  std::string Members(std::string_view sub) const {
    return prefix + "sub:" + std::string(sub) + ":members";
  }
};

// A stream entry (id, field/value pairs) as a Record; Corruption when it is
// not one this bus wrote.
Status DecodeEntry(const Reply& entry, Record* out);

class RedisLog final : public Log {
 public:
  explicit RedisLog(const RedisBusOptions& options);
  ~RedisLog() override;

  // Checks the server answers (PING). Unavailable when it does not.
  Status Start();

  Status CreateTopic(std::string_view topic, const TopicOptions& options) override;
  std::vector<std::string> ListTopics() override;
  Result<TopicStats> Stats(std::string_view topic) override;
  Result<uint32_t> PartitionFor(std::string_view topic, std::string_view key) override;
  Result<AppendResult> Append(std::string_view topic, const ProduceRecord& record) override;
  Status AppendBatch(std::string_view topic, std::span<const ProduceRecord> records,
                     std::vector<AppendResult>* results) override;
  // Runs on the calling thread: `done` has run when it returns.
  void AppendAsync(std::string_view topic, std::vector<ProduceRecord> records,
                   AppendCallback done) override;
  Status Read(std::string_view topic, uint32_t partition, uint64_t from, size_t max_bytes,
              std::vector<Record>* out) override;
  Result<std::unique_ptr<Subscription>> Subscribe(const SubscriptionOptions& options) override;
  Status EnforceRetention() override;
  Status Verify(VerifyReport* report) override;
  Status Close() override;

  // For subscriptions.
  const RedisBusOptions& options() const { return options_; }
  const Keys& keys() const { return keys_; }
  // Partition count of an existing topic (re-read from Redis when not cached).
  Result<uint32_t> Partitions(std::string_view topic);
  // Every topic (names from Redis), with partition counts.
  Result<std::map<std::string, uint32_t>> Topics();

 private:
  Result<uint32_t> EnsureTopic(std::string_view topic);
  Status TrimPartition(RedisConnection& c, const std::string& topic, uint32_t partition,
                       int64_t cutoff_us);
  void RetentionLoop();

  const RedisBusOptions options_;
  const Keys keys_;
  ConnectionPool pool_;

  std::mutex mu_;
  std::map<std::string, uint32_t, std::less<>> partitions_;  // GUARDED_BY(mu_)
  bool closed_ = false;                                      // GUARDED_BY(mu_)
  std::condition_variable cv_;
  std::thread retention_;
};

// Opens a subscription of `log` (which must outlive it).
Result<std::unique_ptr<Subscription>> OpenRedisSubscription(RedisLog& log,
                                                            const SubscriptionOptions& options);

}  // namespace tandem::redis
