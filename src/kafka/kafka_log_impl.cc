#include "kafka/kafka_log_impl.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "kafka/kafka_subscription.h"
#include "log/topic.h"

namespace tandem {

uint32_t KafkaPartitionForKey(std::string_view key, uint32_t num_partitions) {
  if (key.empty() || num_partitions == 0) return 0;
  // librdkafka's "murmur2" partitioner is the Java client's default (it does
  // not look at the topic handle).
  return static_cast<uint32_t>(rd_kafka_msg_partitioner_murmur2(
      nullptr, key.data(), key.size(), static_cast<int32_t>(num_partitions), nullptr, nullptr));
}

Result<std::unique_ptr<Log>> OpenKafkaLog(const KafkaOptions& options) {
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<kafka::KafkaLogImpl> log,
                          kafka::KafkaLogImpl::Open(options));
  return std::unique_ptr<Log>(std::move(log));
}

namespace kafka {

namespace {

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

Status ValidateOptions(const KafkaOptions& o) {
  if (o.bootstrap_servers.empty()) {
    return Status::InvalidArgument("kafka.bootstrap_servers: required");
  }
  if (o.default_partitions == 0) return Status::InvalidArgument("kafka.partitions: must be > 0");
  if (o.replication_factor < 1) {
    return Status::InvalidArgument("kafka.replication_factor: must be >= 1");
  }
  if (o.request_timeout_ms <= 0 || o.delivery_timeout_ms <= 0) {
    return Status::InvalidArgument("kafka.request_timeout_ms/delivery_timeout_ms: must be > 0");
  }
  if (o.max_buffered_per_partition == 0) {
    return Status::InvalidArgument("kafka.max_buffered_per_partition: must be > 0");
  }
  return Status::OK();
}

}  // namespace

struct KafkaLogImpl::PendingGroup {
  KafkaLogImpl* log = nullptr;
  std::string topic;
  std::vector<ProduceRecord> records;
  std::vector<AppendResult> results;
  std::vector<int64_t> same_as;  // index of an earlier record of this group with the same id
  std::vector<bool> reserved;    // the id is reserved in the dedup window
  std::mutex mu;
  size_t remaining = 0;
  Status status;
  AppendCallback done;
};

namespace {

struct DeliveryOpaque {
  std::shared_ptr<void> group;  // keeps the PendingGroup alive until the report
  size_t index = 0;
};

}  // namespace

KafkaLogImpl::KafkaLogImpl(const KafkaOptions& options)
    : options_(options),
      clock_(options.clock != nullptr ? options.clock : &SystemClock()),
      dedup_(*clock_, options.dedup_window_ms, options.dedup_max_entries) {}

Result<std::unique_ptr<KafkaLogImpl>> KafkaLogImpl::Open(const KafkaOptions& options) {
  TANDEM_RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<KafkaLogImpl> log(new KafkaLogImpl(options));
  TANDEM_RETURN_IF_ERROR(log->Connect());
  return log;
}

Status KafkaLogImpl::Connect() {
  const KafkaOptions& o = options_;
  const std::string max_bytes = std::to_string(std::max<uint64_t>(o.max_record_bytes + 65536, 1'000'000));
  TANDEM_ASSIGN_OR_RETURN(
      rd_kafka_conf_t * pconf,
      MakeConf({{"bootstrap.servers", o.bootstrap_servers},
                // Nagle + delayed ACKs stall small requests by ~40 ms.
                {"socket.nagle.disable", "true"},
                {"client.id", o.client_id},
                {"enable.idempotence", "true"},
                {"acks", "all"},
                {"partitioner", "murmur2_random"},
                {"linger.ms", std::to_string(o.linger_ms)},
                {"batch.size", std::to_string(o.batch_bytes)},
                {"message.max.bytes", max_bytes},
                {"message.timeout.ms", std::to_string(o.delivery_timeout_ms)}}));
  rd_kafka_conf_set_dr_msg_cb(pconf, &KafkaLogImpl::OnDelivery);
  TANDEM_ASSIGN_OR_RETURN(producer_, NewClient(RD_KAFKA_PRODUCER, pconf));
  TANDEM_ASSIGN_OR_RETURN(
      rd_kafka_conf_t * rconf,
      MakeConf({{"bootstrap.servers", o.bootstrap_servers},
                // Nagle + delayed ACKs stall small requests by ~40 ms.
                {"socket.nagle.disable", "true"},
                {"client.id", o.client_id + ".reader"},
                // assign() only: the group id is never joined, it just enables the consumer API.
                {"group.id", o.group_prefix + "reader"},
                {"enable.auto.commit", "false"},
                {"auto.offset.reset", "earliest"},
                {"enable.partition.eof", "true"},
                {"fetch.max.bytes", max_bytes},
                {"receive.message.max.bytes", std::to_string(std::stoull(max_bytes) + 65536)}}));
  TANDEM_ASSIGN_OR_RETURN(reader_, NewClient(RD_KAFKA_CONSUMER, rconf));
  poller_ = std::thread([this] { PollLoop(); });
  Result<std::vector<std::pair<std::string, uint32_t>>> topics = Topics();
  if (!topics.ok()) return topics.status().WithContext("kafka " + o.bootstrap_servers);
  return Status::OK();
}

KafkaLogImpl::~KafkaLogImpl() { (void)Close(); }

void KafkaLogImpl::PollLoop() {
  while (!stop_.load()) rd_kafka_poll(producer_.get(), 100);
}

Status KafkaLogImpl::Close() {
  if (closed_.exchange(true)) return Status::OK();
  rd_kafka_resp_err_t err =
      rd_kafka_flush(producer_.get(), static_cast<int>(options_.delivery_timeout_ms));
  stop_.store(true);
  if (poller_.joinable()) poller_.join();
  // Serve any report that arrived after the poller's last round.
  rd_kafka_poll(producer_.get(), 0);
  return FromError(err, "kafka close: flush");
}

std::string KafkaLogImpl::TandemName(std::string_view kafka_topic) const {
  if (!kafka_topic.starts_with(options_.topic_prefix)) return "";
  std::string name(kafka_topic.substr(options_.topic_prefix.size()));
  return ValidateTopicName(name).ok() ? name : "";
}

Result<std::vector<std::pair<std::string, uint32_t>>> KafkaLogImpl::Topics() {
  TANDEM_ASSIGN_OR_RETURN(auto all,
                          ListClusterTopics(producer_.get(), options_.request_timeout_ms));
  std::vector<std::pair<std::string, uint32_t>> out;
  std::lock_guard lock(topics_mu_);
  for (auto& [kafka_name, n] : all) {
    std::string name = TandemName(kafka_name);
    if (name.empty()) continue;
    partitions_[name] = n;
    out.emplace_back(std::move(name), n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<uint32_t> KafkaLogImpl::Partitions(std::string_view topic, bool create) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    {
      std::lock_guard lock(topics_mu_);
      auto it = partitions_.find(topic);
      if (it != partitions_.end()) return it->second;
    }
    TANDEM_RETURN_IF_ERROR(Topics().status());
    {
      std::lock_guard lock(topics_mu_);
      auto it = partitions_.find(topic);
      if (it != partitions_.end()) return it->second;
    }
    if (!create) break;
    Status s = CreateTopic(topic, TopicOptions{});
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
  }
  return Status::NotFound("kafka topic " + std::string(topic) + ": does not exist");
}

Status KafkaLogImpl::CreateTopic(std::string_view topic, const TopicOptions& topic_options) {
  TANDEM_RETURN_IF_ERROR(ValidateTopicName(topic));
  if (options_.topic_creation == KafkaTopicCreation::kBrokerAuto && !options_.create_topic_fn) {
    return AutoCreateTopic(topic, topic_options.partitions);
  }
  const std::string name = KafkaName(topic);
  const int n = static_cast<int>(topic_options.partitions != 0 ? topic_options.partitions
                                                               : options_.default_partitions);
  if (options_.create_topic_fn) {
    TANDEM_RETURN_IF_ERROR(Topics().status());
    {
      std::lock_guard lock(topics_mu_);
      if (partitions_.count(topic) != 0) return Status::AlreadyExists("kafka topic " + name + ": exists");
    }
    TANDEM_RETURN_IF_ERROR(options_.create_topic_fn(name, static_cast<uint32_t>(n),
                                                    options_.replication_factor));
    return WaitForTopic(topic).status();
  }
  const int timeout = static_cast<int>(options_.request_timeout_ms);
  char err[512];
  rd_kafka_NewTopic_t* nt =
      rd_kafka_NewTopic_new(name.c_str(), n, options_.replication_factor, err, sizeof(err));
  if (nt == nullptr) return Status::InvalidArgument("kafka topic " + name + ": " + err);
  rd_kafka_AdminOptions_t* ao =
      rd_kafka_AdminOptions_new(producer_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  (void)rd_kafka_AdminOptions_set_request_timeout(ao, timeout, err, sizeof(err));
  (void)rd_kafka_AdminOptions_set_operation_timeout(ao, timeout, err, sizeof(err));
  rd_kafka_queue_t* q = rd_kafka_queue_new(producer_.get());
  rd_kafka_CreateTopics(producer_.get(), &nt, 1, ao, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, timeout + 1000);
  Status s = Status::Unavailable("kafka create topic " + name + ": timed out");
  if (ev != nullptr) {
    s = FromError(rd_kafka_event_error(ev), "kafka create topic " + name);
    const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
    size_t cnt = 0;
    const rd_kafka_topic_result_t** results =
        res != nullptr ? rd_kafka_CreateTopics_result_topics(res, &cnt) : nullptr;
    if (s.ok() && cnt == 1) {
      s = FromError(rd_kafka_topic_result_error(results[0]), "kafka create topic " + name);
    }
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(ao);
  rd_kafka_NewTopic_destroy(nt);
  if (!s.ok()) return s;
  return WaitForTopic(topic).status();
}

// Metadata is eventually consistent: waits (bounded) until the topic shows.
Result<uint32_t> KafkaLogImpl::WaitForTopic(std::string_view topic) {
  for (int64_t waited = 0; waited <= options_.request_timeout_ms; waited += 50) {
    TANDEM_RETURN_IF_ERROR(Topics().status());
    {
      std::lock_guard lock(topics_mu_);
      auto it = partitions_.find(topic);
      if (it != partitions_.end()) return it->second;
    }
    SleepMs(50);
  }
  return Status::Unavailable("kafka topic " + KafkaName(topic) + ": created but not in metadata");
}

Status KafkaLogImpl::AutoCreateTopic(std::string_view topic, uint32_t partitions) {
  const std::string name = KafkaName(topic);
  TANDEM_RETURN_IF_ERROR(Topics().status());
  {
    std::lock_guard lock(topics_mu_);
    if (partitions_.count(topic) != 0) {
      return Status::AlreadyExists("kafka topic " + name + ": exists");
    }
  }
  // A metadata request naming the topic lets the broker auto-create it.
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer_.get(), name.c_str(), nullptr);
  if (rkt == nullptr) return FromError(rd_kafka_last_error(), "kafka topic " + name);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(producer_.get(), 0, rkt, &md,
                                              static_cast<int>(options_.request_timeout_ms));
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  TANDEM_RETURN_IF_ERROR(FromError(err, "kafka auto-create topic " + name));
  TANDEM_ASSIGN_OR_RETURN(uint32_t n, WaitForTopic(topic));
  if (partitions != 0 && n != partitions) {
    return Status::InvalidArgument("kafka topic " + name + ": the broker auto-created " +
                                   std::to_string(n) + " partitions, not " +
                                   std::to_string(partitions) +
                                   " (topic_creation=auto takes the broker's num.partitions)");
  }
  return Status::OK();
}

std::vector<std::string> KafkaLogImpl::ListTopics() {
  std::vector<std::string> out;
  Result<std::vector<std::pair<std::string, uint32_t>>> topics = Topics();
  if (!topics.ok()) return out;
  for (auto& t : *topics) out.push_back(t.first);
  return out;
}

Result<TopicStats> KafkaLogImpl::Stats(std::string_view topic) {
  TANDEM_ASSIGN_OR_RETURN(uint32_t n, Partitions(topic, false));
  TopicStats stats;
  stats.name = std::string(topic);
  for (uint32_t p = 0; p < n; ++p) {
    TANDEM_ASSIGN_OR_RETURN(auto wm, Watermarks(producer_.get(), KafkaName(topic),
                                                static_cast<int32_t>(p),
                                                options_.request_timeout_ms));
    PartitionStats ps;
    ps.partition = p;
    ps.start_offset = static_cast<uint64_t>(wm.first);
    ps.end_offset = static_cast<uint64_t>(wm.second);
    stats.partitions.push_back(ps);
  }
  return stats;
}

Result<uint32_t> KafkaLogImpl::PartitionFor(std::string_view topic, std::string_view key) {
  TANDEM_ASSIGN_OR_RETURN(uint32_t n, Partitions(topic, false));
  return KafkaPartitionForKey(key, n);
}

Status KafkaLogImpl::ValidateRecords(std::string_view topic,
                                     std::span<const ProduceRecord> records) const {
  if (closed_.load()) return Status::Aborted("kafka log: closed");
  TANDEM_RETURN_IF_ERROR(ValidateTopicName(topic));
  for (const ProduceRecord& r : records) {
    if (RecordBytes(r) > options_.max_record_bytes) {
      return Status::TooLarge("kafka record of key " + r.key + ": " +
                              std::to_string(RecordBytes(r)) + " bytes > max_record_bytes " +
                              std::to_string(options_.max_record_bytes));
    }
  }
  return Status::OK();
}

Result<AppendResult> KafkaLogImpl::Append(std::string_view topic, const ProduceRecord& record) {
  std::vector<AppendResult> results;
  TANDEM_RETURN_IF_ERROR(AppendBatch(topic, std::span<const ProduceRecord>(&record, 1), &results));
  return results.at(0);
}

Status KafkaLogImpl::AppendBatch(std::string_view topic, std::span<const ProduceRecord> records,
                                 std::vector<AppendResult>* results) {
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
    std::vector<AppendResult> results;
  };
  auto w = std::make_shared<Waiter>();
  AppendAsync(topic, std::vector<ProduceRecord>(records.begin(), records.end()),
              [w](Status s, std::vector<AppendResult> r) {
                std::lock_guard lock(w->mu);
                w->status = std::move(s);
                w->results = std::move(r);
                w->done = true;
                w->cv.notify_all();
              });
  // Bounded: every produced record gets a delivery report within
  // message.timeout.ms (delivery_timeout_ms), so the callback always runs.
  std::unique_lock lock(w->mu);
  w->cv.wait(lock, [&] { return w->done; });
  if (!w->status.ok()) return w->status;
  *results = std::move(w->results);
  return Status::OK();
}

void KafkaLogImpl::AppendAsync(std::string_view topic, std::vector<ProduceRecord> records,
                               AppendCallback done) {
  Status valid = ValidateRecords(topic, records);
  if (!valid.ok()) return done(valid, {});
  Result<uint32_t> partitions = Partitions(topic, true);
  if (!partitions.ok()) return done(partitions.status(), {});
  Status loaded = LoadDedup(std::string(topic), *partitions);
  if (!loaded.ok()) return done(loaded, {});
  auto g = std::make_shared<PendingGroup>();
  g->log = this;
  g->topic = std::string(topic);
  g->records = std::move(records);
  const size_t n = g->records.size();
  g->results.resize(n);
  g->same_as.assign(n, -1);
  g->reserved.assign(n, false);
  g->done = std::move(done);
  std::vector<size_t> to_produce;
  std::unordered_map<std::string_view, size_t> first_of_id;
  for (size_t i = 0; i < n; ++i) {
    const std::string& id = g->records[i].id;
    if (!id.empty() && dedup_.enabled()) {
      auto [it, fresh] = first_of_id.emplace(id, i);
      if (!fresh) {
        g->same_as[i] = static_cast<int64_t>(it->second);
        continue;
      }
      std::optional<AppendResult> seen = dedup_.Reserve(g->topic, id);
      if (seen.has_value()) {
        g->results[i] = *seen;
        continue;
      }
      g->reserved[i] = true;
    }
    to_produce.push_back(i);
  }
  g->remaining = to_produce.size() + 1;  // +1: this function's own share, released below
  for (size_t i : to_produce) ProduceOne(g, i, *partitions);
  Deliver(*g, n, Status::OK(), nullptr);
}

// Rebuilds the dedup window of `topic` from the id headers of its last
// dedup_max_entries records, once per topic and process.
Status KafkaLogImpl::LoadDedup(const std::string& topic, uint32_t partitions) {
  if (!dedup_.enabled()) return Status::OK();
  std::lock_guard lock(dedup_load_mu_);
  if (dedup_loaded_.count(topic) != 0) return Status::OK();
  const uint64_t per_partition = (options_.dedup_max_entries + partitions - 1) / partitions;
  for (uint32_t p = 0; p < partitions; ++p) {
    TANDEM_ASSIGN_OR_RETURN(auto wm, Watermarks(producer_.get(), KafkaName(topic),
                                                static_cast<int32_t>(p),
                                                options_.request_timeout_ms));
    const auto high = static_cast<uint64_t>(wm.second);
    uint64_t from = high > per_partition ? high - per_partition : 0;
    std::vector<Record> records;
    while (from < high) {
      TANDEM_RETURN_IF_ERROR(Read(topic, p, from, 4u << 20, &records).WithContext(
          "kafka dedup window of " + topic));
      if (records.empty()) break;
      for (const Record& r : records) {
        dedup_.Remember(topic, r.id, AppendResult{p, r.offset, false}, r.timestamp_us);
      }
      from = records.back().offset + 1;
    }
  }
  dedup_loaded_.insert(topic);
  return Status::OK();
}

void KafkaLogImpl::ProduceOne(const std::shared_ptr<PendingGroup>& g, size_t index,
                              uint32_t partitions) {
  const ProduceRecord& r = g->records[index];
  const std::string name = KafkaName(g->topic);
  const auto partition = static_cast<int32_t>(KafkaPartitionForKey(r.key, partitions));
  const int64_t deadline_ms = clock_->MonotonicNanos() / 1'000'000 + options_.delivery_timeout_ms;
  rd_kafka_resp_err_t err;
  for (;;) {
    rd_kafka_headers_t* headers = ToKafkaHeaders(r);
    auto* opaque = new DeliveryOpaque{g, index};
    err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(name.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(r.key.empty() ? nullptr : r.key.data(), r.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(r.value.data()), r.value.size()),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_TIMESTAMP(r.timestamp_us / 1000),
        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (headers != nullptr) rd_kafka_headers_destroy(headers);
    delete opaque;
    // A full local queue drains as the poll thread serves delivery reports.
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
        clock_->MonotonicNanos() / 1'000'000 > deadline_ms) {
      break;
    }
    SleepMs(1);
  }
  Deliver(*g, index, FromError(err, "kafka produce to " + name), nullptr);
}

void KafkaLogImpl::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  std::unique_ptr<DeliveryOpaque> opaque(static_cast<DeliveryOpaque*>(m->_private));
  auto& g = *static_cast<PendingGroup*>(opaque->group.get());
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    g.log->Deliver(g, opaque->index,
                   FromError(m->err, "kafka delivery to " + g.log->KafkaName(g.topic)), nullptr);
    return;
  }
  AppendResult r{static_cast<uint32_t>(m->partition), static_cast<uint64_t>(m->offset), false};
  g.log->Deliver(g, opaque->index, Status::OK(), &r);
}

// Settles record `index` of `g` (index == records.size() is AppendAsync's own
// share); the last settlement fills duplicates within the group and calls done.
void KafkaLogImpl::Deliver(PendingGroup& g, size_t index, Status status,
                           const AppendResult* result) {
  if (index < g.records.size() && g.reserved[index]) {
    dedup_.Finish(g.topic, g.records[index].id, status.ok() ? result : nullptr);
  }
  {
    std::lock_guard lock(g.mu);
    if (result != nullptr) g.results[index] = *result;
    if (!status.ok() && g.status.ok()) g.status = std::move(status);
    if (--g.remaining > 0) return;
  }
  for (size_t i = 0; i < g.records.size(); ++i) {
    if (g.same_as[i] < 0) continue;
    g.results[i] = g.results[static_cast<size_t>(g.same_as[i])];
    g.results[i].duplicate = true;
  }
  if (!g.status.ok()) return g.done(g.status, {});
  g.done(Status::OK(), std::move(g.results));
}

Status KafkaLogImpl::Read(std::string_view topic, uint32_t partition, uint64_t from,
                          size_t max_bytes, std::vector<Record>* out) {
  out->clear();
  TANDEM_ASSIGN_OR_RETURN(uint32_t n, Partitions(topic, false));
  if (partition >= n) {
    return Status::InvalidArgument("kafka read " + std::string(topic) + ": partition " +
                                   std::to_string(partition) + " >= " + std::to_string(n));
  }
  const std::string name = KafkaName(topic);
  const auto p = static_cast<int32_t>(partition);
  std::lock_guard lock(reader_mu_);
  rd_kafka_t* rk = reader_.get();
  TANDEM_ASSIGN_OR_RETURN(auto wm, Watermarks(rk, name, p, options_.request_timeout_ms));
  const int64_t high = wm.second;
  const int64_t start = std::max<int64_t>(static_cast<int64_t>(from), wm.first);
  if (start >= high) return Status::OK();
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), name.c_str(), p)->offset = start;
  TANDEM_RETURN_IF_ERROR(FromError(rd_kafka_assign(rk, list.get()), "kafka read assign " + name));
  Status status;
  size_t bytes = 0;
  int64_t next = start;
  const int64_t deadline = clock_->MonotonicNanos() / 1'000'000 + options_.request_timeout_ms;
  while (next < high && (bytes < max_bytes || next == start)) {
    if (clock_->MonotonicNanos() / 1'000'000 > deadline) {
      if (next == start) status = Status::Unavailable("kafka read " + name + ": timed out");
      break;
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      break;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = FromError(m->err, "kafka read " + name);
      rd_kafka_message_destroy(m);
      break;
    }
    if (m->partition == p && m->offset >= next) {
      out->push_back(ToRecord(*m));
      bytes += m->len + m->key_len;
      next = m->offset + 1;
    }
    rd_kafka_message_destroy(m);
  }
  (void)rd_kafka_assign(rk, nullptr);
  return status;
}

Status KafkaLogImpl::Verify(VerifyReport* report) {
  *report = VerifyReport{};
  return Status::OK();
}

Result<std::unique_ptr<Subscription>> KafkaLogImpl::Subscribe(const SubscriptionOptions& options) {
  return OpenKafkaSubscription(*this, options);
}

}  // namespace kafka
}  // namespace tandem
