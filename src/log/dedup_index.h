// DedupIndex: a partition's memory of recently appended record ids, so a
// producer retry (same id) is acknowledged with the original offset instead of
// being appended twice (DESIGN.md §4, TESTING.md §7).
//
//   DedupIndex d(200'000, 24ll * 3600 * 1'000'000);
//   const DedupIndex::Entry* original =
//       d.FindOrInsert(id, DedupIndex::Hash(id), next_offset, ts_us, now_us);
//   // original != nullptr: a duplicate of the record at original->offset.
//
// id -> (offset, record timestamp). Bounded two ways: at most `max_entries`
// ids (the oldest inserted are forgotten first, FIFO), and an id whose record
// timestamp is older than now - window is treated as absent and dropped.
// Entries are inserted in offset order, which lets a failed group's ids (the
// newest entries) be removed with EraseFrom.
//
// Fingerprints, not ids. An id is remembered by its 128-bit XXH3 fingerprint,
// never by its bytes, so an entry has a fixed size whatever the id's length
// and costs no heap allocation of its own: a 32-byte item (fingerprint,
// offset, timestamp) in a FIFO ring, plus an 8-byte slot (32-bit tag, 32-bit
// sequence) in an open-addressing table kept at most half full. With the
// table a power of two (2 to 4 slots per entry) that is 48 to 64 bytes per
// entry, about 53 at 200,000 entries; bytes_used() reports the exact figure.
// Both grow as ids arrive, up to max_entries.
// The price is false positives: two distinct ids with the same fingerprint
// make the second record be acknowledged as a duplicate of the first and not
// appended. With n ids in the window that happens with probability about
// n^2 / 2^129 (1.5e-27 for n = 10^6). Over a partition's life each new id
// risks n / 2^128: a century at 10^6 ids/s with n = 10^6 adds up to 1e-17.
// Negligible next to undetected disk corruption. XXH3 is unkeyed and not
// cryptographic, so the bound assumes ids are not crafted to collide.
//
// It sits on the append hot path (checked and inserted under the partition
// lock for every record with an id). A lookup of a new id usually touches one
// slot; the item (and its full fingerprint) is read only when the tag matches.
// The slot's tag is the fingerprint's low 32 bits and also gives the home
// slot, so deletions (backward shift) and growth never read items.
//
// The index is held in memory only; Partition::Open rebuilds it from the log
// (bounded to about max_entries recent records), so it survives restarts
// exactly as far as the log does.
//
// Thread safety: not thread-safe; the Partition guards it with its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace tandem::storage {

class DedupIndex {
 public:
  struct Entry {
    uint64_t offset = 0;
    int64_t timestamp_us = 0;
  };
  // XXH3_128bits of an id.
  struct Fingerprint {
    uint64_t low = 0;
    uint64_t high = 0;
    friend bool operator==(const Fingerprint&, const Fingerprint&) = default;
  };

  // max_entries == 0 or window_us <= 0 disables the index (Find never hits).
  // max_entries is capped at 2^31 (sequence numbers in the table are 32-bit).
  DedupIndex(uint64_t max_entries, int64_t window_us);
  DedupIndex(const DedupIndex&) = delete;
  DedupIndex& operator=(const DedupIndex&) = delete;

  bool enabled() const { return max_entries_ > 0 && window_us_ > 0; }
  // The fingerprint FindOrInsert wants (pure: callers compute it outside their lock).
  static Fingerprint Hash(std::string_view id);
  // Hints that FindOrInsert is coming for these fingerprints: prefetches
  // their slots and, when the index is full, the slots `n` evictions will
  // touch, so the cache misses of a whole request overlap instead of queueing.
  void Prefetch(const Fingerprint* fps, size_t n) const;
  // The live entry for `id` (a duplicate: nothing is inserted), or nullptr
  // after remembering `id` -> (offset, timestamp_us) (replacing an expired
  // entry and evicting the oldest while at max_entries). `fp` is Hash(id).
  // The pointer is valid until the next non-const call. Always nullptr,
  // inserting nothing, when disabled or id is empty.
  const Entry* FindOrInsert(std::string_view id, const Fingerprint& fp, uint64_t offset,
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
  // Heap bytes held (table and ring capacity): at most about
  // kMaxBytesPerEntry * max_entries once full, independent of id lengths.
  size_t bytes_used() const;

  // Upper bound of bytes_used() / max_entries for a full index of at least
  // 64 entries: a 32-byte item plus at most four 8-byte slots.
  static constexpr size_t kMaxBytesPerEntry = 64;

 private:
  struct Item {
    Fingerprint fp;
    Entry entry;  // entry.offset == kDead once its id was re-inserted (a newer item owns it)
  };
  struct Slot {
    uint32_t tag = 0;  // Tag(fp); 0 = empty
    uint32_t seq = 0;  // the item's sequence number, mod 2^32
  };
  static_assert(sizeof(Item) == 32 && sizeof(Slot) == 8, "entry size is documented above");
  static constexpr size_t kNone = ~size_t{0};
  static constexpr uint64_t kDead = ~uint64_t{0};

  // Low 32 bits of the fingerprint, never 0 (0 marks an empty slot).
  static uint32_t Tag(const Fingerprint& fp) {
    const auto t = static_cast<uint32_t>(fp.low);
    return t == 0 ? 1 : t;
  }
  bool Expired(const Entry& e, int64_t now_us) const {
    return e.timestamp_us < now_us - window_us_;
  }
  static bool Live(const Item& item) { return item.entry.offset != kDead; }

  // The FIFO is a ring of items: item i (0 = oldest) has sequence front_seq_ + i.
  Item& ItemAt(size_t i) { return ring_[Wrap(head_ + i)]; }
  const Item& ItemAt(size_t i) const { return ring_[Wrap(head_ + i)]; }
  size_t Wrap(size_t i) const { return i >= ring_.size() ? i - ring_.size() : i; }
  size_t IndexOf(const Slot& s) const { return static_cast<uint32_t>(s.seq - front_seq_); }
  void PushBack(const Item& item);
  void GrowRing();

  // The slot holding `fp`, or kNone; `*empty` gets the empty slot ending the probe.
  size_t FindSlot(const Fingerprint& fp, size_t* empty = nullptr) const;
  size_t FindSlotOfSeq(uint32_t tag, uint32_t seq) const;
  void RemoveSlot(size_t i);
  void PlaceSlot(Slot s);
  void Grow();
  void PopFront();

  uint64_t max_entries_;
  int64_t window_us_;
  std::vector<Slot> slots_;  // power-of-two size, at most half full
  std::vector<Item> ring_;   // capacity grows to max_entries (more only with dead items)
  size_t head_ = 0;          // ring index of the oldest item
  size_t count_ = 0;         // items in the ring, live or dead
  uint32_t front_seq_ = 0;   // sequence of the oldest item, mod 2^32
  size_t live_ = 0;
};

}  // namespace tandem::storage
