#include "log/subscription.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/hash.h"

namespace tandem {
namespace {

constexpr size_t kFetchBytes = 256 << 10;
constexpr size_t kMaxPendingMessages = 32768;
constexpr uint64_t kMaxPendingBytes = 32ull << 20;
constexpr auto kMaxWaitSlice = std::chrono::milliseconds(50);
// A fetch that found nothing is retried after new data is announced, or after this.
constexpr auto kIdleRefetch = std::chrono::milliseconds(50);

std::string Describe(const MessageId& m) {
  return m.topic + "/" + std::to_string(m.partition) + "@" + std::to_string(m.offset);
}

Status ClosedStatus() { return Status::Aborted("the subscription is closed"); }

class ConsumerImpl final : public Consumer {
 public:
  ConsumerImpl(std::shared_ptr<SubscriptionCore> core, SubscriptionCore::ConsumerId id)
      : core_(std::move(core)), id_(id) {}
  ~ConsumerImpl() override { core_->RemoveConsumer(id_); }

  Result<std::vector<Message>> Poll(size_t max, int64_t timeout_us) override {
    return core_->Poll(id_, max, timeout_us);
  }
  Status Ack(const MessageId& id) override { return core_->Ack(id_, id); }
  Status Nack(const MessageId& id, std::string_view reason) override {
    return core_->Nack(id_, id, reason);
  }
  Status DeadLetter(const MessageId& id, std::string_view reason) override {
    return core_->DeadLetter(id_, id, reason);
  }

 private:
  std::shared_ptr<SubscriptionCore> core_;
  SubscriptionCore::ConsumerId id_;
};

class SubscriptionImpl final : public Subscription {
 public:
  explicit SubscriptionImpl(std::shared_ptr<SubscriptionCore> core) : core_(std::move(core)) {}
  ~SubscriptionImpl() override { core_->Shutdown(); }

  Result<std::unique_ptr<Consumer>> AddConsumer(std::string name) override {
    TANDEM_ASSIGN_OR_RETURN(SubscriptionCore::ConsumerId id, core_->AddConsumer(name));
    return std::unique_ptr<Consumer>(std::make_unique<ConsumerImpl>(core_, id));
  }
  Status Commit() override { return core_->Commit(); }
  std::vector<PartitionLag> Lag() override { return core_->Lag(); }

 private:
  std::shared_ptr<SubscriptionCore> core_;
};

}  // namespace

Result<std::unique_ptr<Subscription>> OpenSubscription(LogImpl& log,
                                                       const SubscriptionOptions& options) {
  TANDEM_RETURN_IF_ERROR(ValidateSubscriptionName(options.name));
  for (const std::string& t : options.topics) TANDEM_RETURN_IF_ERROR(ValidateTopicName(t));
  for (const SubscriptionOptions::StartPosition& p : options.start_positions) {
    TANDEM_RETURN_IF_ERROR(ValidateTopicName(p.topic).WithContext("start_positions"));
  }
  if (options.start_time_us < 0) {
    return Status::InvalidArgument("start_time_us: must be >= 0 (0 = off), got " +
                                   std::to_string(options.start_time_us));
  }
  for (const std::string& t : options.ce_types) {
    if (t.empty()) return Status::InvalidArgument("ce_types: an empty type never matches");
  }
  auto core = std::make_shared<SubscriptionCore>(log, options);
  Status s = core->Start();
  if (!s.ok()) {
    core->Shutdown();
    return s;
  }
  return std::unique_ptr<Subscription>(std::make_unique<SubscriptionImpl>(std::move(core)));
}

struct SubscriptionCore::FetchResult {
  uint32_t stream = 0;
  uint64_t cursor = 0;
  Partition* source = nullptr;
  uint64_t start_offset = 0;  // the partition's, when read
  std::vector<Record> records;
};

// Reads one batch from every stream of `plan` that has data past its cursor,
// until about `budget` bytes are read. Runs without mu_. On a read error,
// `*failed` names the stream and the results so far are kept.
Status SubscriptionCore::ReadPlan(std::vector<FetchResult>& plan, uint64_t budget,
                                  std::vector<FetchResult>* results, uint32_t* failed) {
  uint64_t bytes = 0;
  for (size_t i = 0; i < plan.size() && bytes < budget; ++i) {
    FetchResult& r = plan[i];
    r.start_offset = r.source->start_offset();
    if (r.source->end_offset() <= r.cursor && r.start_offset <= r.cursor) continue;
    Status st = r.source->Read(r.cursor, kFetchBytes, &r.records);
    if (!st.ok()) {
      *failed = r.stream;
      return st;
    }
    for (const Record& rec : r.records) bytes += rec.key.size() + rec.value.size() + 64;
    results->push_back(std::move(r));
  }
  return Status::OK();
}

namespace {

int64_t SkipBeforeUs(const SubscriptionOptions& o, Clock& clock) {
  int64_t t = o.start_time_us;
  if (o.max_age_ms >= 0) t = std::max(t, clock.NowMicros() - o.max_age_ms * 1000);
  return std::max<int64_t>(t, 0);
}

}  // namespace

SubscriptionCore::SubscriptionCore(LogImpl& log, const SubscriptionOptions& options)
    : log_(log),
      clock_(log.clock()),
      options_(options),
      wanted_topics_(options.topics.begin(), options.topics.end()),
      skip_before_us_(SkipBeforeUs(options, log.clock())),
      ce_types_(options.ce_types.begin(), options.ce_types.end()),
      dispatcher_(options.max_unacked_per_consumer),
      random_(StableHash64(options.name)),
      store_(log.fs(), log.SubscriptionPath(options.name)) {}

SubscriptionCore::~SubscriptionCore() { Shutdown(); }

Status SubscriptionCore::Start() {
  TANDEM_RETURN_IF_ERROR(log_.ClaimSubscription(options_.name));
  claimed_ = true;
  {
    std::lock_guard l(commit_mu_);
    TANDEM_RETURN_IF_ERROR(store_.Load(&loaded_));
  }
  log_.AddListener(this);  // before listing topics, so no creation is missed
  registered_ = true;
  TANDEM_RETURN_IF_ERROR(RefreshTopics(/*initial=*/true));
  if (options_.commit_interval_ms > 0) committer_ = std::thread([this] { CommitterLoop(); });
  return Status::OK();
}

void SubscriptionCore::Shutdown() {
  {
    std::lock_guard l(committer_mu_);
    committer_stop_ = true;
  }
  committer_cv_.notify_all();
  if (committer_.joinable()) committer_.join();
  if (registered_) log_.RemoveListener(this);
  registered_ = false;
  bool was_open = false;
  {
    std::lock_guard l(mu_);
    was_open = !closed_;
    closed_ = true;
  }
  cv_.notify_all();
  if (was_open && claimed_) (void)Commit();  // best effort: positions only ever lag
  if (claimed_) log_.ReleaseSubscription(options_.name);
  claimed_ = false;
}

void SubscriptionCore::CommitterLoop() {
  std::unique_lock l(committer_mu_);
  while (!committer_stop_) {
    committer_cv_.wait_for(l, std::chrono::milliseconds(options_.commit_interval_ms),
                           [this] { return committer_stop_; });
    if (committer_stop_) break;
    l.unlock();
    (void)Commit();  // a failure is retried next interval and reported by Commit()
    l.lock();
  }
}

bool SubscriptionCore::Wanted(const std::string& topic) const {
  if (wanted_topics_.empty()) return !IsInternalTopic(topic);
  return wanted_topics_.count(topic) > 0;
}

bool SubscriptionCore::Deliverable(const Record& rec) const {
  if (rec.timestamp_us < skip_before_us_) return false;
  if (ce_types_.empty()) return true;
  for (const Header& h : rec.headers) {
    if (h.key == kCloudEventTypeHeader) return ce_types_.contains(h.value);
  }
  return false;
}

// Adds streams for topics not seen yet. `initial`: topics existing when the
// subscription opens (they honour from_beginning); later topics start at 0.
Status SubscriptionCore::RefreshTopics(bool initial) {
  const uint64_t gen = log_.topic_generation();
  if (!initial && gen == seen_generation_.load()) return Status::OK();
  std::lock_guard rl(refresh_mu_);
  if (!initial && gen == seen_generation_.load()) return Status::OK();
  std::vector<std::unique_ptr<Stream>> added;
  bool unpositioned = false;
  {
    std::lock_guard cl(commit_mu_);
    for (const std::string& name : log_.ListTopics()) {
      Topic* t = Wanted(name) && !known_topics_.count(name) ? log_.FindTopic(name) : nullptr;
      if (t == nullptr) continue;
      known_topics_.insert(name);
      for (uint32_t p = 0; p < t->num_partitions(); ++p) {
        added.push_back(NewStream(*t, p, initial, &unpositioned));
      }
    }
  }
  {
    std::lock_guard l(mu_);
    for (auto& s : added) {
      const uint32_t id = dispatcher_.AddStream();
      topic_streams_[s->topic].push_back(id);
      streams_.push_back(std::move(s));
    }
  }
  seen_generation_.store(gen);
  if (!added.empty()) cv_.notify_all();
  return unpositioned ? Commit() : Status::OK();
}

// A stream positioned at its committed offset (clamped to the partition end),
// or, without one, at the start (or the end: initial && !from_beginning).
std::unique_ptr<SubscriptionCore::Stream> SubscriptionCore::NewStream(Topic& t, uint32_t p,
                                                                      bool initial,
                                                                      bool* unpositioned) {
  auto s = std::make_unique<Stream>();
  s->topic = t.name();
  s->partition = p;
  s->source = &t.partition(p);
  auto pos = loaded_.find({t.name(), p});
  if (pos != loaded_.end()) {
    s->cursor = std::min(pos->second, s->source->end_offset());
  } else {
    *unpositioned = true;
    const bool at_end = initial && !options_.from_beginning;
    s->cursor = at_end ? s->source->end_offset() : s->source->start_offset();
    for (const SubscriptionOptions::StartPosition& sp : options_.start_positions) {
      if (sp.topic != s->topic || sp.partition != p) continue;
      s->cursor = std::clamp(sp.offset, s->source->start_offset(), s->source->end_offset());
    }
  }
  s->tracker = AckTracker(s->cursor);
  return s;
}

Result<SubscriptionCore::ConsumerId> SubscriptionCore::AddConsumer(std::string_view name) {
  std::lock_guard l(mu_);
  if (closed_) return ClosedStatus();
  const ConsumerId id = dispatcher_.AddConsumer(name, NowUs());
  cv_.notify_all();
  return id;
}

void SubscriptionCore::RemoveConsumer(ConsumerId id) {
  {
    std::lock_guard l(mu_);
    dispatcher_.RemoveConsumer(id, NowUs());
  }
  cv_.notify_all();
}

Status SubscriptionCore::Commit() {
  std::lock_guard cl(commit_mu_);
  PositionMap positions = loaded_;  // keeps entries of topics not read now
  {
    std::lock_guard l(mu_);
    for (const auto& s : streams_) positions[{s->topic, s->partition}] = s->tracker.committed();
  }
  TANDEM_RETURN_IF_ERROR(store_.Save(positions));
  loaded_ = std::move(positions);
  return Status::OK();
}

std::vector<PartitionLag> SubscriptionCore::Lag() {
  (void)RefreshTopics(false);
  std::vector<std::pair<PartitionLag, Partition*>> rows;
  {
    std::lock_guard l(mu_);
    for (const auto& s : streams_) {
      rows.push_back({PartitionLag{s->topic, s->partition, s->tracker.committed(), 0}, s->source});
    }
  }
  std::vector<PartitionLag> out;
  for (auto& [lag, source] : rows) {
    lag.end = source->end_offset();
    out.push_back(std::move(lag));
  }
  std::sort(out.begin(), out.end(), [](const PartitionLag& a, const PartitionLag& b) {
    return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
  });
  return out;
}

void SubscriptionCore::OnLogChange() {
  data_seq_.fetch_add(1);
  // Pairs with WaitLocked: a waiter either sees the new sequence or is
  // already inside wait() when we notify (we take mu_ in between).
  if (waiters_.load() > 0) {
    std::lock_guard l(mu_);
  }
  cv_.notify_all();
}

Result<std::vector<Message>> SubscriptionCore::Poll(ConsumerId id, size_t max, int64_t timeout_us) {
  if (max == 0) return std::vector<Message>{};
  const SteadyTime deadline = std::chrono::steady_clock::now() +
                              std::chrono::microseconds(std::max<int64_t>(0, timeout_us));
  for (;;) {
    TANDEM_RETURN_IF_ERROR(RefreshTopics(false));
    std::unique_lock l(mu_);
    if (closed_) return ClosedStatus();
    const uint64_t seq = data_seq_.load();
    std::vector<Delivery> d;
    const bool was_full = !HasReadAheadBudget();
    dispatcher_.Take(id, max, NowUs(), &d);
    if (was_full && HasReadAheadBudget()) cv_.notify_all();  // a waiter may fetch now
    if (!d.empty()) return ToMessages(d);
    if (dispatcher_.AtCapacity(id)) return std::vector<Message>{};
    if (ShouldFetch()) {
      TANDEM_RETURN_IF_ERROR(Fetch(l));
      continue;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::vector<Message>{};
    WaitLocked(l, deadline, seq);
  }
}

bool SubscriptionCore::HasReadAheadBudget() const {
  return dispatcher_.pending_messages() < kMaxPendingMessages &&
         dispatcher_.pending_bytes() < kMaxPendingBytes;
}

bool SubscriptionCore::ShouldFetch() const {
  if (fetching_ || streams_.empty() || !HasReadAheadBudget()) return false;
  return last_fetch_found_data_ || data_seq_.load() != idle_seq_ ||
         std::chrono::steady_clock::now() - last_fetch_ >= kIdleRefetch;
}

// One round: one Read per stream with data, until the read-ahead budget is
// spent. Partition calls run without mu_; `fetching_` keeps this the only fetch.
Status SubscriptionCore::Fetch(std::unique_lock<std::mutex>& l) {
  fetching_ = true;
  const uint64_t seq = data_seq_.load();
  std::vector<FetchResult> plan;  // stream, cursor, source; records filled by ReadPlan
  for (size_t i = 0; i < streams_.size(); ++i) {
    const uint32_t sid = static_cast<uint32_t>((fetch_rotation_ + i) % streams_.size());
    plan.push_back(FetchResult{sid, streams_[sid]->cursor, streams_[sid]->source, 0, {}});
  }
  const uint64_t budget = kMaxPendingBytes - dispatcher_.pending_bytes();
  l.unlock();
  uint32_t failed = 0;
  std::vector<FetchResult> results;
  Status st = ReadPlan(plan, budget, &results, &failed);
  l.lock();
  bool found = false;
  for (FetchResult& r : results) {
    found |= !r.records.empty();
    ApplyFetch(r);
  }
  fetching_ = false;
  last_fetch_found_data_ = found;
  if (!found) idle_seq_ = seq;
  last_fetch_ = std::chrono::steady_clock::now();
  fetch_rotation_ = (fetch_rotation_ + 1) % std::max<size_t>(1, streams_.size());
  cv_.notify_all();
  if (!st.ok()) {
    const Stream& s = *streams_[failed];
    return st.WithContext("subscription " + options_.name + " reading " + s.topic + "/" +
                          std::to_string(s.partition));
  }
  return Status::OK();
}

void SubscriptionCore::ApplyFetch(FetchResult& r) {
  Stream& s = *streams_[r.stream];
  const int64_t now = NowUs();
  for (Record& rec : r.records) {
    if (rec.offset < s.cursor) continue;
    // Offsets the partition skipped (retention, compaction) are never delivered.
    if (rec.offset > s.cursor) s.tracker.AckRange(s.cursor, rec.offset);
    s.cursor = rec.offset + 1;
    if (!Deliverable(rec)) {
      s.tracker.Ack(rec.offset);
      continue;
    }
    dispatcher_.Enqueue(r.stream, std::move(rec), now);
  }
  if (r.records.empty() && r.start_offset > s.cursor) {
    s.tracker.AckRange(s.cursor, r.start_offset);
    s.cursor = r.start_offset;
  }
}

void SubscriptionCore::WaitLocked(std::unique_lock<std::mutex>& l, SteadyTime deadline,
                                  uint64_t seen_seq) {
  SteadyTime until = std::min(deadline, std::chrono::steady_clock::now() + kMaxWaitSlice);
  const int64_t hold = dispatcher_.next_hold_us();
  if (hold != std::numeric_limits<int64_t>::max()) {
    const int64_t in_us = std::max<int64_t>(hold - NowUs(), 100);
    until = std::min(until, std::chrono::steady_clock::now() + std::chrono::microseconds(in_us));
  }
  waiters_.fetch_add(1);
  if (data_seq_.load() == seen_seq) cv_.wait_until(l, until);
  waiters_.fetch_sub(1);
}

std::vector<Message> SubscriptionCore::ToMessages(std::vector<Delivery>& d) const {
  std::vector<Message> out;
  out.reserve(d.size());
  for (Delivery& x : d) {
    const Stream& s = *streams_[x.stream];
    Message m;
    m.id = MessageId{s.topic, s.partition, x.record.offset};
    m.record = std::move(x.record);
    m.delivery_count = x.delivery_count;
    out.push_back(std::move(m));
  }
  return out;
}

Result<uint32_t> SubscriptionCore::StreamOf(const MessageId& m) const {
  auto it = topic_streams_.find(m.topic);
  if (it == topic_streams_.end() || m.partition >= it->second.size()) {
    return Status::NotFound("message " + Describe(m) + " is not from subscription " +
                            options_.name);
  }
  return it->second[m.partition];
}

Status SubscriptionCore::AckLocked(ConsumerId id, uint32_t stream, const MessageId& m,
                                   bool* handed_over) {
  Status s = dispatcher_.Ack(id, stream, m.offset, NowUs(), handed_over);
  if (!s.ok()) {
    return Status::NotFound("message " + Describe(m) + " is not in flight for this consumer");
  }
  streams_[stream]->tracker.Ack(m.offset);
  return Status::OK();
}

Status SubscriptionCore::Ack(ConsumerId id, const MessageId& m) {
  bool handed_over = false;
  {
    std::lock_guard l(mu_);
    if (closed_) return ClosedStatus();
    TANDEM_ASSIGN_OR_RETURN(uint32_t stream, StreamOf(m));
    TANDEM_RETURN_IF_ERROR(AckLocked(id, stream, m, &handed_over));
  }
  // Only a key moving to another consumer gives a waiter something to do; the
  // acking consumer's own capacity is used by its own next Poll.
  if (handed_over) cv_.notify_all();
  return Status::OK();
}

int64_t SubscriptionCore::BackoffUs(uint32_t delivery_count) {
  const int exp =
      static_cast<int>(std::min<uint32_t>(std::max<uint32_t>(delivery_count, 1) - 1, 40));
  const double base_us =
      static_cast<double>(std::max<int64_t>(0, options_.nack_backoff_base_ms)) * 1000;
  const double max_us =
      static_cast<double>(std::max<int64_t>(0, options_.nack_backoff_max_ms)) * 1000;
  const double delay = std::min(max_us, std::ldexp(base_us, exp));
  const double jitter = std::clamp(options_.nack_backoff_jitter, 0.0, 1.0);
  const double factor = 1.0 + jitter * (2.0 * random_.NextDouble() - 1.0);
  return static_cast<int64_t>(delay * factor);
}

Status SubscriptionCore::Nack(ConsumerId id, const MessageId& m, std::string_view reason) {
  std::unique_lock l(mu_);
  if (closed_) return ClosedStatus();
  TANDEM_ASSIGN_OR_RETURN(uint32_t stream, StreamOf(m));
  uint32_t delivery_count = 0;
  if (dispatcher_.FindInFlight(id, stream, m.offset, &delivery_count) == nullptr) {
    return Status::NotFound("message " + Describe(m) + " is not in flight for this consumer");
  }
  if (delivery_count >= options_.max_deliveries) return SendToDeadLetter(id, m, reason, l);
  const int64_t now = NowUs();
  TANDEM_RETURN_IF_ERROR(
      dispatcher_.Nack(id, stream, m.offset, now + BackoffUs(delivery_count), now));
  l.unlock();
  cv_.notify_all();
  return Status::OK();
}

Status SubscriptionCore::DeadLetter(ConsumerId id, const MessageId& m, std::string_view reason) {
  std::unique_lock l(mu_);
  if (closed_) return ClosedStatus();
  return SendToDeadLetter(id, m, reason, l);
}

// Appends the in-flight message to "<topic>.dlq" durably, then acks it. The
// message stays in flight (its key blocked) while mu_ is released for the append.
Status SubscriptionCore::SendToDeadLetter(ConsumerId id, const MessageId& m,
                                          std::string_view reason,
                                          std::unique_lock<std::mutex>& l) {
  TANDEM_ASSIGN_OR_RETURN(uint32_t stream, StreamOf(m));
  uint32_t delivery_count = 0;
  const Record* rec = dispatcher_.FindInFlight(id, stream, m.offset, &delivery_count);
  if (rec == nullptr) {
    return Status::NotFound("message " + Describe(m) + " is not in flight for this consumer");
  }
  ProduceRecord dead{rec->key, rec->value, rec->id, rec->headers, 0};
  l.unlock();
  dead.headers.push_back({"dlq.reason", std::string(reason)});
  dead.headers.push_back({"dlq.subscription", options_.name});
  dead.headers.push_back({"dlq.topic", m.topic});
  dead.headers.push_back({"dlq.partition", std::to_string(m.partition)});
  dead.headers.push_back({"dlq.offset", std::to_string(m.offset)});
  dead.headers.push_back({"dlq.delivery_count", std::to_string(delivery_count)});
  Result<AppendResult> appended = log_.AppendDurably(m.topic + ".dlq", dead);
  if (!appended.ok()) return appended.status().WithContext("dead-lettering " + Describe(m));
  l.lock();
  // Appended but the subscription closed meanwhile: redelivered after a restart.
  if (closed_) return ClosedStatus();
  TANDEM_RETURN_IF_ERROR(AckLocked(id, stream, m, nullptr));
  l.unlock();
  cv_.notify_all();
  return Status::OK();
}

}  // namespace tandem
