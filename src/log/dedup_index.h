// DedupIndex: a partition's memory of recently appended record ids, so a
// producer retry (same id) is acknowledged with the original offset instead of
// being appended twice (DESIGN.md §4, TESTING.md §7).
//
// id -> (offset, record timestamp). Bounded two ways: at most `max_entries`
// ids (the oldest inserted are forgotten first, FIFO), and an id whose record
// timestamp is older than now - window is treated as absent and dropped.
// Entries are inserted in offset order, which lets a failed group's ids (the
// newest entries) be removed with EraseFrom.
//
// It sits on the append hot path (checked and inserted under the partition
// lock for every record with an id), so it is an open-addressing table of
// 16-byte slots (hash, FIFO sequence) over a FIFO that owns the ids: a lookup
// of a new id touches one slot, not a chain of heap nodes.
//
// The index is held in memory only; Partition::Open rebuilds it from the log
// (bounded to about max_entries recent records), so it survives restarts
// exactly as far as the log does.
//
// Thread safety: not thread-safe; the Partition guards it with its mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::storage {

class DedupIndex {
 public:
  struct Entry {
    uint64_t offset = 0;
    int64_t timestamp_us = 0;
  };

  // max_entries == 0 or window_us <= 0 disables the index (Find never hits).
  DedupIndex(uint64_t max_entries, int64_t window_us);
  DedupIndex(const DedupIndex&) = delete;
  DedupIndex& operator=(const DedupIndex&) = delete;

  bool enabled() const { return max_entries_ > 0 && window_us_ > 0; }
  // The hash FindOrInsert wants (pure: callers compute it outside their lock).
  static uint64_t Hash(std::string_view id);
  // Hints that FindOrInsert is coming for these hashes: prefetches their
  // slots and, when the index is full, the slots `n` evictions will touch, so
  // the cache misses of a whole request overlap instead of queueing.
  void Prefetch(const uint64_t* hashes, size_t n) const;
  // The live entry for `id` (a duplicate: nothing is inserted), or nullptr
  // after remembering `id` -> (offset, timestamp_us) (replacing an expired
  // entry and evicting the oldest while over max_entries). `hash` is
  // Hash(id). The pointer is valid until the next non-const call. Always
  // nullptr, inserting nothing, when disabled or id is empty.
  const Entry* FindOrInsert(std::string_view id, uint64_t hash, uint64_t offset,
                            int64_t timestamp_us, int64_t now_us);
  // The live entry for `id`, or nullptr (absent, expired, or id empty).
  const Entry* Find(std::string_view id, int64_t now_us) const;
  // Remembers `id`, replacing any entry it has (the log rebuild's insert).
  void Insert(std::string_view id, uint64_t offset, int64_t timestamp_us);
  // Forgets every id inserted with an offset >= `offset` (the newest ones).
  void EraseFrom(uint64_t offset);
  // Drops entries at the FIFO front whose timestamp is older than the window.
  void Expire(int64_t now_us);
  size_t size() const { return live_; }

 private:
  struct Item {
    std::string id;
    uint64_t hash = 0;
    Entry entry;
    bool live = false;  // false once its id was re-inserted (a newer item owns it)
  };
  struct Slot {
    uint64_t hash = 0;
    uint64_t seq_plus_one = 0;  // 0 = empty
  };
  static constexpr size_t kNone = ~size_t{0};

  bool Expired(const Entry& e, int64_t now_us) const {
    return e.timestamp_us < now_us - window_us_;
  }
  const Item& ItemAt(const Slot& s) const { return fifo_[s.seq_plus_one - 1 - front_seq_]; }
  // The slot holding `id`, or kNone; `*empty` gets the empty slot ending the probe.
  size_t FindSlot(std::string_view id, uint64_t hash, size_t* empty = nullptr) const;
  void Append(std::string_view id, uint64_t hash, uint64_t offset, int64_t timestamp_us);
  size_t FindSlotOfSeq(uint64_t hash, uint64_t seq) const;
  void RemoveSlot(size_t i);
  void PlaceSlot(Slot s);
  void Grow();
  void PopFront();

  uint64_t max_entries_;
  int64_t window_us_;
  std::vector<Slot> slots_;  // power-of-two size, at most half full
  std::deque<Item> fifo_;    // insertion order; item i has sequence front_seq_ + i
  uint64_t front_seq_ = 0;
  size_t live_ = 0;
};

}  // namespace tandem::storage
