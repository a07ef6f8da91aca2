// KafkaLogImpl: the Log interface over Kafka (tandem/kafka.h has the mapping).
//
// Produce path. One idempotent producer (enable.idempotence, acks=all) with a
// poll thread serving delivery reports. Every record is produced to an
// explicit partition, KafkaPartitionForKey(key, partitions), so tandem and
// other clients using Kafka's default partitioner agree. Each append is a
// PendingGroup of records; its callback (or waiter) runs once every record's
// delivery report has arrived. Dedup ids are reserved in the DedupWindow
// before producing and finished from the delivery report.
//
// Read path. One assign()-based consumer without a group, serialised by a
// mutex, reads [from, high watermark) of one partition per call.
//
// Topics. Partition counts are cached; a cache miss asks for all-topics
// metadata (which never auto-creates a topic); Append and Subscribe create
// missing topics with the Admin API (default_partitions, replication_factor).
//
// Thread safety: safe for concurrent use. Lifetimes: Subscriptions must be
// destroyed before the Log.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kafka/dedup_window.h"
#include "kafka/kafka_client.h"
#include "tandem/kafka.h"

namespace tandem::kafka {

class KafkaLogImpl final : public Log {
 public:
  static Result<std::unique_ptr<KafkaLogImpl>> Open(const KafkaOptions& options);
  ~KafkaLogImpl() override;

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
  // The brokers apply retention; nothing to do here.
  Status EnforceRetention() override { return Status::OK(); }
  // The brokers own the storage; the report stays empty.
  Status Verify(VerifyReport* report) override;
  Status Close() override;

  // ---- For subscriptions -----------------------------------------------------
  const KafkaOptions& options() const { return options_; }
  Clock& clock() const { return *clock_; }
  std::string KafkaName(std::string_view topic) const { return options_.topic_prefix + std::string(topic); }
  // The tandem name of a Kafka topic, or "" when it lacks the prefix.
  std::string TandemName(std::string_view kafka_topic) const;
  // Partition count of an existing topic; creates it (default options) when
  // `create` and it is missing; NotFound otherwise.
  Result<uint32_t> Partitions(std::string_view topic, bool create);
  // Every tandem topic of the cluster with its partition count.
  Result<std::vector<std::pair<std::string, uint32_t>>> Topics();
  rd_kafka_t* admin_handle() const { return producer_.get(); }

 private:
  struct PendingGroup;
  explicit KafkaLogImpl(const KafkaOptions& options);
  Status Connect();
  void PollLoop();
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);
  void Deliver(PendingGroup& g, size_t index, Status status, const AppendResult* result);
  void ProduceOne(const std::shared_ptr<PendingGroup>& g, size_t index, uint32_t partitions);
  Status LoadDedup(const std::string& topic, uint32_t partitions);
  Status AutoCreateTopic(std::string_view topic, uint32_t partitions);
  Result<uint32_t> WaitForTopic(std::string_view topic);
  Status ValidateRecords(std::string_view topic, std::span<const ProduceRecord> records) const;

  const KafkaOptions options_;
  Clock* clock_;
  DedupWindow dedup_;
  Handle producer_;
  Handle reader_;
  std::mutex reader_mu_;  // the reader is assigned one partition per Read
  std::mutex topics_mu_;
  std::map<std::string, uint32_t, std::less<>> partitions_;  // tandem topic → count
  std::mutex dedup_load_mu_;  // held while a topic's window is rebuilt
  std::set<std::string> dedup_loaded_;  // topics whose window was rebuilt
  std::atomic<bool> stop_{false};
  std::atomic<bool> closed_{false};
  std::thread poller_;
};

}  // namespace tandem::kafka
