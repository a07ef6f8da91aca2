// Small helpers around librdkafka's C API for the Kafka bus: owning handles,
// configuration with errors that name the key, error-code mapping, topic
// metadata and record conversion. Internal to src/kafka.
//
// Thread safety: free functions; librdkafka handles are thread-safe.
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tandem/log.h"
#include "tandem/status.h"

namespace tandem::kafka {

// The header carrying a record's dedup id (event_id).
inline constexpr std::string_view kIdHeader = "tandem.id";
// Kafka timestamps are milliseconds: a producer timestamp with a sub-millisecond
// part travels whole in this header (decimal microseconds).
inline constexpr std::string_view kTimestampHeader = "tandem.ts_us";

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

using ConfigPairs = std::vector<std::pair<std::string, std::string>>;

// A new conf with every pair set. InvalidArgument "kafka config <key>=<value>: <why>".
Result<rd_kafka_conf_t*> MakeConf(const ConfigPairs& pairs);

// Creates a client of `type` from `conf` (consumed on success and on failure).
Result<Handle> NewClient(rd_kafka_type_t type, rd_kafka_conf_t* conf);

// OK for NO_ERROR; otherwise a Status whose code fits the error (timeouts and
// transport errors: Unavailable; too large: TooLarge; unknown topic: NotFound;
// topic exists: AlreadyExists; bad arguments: InvalidArgument), message
// "<context>: <librdkafka's text>".
Status FromError(rd_kafka_resp_err_t err, std::string_view context);

// Partition counts of every topic in the cluster (one all-topics metadata
// request, which never auto-creates a topic).
Result<std::vector<std::pair<std::string, uint32_t>>> ListClusterTopics(rd_kafka_t* rk,
                                                                        int64_t timeout_ms);

// (low, high) watermarks of one partition, asked of its leader.
Result<std::pair<int64_t, int64_t>> Watermarks(rd_kafka_t* rk, const std::string& topic,
                                               int32_t partition, int64_t timeout_ms);

// Headers for a produced record: the record's headers plus kIdHeader when it
// has an id and kTimestampHeader when its timestamp is not whole
// milliseconds; nullptr when there are none. Ownership passes to the caller.
rd_kafka_headers_t* ToKafkaHeaders(const ProduceRecord& record);

// A consumed message as a Record (kIdHeader becomes Record::id,
// kTimestampHeader Record::timestamp_us).
Record ToRecord(const rd_kafka_message_t& m);

// Size counted against max_record_bytes: key + value + id + headers.
size_t RecordBytes(const ProduceRecord& record);

}  // namespace tandem::kafka
