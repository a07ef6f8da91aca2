// KeySharedDispatcher: which consumer of a subscription gets which message
// (Pulsar's Key_Shared), as a pure in-memory state machine without I/O, locks
// or clocks: the subscription feeds it records, asks it for deliveries and
// reports acks and nacks, passing the current time in.
//
// Model. A stream is one (topic, partition) the subscription reads. Every key
// of a stream with undelivered or in-flight messages has a KeyState:
//  * queue: its undelivered messages in offset order (fresh reads and
//    redeliveries alike; a redelivery is inserted at its offset, so it always
//    precedes later messages of its key);
//  * in_flight: how many of its messages its owner holds unacknowledged;
//  * owner: the consumer that holds them.
// A key with in_flight > 0 is pinned to its owner. A key with in_flight == 0
// belongs to PickOwner(key), rendezvous (highest-random-weight) hashing of
// the key over the live consumers, which spreads keys evenly and moves only
// the keys of a joining or leaving consumer. So a key changes consumer only
// when none of its messages is in flight (TESTING.md §8): a joining consumer
// takes over only idle keys, and a leaving consumer's messages are first put
// back into their keys' queues.
//
// A key whose queue head is deliverable (not waiting out a nack backoff) sits
// in exactly one ready list: its owner's, or the orphan list while there are
// no consumers. Take() serves a consumer's ready list round-robin by key, up to
// max_unacked_per_consumer in flight. A key whose head waits for a backoff is
// "held" in a time-ordered map instead, and no later message of that key can
// overtake the head because only heads are delivered. Idle keys (empty queue,
// nothing in flight) are kept for reuse up to kMaxIdleKeys, then swept, so
// memory follows the backlog plus a bounded cache.
//
// Cost: Take, Ack and Enqueue are O(1) expected (hash maps, intrusive lists);
// Nack and holds O(log held keys); consumer join O(listed keys).
//
// Thread safety: none; the subscription calls it under its mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tandem/log.h"
#include "tandem/status.h"

namespace tandem {

// One message handed to a consumer by Take.
struct Delivery {
  uint32_t stream = 0;
  Record record;
  uint32_t delivery_count = 1;
};

class KeySharedDispatcher {
 public:
  using ConsumerId = uint64_t;

  explicit KeySharedDispatcher(uint32_t max_unacked_per_consumer);
  ~KeySharedDispatcher();
  KeySharedDispatcher(const KeySharedDispatcher&) = delete;
  KeySharedDispatcher& operator=(const KeySharedDispatcher&) = delete;

  // Registers the next stream; streams are numbered 0, 1, 2, ... in call order.
  uint32_t AddStream();
  // A new consumer; idle keys whose rendezvous owner it is move to it.
  ConsumerId AddConsumer(std::string_view name, int64_t now_us);
  // Puts every message `id` holds back into its key's queue (delivery_count
  // + 1, in offset order, deliverable at once) and routes its keys to the
  // remaining consumers. No-op for an unknown id.
  void RemoveConsumer(ConsumerId id, int64_t now_us);

  // A record read from `stream`; records of a stream arrive in offset order.
  void Enqueue(uint32_t stream, Record record, int64_t now_us);
  // Appends up to `max` deliveries for consumer `id` to `out`, never taking
  // it over max_unacked_per_consumer messages in flight.
  void Take(ConsumerId id, size_t max, int64_t now_us, std::vector<Delivery>* out);

  // The in-flight message (stream, offset) of consumer `id`, or nullptr.
  const Record* FindInFlight(ConsumerId id, uint32_t stream, uint64_t offset,
                             uint32_t* delivery_count) const;
  // Ends the delivery of (stream, offset) to `id` as done. NotFound when `id`
  // does not hold it (never delivered, already acked, or released).
  // `*handed_over` (optional) tells whether the ack made the key deliverable
  // to another consumer (so waiting consumers should be woken).
  Status Ack(ConsumerId id, uint32_t stream, uint64_t offset, int64_t now_us,
             bool* handed_over = nullptr);
  // Puts (stream, offset) back for redelivery at `redeliver_at_us` with
  // delivery_count + 1. NotFound as for Ack.
  Status Nack(ConsumerId id, uint32_t stream, uint64_t offset, int64_t redeliver_at_us,
              int64_t now_us);

  bool AtCapacity(ConsumerId id) const;
  size_t unacked(ConsumerId id) const;
  // Undelivered messages held in key queues, and their approximate bytes.
  size_t pending_messages() const { return pending_messages_; }
  uint64_t pending_bytes() const { return pending_bytes_; }
  // Earliest time a held key becomes deliverable; INT64_MAX when none.
  int64_t next_hold_us() const;
  // Keys with queued or in-flight messages, and idle keys kept for reuse.
  size_t tracked_keys() const;
  size_t idle_keys() const { return idle_keys_; }
  // Idle keys kept before a sweep drops them all.
  static constexpr size_t kMaxIdleKeys = 65536;
  // Checks the structural invariants (used by tests); Corruption naming the first broken one.
  Status CheckInvariants() const;

 private:
  struct KeyState;
  struct KeyList;
  struct ConsumerState;
  struct Stream;
  struct InFlight;

  ConsumerState* FindConsumer(ConsumerId id) const;
  InFlight* FindInFlightEntry(ConsumerId id, uint32_t stream, uint64_t offset) const;
  Status NotInFlight(uint32_t stream, uint64_t offset) const;
  KeyState& KeyFor(uint32_t stream, const std::string& key);
  ConsumerState* PickOwner(uint64_t key_hash) const;
  void Route(KeyState& ks, int64_t now_us);
  void Unlist(KeyState& ks);
  void Hold(KeyState& ks, int64_t until_us);
  void Unhold(KeyState& ks);
  void ReleaseHolds(int64_t now_us);
  void MaybeForget(KeyState& ks);
  void SweepIdleKeys();
  void Deliver(ConsumerState& c, KeyState& ks, std::vector<Delivery>* out);
  void PushPending(KeyState& ks, Record record, uint32_t delivery_count, int64_t not_before_us);
  void RouteIdleListedKeys(int64_t now_us);
  Status CheckKey(const std::string& key, const KeyState& ks, uint32_t in_flight_seen) const;

  const uint32_t max_unacked_;
  ConsumerId next_consumer_id_ = 1;
  std::map<ConsumerId, std::unique_ptr<ConsumerState>> consumers_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::unique_ptr<KeyList> orphans_;         // deliverable keys while there is no consumer
  std::multimap<int64_t, KeyState*> holds_;  // redeliver-at time -> held key
  size_t pending_messages_ = 0;
  uint64_t pending_bytes_ = 0;
  size_t idle_keys_ = 0;
};

}  // namespace tandem
