#include "log/offset_index.h"

#include <algorithm>
#include <limits>

#include "common/crc32c.h"
#include "log/record_batch.h"

namespace tandem::storage {
namespace {

constexpr size_t kCrcPos = 4;
constexpr size_t kBasePos = 8;
constexpr size_t kNextPos = 16;
constexpr size_t kLogSizePos = 24;
constexpr size_t kLastBatchPos = 32;
constexpr size_t kMaxTsPos = 40;
constexpr size_t kCountPos = 48;
constexpr size_t kVersionPos = 52;
static_assert(kVersionPos + 4 == kIndexHeaderSize, "index header is 56 bytes");
static_assert(kIndexEntrySize == 2 * sizeof(uint32_t), "an entry is two u32");

uint32_t FileCrc(std::string_view data) {
  return crc32c::Value(data.data() + kBasePos, data.size() - kBasePos);
}

Status Bad(const std::string& why) { return Status::Corruption("index file: " + why); }

}  // namespace

void OffsetIndex::Add(uint64_t offset, uint64_t position) {
  constexpr uint64_t kMax = std::numeric_limits<uint32_t>::max();
  if (offset < base_offset_ || offset - base_offset_ > kMax || position > kMax) return;
  auto rel = static_cast<uint32_t>(offset - base_offset_);
  auto pos = static_cast<uint32_t>(position);
  if (!entries_.empty() &&
      (rel <= entries_.back().relative_offset || pos <= entries_.back().position)) {
    return;
  }
  entries_.push_back(IndexEntry{rel, pos});
}

uint64_t OffsetIndex::Lookup(uint64_t offset) const {
  if (offset < base_offset_ || entries_.empty()) return 0;
  uint64_t rel = offset - base_offset_;
  auto it = std::upper_bound(entries_.begin(), entries_.end(), rel,
                             [](uint64_t r, const IndexEntry& e) { return r < e.relative_offset; });
  if (it == entries_.begin()) return 0;
  return std::prev(it)->position;
}

std::string OffsetIndex::EncodeFile(const SegmentSummary& s) const {
  std::string out(kIndexHeaderSize + entries_.size() * kIndexEntrySize, '\0');
  char* p = out.data();
  StoreFixed32(p, kIndexMagic);
  StoreFixed64(p + kBasePos, s.base_offset);
  StoreFixed64(p + kNextPos, s.next_offset);
  StoreFixed64(p + kLogSizePos, s.log_size);
  StoreFixed64(p + kLastBatchPos, s.last_batch_position);
  StoreFixed64(p + kMaxTsPos, static_cast<uint64_t>(s.max_timestamp_us));
  StoreFixed32(p + kCountPos, static_cast<uint32_t>(entries_.size()));
  StoreFixed32(p + kVersionPos, kIndexVersion);
  char* e = p + kIndexHeaderSize;
  for (const IndexEntry& entry : entries_) {
    StoreFixed32(e, entry.relative_offset);
    StoreFixed32(e + 4, entry.position);
    e += kIndexEntrySize;
  }
  StoreFixed32(p + kCrcPos, FileCrc(out));
  return out;
}

Status OffsetIndex::DecodeFile(std::string_view data, uint64_t base_offset, SegmentSummary* summary,
                               OffsetIndex* index) {
  if (data.size() < kIndexHeaderSize) return Bad("shorter than its header");
  const char* p = data.data();
  if (LoadFixed32(p) != kIndexMagic) return Bad("bad magic");
  if (LoadFixed32(p + kCrcPos) != FileCrc(data)) return Bad("checksum mismatch");
  if (LoadFixed32(p + kVersionPos) != kIndexVersion) return Bad("unknown version");
  uint64_t count = LoadFixed32(p + kCountPos);
  if (data.size() != kIndexHeaderSize + count * kIndexEntrySize) return Bad("length mismatch");
  SegmentSummary s;
  s.base_offset = LoadFixed64(p + kBasePos);
  s.next_offset = LoadFixed64(p + kNextPos);
  s.log_size = LoadFixed64(p + kLogSizePos);
  s.last_batch_position = LoadFixed64(p + kLastBatchPos);
  s.max_timestamp_us = static_cast<int64_t>(LoadFixed64(p + kMaxTsPos));
  if (s.base_offset != base_offset) return Bad("base offset does not match the file name");
  if (s.next_offset < s.base_offset) return Bad("next offset below base offset");
  OffsetIndex idx(base_offset);
  idx.entries_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const char* e = p + kIndexHeaderSize + i * kIndexEntrySize;
    IndexEntry entry{LoadFixed32(e), LoadFixed32(e + 4)};
    bool grows =
        idx.entries_.empty() || (entry.relative_offset > idx.entries_.back().relative_offset &&
                                 entry.position > idx.entries_.back().position);
    if (!grows || entry.position >= s.log_size ||
        entry.relative_offset >= s.next_offset - s.base_offset) {
      return Bad("entry " + std::to_string(i) + " out of order or range");
    }
    idx.entries_.push_back(entry);
  }
  *summary = s;
  *index = std::move(idx);
  return Status::OK();
}

}  // namespace tandem::storage
