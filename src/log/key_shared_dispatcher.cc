#include "log/key_shared_dispatcher.h"

#include <algorithm>
#include <limits>

#include "common/hash.h"

namespace tandem {
namespace {

// SplitMix64's finaliser: spreads (key hash ^ consumer seed) for rendezvous hashing.
uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t ApproxBytes(const Record& r) {
  uint64_t n = r.key.size() + r.value.size() + r.id.size() + 64;
  for (const Header& h : r.headers) n += h.key.size() + h.value.size();
  return n;
}

struct PendingMessage {
  Record record;
  uint32_t delivery_count = 1;
  int64_t not_before_us = 0;
};

// A FIFO of pending messages with cheap pop-front; sorted insertion for the
// rare redelivery. Most keys hold one or two messages, so a vector with a
// head index beats a deque (whose first push allocates a 512-byte block).
class KeyQueue {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  PendingMessage& front() { return items_[head_]; }
  const PendingMessage& front() const { return items_[head_]; }
  void push_back(PendingMessage m) { items_.push_back(std::move(m)); }
  PendingMessage pop_front() {
    PendingMessage m = std::move(items_[head_++]);
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    }
    return m;
  }
  // Inserts keeping offset order (the message goes before every later offset).
  void insert_sorted(PendingMessage m) {
    auto pos = std::upper_bound(
        items_.begin() + head_, items_.end(), m.record.offset,
        [](uint64_t off, const PendingMessage& p) { return off < p.record.offset; });
    items_.insert(pos, std::move(m));
  }
  bool sorted() const {
    for (size_t i = head_ + 1; i < items_.size(); ++i) {
      if (items_[i - 1].record.offset >= items_[i].record.offset) return false;
    }
    return true;
  }

 private:
  std::vector<PendingMessage> items_;
  size_t head_ = 0;
};

struct InFlightKey {
  uint32_t stream;
  uint64_t offset;
  friend bool operator==(const InFlightKey&, const InFlightKey&) = default;
};

struct InFlightKeyHash {
  size_t operator()(const InFlightKey& k) const { return Mix64(k.offset * 31 + k.stream); }
};

}  // namespace

// An intrusive doubly-linked list of keys (a consumer's ready list or the orphans).
struct KeySharedDispatcher::KeyList {
  KeyState* head = nullptr;
  KeyState* tail = nullptr;
  size_t size = 0;
  void PushBack(KeyState& ks);
  void Remove(KeyState& ks);
};

struct KeySharedDispatcher::KeyState {
  uint32_t stream = 0;
  const std::string* key = nullptr;  // points at the Stream map's key
  uint64_t hash = 0;                 // StableHash64(key), for rendezvous
  ConsumerState* owner = nullptr;    // meaningful while in_flight > 0 or listed
  uint32_t in_flight = 0;
  KeyQueue queue;
  KeyList* list = nullptr;  // the ready list holding this key, if any
  KeyState* prev = nullptr;
  KeyState* next = nullptr;
  bool held = false;
  std::multimap<int64_t, KeyState*>::iterator hold_it;
  bool idle = false;  // nothing queued or in flight; kept for reuse until a sweep
};

struct KeySharedDispatcher::InFlight {
  KeyState* key = nullptr;
  Record record;
  uint32_t delivery_count = 1;
};

struct KeySharedDispatcher::ConsumerState {
  ConsumerId id = 0;
  uint64_t seed = 0;
  KeyList ready;
  std::unordered_map<InFlightKey, InFlight, InFlightKeyHash> in_flight;
};

struct KeySharedDispatcher::Stream {
  // std::unordered_map never moves its nodes, so KeyState* stays valid.
  std::unordered_map<std::string, KeyState> keys;
};

void KeySharedDispatcher::KeyList::PushBack(KeyState& ks) {
  ks.list = this;
  ks.prev = tail;
  ks.next = nullptr;
  (tail ? tail->next : head) = &ks;
  tail = &ks;
  ++size;
}

void KeySharedDispatcher::KeyList::Remove(KeyState& ks) {
  (ks.prev ? ks.prev->next : head) = ks.next;
  (ks.next ? ks.next->prev : tail) = ks.prev;
  ks.list = nullptr;
  ks.prev = ks.next = nullptr;
  --size;
}

KeySharedDispatcher::KeySharedDispatcher(uint32_t max_unacked_per_consumer)
    : max_unacked_(std::max<uint32_t>(1, max_unacked_per_consumer)),
      orphans_(std::make_unique<KeyList>()) {}

KeySharedDispatcher::~KeySharedDispatcher() = default;

uint32_t KeySharedDispatcher::AddStream() {
  streams_.push_back(std::make_unique<Stream>());
  return static_cast<uint32_t>(streams_.size() - 1);
}

KeySharedDispatcher::ConsumerId KeySharedDispatcher::AddConsumer(std::string_view name,
                                                                 int64_t now_us) {
  auto c = std::make_unique<ConsumerState>();
  c->id = next_consumer_id_++;
  c->seed = Mix64(StableHash64(name) ^ (c->id * 0x9e3779b97f4a7c15ull));
  const ConsumerId id = c->id;
  consumers_.emplace(id, std::move(c));
  RouteIdleListedKeys(now_us);
  return id;
}

// Re-routes every listed key that has nothing in flight: after a membership
// change its rendezvous owner may differ. Keys with messages in flight stay.
void KeySharedDispatcher::RouteIdleListedKeys(int64_t now_us) {
  std::vector<KeyState*> keys;
  auto collect = [&keys](const KeyList& l) {
    for (KeyState* k = l.head; k != nullptr; k = k->next) {
      if (k->in_flight == 0) keys.push_back(k);
    }
  };
  collect(*orphans_);
  for (auto& [id, c] : consumers_) collect(c->ready);
  for (KeyState* k : keys) Route(*k, now_us);
}

void KeySharedDispatcher::RemoveConsumer(ConsumerId id, int64_t now_us) {
  auto it = consumers_.find(id);
  if (it == consumers_.end()) return;
  std::unique_ptr<ConsumerState> c = std::move(it->second);
  consumers_.erase(it);  // PickOwner no longer sees it
  std::vector<std::pair<InFlightKey, InFlight*>> held;
  held.reserve(c->in_flight.size());
  for (auto& [k, f] : c->in_flight) held.emplace_back(k, &f);
  std::sort(held.begin(), held.end(), [](const auto& a, const auto& b) {
    return a.first.stream != b.first.stream ? a.first.stream < b.first.stream
                                            : a.first.offset < b.first.offset;
  });
  std::vector<KeyState*> touched;
  for (auto& [k, f] : held) {
    --f->key->in_flight;
    PushPending(*f->key, std::move(f->record), f->delivery_count + 1, 0);
    touched.push_back(f->key);
  }
  while (c->ready.head != nullptr) {
    touched.push_back(c->ready.head);
    c->ready.Remove(*c->ready.head);
  }
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (KeyState* k : touched) Route(*k, now_us);
}

KeySharedDispatcher::ConsumerState* KeySharedDispatcher::FindConsumer(ConsumerId id) const {
  auto it = consumers_.find(id);
  return it == consumers_.end() ? nullptr : it->second.get();
}

KeySharedDispatcher::KeyState& KeySharedDispatcher::KeyFor(uint32_t stream,
                                                           const std::string& key) {
  auto [it, inserted] = streams_[stream]->keys.try_emplace(key);
  KeyState& ks = it->second;
  if (inserted) {
    ks.stream = stream;
    ks.key = &it->first;
    ks.hash = StableHash64(key);
  } else if (ks.idle) {
    ks.idle = false;
    --idle_keys_;
  }
  return ks;
}

KeySharedDispatcher::ConsumerState* KeySharedDispatcher::PickOwner(uint64_t key_hash) const {
  ConsumerState* best = nullptr;
  uint64_t best_weight = 0;
  for (const auto& [id, c] : consumers_) {
    const uint64_t w = Mix64(key_hash ^ c->seed);
    if (best == nullptr || w > best_weight) {
      best = c.get();
      best_weight = w;
    }
  }
  return best;
}

void KeySharedDispatcher::PushPending(KeyState& ks, Record record, uint32_t delivery_count,
                                      int64_t not_before_us) {
  pending_bytes_ += ApproxBytes(record);
  ++pending_messages_;
  // A redelivery goes before every later offset of its key.
  ks.queue.insert_sorted(PendingMessage{std::move(record), delivery_count, not_before_us});
}

void KeySharedDispatcher::Enqueue(uint32_t stream, Record record, int64_t now_us) {
  if (idle_keys_ > kMaxIdleKeys) SweepIdleKeys();
  KeyState& ks = KeyFor(stream, record.key);
  const bool was_empty = ks.queue.empty();
  pending_bytes_ += ApproxBytes(record);
  ++pending_messages_;
  ks.queue.push_back(PendingMessage{std::move(record), 1, 0});
  // A non-empty queue is already listed or held by its head; nothing changes.
  if (was_empty) Route(ks, now_us);
}

// Places `ks` where its state says it belongs: a ready list, the hold map, or
// nowhere (marked idle). The single place that assigns an owner.
void KeySharedDispatcher::Route(KeyState& ks, int64_t now_us) {
  Unlist(ks);
  Unhold(ks);
  if (ks.queue.empty()) {
    MaybeForget(ks);
    return;
  }
  const int64_t at = ks.queue.front().not_before_us;
  if (at > now_us) {
    Hold(ks, at);
    return;
  }
  if (ks.in_flight == 0) ks.owner = PickOwner(ks.hash);
  (ks.owner != nullptr ? ks.owner->ready : *orphans_).PushBack(ks);
}

void KeySharedDispatcher::Unlist(KeyState& ks) {
  if (ks.list != nullptr) ks.list->Remove(ks);
}

void KeySharedDispatcher::Hold(KeyState& ks, int64_t until_us) {
  ks.hold_it = holds_.emplace(until_us, &ks);
  ks.held = true;
}

void KeySharedDispatcher::Unhold(KeyState& ks) {
  if (!ks.held) return;
  holds_.erase(ks.hold_it);
  ks.held = false;
}

void KeySharedDispatcher::ReleaseHolds(int64_t now_us) {
  while (!holds_.empty() && holds_.begin()->first <= now_us) {
    KeyState& ks = *holds_.begin()->second;
    Unhold(ks);
    Route(ks, now_us);
  }
}

// Marks an idle key. Idle keys stay (a key usually comes back soon, and
// re-creating its state costs two allocations) until there are more than
// kMaxIdleKeys of them; then the next Enqueue sweeps them all.
void KeySharedDispatcher::MaybeForget(KeyState& ks) {
  if (ks.idle || !ks.queue.empty() || ks.in_flight > 0 || ks.list != nullptr || ks.held) return;
  ks.idle = true;
  ++idle_keys_;
}

void KeySharedDispatcher::SweepIdleKeys() {
  for (auto& stream : streams_) {
    std::erase_if(stream->keys, [](const auto& kv) { return kv.second.idle; });
  }
  idle_keys_ = 0;
}

void KeySharedDispatcher::Deliver(ConsumerState& c, KeyState& ks, std::vector<Delivery>* out) {
  PendingMessage m = ks.queue.pop_front();
  --pending_messages_;
  pending_bytes_ -= std::min(pending_bytes_, ApproxBytes(m.record));
  ++ks.in_flight;
  out->push_back(Delivery{ks.stream, m.record, m.delivery_count});
  c.in_flight.emplace(InFlightKey{ks.stream, m.record.offset},
                      InFlight{&ks, std::move(m.record), m.delivery_count});
}

void KeySharedDispatcher::Take(ConsumerId id, size_t max, int64_t now_us,
                               std::vector<Delivery>* out) {
  ReleaseHolds(now_us);
  ConsumerState* c = FindConsumer(id);
  if (c == nullptr) return;
  size_t taken = 0;
  while (taken < max && c->in_flight.size() < max_unacked_ && c->ready.head != nullptr) {
    KeyState& ks = *c->ready.head;
    c->ready.Remove(ks);
    while (taken < max && c->in_flight.size() < max_unacked_ && !ks.queue.empty() &&
           ks.queue.front().not_before_us <= now_us) {
      Deliver(*c, ks, out);
      ++taken;
    }
    Route(ks, now_us);  // back of the ready list (round-robin), held, or unlisted
  }
}

const Record* KeySharedDispatcher::FindInFlight(ConsumerId id, uint32_t stream, uint64_t offset,
                                                uint32_t* delivery_count) const {
  const InFlight* f = FindInFlightEntry(id, stream, offset);
  if (f == nullptr) return nullptr;
  if (delivery_count != nullptr) *delivery_count = f->delivery_count;
  return &f->record;
}

KeySharedDispatcher::InFlight* KeySharedDispatcher::FindInFlightEntry(ConsumerId id,
                                                                      uint32_t stream,
                                                                      uint64_t offset) const {
  ConsumerState* c = FindConsumer(id);
  if (c == nullptr) return nullptr;
  auto it = c->in_flight.find(InFlightKey{stream, offset});
  return it == c->in_flight.end() ? nullptr : &it->second;
}

Status KeySharedDispatcher::NotInFlight(uint32_t stream, uint64_t offset) const {
  return Status::NotFound("offset " + std::to_string(offset) + " of stream " +
                          std::to_string(stream) + " is not in flight for this consumer");
}

Status KeySharedDispatcher::Ack(ConsumerId id, uint32_t stream, uint64_t offset, int64_t now_us,
                                bool* handed_over) {
  InFlight* f = FindInFlightEntry(id, stream, offset);
  if (f == nullptr) return NotInFlight(stream, offset);
  KeyState& ks = *f->key;
  ConsumerState* c = FindConsumer(id);
  c->in_flight.erase(InFlightKey{stream, offset});
  if (--ks.in_flight == 0) Route(ks, now_us);  // the key may move or go idle
  if (handed_over != nullptr) *handed_over = ks.list != nullptr && ks.owner != c;
  return Status::OK();
}

Status KeySharedDispatcher::Nack(ConsumerId id, uint32_t stream, uint64_t offset,
                                 int64_t redeliver_at_us, int64_t now_us) {
  InFlight* f = FindInFlightEntry(id, stream, offset);
  if (f == nullptr) return NotInFlight(stream, offset);
  KeyState& ks = *f->key;
  PushPending(ks, std::move(f->record), f->delivery_count + 1, redeliver_at_us);
  FindConsumer(id)->in_flight.erase(InFlightKey{stream, offset});
  --ks.in_flight;
  Route(ks, now_us);  // the nacked message is at or behind the head: hold or list
  return Status::OK();
}

bool KeySharedDispatcher::AtCapacity(ConsumerId id) const {
  const ConsumerState* c = FindConsumer(id);
  return c != nullptr && c->in_flight.size() >= max_unacked_;
}

size_t KeySharedDispatcher::unacked(ConsumerId id) const {
  const ConsumerState* c = FindConsumer(id);
  return c == nullptr ? 0 : c->in_flight.size();
}

int64_t KeySharedDispatcher::next_hold_us() const {
  return holds_.empty() ? std::numeric_limits<int64_t>::max() : holds_.begin()->first;
}

size_t KeySharedDispatcher::tracked_keys() const {
  size_t n = 0;
  for (const auto& s : streams_) n += s->keys.size();
  return n - idle_keys_;
}

namespace {

Status Broken(const std::string& what) {
  return Status::Corruption("dispatcher invariant broken: " + what);
}

}  // namespace

// The state of one key against the in-flight counts seen from the consumers.
Status KeySharedDispatcher::CheckKey(const std::string& key, const KeyState& ks,
                                     uint32_t in_flight_seen) const {
  if (ks.idle) {
    const bool really = ks.queue.empty() && ks.in_flight == 0 && !ks.list && !ks.held;
    return really ? Status::OK() : Broken("key " + key + " marked idle while active");
  }
  if (in_flight_seen != ks.in_flight) return Broken("in_flight count of key " + key);
  if (!ks.queue.sorted()) return Broken("queue of key " + key + " out of offset order");
  if (ks.queue.empty() && ks.in_flight == 0) return Broken("idle key " + key + " not marked");
  if (ks.held && ks.list != nullptr) return Broken("key " + key + " both held and listed");
  if (!ks.queue.empty() && !ks.held && ks.list == nullptr) {
    return Broken("key " + key + " with queued messages neither held nor listed");
  }
  return Status::OK();
}

Status KeySharedDispatcher::CheckInvariants() const {
  std::unordered_map<const KeyState*, uint32_t> in_flight;
  for (const auto& [id, c] : consumers_) {
    for (const auto& [k, f] : c->in_flight) {
      if (f.key->owner != c.get()) return Broken("in-flight key owned by another consumer");
      ++in_flight[f.key];
    }
    for (const KeyState* k = c->ready.head; k != nullptr; k = k->next) {
      if (k->owner != c.get()) return Broken("listed key not owned by its list's consumer");
      if (k->in_flight == 0 && PickOwner(k->hash) != c.get()) {
        return Broken("idle listed key not at its rendezvous owner");
      }
    }
  }
  if (!consumers_.empty() && orphans_->size > 0) return Broken("orphans beside live consumers");
  size_t pending = 0, idle = 0;
  for (const auto& s : streams_) {
    for (const auto& [key, ks] : s->keys) {
      pending += ks.queue.size();
      idle += ks.idle ? 1 : 0;
      auto it = in_flight.find(&ks);
      TANDEM_RETURN_IF_ERROR(CheckKey(key, ks, it == in_flight.end() ? 0 : it->second));
    }
  }
  if (pending != pending_messages_) return Broken("pending message count");
  if (idle != idle_keys_) return Broken("idle key count");
  return Status::OK();
}

}  // namespace tandem
