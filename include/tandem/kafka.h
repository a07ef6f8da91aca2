// The Kafka bus: tandem's Log interface (include/tandem/log.h) over a Kafka
// cluster through librdkafka, so legs and ingest run unchanged on Kafka.
//
//   KafkaOptions o;
//   o.bootstrap_servers = "kafka-1:9092,kafka-2:9092";
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenKafkaLog(o));
//   TANDEM_ASSIGN_OR_RETURN(AppendResult a, log->Append("person", record));
//
// Mapping (src/kafka/README.md has the reasons):
//  * topic "person" = Kafka topic "<topic_prefix>person"; "person.dlq" likewise.
//  * Append = an idempotent producer (enable.idempotence, acks=all); it returns
//    after the broker's delivery report, with the partition and offset. The
//    key is the record key (entity_id) and the partition is Kafka's default
//    murmur2 partitioner (the Java client's), so PartitionFor on this bus
//    agrees with every other Kafka client; an empty key goes to partition 0.
//  * The record id (event_id) travels in the header "tandem.id"; duplicates
//    are dropped by an in-process window (see KafkaOptions::dedup_window_ms):
//    Kafka has no server-side dedup by application id.
//  * Subscribe = a consumer group named <group_prefix><name>, manual commits of
//    the contiguous acknowledged prefix of each partition; Key_Shared inside
//    the process by partition ownership (a partition belongs to one Consumer).
//
// Thread safety: the Log and its Subscriptions are safe for concurrent use; a
// Consumer is used by one thread at a time, as in log.h.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tandem/log.h"
#include "tandem/status.h"

namespace tandem {

// How tandem creates a missing topic (KafkaOptions::topic_creation).
enum class KafkaTopicCreation {
  // CreateTopics through the Admin API with default_partitions and
  // replication_factor (needs the CREATE ACL on the cluster).
  kAdmin,
  // A metadata request that lets the broker auto-create the topic
  // (auto.create.topics.enable): partitions and replication are then the
  // broker's num.partitions / default.replication.factor. For clusters that
  // refuse CreateTopics, and librdkafka's mock cluster (2.0.2 has no
  // CreateTopics; it auto-creates topics with 4 partitions).
  kBrokerAuto,
};

struct KafkaOptions {
  // "host:port,host:port" of the cluster. Required.
  std::string bootstrap_servers;
  // client.id sent to the brokers (default "tandem"); shows in broker logs and quotas.
  std::string client_id = "tandem";
  // Prepended to every tandem topic name (default ""): lets several tandem
  // deployments share one cluster. ListTopics shows only prefixed topics.
  std::string topic_prefix;
  // Prepended to a subscription's name to form the consumer group id (default "tandem.").
  std::string group_prefix = "tandem.";
  // Partitions of topics created by tandem (default 8). Fixed once created.
  uint32_t default_partitions = 8;
  // Replication factor of topics created by tandem (default 1; use 3 in
  // production: 1 loses data with the broker).
  int32_t replication_factor = 1;
  // How missing topics are created (default kAdmin; see KafkaTopicCreation).
  KafkaTopicCreation topic_creation = KafkaTopicCreation::kAdmin;
  // When set, creates topics instead of topic_creation: called with the Kafka
  // topic name, the partitions and the replication factor, it returns once
  // the cluster has the topic. For clusters whose topics are made by other
  // tooling, and for tests on librdkafka's mock cluster (which has no
  // CreateTopics). Called from appending and subscribing threads.
  std::function<Status(const std::string& topic, uint32_t partitions, int32_t replication)>
      create_topic_fn;
  // Bound of metadata, admin and watermark requests (default 10 s).
  int64_t request_timeout_ms = 10'000;
  // Bound of one Append waiting for its delivery report (default 30 s; it is
  // also librdkafka's message.timeout.ms). On expiry Append fails Unavailable
  // and the record may or may not have been written.
  int64_t delivery_timeout_ms = 30'000;
  // Producer linger.ms (default 1): wait this long to fill a batch. Higher
  // raises throughput of many concurrent appends and adds latency to each.
  int64_t linger_ms = 1;
  // Producer batch.size in bytes (default 1 MiB).
  int32_t batch_bytes = 1 << 20;
  // Largest record (key + value + headers) accepted (default 1 MiB + 64 KiB,
  // as the embedded log). The broker's message.max.bytes must allow it too.
  uint32_t max_record_bytes = (1u << 20) + (64u << 10);
  // Consumer group session.timeout.ms (default 10 s): a process that stops
  // heartbeating loses its partitions after this long.
  int64_t session_timeout_ms = 10'000;
  // Consumer max.poll.interval.ms (default 300 s). tandem's fetch thread polls
  // continuously, so this only trips when the process is wedged.
  int64_t max_poll_interval_ms = 300'000;
  // How often an all-topics subscription looks for new topics (default 5 s;
  // topic.metadata.refresh.interval.ms).
  int64_t metadata_refresh_ms = 5'000;
  // Read-ahead: a partition is paused once this many fetched messages wait
  // for delivery (default 10,000), resumed below half.
  uint32_t max_buffered_per_partition = 10'000;
  // Dedup window: an id appended to a topic within the window is acknowledged
  // with the original partition and offset and not produced again (default
  // 24 h; 0 disables). The window is in memory, filled by this process's
  // appends and, on the first append to a topic, from the "tandem.id" headers
  // of the last dedup_max_entries records of the topic (split evenly over its
  // partitions). So it survives a restart of the producer, but appends by
  // another process after that scan are not seen: two processes appending
  // the same id at the same time may both append it (the stores then skip
  // the duplicate by their applied markers).
  int64_t dedup_window_ms = 24ll * 3600 * 1000;
  // At most this many ids remembered per topic (default 200,000; oldest
  // forgotten first; about 100 bytes each).
  uint32_t dedup_max_entries = 200'000;
  // Clock for the dedup window and nack backoffs; nullptr = the real one.
  Clock* clock = nullptr;
};

// Connects to the cluster (a metadata request bounded by request_timeout_ms)
// and returns a Log over it. InvalidArgument naming the field for bad options
// or a librdkafka configuration value it refuses; Unavailable when no broker
// answers.
Result<std::unique_ptr<Log>> OpenKafkaLog(const KafkaOptions& options);

// Kafka's default partitioner (murmur2 of the key, as the Java client and
// librdkafka's "murmur2" partitioner): (murmur2(key) & 0x7fffffff) % n.
// An empty key maps to partition 0. `num_partitions` must be > 0.
uint32_t KafkaPartitionForKey(std::string_view key, uint32_t num_partitions);

}  // namespace tandem
