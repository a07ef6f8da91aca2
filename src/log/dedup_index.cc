#include "log/dedup_index.h"

#include <xxhash.h>

#include <algorithm>
#include <limits>

namespace tandem::storage {
namespace {

constexpr size_t kInitialSlots = 16;
constexpr size_t kInitialItems = 16;
constexpr uint64_t kMaxEntries = uint64_t{1} << 31;

}  // namespace

DedupIndex::DedupIndex(uint64_t max_entries, int64_t window_us)
    : max_entries_(std::min(max_entries, kMaxEntries)),
      window_us_(window_us),
      slots_(kInitialSlots) {}

DedupIndex::Fingerprint DedupIndex::Hash(std::string_view id) {
  const XXH128_hash_t h = XXH3_128bits(id.data(), id.size());
  return Fingerprint{h.low64, h.high64};
}

size_t DedupIndex::bytes_used() const {
  return slots_.capacity() * sizeof(Slot) + ring_.capacity() * sizeof(Item);
}

void DedupIndex::Prefetch(const Fingerprint* fps, size_t n) const {
  if (!enabled()) return;
  const size_t mask = slots_.size() - 1;
  for (size_t i = 0; i < n; ++i) __builtin_prefetch(&slots_[Tag(fps[i]) & mask]);
  if (live_ + n <= max_entries_) return;
  for (size_t i = 0; i < n && i < count_; ++i) {
    __builtin_prefetch(&slots_[Tag(ItemAt(i).fp) & mask]);
  }
}

size_t DedupIndex::FindSlot(const Fingerprint& fp, size_t* empty) const {
  const size_t mask = slots_.size() - 1;
  const uint32_t tag = Tag(fp);
  for (size_t i = tag & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.tag == 0) {
      if (empty != nullptr) *empty = i;
      return kNone;
    }
    if (s.tag == tag && ItemAt(IndexOf(s)).fp == fp) return i;
  }
}

size_t DedupIndex::FindSlotOfSeq(uint32_t tag, uint32_t seq) const {
  const size_t mask = slots_.size() - 1;
  for (size_t i = tag & mask;; i = (i + 1) & mask) {
    if (slots_[i].tag == 0) return kNone;
    if (slots_[i].seq == seq) return i;
  }
}

const DedupIndex::Entry* DedupIndex::Find(std::string_view id, int64_t now_us) const {
  if (id.empty() || !enabled() || live_ == 0) return nullptr;
  size_t i = FindSlot(Hash(id));
  if (i == kNone) return nullptr;
  const Item& item = ItemAt(IndexOf(slots_[i]));
  return Expired(item.entry, now_us) ? nullptr : &item.entry;
}

void DedupIndex::Insert(std::string_view id, uint64_t offset, int64_t timestamp_us) {
  // At the end of time every existing entry has expired, so this replaces it.
  (void)FindOrInsert(id, Hash(id), offset, timestamp_us, std::numeric_limits<int64_t>::max());
}

const DedupIndex::Entry* DedupIndex::FindOrInsert(std::string_view id, const Fingerprint& fp,
                                                  uint64_t offset, int64_t timestamp_us,
                                                  int64_t now_us) {
  if (id.empty() || !enabled()) return nullptr;
  size_t empty = kNone;
  size_t i = FindSlot(fp, &empty);
  if (i != kNone) {
    Item& old = ItemAt(IndexOf(slots_[i]));
    if (!Expired(old.entry, now_us)) return &old.entry;
    old.entry.offset = kDead;  // expired: the new item takes over its slot
    slots_[i].seq = front_seq_ + static_cast<uint32_t>(count_);
  } else {
    // Evict first, so the ring never holds more than max_entries live items.
    bool moved = false;
    while (live_ >= max_entries_) {
      PopFront();
      moved = true;
    }
    const Slot s{Tag(fp), front_seq_ + static_cast<uint32_t>(count_)};
    if (2 * (live_ + 1) > slots_.size()) {
      Grow();
      PlaceSlot(s);
    } else if (moved) {
      PlaceSlot(s);  // evictions shift slots: probe again
    } else {
      slots_[empty] = s;
    }
    ++live_;
  }
  PushBack(Item{fp, Entry{offset, timestamp_us}});
  return nullptr;
}

void DedupIndex::PushBack(const Item& item) {
  if (count_ == ring_.size()) GrowRing();
  ring_[Wrap(head_ + count_)] = item;
  ++count_;
}

// Doubles up to max_entries, then (only when dead items pile up) by half.
void DedupIndex::GrowRing() {
  const size_t cap = ring_.size();
  size_t want = std::max(kInitialItems, 2 * cap);
  if (cap < max_entries_) {
    want = std::min<size_t>(want, max_entries_);
  } else {
    want = cap + std::max<size_t>(cap / 2, 1);
  }
  std::vector<Item> grown;
  grown.reserve(want);
  for (size_t i = 0; i < count_; ++i) grown.push_back(ItemAt(i));
  grown.resize(want);
  ring_ = std::move(grown);
  head_ = 0;
}

void DedupIndex::PlaceSlot(Slot s) {
  const size_t mask = slots_.size() - 1;
  size_t i = s.tag & mask;
  while (slots_[i].tag != 0) i = (i + 1) & mask;
  slots_[i] = s;
}

void DedupIndex::Grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.size() * 2, Slot{});
  for (const Slot& s : old) {
    if (s.tag != 0) PlaceSlot(s);
  }
}

// Linear probing with backward-shift deletion: no tombstones, so lookups of
// new ids stay short however many ids come and go.
void DedupIndex::RemoveSlot(size_t i) {
  const size_t mask = slots_.size() - 1;
  for (size_t j = (i + 1) & mask; slots_[j].tag != 0; j = (j + 1) & mask) {
    size_t home = slots_[j].tag & mask;
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
  const Item& item = ItemAt(0);
  if (Live(item)) {
    RemoveSlot(FindSlotOfSeq(Tag(item.fp), front_seq_));
    --live_;
  }
  head_ = Wrap(head_ + 1);
  --count_;
  ++front_seq_;
}

void DedupIndex::EraseFrom(uint64_t offset) {
  while (count_ > 0) {
    const Item& item = ItemAt(count_ - 1);
    if (Live(item) && item.entry.offset < offset) return;
    if (Live(item)) {
      RemoveSlot(FindSlotOfSeq(Tag(item.fp), front_seq_ + static_cast<uint32_t>(count_ - 1)));
      --live_;
    }
    --count_;
  }
}

void DedupIndex::Expire(int64_t now_us) {
  while (count_ > 0 && (!Live(ItemAt(0)) || Expired(ItemAt(0).entry, now_us))) PopFront();
}

}  // namespace tandem::storage
