#include "kafka/kafka_client.h"

#include <cstdlib>

namespace tandem::kafka {

Result<rd_kafka_conf_t*> MakeConf(const ConfigPairs& pairs) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [key, value] : pairs) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument("kafka config " + key + "=" + value + ": " + err);
    }
  }
  return conf;
}

Result<Handle> NewClient(rd_kafka_type_t type, rd_kafka_conf_t* conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("kafka client: ") + err);
  }
  return Handle(rk);
}

Status FromError(rd_kafka_resp_err_t err, std::string_view context) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::OK();
  std::string m = std::string(context) + ": " + rd_kafka_err2str(err);
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
      return Status::TooLarge(std::move(m));
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return Status::NotFound(std::move(m));
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return Status::AlreadyExists(std::move(m));
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
      return Status::InvalidArgument(std::move(m));
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__FATAL:
      return Status::Aborted(std::move(m));
    default:
      return Status::Unavailable(std::move(m));
  }
}

Result<std::vector<std::pair<std::string, uint32_t>>> ListClusterTopics(rd_kafka_t* rk,
                                                                        int64_t timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return FromError(err, "kafka metadata");
  std::vector<std::pair<std::string, uint32_t>> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partition_cnt <= 0) continue;
    out.emplace_back(t.topic, static_cast<uint32_t>(t.partition_cnt));
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

Result<std::pair<int64_t, int64_t>> Watermarks(rd_kafka_t* rk, const std::string& topic,
                                               int32_t partition, int64_t timeout_ms) {
  int64_t low = 0;
  int64_t high = 0;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
      rk, topic.c_str(), partition, &low, &high, static_cast<int>(timeout_ms));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return FromError(err, "kafka watermarks of " + topic + "/" + std::to_string(partition));
  }
  return std::make_pair(low, high);
}

rd_kafka_headers_t* ToKafkaHeaders(const ProduceRecord& record) {
  const bool exact_ts = record.timestamp_us % 1000 != 0;
  const size_t n = record.headers.size() + (record.id.empty() ? 0 : 1) + (exact_ts ? 1 : 0);
  if (n == 0) return nullptr;
  rd_kafka_headers_t* h = rd_kafka_headers_new(n);
  for (const Header& x : record.headers) {
    rd_kafka_header_add(h, x.key.data(), static_cast<ssize_t>(x.key.size()), x.value.data(),
                        static_cast<ssize_t>(x.value.size()));
  }
  if (!record.id.empty()) {
    rd_kafka_header_add(h, kIdHeader.data(), static_cast<ssize_t>(kIdHeader.size()),
                        record.id.data(), static_cast<ssize_t>(record.id.size()));
  }
  if (exact_ts) {
    const std::string us = std::to_string(record.timestamp_us);
    rd_kafka_header_add(h, kTimestampHeader.data(), static_cast<ssize_t>(kTimestampHeader.size()),
                        us.data(), static_cast<ssize_t>(us.size()));
  }
  return h;
}

Record ToRecord(const rd_kafka_message_t& m) {
  Record r;
  r.offset = static_cast<uint64_t>(m.offset);
  rd_kafka_timestamp_type_t type;
  const int64_t ms = rd_kafka_message_timestamp(&m, &type);
  r.timestamp_us = ms >= 0 ? ms * 1000 : 0;
  if (m.key != nullptr) r.key.assign(static_cast<const char*>(m.key), m.key_len);
  if (m.payload != nullptr) r.value.assign(static_cast<const char*>(m.payload), m.len);
  rd_kafka_headers_t* h = nullptr;
  if (rd_kafka_message_headers(&m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR || h == nullptr) return r;
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0; rd_kafka_header_get_all(h, i, &name, &value, &size) ==
                     RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    std::string v = value != nullptr ? std::string(static_cast<const char*>(value), size) : "";
    if (kIdHeader == name) {
      r.id = std::move(v);
    } else if (kTimestampHeader == name) {
      r.timestamp_us = std::strtoll(v.c_str(), nullptr, 10);
    } else {
      r.headers.push_back(Header{name, std::move(v)});
    }
  }
  return r;
}

size_t RecordBytes(const ProduceRecord& record) {
  size_t n = record.key.size() + record.value.size() + record.id.size();
  for (const Header& h : record.headers) n += h.key.size() + h.value.size();
  return n;
}

}  // namespace tandem::kafka
