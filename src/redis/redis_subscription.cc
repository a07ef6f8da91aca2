// Subscriptions of the Redis bus: a consumer group per partition stream,
// partitions leased to consumers (README.md, "Subscriptions").
//
// A consumer owns a partition while it holds the partition's lease key; it
// alone reads the partition (XREADGROUP ">"), so one key's messages reach one
// consumer, in offset order. Locally it keeps, per owned partition, the
// entries read and not yet acknowledged, ordered by offset, each queued,
// in flight or waiting out a nack backoff; a waiting entry blocks the later
// entries of its key. Leases are renewed by Poll; a consumer takes up to
// ceil(partitions / live consumers) of them, releases extras that have
// nothing in flight, and on acquiring a partition claims (XAUTOCLAIM) every
// entry still pending there, so a dead or departed owner's messages come
// back with delivery_count + 1 before anything newer.

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>

#include "common/hash.h"
#include "redis/lease_keeper.h"
#include "redis/redis_log.h"
#include "tandem/env.h"

namespace tandem::redis {
namespace {

using StreamKey = std::pair<std::string, uint32_t>;  // (topic, partition)

int64_t SteadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status ClosedStatus() { return Status::Aborted("subscription closed"); }

// What the subscription and its consumers share; consumers keep it alive.
struct Shared {
  Shared(RedisLog& l, const SubscriptionOptions& o) : log(l), options(o), conn(l.options()) {}

  bool Wanted(const std::string& topic) const {
    if (options.topics.empty()) return topic.find('.') == std::string::npos;
    return std::find(options.topics.begin(), options.topics.end(), topic) != options.topics.end();
  }

  // Re-lists topics (at most every topic_refresh_ms unless `force`) and
  // creates the group on every new stream: at the end ("$") for topics that
  // existed at open when from_beginning is false, else at the beginning.
  Status Refresh(bool initial, bool force) {
    std::lock_guard<std::mutex> l(mu);
    if (closed) return ClosedStatus();
    const int64_t now = SteadyUs();
    if (!force && now < next_refresh_us) return Status::OK();
    next_refresh_us = now + log.options().topic_refresh_ms * 1000;
    TANDEM_ASSIGN_OR_RETURN(auto topics, log.Topics());
    std::vector<Argv> cmds;
    std::vector<StreamKey> added;
    for (const auto& [topic, n] : topics) {
      if (!Wanted(topic)) continue;
      for (uint32_t p = 0; p < n; ++p) {
        if (streams.contains({topic, p})) continue;
        const std::string start = initial && !options.from_beginning ? "$" : "0";
        cmds.push_back({"XGROUP", "CREATE", log.keys().Stream(topic, p), options.name, start,
                        "MKSTREAM"});
        added.push_back({topic, p});
      }
    }
    if (cmds.empty()) return Status::OK();
    std::vector<Reply> replies;
    TANDEM_RETURN_IF_ERROR(conn.Pipeline(cmds, &replies));
    for (size_t i = 0; i < replies.size(); ++i) {
      if (replies[i].is_error() && !replies[i].str.starts_with("BUSYGROUP")) {
        return Status::IOError("redis XGROUP CREATE " + cmds[i][2] + ": " + replies[i].str);
      }
      streams.insert(added[i]);
    }
    return Status::OK();
  }

  // Acks are queued and sent as one XACK per stream (pipelined) by the next
  // Poll, Lag or Commit of the subscription, before any lease is released,
  // or once `kMaxQueuedAcks` wait. A crash loses only queued acks: those
  // messages are delivered again (at-least-once, as after a crash before a
  // commit of the embedded log).
  static constexpr size_t kMaxQueuedAcks = 1024;
  Status QueueAck(std::string stream, uint64_t offset) {
    std::lock_guard<std::mutex> l(mu);
    if (closed) return ClosedStatus();
    acks[std::move(stream)].push_back(StreamId(offset));
    return ++queued_acks >= kMaxQueuedAcks ? FlushAcksLocked() : Status::OK();
  }
  Status FlushAcks() {
    std::lock_guard<std::mutex> l(mu);
    return FlushAcksLocked();
  }
  Status FlushAcksLocked() {
    if (queued_acks == 0) return Status::OK();
    std::vector<Argv> cmds;
    for (auto& [stream, ids] : acks) {
      Argv a = {"XACK", stream, options.name};
      a.insert(a.end(), ids.begin(), ids.end());
      cmds.push_back(std::move(a));
    }
    std::vector<Reply> replies;
    TANDEM_RETURN_IF_ERROR(conn.Pipeline(cmds, &replies));  // kept for a retry on failure
    acks.clear();
    queued_acks = 0;
    for (const Reply& r : replies) {
      if (r.is_error()) return Status::IOError("redis XACK: " + r.str);
    }
    return Status::OK();
  }

  std::set<StreamKey> Streams() {
    std::lock_guard<std::mutex> l(mu);
    return streams;
  }
  bool is_closed() {
    std::lock_guard<std::mutex> l(mu);
    return closed;
  }

  RedisLog& log;
  const SubscriptionOptions options;
  std::mutex mu;
  bool closed = false;               // GUARDED_BY(mu)
  std::set<StreamKey> streams;       // GUARDED_BY(mu): group created
  int64_t next_refresh_us = 0;       // GUARDED_BY(mu)
  RedisConnection conn;              // GUARDED_BY(mu)
  std::map<std::string, Argv> acks;  // GUARDED_BY(mu): stream → queued IDs
  size_t queued_acks = 0;            // GUARDED_BY(mu)
};

class RedisConsumer final : public Consumer {
 public:
  RedisConsumer(std::shared_ptr<Shared> shared, std::string name)
      : shared_(std::move(shared)),
        opts_(shared_->log.options()),
        conn_(opts_),
        random_(std::random_device{}()) {
    name_ = std::move(name) + "-" + std::to_string(random_.Next() % 1'000'000'000'000ull);
    keeper_ = std::make_unique<LeaseKeeper>(
        opts_, shared_->log.keys().Members(shared_->options.name), name_);
  }

  ~RedisConsumer() override {
    keeper_.reset();  // no renewal may race the release below
    (void)shared_->FlushAcks();  // before the leases go: the next owner claims what is pending
    std::vector<Argv> cmds;
    for (const auto& [key, owned] : owned_) {
      Result<Argv> a = conn_.EvalArgv(kReleaseScript, {owned.lease}, {name_});
      if (a.ok()) cmds.push_back(std::move(*a));
    }
    cmds.push_back({"ZREM", shared_->log.keys().Members(shared_->options.name), name_});
    std::vector<Reply> replies;
    (void)conn_.Pipeline(cmds, &replies);  // best effort: leases expire anyway
  }

  Result<std::vector<Message>> Poll(size_t max, int64_t timeout_us) override {
    const int64_t deadline = SteadyUs() + std::max<int64_t>(timeout_us, 0);
    std::vector<Message> out;
    keeper_->Polled();
    TANDEM_RETURN_IF_ERROR(shared_->FlushAcks());
    // Bounded: each round blocks or sleeps until the deadline approaches.
    for (;;) {
      if (shared_->is_closed()) return ClosedStatus();
      if (SteadyUs() >= next_maintenance_us_) TANDEM_RETURN_IF_ERROR(Maintain());
      Collect(max, &out);
      if (!out.empty()) return out;
      const int64_t now = SteadyUs();
      const int64_t remaining_ms = std::max<int64_t>(0, (deadline - now) / 1000);
      int64_t wait_ms = std::min({remaining_ms, opts_.block_ms,
                                  std::max<int64_t>(0, (next_maintenance_us_ - now) / 1000),
                                  NextReadyMs(now)});
      if (!owned_.empty() && held_ < shared_->options.max_unacked_per_consumer) {
        TANDEM_ASSIGN_OR_RETURN(bool got, Fetch(wait_ms));
        if (got) continue;
      } else if (wait_ms > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(wait_ms, 20)));
      }
      if (SteadyUs() >= deadline) return out;
    }
  }

  Status Ack(const MessageId& id) override {
    if (shared_->is_closed()) return ClosedStatus();
    TANDEM_RETURN_IF_ERROR(InFlight(id).status());
    TANDEM_RETURN_IF_ERROR(shared_->QueueAck(Stream(id), id.offset));
    Erase(id);
    return Status::OK();
  }

  Status Nack(const MessageId& id, std::string_view reason) override {
    if (shared_->is_closed()) return ClosedStatus();
    TANDEM_ASSIGN_OR_RETURN(Entry * e, InFlight(id));
    const uint32_t count = e->message.delivery_count;
    if (count >= shared_->options.max_deliveries) return SendToDeadLetter(id, reason);
    // The pending list keeps the count across a crash (the claimer adds one).
    TANDEM_RETURN_IF_ERROR(conn_.Command({"XCLAIM", Stream(id), shared_->options.name, name_, "0",
                                          StreamId(id.offset), "RETRYCOUNT",
                                          std::to_string(count + 1), "JUSTID"})
                               .status());
    e->message.delivery_count = count + 1;
    e->state = State::kWaiting;
    e->ready_us = SteadyUs() + BackoffUs(count);
    return Status::OK();
  }

  Status DeadLetter(const MessageId& id, std::string_view reason) override {
    if (shared_->is_closed()) return ClosedStatus();
    TANDEM_RETURN_IF_ERROR(InFlight(id).status());
    return SendToDeadLetter(id, reason);
  }

 private:
  enum class State { kQueued, kInFlight, kWaiting };
  struct Entry {
    Message message;
    State state = State::kQueued;
    int64_t ready_us = 0;
  };
  struct Owned {
    std::string stream;
    std::string lease;
    std::map<uint64_t, Entry> entries;  // by offset
    // Where claiming the pending list continues; empty once it is all claimed.
    // Until then the stream's new entries are not read, so nothing overtakes
    // an older pending entry of its key.
    std::string claim_cursor;
  };

  std::string Stream(const MessageId& id) const {
    return shared_->log.keys().Stream(id.topic, id.partition);
  }

  Result<Entry*> InFlight(const MessageId& id) {
    auto o = owned_.find({id.topic, id.partition});
    if (o != owned_.end()) {
      auto e = o->second.entries.find(id.offset);
      if (e != o->second.entries.end() && e->second.state == State::kInFlight) return &e->second;
    }
    return Status::FailedPrecondition("message " + id.topic + "/" + std::to_string(id.partition) +
                                      "/" + std::to_string(id.offset) +
                                      ": not in flight at this consumer");
  }

  void Erase(const MessageId& id) {
    auto o = owned_.find({id.topic, id.partition});
    if (o != owned_.end() && o->second.entries.erase(id.offset) > 0) --held_;
  }

  int64_t BackoffUs(uint32_t n) {
    const SubscriptionOptions& o = shared_->options;
    const int64_t base = std::min<int64_t>(o.nack_backoff_max_ms,
                                           o.nack_backoff_base_ms << std::min<uint32_t>(n - 1, 30));
    const double jitter = 1.0 + o.nack_backoff_jitter * (2 * random_.NextDouble() - 1);
    return static_cast<int64_t>(static_cast<double>(base) * 1000 * jitter);
  }

  int64_t NextReadyMs(int64_t now) const {
    int64_t best = std::numeric_limits<int64_t>::max();
    for (const auto& [k, o] : owned_) {
      for (const auto& [off, e] : o.entries) {
        // Entries already due were handed out by Collect, or wait behind a later-due one.
        if (e.state == State::kWaiting && e.ready_us > now) {
          best = std::min(best, (e.ready_us - now) / 1000 + 1);
        }
      }
    }
    return best;
  }

  // Appends the message to "<topic>.dlq" with its reason, then acks it. On
  // failure it stays in flight and the error is returned.
  Status SendToDeadLetter(const MessageId& id, std::string_view reason) {
    Entry* e = *InFlight(id);
    ProduceRecord dead;
    const Record& r = e->message.record;
    dead.key = r.key;
    dead.value = r.value;
    dead.id = r.id;
    dead.headers = r.headers;
    dead.timestamp_us = r.timestamp_us;
    dead.headers.push_back({"dlq.reason", std::string(reason)});
    dead.headers.push_back({"dlq.subscription", shared_->options.name});
    dead.headers.push_back({"dlq.topic", id.topic});
    dead.headers.push_back({"dlq.partition", std::to_string(id.partition)});
    dead.headers.push_back({"dlq.offset", std::to_string(id.offset)});
    dead.headers.push_back({"dlq.delivery_count", std::to_string(e->message.delivery_count)});
    TANDEM_RETURN_IF_ERROR(shared_->log.Append(id.topic + ".dlq", dead).status());
    TANDEM_RETURN_IF_ERROR(
        conn_.Command({"XACK", Stream(id), shared_->options.name, StreamId(id.offset)}).status());
    Erase(id);
    return Status::OK();
  }

  // Hands out deliverable entries in offset order per partition: queued ones
  // and waiting ones whose backoff is over, unless an earlier entry of the
  // same key still waits.
  void Collect(size_t max, std::vector<Message>* out) {
    const int64_t now = SteadyUs();
    for (auto& [key, owned] : owned_) {
      std::unordered_set<std::string_view> blocked;
      for (auto& [offset, e] : owned.entries) {
        if (out->size() >= max) return;
        if (e.state == State::kInFlight) continue;
        const std::string_view k = e.message.record.key;
        if (blocked.contains(k)) continue;
        if (e.state == State::kWaiting && e.ready_us > now) {
          blocked.insert(k);
          continue;
        }
        e.state = State::kInFlight;
        out->push_back(e.message);
      }
    }
  }

  Status Insert(Owned& owned, const StreamKey& key, const Reply& entry, uint32_t count) {
    if (entry.type != Reply::Type::kArray) return Status::OK();  // deleted (trimmed) entry
    Entry e;
    TANDEM_RETURN_IF_ERROR(DecodeEntry(entry, &e.message.record));
    e.message.id = MessageId{key.first, key.second, e.message.record.offset};
    e.message.delivery_count = count;
    if (owned.entries.emplace(e.message.id.offset, std::move(e)).second) ++held_;
    return Status::OK();
  }

  // XREADGROUP ">" on every owned stream, blocking up to `block_ms`.
  // Claims first where a pending list is not yet all claimed.
  Result<bool> Fetch(int64_t block_ms) {
    bool claimed = false;
    size_t readable = 0;
    for (auto& [key, owned] : owned_) {
      if (!owned.claim_cursor.empty()) {
        TANDEM_ASSIGN_OR_RETURN(bool got, Claim(key, owned));
        claimed = claimed || got;
      }
      if (owned.claim_cursor.empty()) ++readable;
    }
    if (claimed) return true;
    if (readable == 0 || held_ >= shared_->options.max_unacked_per_consumer) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(block_ms, 20)));
      return false;
    }
    const uint64_t budget = shared_->options.max_unacked_per_consumer - held_;
    Argv argv = {"XREADGROUP", "GROUP", shared_->options.name, name_, "COUNT",
                 std::to_string(std::min<uint64_t>(opts_.fetch_count, budget))};
    if (block_ms > 0) {
      argv.push_back("BLOCK");
      argv.push_back(std::to_string(block_ms));
    }
    argv.push_back("STREAMS");
    std::map<std::string, StreamKey> by_stream;
    for (const auto& [key, owned] : owned_) {
      if (!owned.claim_cursor.empty()) continue;
      argv.push_back(owned.stream);
      by_stream[owned.stream] = key;
    }
    for (size_t i = 0; i < readable; ++i) argv.push_back(">");
    TANDEM_ASSIGN_OR_RETURN(Reply r, conn_.Command(argv, block_ms));
    bool got = false;
    for (const Reply& s : r.elements) {
      if (s.elements.size() != 2) continue;
      auto key = by_stream.find(s.elements[0].str);
      if (key == by_stream.end()) continue;
      Owned& owned = owned_[key->second];
      for (const Reply& e : s.elements[1].elements) {
        TANDEM_RETURN_IF_ERROR(Insert(owned, key->second, e, 1));
        got = true;
      }
    }
    return got;
  }

  // Takes every entry pending in the partition's group (XAUTOCLAIM from
  // 0-0, idle 0: holding the lease means the previous owner is gone) with
  // its delivery count from the pending list.
  // Claims within the read-ahead budget; Fetch continues later. True when
  // entries were taken.
  Result<bool> Claim(const StreamKey& key, Owned& owned) {
    const std::string& group = shared_->options.name;
    bool got = false;
    while (!owned.claim_cursor.empty() && held_ < shared_->options.max_unacked_per_consumer) {
      const uint64_t budget = shared_->options.max_unacked_per_consumer - held_;
      TANDEM_ASSIGN_OR_RETURN(
          Reply r, conn_.Command({"XAUTOCLAIM", owned.stream, group, name_, "0", owned.claim_cursor,
                                  "COUNT", std::to_string(std::min<uint64_t>(opts_.fetch_count, budget))}));
      if (r.elements.size() < 2) return Status::Corruption("redis XAUTOCLAIM: unexpected reply");
      const std::vector<Reply>& entries = r.elements[1].elements;
      std::map<std::string, uint32_t> counts;
      if (!entries.empty()) {
        TANDEM_ASSIGN_OR_RETURN(
            Reply p, conn_.Command({"XPENDING", owned.stream, group, entries.front().elements[0].str,
                                    entries.back().elements[0].str,
                                    std::to_string(entries.size() + 1), name_}));
        for (const Reply& x : p.elements) {
          if (x.elements.size() == 4) counts[x.elements[0].str] = static_cast<uint32_t>(x.elements[3].integer);
        }
      }
      for (const Reply& e : entries) {
        if (e.type != Reply::Type::kArray || e.elements.empty()) continue;
        auto c = counts.find(e.elements[0].str);
        TANDEM_RETURN_IF_ERROR(Insert(owned, key, e, c == counts.end() ? 2 : c->second));
        got = true;
      }
      owned.claim_cursor = r.elements[0].str == "0-0" ? "" : r.elements[0].str;
    }
    return got;
  }

  // Heartbeat, lease renewal, release of extras, acquisition up to the fair
  // share; runs from Poll every lease_renew_ms (sooner while under-owning).
  Status Maintain() {
    TANDEM_RETURN_IF_ERROR(shared_->Refresh(false, false));
    TANDEM_RETURN_IF_ERROR(shared_->FlushAcks());  // before any lease is released
    const Keys& keys = shared_->log.keys();
    const std::string& sub = shared_->options.name;
    const std::string ttl = std::to_string(opts_.lease_ttl_ms);
    TANDEM_ASSIGN_OR_RETURN(Reply members,
                            conn_.Eval(kHeartbeatScript, {keys.Members(sub)}, {name_, ttl}));
    // Renew what we hold; drop what we lost.
    std::vector<Argv> cmds;
    std::vector<StreamKey> order;
    for (const auto& [key, owned] : owned_) {
      TANDEM_ASSIGN_OR_RETURN(Argv a, conn_.EvalArgv(kRenewScript, {owned.lease}, {name_, ttl}));
      cmds.push_back(std::move(a));
      order.push_back(key);
    }
    std::vector<Reply> replies;
    TANDEM_RETURN_IF_ERROR(conn_.Pipeline(cmds, &replies));
    for (size_t i = 0; i < replies.size(); ++i) {
      if (replies[i].is_error()) return Status::IOError("redis lease renew: " + replies[i].str);
      if (replies[i].integer == 0) Drop(order[i]);
    }
    const std::set<StreamKey> streams = shared_->Streams();
    const size_t live = std::max<int64_t>(1, members.integer);
    const size_t target = (streams.size() + live - 1) / live;
    TANDEM_RETURN_IF_ERROR(ReleaseExtras(target));
    if (owned_.size() < target) TANDEM_RETURN_IF_ERROR(Acquire(streams, target));
    const int64_t every_ms = owned_.size() < target
                                 ? std::min(opts_.lease_renew_ms, 4 * opts_.block_ms)
                                 : opts_.lease_renew_ms;
    next_maintenance_us_ = SteadyUs() + every_ms * 1000;
    std::vector<std::string> leases;
    for (const auto& [key, owned] : owned_) leases.push_back(owned.lease);
    keeper_->SetLeases(std::move(leases));
    return Status::OK();
  }

  void Drop(const StreamKey& key) {
    auto it = owned_.find(key);
    if (it == owned_.end()) return;
    held_ -= it->second.entries.size();
    owned_.erase(it);
  }

  Status ReleaseExtras(size_t target) {
    for (auto it = owned_.begin(); it != owned_.end() && owned_.size() > target;) {
      const bool busy = std::any_of(it->second.entries.begin(), it->second.entries.end(),
                                    [](const auto& kv) { return kv.second.state != State::kQueued; });
      if (busy) {
        ++it;
        continue;
      }
      TANDEM_RETURN_IF_ERROR(conn_.Eval(kReleaseScript, {it->second.lease}, {name_}).status());
      held_ -= it->second.entries.size();
      it = owned_.erase(it);
    }
    return Status::OK();
  }

  // Tries the unowned streams in this consumer's rendezvous order, so
  // consumers starting together mostly try different partitions first.
  Status Acquire(const std::set<StreamKey>& streams, size_t target) {
    std::vector<std::pair<uint64_t, StreamKey>> order;
    for (const StreamKey& k : streams) {
      if (owned_.contains(k)) continue;
      order.push_back({StableHash64(name_ + k.first + std::to_string(k.second)), k});
    }
    std::sort(order.begin(), order.end());
    const Keys& keys = shared_->log.keys();
    for (const auto& [h, k] : order) {
      if (owned_.size() >= target) break;
      const std::string lease = keys.Lease(k.first, k.second, shared_->options.name);
      TANDEM_ASSIGN_OR_RETURN(Reply r, conn_.Command({"SET", lease, name_, "NX", "PX",
                                                      std::to_string(opts_.lease_ttl_ms)}));
      if (r.is_nil()) continue;
      Owned& owned = owned_[k];
      owned.stream = keys.Stream(k.first, k.second);
      owned.lease = lease;
      owned.claim_cursor = "0-0";
      Result<bool> claimed = Claim(k, owned);
      if (!claimed.ok()) {
        Drop(k);  // the lease expires; whoever takes it claims again
        return claimed.status();
      }
    }
    return Status::OK();
  }

  std::shared_ptr<Shared> shared_;
  const RedisBusOptions& opts_;
  RedisConnection conn_;
  Random random_;
  std::string name_;  // unique in the group: the given name plus a random suffix
  std::map<StreamKey, Owned> owned_;
  size_t held_ = 0;  // entries across owned_
  int64_t next_maintenance_us_ = 0;
  std::unique_ptr<LeaseKeeper> keeper_;  // renews owned_'s leases between polls
};

class RedisSubscription final : public Subscription {
 public:
  explicit RedisSubscription(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  ~RedisSubscription() override {
    std::lock_guard<std::mutex> l(shared_->mu);
    (void)shared_->FlushAcksLocked();
    shared_->closed = true;
  }

  Result<std::unique_ptr<Consumer>> AddConsumer(std::string name) override {
    if (shared_->is_closed()) return ClosedStatus();
    return std::unique_ptr<Consumer>(std::make_unique<RedisConsumer>(shared_, std::move(name)));
  }

  // Sends the queued acks (XACK): positions live in the groups in Redis.
  Status Commit() override {
    std::lock_guard<std::mutex> l(shared_->mu);
    if (shared_->closed) return ClosedStatus();
    return shared_->FlushAcksLocked();
  }

  std::vector<PartitionLag> Lag() override {
    (void)shared_->Refresh(false, false);
    (void)shared_->FlushAcks();
    const std::set<StreamKey> streams = shared_->Streams();
    std::vector<PartitionLag> out;
    std::lock_guard<std::mutex> l(shared_->mu);
    const Keys& keys = shared_->log.keys();
    const std::string& group = shared_->options.name;
    std::vector<Argv> cmds;
    for (const auto& [t, p] : streams) {
      cmds.push_back({"GET", keys.Counter(t, p)});
      cmds.push_back({"XINFO", "GROUPS", keys.Stream(t, p)});
      cmds.push_back({"XPENDING", keys.Stream(t, p), group});
    }
    std::vector<Reply> r;
    if (!shared_->conn.Pipeline(cmds, &r).ok()) return out;
    size_t i = 0;
    for (const auto& [t, p] : streams) {
      PartitionLag lag{t, p, 0, 0};
      const Reply& end = r[3 * i];
      const Reply& groups = r[3 * i + 1];
      const Reply& pending = r[3 * i + 2];
      ++i;
      lag.end = end.type == Reply::Type::kString ? std::strtoull(end.str.c_str(), nullptr, 10) : 0;
      uint64_t committed = lag.end;
      for (const Reply& g : groups.elements) {
        for (size_t f = 0; f + 1 < g.elements.size(); f += 2) {
          if (g.elements[f].str == "name" && g.elements[f + 1].str != group) break;
          if (g.elements[f].str == "last-delivered-id") (void)NextOffsetAfter(g.elements[f + 1].str, &committed);
        }
      }
      uint64_t lowest = 0;
      if (pending.elements.size() >= 2 && pending.elements[0].integer > 0 &&
          ParseStreamId(pending.elements[1].str, &lowest)) {
        committed = std::min(committed, lowest);
      }
      lag.committed = committed;
      out.push_back(lag);
    }
    return out;
  }

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace

Result<std::unique_ptr<Subscription>> OpenRedisSubscription(RedisLog& log,
                                                            const SubscriptionOptions& options) {
  if (options.name.empty() || options.name.find_first_of(" \t\n{}") != std::string::npos) {
    return Status::InvalidArgument("subscription name: must be non-empty, without spaces or braces");
  }
  // Chained-stage options (tandem/log.h) this bus does not implement.
  if (!options.start_positions.empty()) {
    return Status::InvalidArgument("subscription start_positions: not supported by the redis bus");
  }
  if (options.start_time_us != 0 || options.max_age_ms >= 0) {
    return Status::InvalidArgument(
        "subscription start_time/max_age: not supported by the redis bus");
  }
  if (!options.ce_types.empty()) {
    return Status::InvalidArgument("subscription ce_types: not supported by the redis bus");
  }
  if (options.max_deliveries == 0) {
    return Status::InvalidArgument("subscription max_deliveries: must be at least 1");
  }
  auto shared = std::make_shared<Shared>(log, options);
  TANDEM_RETURN_IF_ERROR(shared->Refresh(/*initial=*/true, /*force=*/true));
  return std::unique_ptr<Subscription>(std::make_unique<RedisSubscription>(std::move(shared)));
}

}  // namespace tandem::redis
