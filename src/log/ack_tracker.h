// AckTracker: the acknowledged offsets of one partition for one subscription.
//
// The committed position is the lowest offset not yet acknowledged; every
// offset below it is done. Offsets acknowledged above it (consumers ack out of
// order) are kept as disjoint, non-adjacent half-open ranges, so the memory is
// proportional to the number of gaps, not the number of acks: in-order acks
// cost O(1), and one stuck message under a million later acks costs one range.
//
//   AckTracker t(10);   // offsets < 10 are done
//   t.Ack(12);          // committed() == 10, ranges {[12,13)}
//   t.Ack(10);          // committed() == 11
//   t.Ack(11);          // committed() == 13, no ranges
//
// Thread safety: none; the owner serialises access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

namespace tandem {

class AckTracker {
 public:
  explicit AckTracker(uint64_t committed) : committed_(committed) {}

  // Marks `offset` acknowledged. Idempotent; offsets below committed() are ignored.
  void Ack(uint64_t offset) { AckRange(offset, offset + 1); }
  // Marks [begin, end) acknowledged (used for offsets the partition no longer
  // has: retention or compaction gaps).
  void AckRange(uint64_t begin, uint64_t end);

  // The lowest unacknowledged offset.
  uint64_t committed() const { return committed_; }
  bool IsAcked(uint64_t offset) const;
  // Number of acknowledged ranges above committed() (one per gap).
  size_t ranges() const { return acked_.size(); }

 private:
  uint64_t committed_;
  std::map<uint64_t, uint64_t> acked_;  // begin -> end; all begins > committed_
};

}  // namespace tandem
