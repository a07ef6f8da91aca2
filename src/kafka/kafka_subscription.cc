#include "kafka/kafka_subscription.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "log/position_store.h"
#include "log/topic.h"

namespace tandem::kafka {
namespace {

using PartKey = std::pair<std::string, int32_t>;  // (Kafka topic, partition)

struct Queued {
  Message msg;
  int64_t ready_us = 0;  // a nacked message waits until then
};

struct PartState {
  std::string topic;  // tandem name
  uint64_t owner = 0;  // consumer id; 0 = none yet
  std::deque<Queued> queue;  // fetched, not in flight, offset order
  std::map<uint64_t, Message> in_flight;
  std::set<uint64_t> outstanding;  // fetched and not acknowledged
  int64_t next_fetch = -1;         // last fetched offset + 1; -1 = nothing fetched yet
  int64_t committed = -1;          // last position committed to Kafka
  bool paused = false;
  // The contiguous acknowledged prefix ends here; -1 = unknown (nothing fetched).
  int64_t Position() const {
    return outstanding.empty() ? next_fetch : static_cast<int64_t>(*outstanding.begin());
  }
};

std::string EscapeRegex(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Status NotInFlight(std::string_view verb, const MessageId& m) {
  return Status::FailedPrecondition(std::string(verb) + " " + m.topic + "/" +
                                    std::to_string(m.partition) + "@" + std::to_string(m.offset) +
                                    ": not in flight");
}

void InsertByOffset(std::deque<Queued>& q, Queued item) {
  auto it = std::upper_bound(q.begin(), q.end(), item.msg.id.offset,
                             [](uint64_t off, const Queued& x) { return off < x.msg.id.offset; });
  q.insert(it, std::move(item));
}

class Core {
 public:
  Core(KafkaLogImpl& log, SubscriptionOptions options)
      : log_(log),
        options_(std::move(options)),
        random_(std::hash<std::string>{}(options_.name) ^
                static_cast<uint64_t>(log.clock().NowMicros())) {}
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;
  ~Core() { Shutdown(); }

  Status Start();
  void Shutdown();
  uint64_t AddConsumer();
  void RemoveConsumer(uint64_t id);
  Result<std::vector<Message>> Poll(uint64_t id, size_t max, int64_t timeout_us);
  Status Ack(const MessageId& m);
  Status Nack(const MessageId& m, std::string_view reason);
  Status DeadLetter(const MessageId& m, std::string_view reason);
  Status Commit() { return CommitPositions(nullptr); }
  std::vector<PartitionLag> Lag();

 private:
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* list, void* opaque);
  void FetchLoop();
  void OnMessages(std::vector<rd_kafka_message_t*>& batch);
  void UpdatePauses();
  Status CommitPositions(const std::vector<PartKey>* only);
  void BalanceLocked();
  void TakeLocked(PartState& ps, size_t budget, int64_t now_us, std::vector<Message>* out,
                  int64_t* next_ready_us);
  PartState* FindLocked(const MessageId& m) {
    auto it = parts_.find({log_.KafkaName(m.topic), static_cast<int32_t>(m.partition)});
    return it == parts_.end() ? nullptr : &it->second;
  }
  int64_t BackoffUs(uint32_t delivery_count);
  int64_t NowMs() const { return log_.clock().MonotonicNanos() / 1'000'000; }

  Status ComputeStartHints(const std::vector<std::string>& topics);
  bool Filtered(const Record& r) const;

  KafkaLogImpl& log_;
  const SubscriptionOptions options_;
  // Where a partition without a committed offset starts (Kafka topic,
  // partition → offset): the end at Subscribe for from_beginning = false,
  // and start_positions. Partitions not listed start at the earliest offset.
  std::map<PartKey, int64_t> start_hints_;
  int64_t min_timestamp_us_ = 0;  // start_time_us / max_age_ms filter; 0 = off
  Handle consumer_;
  std::mutex commit_mu_;  // serialises commits so positions never go back
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<PartKey, PartState> parts_;
  std::set<uint64_t> consumers_;
  uint64_t next_consumer_ = 1;
  bool closed_ = false;
  Random random_;
  std::atomic<bool> stop_{false};
  std::thread fetcher_;
};

Status Core::Start() {
  TANDEM_RETURN_IF_ERROR(ValidateSubscriptionName(options_.name));
  const KafkaOptions& o = log_.options();
  TANDEM_ASSIGN_OR_RETURN(
      rd_kafka_conf_t * conf,
      MakeConf({{"bootstrap.servers", o.bootstrap_servers},
                // Nagle + delayed ACKs stall small requests by ~40 ms.
                {"socket.nagle.disable", "true"},
                {"client.id", o.client_id + "." + options_.name},
                {"group.id", o.group_prefix + options_.name},
                {"enable.auto.commit", "false"},
                {"enable.auto.offset.store", "false"},
                {"enable.partition.eof", "false"},
                // Starting "at the end" is done by start hints, so that it means
                // the end when Subscribe was called, not when the group joined.
                {"auto.offset.reset", "earliest"},
                {"session.timeout.ms", std::to_string(o.session_timeout_ms)},
                {"max.poll.interval.ms", std::to_string(o.max_poll_interval_ms)},
                {"topic.metadata.refresh.interval.ms", std::to_string(o.metadata_refresh_ms)}}));
  rd_kafka_conf_set_rebalance_cb(conf, &Core::OnRebalance);
  rd_kafka_conf_set_opaque(conf, this);
  std::vector<std::string> topics;
  for (const std::string& t : options_.topics) {
    Status valid = ValidateTopicName(t);
    if (!valid.ok()) {
      rd_kafka_conf_destroy(conf);
      return valid.WithContext("subscription " + options_.name);
    }
    Result<uint32_t> created = log_.Partitions(t, true);
    if (!created.ok()) {
      rd_kafka_conf_destroy(conf);
      return created.status();
    }
    topics.push_back(log_.KafkaName(t));
  }
  // No topics: every tandem topic without a '.', including later ones (a
  // librdkafka regex subscription, re-matched every metadata_refresh_ms).
  Status hints = ComputeStartHints(topics);
  if (!hints.ok()) {
    rd_kafka_conf_destroy(conf);
    return hints;
  }
  if (topics.empty()) topics.push_back("^" + EscapeRegex(o.topic_prefix) + "[a-z][a-z0-9_]*$");
  TANDEM_ASSIGN_OR_RETURN(consumer_, NewClient(RD_KAFKA_CONSUMER, conf));
  rd_kafka_poll_set_consumer(consumer_.get());
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const std::string& t : topics) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  TANDEM_RETURN_IF_ERROR(FromError(rd_kafka_subscribe(consumer_.get(), list.get()),
                                   "kafka subscribe " + options_.name));
  fetcher_ = std::thread([this] { FetchLoop(); });
  return Status::OK();
}

// `kafka_topics` are the named topics (empty: every tandem topic without a '.').
Status Core::ComputeStartHints(const std::vector<std::string>& kafka_topics) {
  const int64_t timeout = log_.options().request_timeout_ms;
  if (options_.start_time_us > 0) min_timestamp_us_ = options_.start_time_us;
  if (options_.max_age_ms >= 0) {
    min_timestamp_us_ = std::max(min_timestamp_us_,
                                 log_.clock().NowMicros() - options_.max_age_ms * 1000);
  }
  if (!options_.from_beginning) {
    std::vector<std::pair<std::string, uint32_t>> topics;  // (Kafka name, partitions)
    if (!kafka_topics.empty()) {
      for (const std::string& t : options_.topics) {
        TANDEM_ASSIGN_OR_RETURN(uint32_t n, log_.Partitions(t, false));
        topics.emplace_back(log_.KafkaName(t), n);
      }
    } else {
      TANDEM_ASSIGN_OR_RETURN(auto all, log_.Topics());
      for (const auto& [t, n] : all) {
        if (t.find('.') == std::string::npos) topics.emplace_back(log_.KafkaName(t), n);
      }
    }
    for (const auto& [t, n] : topics) {
      for (uint32_t p = 0; p < n; ++p) {
        TANDEM_ASSIGN_OR_RETURN(auto wm, Watermarks(log_.admin_handle(), t,
                                                    static_cast<int32_t>(p), timeout));
        start_hints_[{t, static_cast<int32_t>(p)}] = wm.second;
      }
    }
  }
  for (const SubscriptionOptions::StartPosition& sp : options_.start_positions) {
    const std::string t = log_.KafkaName(sp.topic);
    const auto p = static_cast<int32_t>(sp.partition);
    // Clamped to the retained range, as on the embedded log.
    Result<std::pair<int64_t, int64_t>> wm = Watermarks(log_.admin_handle(), t, p, timeout);
    int64_t offset = static_cast<int64_t>(sp.offset);
    if (wm.ok()) offset = std::clamp(offset, wm->first, wm->second);
    start_hints_[{t, p}] = offset;
  }
  return Status::OK();
}

bool Core::Filtered(const Record& r) const {
  if (min_timestamp_us_ > 0 && r.timestamp_us < min_timestamp_us_) return true;
  if (options_.ce_types.empty()) return false;
  for (const Header& h : r.headers) {
    if (h.key == kCloudEventTypeHeader) {
      return std::find(options_.ce_types.begin(), options_.ce_types.end(), h.value) ==
             options_.ce_types.end();
    }
  }
  return true;
}

void Core::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  cv_.notify_all();
  stop_.store(true);
  if (fetcher_.joinable()) fetcher_.join();
  if (!consumer_) return;
  (void)CommitPositions(nullptr);
  // Leaves the group at once (the revoke callback commits again), so the
  // partitions move to the other processes without waiting for the session
  // timeout.
  (void)rd_kafka_consumer_close(consumer_.get());
  consumer_.reset();
}

void Core::FetchLoop() {
  int64_t last_commit = NowMs();
  std::vector<rd_kafka_message_t*> batch;
  while (!stop_.load()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_.get(), 100);
    // Drain what is already fetched, up to a bound, under one lock.
    while (m != nullptr) {
      batch.push_back(m);
      if (batch.size() >= 1000) break;
      m = rd_kafka_consumer_poll(consumer_.get(), 0);
    }
    if (!batch.empty()) OnMessages(batch);
    UpdatePauses();
    if (NowMs() - last_commit >= options_.commit_interval_ms) {
      (void)CommitPositions(nullptr);
      last_commit = NowMs();
    }
  }
}

void Core::OnMessages(std::vector<rd_kafka_message_t*>& batch) {
  {
    std::lock_guard lock(mu_);
    for (rd_kafka_message_t* m : batch) {
      // Errors here are transient fetch or metadata errors librdkafka retries
      // on its own (e.g. a subscribed topic not created yet).
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR || m->rkt == nullptr) continue;
      auto it = parts_.find({rd_kafka_topic_name(m->rkt), m->partition});
      if (it == parts_.end()) continue;  // revoked meanwhile
      PartState& ps = it->second;
      if (m->offset < ps.next_fetch) continue;
      Message msg{MessageId{ps.topic, static_cast<uint32_t>(m->partition),
                            static_cast<uint64_t>(m->offset)},
                  ToRecord(*m), 1};
      ps.next_fetch = m->offset + 1;
      // Filtered records count as acknowledged without being delivered.
      if (Filtered(msg.record)) continue;
      ps.outstanding.insert(msg.id.offset);
      ps.queue.push_back(Queued{std::move(msg), 0});
    }
  }
  for (rd_kafka_message_t* m : batch) rd_kafka_message_destroy(m);
  batch.clear();
  cv_.notify_all();
}

void Core::UpdatePauses() {
  const size_t high = log_.options().max_buffered_per_partition;
  PartitionList pause(rd_kafka_topic_partition_list_new(0));
  PartitionList resume(rd_kafka_topic_partition_list_new(0));
  {
    std::lock_guard lock(mu_);
    for (auto& [key, ps] : parts_) {
      if (!ps.paused && ps.queue.size() >= high) {
        ps.paused = true;
        rd_kafka_topic_partition_list_add(pause.get(), key.first.c_str(), key.second);
      } else if (ps.paused && ps.queue.size() < high / 2) {
        ps.paused = false;
        rd_kafka_topic_partition_list_add(resume.get(), key.first.c_str(), key.second);
      }
    }
  }
  if (pause->cnt > 0) (void)rd_kafka_pause_partitions(consumer_.get(), pause.get());
  if (resume->cnt > 0) (void)rd_kafka_resume_partitions(consumer_.get(), resume.get());
}

void Core::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* list, void* opaque) {
  auto* self = static_cast<Core*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    PartitionList start(rd_kafka_topic_partition_list_copy(list));
    if (!self->start_hints_.empty()) {
      // Partitions without a committed offset start at their hint.
      PartitionList committed(rd_kafka_topic_partition_list_copy(list));
      if (rd_kafka_committed(rk, committed.get(),
                             static_cast<int>(self->log_.options().request_timeout_ms)) ==
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < start->cnt; ++i) {
          rd_kafka_topic_partition_t& tp = start->elems[i];
          auto hint = self->start_hints_.find({tp.topic, tp.partition});
          if (hint != self->start_hints_.end() && committed->elems[i].offset < 0) {
            tp.offset = hint->second;
          }
        }
      }
    }
    {
      std::lock_guard lock(self->mu_);
      for (int i = 0; i < list->cnt; ++i) {
        const rd_kafka_topic_partition_t& tp = list->elems[i];
        PartState ps;
        ps.topic = self->log_.TandemName(tp.topic);
        self->parts_[{tp.topic, tp.partition}] = std::move(ps);
      }
      self->BalanceLocked();
    }
    (void)rd_kafka_assign(rk, start.get());
    (void)rd_kafka_resume_partitions(rk, start.get());
    self->cv_.notify_all();
    return;
  }
  // Revoked (or an error): commit what was acknowledged, then forget the
  // partitions; their in-flight messages are redelivered by the new owner.
  std::vector<PartKey> keys;
  for (int i = 0; i < list->cnt; ++i) keys.emplace_back(list->elems[i].topic, list->elems[i].partition);
  (void)self->CommitPositions(&keys);
  {
    std::lock_guard lock(self->mu_);
    for (const PartKey& k : keys) self->parts_.erase(k);
  }
  (void)rd_kafka_assign(rk, nullptr);
  self->cv_.notify_all();
}

Status Core::CommitPositions(const std::vector<PartKey>* only) {
  std::lock_guard commit_lock(commit_mu_);
  PartitionList list(rd_kafka_topic_partition_list_new(0));
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, ps] : parts_) {
      if (only != nullptr && std::find(only->begin(), only->end(), key) == only->end()) continue;
      const int64_t pos = ps.Position();
      if (pos < 0 || pos == ps.committed) continue;
      rd_kafka_topic_partition_list_add(list.get(), key.first.c_str(), key.second)->offset = pos;
    }
  }
  if (list->cnt == 0 || !consumer_) return Status::OK();
  rd_kafka_resp_err_t err = rd_kafka_commit(consumer_.get(), list.get(), 0);
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return Status::OK();
  TANDEM_RETURN_IF_ERROR(FromError(err, "kafka commit of subscription " + options_.name));
  std::lock_guard lock(mu_);
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    auto it = parts_.find({tp.topic, tp.partition});
    if (it != parts_.end() && tp.err == RD_KAFKA_RESP_ERR_NO_ERROR) it->second.committed = tp.offset;
  }
  return Status::OK();
}

// Unowned partitions go to the least-loaded consumer; then partitions with
// nothing in flight move from the most to the least loaded until balanced.
void Core::BalanceLocked() {
  if (consumers_.empty()) return;
  std::map<uint64_t, size_t> load;
  for (uint64_t c : consumers_) load[c] = 0;
  for (auto& [key, ps] : parts_) {
    if (ps.owner != 0 && load.count(ps.owner) == 0) ps.owner = 0;
    if (ps.owner != 0) ++load[ps.owner];
  }
  auto least = [&] {
    return std::min_element(load.begin(), load.end(),
                            [](auto& a, auto& b) { return a.second < b.second; });
  };
  for (auto& [key, ps] : parts_) {
    if (ps.owner != 0) continue;
    auto it = least();
    ps.owner = it->first;
    ++it->second;
  }
  for (size_t round = 0; round < parts_.size(); ++round) {
    auto lo = least();
    auto hi = std::max_element(load.begin(), load.end(),
                               [](auto& a, auto& b) { return a.second < b.second; });
    if (hi->second <= lo->second + 1) return;
    auto movable = std::find_if(parts_.begin(), parts_.end(), [&](auto& kv) {
      return kv.second.owner == hi->first && kv.second.in_flight.empty();
    });
    if (movable == parts_.end()) return;
    movable->second.owner = lo->first;
    --hi->second;
    ++lo->second;
  }
}

uint64_t Core::AddConsumer() {
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    id = next_consumer_++;
    consumers_.insert(id);
    BalanceLocked();
  }
  cv_.notify_all();
  return id;
}

void Core::RemoveConsumer(uint64_t id) {
  {
    std::lock_guard lock(mu_);
    consumers_.erase(id);
    for (auto& [key, ps] : parts_) {
      if (ps.owner != id) continue;
      ps.owner = 0;
      for (auto& [offset, msg] : ps.in_flight) {
        ++msg.delivery_count;
        InsertByOffset(ps.queue, Queued{std::move(msg), 0});
      }
      ps.in_flight.clear();
    }
    BalanceLocked();
  }
  cv_.notify_all();
}

void Core::TakeLocked(PartState& ps, size_t budget, int64_t now_us, std::vector<Message>* out,
                      int64_t* next_ready_us) {
  std::set<std::string> held_keys;  // keys whose earliest queued message waits out a backoff
  for (auto it = ps.queue.begin(); it != ps.queue.end() && out->size() < budget;) {
    if (!held_keys.empty() && held_keys.count(it->msg.record.key) != 0) {
      ++it;
      continue;
    }
    if (it->ready_us > now_us) {
      held_keys.insert(it->msg.record.key);
      *next_ready_us = std::min(*next_ready_us, it->ready_us);
      ++it;
      continue;
    }
    ps.in_flight.emplace(it->msg.id.offset, it->msg);
    out->push_back(std::move(it->msg));
    it = ps.queue.erase(it);
  }
}

Result<std::vector<Message>> Core::Poll(uint64_t id, size_t max, int64_t timeout_us) {
  const int64_t deadline_ms = NowMs() + std::max<int64_t>(timeout_us, 0) / 1000;
  std::unique_lock lock(mu_);
  for (;;) {
    if (closed_ || consumers_.count(id) == 0) {
      return Status::Aborted("subscription " + options_.name + ": closed");
    }
    size_t in_flight = 0;
    for (const auto& [key, ps] : parts_) {
      if (ps.owner == id) in_flight += ps.in_flight.size();
    }
    const size_t cap = options_.max_unacked_per_consumer;
    const size_t budget = std::min(max, cap > in_flight ? cap - in_flight : 0);
    std::vector<Message> out;
    int64_t next_ready_us = std::numeric_limits<int64_t>::max();
    const int64_t now_us = log_.clock().NowMicros();
    for (auto& [key, ps] : parts_) {
      if (out.size() >= budget) break;
      if (ps.owner == id) TakeLocked(ps, budget, now_us, &out, &next_ready_us);
    }
    if (!out.empty()) return out;
    const int64_t left_ms = deadline_ms - NowMs();
    if (left_ms <= 0) return out;
    int64_t wait_ms = std::min<int64_t>(left_ms, 100);
    if (next_ready_us != std::numeric_limits<int64_t>::max()) {
      wait_ms = std::clamp<int64_t>((next_ready_us - now_us) / 1000 + 1, 1, wait_ms);
    }
    cv_.wait_for(lock, std::chrono::milliseconds(wait_ms));
  }
}

Status Core::Ack(const MessageId& m) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::Aborted("subscription " + options_.name + ": closed");
    PartState* ps = FindLocked(m);
    // Revoked by a rebalance: the new owner redelivers it; nothing to do here.
    if (ps == nullptr) return Status::OK();
    if (ps->in_flight.erase(m.offset) == 0) return NotInFlight("ack", m);
    ps->outstanding.erase(m.offset);
  }
  cv_.notify_all();
  return Status::OK();
}

int64_t Core::BackoffUs(uint32_t delivery_count) {
  const double base = static_cast<double>(std::max<int64_t>(options_.nack_backoff_base_ms, 0));
  const double cap = static_cast<double>(std::max<int64_t>(options_.nack_backoff_max_ms, 0));
  const double delay = std::min(cap, base * std::pow(2.0, std::min(delivery_count, 60u) - 1.0));
  const double jitter = std::clamp(options_.nack_backoff_jitter, 0.0, 1.0);
  const double factor = 1.0 + jitter * (2.0 * random_.NextDouble() - 1.0);
  return static_cast<int64_t>(delay * factor * 1000.0);
}

Status Core::Nack(const MessageId& m, std::string_view reason) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::Aborted("subscription " + options_.name + ": closed");
    PartState* ps = FindLocked(m);
    if (ps == nullptr) return Status::OK();
    auto it = ps->in_flight.find(m.offset);
    if (it == ps->in_flight.end()) return NotInFlight("nack", m);
    if (it->second.delivery_count < options_.max_deliveries) {
      Message msg = std::move(it->second);
      ps->in_flight.erase(it);
      const int64_t ready = log_.clock().NowMicros() + BackoffUs(msg.delivery_count);
      ++msg.delivery_count;
      InsertByOffset(ps->queue, Queued{std::move(msg), ready});
      cv_.notify_all();
      return Status::OK();
    }
  }
  return DeadLetter(m, reason);
}

Status Core::DeadLetter(const MessageId& m, std::string_view reason) {
  ProduceRecord dead;
  uint32_t delivery_count = 0;
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::Aborted("subscription " + options_.name + ": closed");
    PartState* ps = FindLocked(m);
    if (ps == nullptr) return Status::OK();
    auto it = ps->in_flight.find(m.offset);
    if (it == ps->in_flight.end()) return NotInFlight("dead-letter", m);
    const Record& r = it->second.record;
    dead = ProduceRecord{r.key, r.value, r.id, r.headers, 0};
    delivery_count = it->second.delivery_count;
  }
  dead.headers.push_back({"dlq.reason", std::string(reason)});
  dead.headers.push_back({"dlq.subscription", options_.name});
  dead.headers.push_back({"dlq.topic", m.topic});
  dead.headers.push_back({"dlq.partition", std::to_string(m.partition)});
  dead.headers.push_back({"dlq.offset", std::to_string(m.offset)});
  dead.headers.push_back({"dlq.delivery_count", std::to_string(delivery_count)});
  // The message stays in flight (its key blocked) until the broker has the dead letter.
  Result<AppendResult> appended = log_.Append(m.topic + ".dlq", dead);
  if (!appended.ok()) return appended.status().WithContext("dead-letter " + m.topic);
  return Ack(m);
}

std::vector<PartitionLag> Core::Lag() {
  std::vector<PartitionLag> out;
  std::vector<std::pair<std::string, uint32_t>> topics;
  if (!options_.topics.empty()) {
    for (const std::string& t : options_.topics) {
      Result<uint32_t> n = log_.Partitions(t, false);
      if (n.ok()) topics.emplace_back(t, *n);
    }
  } else if (Result<std::vector<std::pair<std::string, uint32_t>>> all = log_.Topics(); all.ok()) {
    for (auto& t : *all) {
      if (t.first.find('.') == std::string::npos) topics.push_back(t);
    }
  }
  // Positions: in memory for partitions this process consumes; the group's
  // committed offsets (one OffsetFetch) for the others.
  std::vector<std::pair<PartKey, int64_t>> positions;
  PartitionList unknown(rd_kafka_topic_partition_list_new(0));
  {
    std::lock_guard lock(mu_);
    for (const auto& [t, n] : topics) {
      for (uint32_t p = 0; p < n; ++p) {
        PartKey key{log_.KafkaName(t), static_cast<int32_t>(p)};
        auto it = parts_.find(key);
        const int64_t pos = it != parts_.end() ? it->second.Position() : -1;
        if (pos < 0) rd_kafka_topic_partition_list_add(unknown.get(), key.first.c_str(), key.second);
        positions.emplace_back(std::move(key), pos);
      }
    }
  }
  if (positions.empty() || !consumer_) return out;
  const int64_t timeout = log_.options().request_timeout_ms;
  if (unknown->cnt > 0 &&
      rd_kafka_committed(consumer_.get(), unknown.get(), static_cast<int>(timeout)) ==
          RD_KAFKA_RESP_ERR_NO_ERROR) {
    for (auto& [key, pos] : positions) {
      if (pos >= 0) continue;
      rd_kafka_topic_partition_t* tp =
          rd_kafka_topic_partition_list_find(unknown.get(), key.first.c_str(), key.second);
      if (tp != nullptr) pos = tp->offset;
    }
  }
  for (const auto& [key, pos] : positions) {
    Result<std::pair<int64_t, int64_t>> wm =
        Watermarks(log_.admin_handle(), key.first, key.second, timeout);
    if (!wm.ok()) continue;
    int64_t committed = pos;
    if (committed < 0) {
      auto hint = start_hints_.find(key);
      committed = hint != start_hints_.end() ? hint->second : wm->first;
    }
    out.push_back(PartitionLag{log_.TandemName(key.first), static_cast<uint32_t>(key.second),
                               static_cast<uint64_t>(committed),
                               static_cast<uint64_t>(wm->second)});
  }
  return out;
}

class KafkaConsumer final : public Consumer {
 public:
  KafkaConsumer(std::shared_ptr<Core> core, uint64_t id) : core_(std::move(core)), id_(id) {}
  ~KafkaConsumer() override { core_->RemoveConsumer(id_); }
  Result<std::vector<Message>> Poll(size_t max, int64_t timeout_us) override {
    return core_->Poll(id_, max, timeout_us);
  }
  Status Ack(const MessageId& id) override { return core_->Ack(id); }
  Status Nack(const MessageId& id, std::string_view reason) override {
    return core_->Nack(id, reason);
  }
  Status DeadLetter(const MessageId& id, std::string_view reason) override {
    return core_->DeadLetter(id, reason);
  }

 private:
  std::shared_ptr<Core> core_;
  const uint64_t id_;
};

class KafkaSubscription final : public Subscription {
 public:
  explicit KafkaSubscription(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  ~KafkaSubscription() override { core_->Shutdown(); }
  Result<std::unique_ptr<Consumer>> AddConsumer(std::string) override {
    return std::unique_ptr<Consumer>(std::make_unique<KafkaConsumer>(core_, core_->AddConsumer()));
  }
  Status Commit() override { return core_->Commit(); }
  std::vector<PartitionLag> Lag() override { return core_->Lag(); }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

Result<std::unique_ptr<Subscription>> OpenKafkaSubscription(KafkaLogImpl& log,
                                                            const SubscriptionOptions& options) {
  auto core = std::make_shared<Core>(log, options);
  TANDEM_RETURN_IF_ERROR(core->Start());
  return std::unique_ptr<Subscription>(std::make_unique<KafkaSubscription>(std::move(core)));
}

}  // namespace tandem::kafka
