// LogImpl: the Log facade of include/tandem/log.h over Topics and Partitions.
//
// Directory layout (docs: src/log/README.md):
//   <dir>/LOCK                              flock(2)ed while a Log has it open
//   <dir>/topics/<topic>/topic.meta         see topic.h
//   <dir>/topics/<topic>/<partition>/       a Partition directory
//   <dir>/subscriptions/<name>.pos          see position_store.h
//
// Topics are created on first Append (default_partitions) or by CreateTopic;
// creation is serialised by create_mu_ and re-checks under it, so concurrent
// first appends create a topic once. Topics are never removed while the Log is
// open, so a Topic* stays valid until Close.
//
// All partitions share one ThreadPool (io_threads) for group commit. One
// background thread wakes on a condition variable at least every
// fsync_interval_ms (fsync=kInterval; else every second), runs Partition::Flush
// of every partition (fsync=kInterval only) and EnforceRetention every
// kRetentionCheckMicros of Clock time; Close stops and joins it.
//
// Subscriptions register as LogListeners and are told after every successful
// append and topic creation, so their consumers wake without polling.
//
// AppendAsync calls `done` inline (on the caller's thread) when the request is
// refused before anything is queued (closed log, TooLarge, bad topic name).
// AppendBatch must not be called from an io thread (it waits for them).
//
// Thread safety: all public methods are safe for concurrent use. Subscriptions
// must be destroyed before the Log.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/thread_pool.h"
#include "log/partition.h"
#include "log/topic.h"
#include "tandem/env.h"
#include "tandem/log.h"

namespace tandem {

// Told about log changes. OnLogChange runs on the appending thread (or an io
// thread) right after an append is acknowledged or a topic created; it must be
// quick and must not call back into the Log.
class LogListener {
 public:
  virtual ~LogListener() = default;
  virtual void OnLogChange() = 0;
};

class LogImpl final : public Log {
 public:
  static Result<std::unique_ptr<LogImpl>> OpenImpl(const LogOptions& options);
  ~LogImpl() override;

  // Log
  Status CreateTopic(std::string_view topic, const TopicOptions& options) override;
  std::vector<std::string> ListTopics() override;
  Result<TopicStats> Stats(std::string_view topic) override;
  Result<uint32_t> PartitionFor(std::string_view topic, std::string_view key) override;
  Result<AppendResult> Append(std::string_view topic, const ProduceRecord& record) override;
  Status AppendBatch(std::string_view topic, std::span<const ProduceRecord> records,
                     std::vector<AppendResult>* results) override;
  void AppendAsync(std::string_view topic, std::vector<ProduceRecord> records,
                   AppendCallback done) override;
  Status Read(std::string_view topic, uint32_t partition, uint64_t from, size_t max_bytes,
              std::vector<Record>* out) override;
  Result<std::unique_ptr<Subscription>> Subscribe(const SubscriptionOptions& options) override;
  Status EnforceRetention() override;
  Status Verify(VerifyReport* report) override;
  Status Close() override;

  // For subscriptions.
  FileSystem& fs() { return *fs_; }
  Clock& clock() { return *clock_; }
  const LogOptions& options() const { return options_; }
  std::string SubscriptionPath(std::string_view name) const;
  // The open topic, or nullptr. Valid until Close.
  Topic* FindTopic(std::string_view name);
  // Bumped on every topic creation.
  uint64_t topic_generation() const { return topic_generation_.load(std::memory_order_acquire); }
  // Appends and, when the fsync policy alone would not, fdatasyncs the
  // partition before returning: the record survives power loss.
  Result<AppendResult> AppendDurably(std::string_view topic, const ProduceRecord& record);
  void AddListener(LogListener* l);
  void RemoveListener(LogListener* l);
  // Claims a subscription name for this Log; FailedPrecondition when open already.
  Status ClaimSubscription(const std::string& name);
  void ReleaseSubscription(const std::string& name);

 private:
  struct Share;  // the records of one partition within a batch

  explicit LogImpl(const LogOptions& options);
  static std::vector<Share> EmptyShares(uint32_t partitions);
  Status OpenDirs();
  Status LoadTopics();
  PartitionOptions MakePartitionOptions() const;
  Result<Topic*> GetOrCreateTopic(std::string_view name, uint32_t partitions, bool must_create);
  Status CheckRecordSizes(std::span<const ProduceRecord> records) const;
  Result<Topic*> TopicForAppend(std::string_view name, std::span<const ProduceRecord> records);
  void Submit(Topic& topic, std::vector<Share> shares, size_t count, AppendCallback done);
  void NotifyListeners();
  void BackgroundLoop();
  void RunBackgroundTick(int64_t* last_retention_us);

  LogOptions options_;
  std::unique_ptr<FileSystem> owned_fs_;
  FileSystem* fs_ = nullptr;
  Clock* clock_ = nullptr;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<ThreadPool> pool_;

  std::mutex create_mu_;  // serialises topic creation (held across its I/O)
  mutable std::shared_mutex topics_mu_;
  std::map<std::string, std::unique_ptr<Topic>, std::less<>> topics_;  // GUARDED_BY(topics_mu_)
  std::atomic<uint64_t> topic_generation_{0};

  std::shared_mutex listeners_mu_;
  std::vector<LogListener*> listeners_;  // GUARDED_BY(listeners_mu_)
  std::mutex subs_mu_;
  std::set<std::string> open_subscriptions_;  // GUARDED_BY(subs_mu_)

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;  // GUARDED_BY(bg_mu_)
  std::thread bg_;

  std::mutex close_mu_;
  std::atomic<bool> closed_{false};
  Status close_status_;  // GUARDED_BY(close_mu_)
};

}  // namespace tandem
