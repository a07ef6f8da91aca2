// The in-memory building blocks of subscriptions: AckTracker and the
// Key_Shared dispatcher, the latter against a model under random operations.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "log/ack_tracker.h"
#include "log/key_shared_dispatcher.h"
#include "log/position_store.h"
#include "tandem/env.h"

namespace tandem {
namespace {

TEST(AckTracker, CommittedIsTheLowestUnackedOffset) {
  AckTracker t(10);
  t.Ack(12);
  t.Ack(13);
  EXPECT_EQ(t.committed(), 10u);
  EXPECT_EQ(t.ranges(), 1u);
  EXPECT_TRUE(t.IsAcked(12));
  EXPECT_FALSE(t.IsAcked(11));
  t.Ack(10);
  EXPECT_EQ(t.committed(), 11u);
  t.Ack(11);
  EXPECT_EQ(t.committed(), 14u) << "the gap closed: 12 and 13 fold in";
  EXPECT_EQ(t.ranges(), 0u);
}

TEST(AckTracker, ManyOutOfOrderAcksStayCompact) {
  AckTracker t(0);
  for (uint64_t o = 1; o < 100'000; ++o) t.Ack(o);  // all but offset 0
  EXPECT_EQ(t.ranges(), 1u) << "one stuck message costs one range";
  for (uint64_t o = 1; o < 100; o += 2) t.Ack(o);  // duplicates are harmless
  EXPECT_EQ(t.committed(), 0u);
  t.Ack(0);
  EXPECT_EQ(t.committed(), 100'000u);
  t.Ack(5);  // below committed: ignored
  EXPECT_EQ(t.ranges(), 0u);
  t.AckRange(100'010, 100'020);
  t.Ack(100'005);
  EXPECT_EQ(t.ranges(), 2u);
  t.AckRange(100'000, 100'010);
  EXPECT_EQ(t.committed(), 100'020u);
}

TEST(PositionFile, RoundTripsAndRejectsDamage) {
  PositionMap p = {{{"person", 0}, 17}, {{"person", 3}, 0}, {{"company.dlq", 1}, 1ull << 40}};
  const std::string bytes = EncodePositions(p);
  PositionMap back;
  ASSERT_TRUE(DecodePositions("x.pos", bytes, &back).ok());
  EXPECT_EQ(back, p);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x40;
    Status s = DecodePositions("x.pos", bad, &back);
    EXPECT_TRUE(s.IsCorruption()) << "byte " << i;
    EXPECT_NE(s.message().find("x.pos"), std::string::npos);
  }
  EXPECT_TRUE(DecodePositions("x.pos", bytes.substr(0, bytes.size() - 1), &back).IsCorruption());
}

Record MakeRecord(uint64_t offset, const std::string& key) {
  Record r;
  r.offset = offset;
  r.key = key;
  r.value = "v" + std::to_string(offset);
  return r;
}

// A reference model of what a subscription may do, checked on every delivery.
struct Model {
  struct Msg {
    uint32_t stream;
    std::string key;
    uint32_t deliveries = 0;
    uint64_t holder = 0;  // consumer holding it, 0 = waiting
  };
  std::map<std::pair<uint32_t, uint64_t>, Msg> outstanding;  // enqueued, not acked

  void CheckDelivery(uint64_t consumer, const Delivery& d) {
    auto it = outstanding.find({d.stream, d.record.offset});
    ASSERT_NE(it, outstanding.end()) << "delivered an unknown or acked message";
    ASSERT_EQ(it->second.holder, 0u) << "delivered a message that is in flight";
    ASSERT_EQ(d.delivery_count, it->second.deliveries + 1);
    for (const auto& [pos, m] : outstanding) {
      if (pos.first != d.stream || m.key != it->second.key || pos == it->first) continue;
      ASSERT_TRUE(m.holder == 0 || m.holder == consumer)
          << "key " << m.key << " in flight at two consumers";
      if (pos.second < d.record.offset) {
        ASSERT_NE(m.holder, 0u) << "offset " << d.record.offset << " overtook waiting "
                                << pos.second << " of key " << m.key;
      }
    }
    it->second.holder = consumer;
    ++it->second.deliveries;
  }
};

// Random enqueues, takes, acks, nacks, joins, leaves and clock ticks on one
// dispatcher, each checked against the Model and the structural invariants.
class DispatcherFuzz {
 public:
  explicit DispatcherFuzz(uint64_t seed) : rnd_(seed), d_(4) {
    streams_[0] = d_.AddStream();
    streams_[1] = d_.AddStream();
  }

  void Step(int op) {
    const uint64_t r = rnd_.Uniform(100);
    if (r < 30) {
      Enqueue();
    } else if (r < 55 && !consumers_.empty()) {
      const uint64_t c = consumers_[rnd_.Uniform(consumers_.size())];
      ASSERT_NO_FATAL_FAILURE(Take(c, 1 + rnd_.Uniform(5)));
      EXPECT_LE(d_.unacked(c), 4u);
    } else if (r < 85) {
      ASSERT_NO_FATAL_FAILURE(Finish());
    } else if (r < 90 || consumers_.empty()) {
      consumers_.push_back(d_.AddConsumer("c" + std::to_string(op), now_));
    } else if (r < 95) {
      Leave();
    } else {
      now_ += static_cast<int64_t>(rnd_.Uniform(3));
    }
    ASSERT_TRUE(d_.CheckInvariants().ok()) << d_.CheckInvariants().ToString() << " op " << op;
  }

  // Everything enqueued is eventually delivered and acked.
  void Drain() {
    if (consumers_.empty()) consumers_.push_back(d_.AddConsumer("last", now_));
    now_ += 1000;
    for (int round = 0; round < 10000 && !model_.outstanding.empty(); ++round) {
      for (uint64_t c : consumers_) ASSERT_NO_FATAL_FAILURE(Take(c, 100));
      for (auto it = model_.outstanding.begin(); it != model_.outstanding.end();) {
        if (it->second.holder == 0) {
          ++it;
          continue;
        }
        ASSERT_TRUE(d_.Ack(it->second.holder, it->first.first, it->first.second, now_).ok());
        it = model_.outstanding.erase(it);
      }
    }
    EXPECT_TRUE(model_.outstanding.empty());
    EXPECT_EQ(d_.pending_messages(), 0u);
    EXPECT_EQ(d_.tracked_keys(), 0u) << "every key must be idle";
    EXPECT_LE(d_.idle_keys(), KeySharedDispatcher::kMaxIdleKeys);
  }

 private:
  void Enqueue() {
    const uint32_t s = streams_[rnd_.Uniform(2)];
    const std::string key = "k" + std::to_string(rnd_.Uniform(6));
    model_.outstanding[{s, next_offset_[s]}] = Model::Msg{s, key};
    d_.Enqueue(s, MakeRecord(next_offset_[s]++, key), now_);
  }
  void Take(uint64_t c, size_t max) {
    std::vector<Delivery> out;
    d_.Take(c, max, now_, &out);
    for (const Delivery& x : out) ASSERT_NO_FATAL_FAILURE(model_.CheckDelivery(c, x));
  }
  // Acks (3 in 4) or nacks one random in-flight message.
  void Finish() {
    std::vector<std::pair<uint32_t, uint64_t>> held;
    for (const auto& [pos, m] : model_.outstanding) {
      if (m.holder != 0) held.push_back(pos);
    }
    if (held.empty()) return;
    auto pos = held[rnd_.Uniform(held.size())];
    Model::Msg& m = model_.outstanding[pos];
    if (rnd_.OneIn(4)) {
      const int64_t at = now_ + static_cast<int64_t>(rnd_.Uniform(4));
      ASSERT_TRUE(d_.Nack(m.holder, pos.first, pos.second, at, now_).ok());
      m.holder = 0;
      return;
    }
    ASSERT_TRUE(d_.Ack(m.holder, pos.first, pos.second, now_).ok());
    EXPECT_TRUE(d_.Ack(m.holder, pos.first, pos.second, now_).IsNotFound());
    model_.outstanding.erase(pos);
  }
  void Leave() {
    const size_t i = rnd_.Uniform(consumers_.size());
    d_.RemoveConsumer(consumers_[i], now_);
    for (auto& [pos, m] : model_.outstanding) {
      if (m.holder == consumers_[i]) m.holder = 0;
    }
    consumers_.erase(consumers_.begin() + static_cast<long>(i));
  }

  Random rnd_;
  KeySharedDispatcher d_;
  Model model_;
  uint32_t streams_[2] = {0, 0};
  uint64_t next_offset_[2] = {0, 0};
  std::vector<uint64_t> consumers_;
  int64_t now_ = 0;
};

TEST(KeySharedDispatcher, RandomOperationsKeepOwnershipOrderAndInvariants) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    DispatcherFuzz fuzz(seed);
    for (int op = 0; op < 3000; ++op) ASSERT_NO_FATAL_FAILURE(fuzz.Step(op));
    fuzz.Drain();
  }
}

TEST(KeySharedDispatcher, KeysWaitInTheOrphanListUntilAConsumerJoins) {
  KeySharedDispatcher d(10);
  const uint32_t s = d.AddStream();
  for (uint64_t o = 0; o < 5; ++o) d.Enqueue(s, MakeRecord(o, "k" + std::to_string(o % 2)), 0);
  ASSERT_TRUE(d.CheckInvariants().ok());
  const auto c = d.AddConsumer("c", 0);
  std::vector<Delivery> out;
  d.Take(c, 100, 0, &out);
  EXPECT_EQ(out.size(), 5u);
  ASSERT_TRUE(d.CheckInvariants().ok());
}

}  // namespace
}  // namespace tandem
