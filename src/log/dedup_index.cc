#include "log/dedup_index.h"

#include <limits>

#include "common/hash.h"

namespace tandem::storage {
namespace {

constexpr size_t kInitialSlots = 16;

}  // namespace

DedupIndex::DedupIndex(uint64_t max_entries, int64_t window_us)
    : max_entries_(max_entries), window_us_(window_us), slots_(kInitialSlots) {}

uint64_t DedupIndex::Hash(std::string_view id) { return StableHash64(id); }

void DedupIndex::Prefetch(const uint64_t* hashes, size_t n) const {
  if (!enabled()) return;
  const size_t mask = slots_.size() - 1;
  for (size_t i = 0; i < n; ++i) __builtin_prefetch(&slots_[hashes[i] & mask]);
  if (live_ + n <= max_entries_) return;
  for (size_t i = 0; i < n && i < fifo_.size(); ++i) {
    __builtin_prefetch(&slots_[fifo_[i].hash & mask]);
  }
}

size_t DedupIndex::FindSlot(std::string_view id, uint64_t hash, size_t* empty) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.seq_plus_one == 0) {
      if (empty != nullptr) *empty = i;
      return kNone;
    }
    if (s.hash == hash && ItemAt(s).id == id) return i;
  }
}

size_t DedupIndex::FindSlotOfSeq(uint64_t hash, uint64_t seq) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    if (slots_[i].seq_plus_one == 0) return kNone;
    if (slots_[i].seq_plus_one == seq + 1) return i;
  }
}

const DedupIndex::Entry* DedupIndex::Find(std::string_view id, int64_t now_us) const {
  if (id.empty() || !enabled() || live_ == 0) return nullptr;
  size_t i = FindSlot(id, Hash(id));
  if (i == kNone) return nullptr;
  const Item& item = ItemAt(slots_[i]);
  return Expired(item.entry, now_us) ? nullptr : &item.entry;
}

void DedupIndex::Insert(std::string_view id, uint64_t offset, int64_t timestamp_us) {
  // At the end of time every existing entry has expired, so this replaces it.
  (void)FindOrInsert(id, Hash(id), offset, timestamp_us, std::numeric_limits<int64_t>::max());
}

const DedupIndex::Entry* DedupIndex::FindOrInsert(std::string_view id, uint64_t hash,
                                                  uint64_t offset, int64_t timestamp_us,
                                                  int64_t now_us) {
  if (id.empty() || !enabled()) return nullptr;
  const uint64_t seq = front_seq_ + fifo_.size();
  size_t empty = kNone;
  size_t i = FindSlot(id, hash, &empty);
  if (i != kNone) {
    Item& old = fifo_[slots_[i].seq_plus_one - 1 - front_seq_];
    if (!Expired(old.entry, now_us)) return &old.entry;
    old.live = false;  // expired: the new item takes over its slot
    slots_[i].seq_plus_one = seq + 1;
  } else if (2 * (live_ + 1) > slots_.size()) {
    Grow();
    PlaceSlot(Slot{hash, seq + 1});
    ++live_;
  } else {
    slots_[empty] = Slot{hash, seq + 1};
    ++live_;
  }
  Append(id, hash, offset, timestamp_us);
  return nullptr;
}

void DedupIndex::Append(std::string_view id, uint64_t hash, uint64_t offset, int64_t timestamp_us) {
  fifo_.push_back(Item{std::string(id), hash, Entry{offset, timestamp_us}, true});
  while (live_ > max_entries_) PopFront();
}

void DedupIndex::PlaceSlot(Slot s) {
  const size_t mask = slots_.size() - 1;
  size_t i = s.hash & mask;
  while (slots_[i].seq_plus_one != 0) i = (i + 1) & mask;
  slots_[i] = s;
}

void DedupIndex::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  for (const Slot& s : old) {
    if (s.seq_plus_one != 0) PlaceSlot(s);
  }
}

// Linear probing with backward-shift deletion: no tombstones, so lookups of
// new ids stay short however many ids come and go.
void DedupIndex::RemoveSlot(size_t i) {
  const size_t mask = slots_.size() - 1;
  for (size_t j = (i + 1) & mask; slots_[j].seq_plus_one != 0; j = (j + 1) & mask) {
    size_t home = slots_[j].hash & mask;
    // Slot j may move back to i unless its home lies cyclically in (i, j].
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!stays) {
      slots_[i] = slots_[j];
      i = j;
    }
  }
  slots_[i] = Slot{};
}

void DedupIndex::PopFront() {
  const Item& item = fifo_.front();
  if (item.live) {
    RemoveSlot(FindSlotOfSeq(item.hash, front_seq_));
    --live_;
  }
  fifo_.pop_front();
  ++front_seq_;
}

void DedupIndex::EraseFrom(uint64_t offset) {
  while (!fifo_.empty()) {
    const Item& item = fifo_.back();
    if (item.live && item.entry.offset < offset) return;
    if (item.live) {
      RemoveSlot(FindSlotOfSeq(item.hash, front_seq_ + fifo_.size() - 1));
      --live_;
    }
    fifo_.pop_back();
  }
}

void DedupIndex::Expire(int64_t now_us) {
  while (!fifo_.empty() && (!fifo_.front().live || Expired(fifo_.front().entry, now_us))) {
    PopFront();
  }
}

}  // namespace tandem::storage
