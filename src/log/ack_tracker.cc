#include "log/ack_tracker.h"

#include <algorithm>
#include <iterator>

namespace tandem {

void AckTracker::AckRange(uint64_t begin, uint64_t end) {
  begin = std::max(begin, committed_);
  if (begin >= end) return;
  // Merge with every range that overlaps or touches [begin, end).
  auto it = acked_.upper_bound(begin);
  if (it != acked_.begin()) {
    auto prev = std::prev(it);
    if (prev->second >= begin) {
      begin = prev->first;
      end = std::max(end, prev->second);
      it = acked_.erase(prev);
    }
  }
  while (it != acked_.end() && it->first <= end) {
    end = std::max(end, it->second);
    it = acked_.erase(it);
  }
  if (begin == committed_) {
    committed_ = end;
  } else {
    acked_.emplace(begin, end);
  }
  // Invariant: a range never starts at committed_ (it would have been folded in).
}

bool AckTracker::IsAcked(uint64_t offset) const {
  if (offset < committed_) return true;
  auto it = acked_.upper_bound(offset);
  if (it == acked_.begin()) return false;
  return std::prev(it)->second > offset;
}

}  // namespace tandem
