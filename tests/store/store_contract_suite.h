// The typed contract suite: every Store implementation must pass it
// (docs/store_contract.md states the rules it checks). A store registers by
// instantiating the suite with a factory type:
//
//   struct MyFactory {
//     MyFactory();  // a fresh, empty location (temp dir, empty database, ...)
//     // Opens the store at that location, or reopens it after the previous
//     // store object was destroyed (as after a crash: nothing flushed on
//     // purpose beyond what the store commits).
//     Result<std::unique_ptr<Store>> Open(const store_test::StoreTestConfig& config);
//     // Store-specific payloads that must be refused as permanent errors,
//     // e.g. a malformed reference for the graph store. May be empty.
//     std::vector<store_test::InvalidPayload> InvalidPayloads();
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, StoreContractTest, ::testing::Types<MyFactory>);
//
// The suite uses entity types "widget" and "gadget" (no references in any
// shipped schema) unless a test says otherwise. Include this header in one
// translation unit per test binary.
//
// Thread safety: GoogleTest fixtures; single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "store_test_util.h"
#include "tandem/env.h"
#include "tandem/store.h"

namespace tandem::store_test {

struct StoreTestConfig {
  Clock* clock = nullptr;  // the fixture's ManualClock
  int64_t tombstone_retention_us = 0;
};

struct InvalidPayload {
  std::string entity_type;
  std::string payload;
  std::string reason_contains;  // expected in ApplyOutcome::reason
};

template <typename Factory>
class StoreContractTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void TearDown() override {
    if (store_ != nullptr) STORE_EXPECT_OK(store_->CheckInvariants());
  }

  // Destroys the store object and opens the same location again.
  void Reopen() {
    store_.reset();
    Result<std::unique_ptr<Store>> s = factory_->Open({&clock_, kRetentionUs});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }

  BatchResult Apply(const std::vector<StoreEvent>& events) {
    Result<BatchResult> r = store_->ApplyBatch(events);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->outcomes.size(), events.size());
    return std::move(r).value();
  }
  ApplyCode ApplyOne(const StoreEvent& e) {
    BatchResult r = Apply({e});
    return r.outcomes.empty() ? ApplyCode::kTransientError : r.outcomes[0].code;
  }

  std::optional<EntityState> Get(const std::string& id) {
    Result<EntityState> r = store_->Get(id);
    if (r.status().IsNotFound()) return std::nullopt;
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return std::nullopt;
    return std::move(r).value();
  }
  std::string PayloadOf(const std::string& id) {
    auto s = Get(id);
    return s.has_value() ? (s->deleted() ? "<deleted>" : s->payload) : "<missing>";
  }
  StoreDigest DigestNow() {
    Result<StoreDigest> d = store_->Digest();
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : StoreDigest{};
  }

  ManualClock clock_;
  std::unique_ptr<Factory> factory_ = std::make_unique<Factory>();
  std::unique_ptr<Store> store_;  // destroyed before its factory
};

TYPED_TEST_SUITE_P(StoreContractTest);

using ET = EventType;
using AC = ApplyCode;

TYPED_TEST_P(StoreContractTest, AppliedStateIsReadBack) {
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 7, R"({"b":2,"a":{"y":1,"x":0}})", 3)),
            AC::kApplied);
  auto s = this->Get("w1");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->entity_id, "w1");
  EXPECT_EQ(s->entity_type, "widget");
  EXPECT_EQ(s->payload, R"({"a":{"x":0,"y":1},"b":2})");  // canonical: sorted members
  EXPECT_EQ(s->marker.version, 3);
  EXPECT_EQ(s->marker.position, (LogPosition{"widget", 0, 7}));
  EXPECT_EQ(s->marker.event_id, "widget/0@7");
  EXPECT_FALSE(s->deleted());
  EXPECT_EQ(s->marker.applied_at_us, this->clock_.NowMicros());
  EXPECT_FALSE(this->Get("nope").has_value());
}

TYPED_TEST_P(StoreContractTest, RedeliveredBatchIsANoOp) {
  std::vector<StoreEvent> batch = {Ev(ET::kCreate, "widget", "w1", 0, R"({"n":1})"),
                                   Ev(ET::kCreate, "gadget", "g1", 0, R"({"n":2})"),
                                   Ev(ET::kUpdate, "widget", "w1", 1, R"({"m":3})")};
  BatchResult first = this->Apply(batch);
  EXPECT_EQ(first.counts.applied, 3u);
  StoreDigest d = this->DigestNow();
  BatchResult again = this->Apply(batch);
  EXPECT_EQ(Codes(again),
            (std::vector<AC>{AC::kSkippedStale, AC::kSkippedDuplicate, AC::kSkippedDuplicate}));
  EXPECT_EQ(this->DigestNow(), d);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"m":3,"n":1})");
  ApplyCounts c = this->store_->counters();
  EXPECT_EQ(c.applied, 3u);
  EXPECT_EQ(c.duplicate + c.stale, 3u);
}

TYPED_TEST_P(StoreContractTest, DuplicatesInsideOneBatch) {
  StoreEvent a = Ev(ET::kCreate, "widget", "w1", 0, R"({"n":1})");
  StoreEvent b = Ev(ET::kUpdate, "widget", "w1", 1, R"({"n":2})");
  StoreEvent retry = a;  // a producer retry that escaped dedup, right behind the original
  retry.position.offset = 2;
  BatchResult r = this->Apply({a, a, b, b, a, retry});
  EXPECT_EQ(Codes(r), (std::vector<AC>{AC::kApplied, AC::kSkippedDuplicate, AC::kApplied,
                                       AC::kSkippedDuplicate, AC::kSkippedStale, AC::kApplied}));
  // The retry came after b: it is newer by position and re-applies a's payload
  // (the log's dedup window, not the store, catches retries; see the docs).
  EXPECT_EQ(this->PayloadOf("w1"), R"({"n":1})");
  StoreEvent retry2 = retry;
  retry2.position.offset = 3;
  EXPECT_EQ(this->ApplyOne(retry2), AC::kSkippedDuplicate);  // same event_id as the last applied
}

// TESTING.md §6: apply the log once; replay it from offset 0 with every event
// delivered 2-3 times and shuffled across entities: same digest, same states.
TYPED_TEST_P(StoreContractTest, ShuffledReplayWithRedeliveriesReachesTheSameState) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Random rnd(seed);
    const LogOptions log_options = DefaultLogOptions();
    std::vector<StoreEvent> log = GenerateLog(rnd, log_options);
    Random apply_rnd(seed + 100);
    STORE_ASSERT_OK(ApplyInBatches(*this->store_, log, apply_rnd, 40));
    StoreDigest once = this->DigestNow();
    Result<PositionMap> once_positions = this->store_->Positions();
    STORE_ASSERT_OK(once_positions);
    std::vector<std::string> states;
    for (size_t i = 0; i < 40; ++i) {
      auto s = this->Get(EntityName(i));
      states.push_back(s ? Describe(*s) : "missing");
    }
    EXPECT_GT(once.entities, 0u);

    // Replaying onto the built store changes nothing.
    ApplyCounts replay;
    STORE_ASSERT_OK(ApplyInBatches(*this->store_, log, apply_rnd, 40, &replay));
    EXPECT_EQ(replay.applied, 0u);
    EXPECT_EQ(this->DigestNow(), once);

    // A fresh store fed an at-least-once, shuffled delivery of the same log.
    TypeParam other_factory;
    auto other = other_factory.Open({&this->clock_, kRetentionUs});
    STORE_ASSERT_OK(other);
    std::vector<StoreEvent> delivery = Redeliver(rnd, log);
    EXPECT_GE(delivery.size(), 2 * log.size());
    ApplyCounts counts;
    STORE_ASSERT_OK(ApplyInBatches(**other, delivery, apply_rnd, 40, &counts));
    EXPECT_GT(counts.stale, 0u);
    EXPECT_GT(counts.duplicate, 0u);
    auto d = (*other)->Digest();
    STORE_ASSERT_OK(d);
    EXPECT_EQ(*d, once) << d->ToString() << " vs " << once.ToString();
    auto positions = (*other)->Positions();
    STORE_ASSERT_OK(positions);
    EXPECT_EQ(*positions, *once_positions);
    for (size_t i = 0; i < 40; ++i) {
      auto s = (*other)->Get(EntityName(i));
      EXPECT_EQ(s.ok() ? Describe(*s) : "missing", states[i]);
    }
    STORE_EXPECT_OK((*other)->CheckInvariants());
    this->store_.reset();  // next seed: a fresh location for the main store
    this->factory_ = std::make_unique<TypeParam>();
    this->Reopen();
  }
}

TYPED_TEST_P(StoreContractTest, StaleVersionIsSkippedAndCounted) {
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 0, R"({"v":3})", 3)), AC::kApplied);
  // A late version 2 arrives after version 3, even at a later offset.
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 1, R"({"v":2})", 2)), AC::kSkippedStale);
  // An equal version from another event lost the optimistic-concurrency race.
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 2, R"({"v":"3b"})", 3)),
            AC::kSkippedStale);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"v":3})");
  EXPECT_EQ(this->store_->counters().stale, 2u);
  // A higher version is newer even at an earlier offset (e.g. another partition).
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 0, R"({"v":4})", 4, 1)), AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"v":4})");
}

TYPED_TEST_P(StoreContractTest, UnversionedEventsAreOrderedByPosition) {
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 5, R"({"p":5})")), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 4, R"({"p":4})")), AC::kSkippedStale);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 9, R"({"p":9})")), AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"p":9})");
  // Another partition cannot be ordered against partition 0: refused, not guessed.
  BatchResult r = this->Apply({Ev(ET::kUpsert, "widget", "w1", 100, R"({"p":100})", {}, 1)});
  ASSERT_EQ(r.outcomes.size(), 1u);
  EXPECT_EQ(r.outcomes[0].code, AC::kPermanentError);
  EXPECT_NE(r.outcomes[0].reason.find("position"), std::string::npos) << r.outcomes[0].reason;
  EXPECT_EQ(this->PayloadOf("w1"), R"({"p":9})");
}

// Versions decide only when both sides have one; the marker keeps the highest
// version ever applied, so a late version still loses after unversioned events.
TYPED_TEST_P(StoreContractTest, MixedVersionedAndUnversionedEvents) {
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 1, R"({"s":"v3"})", 3)), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpdate, "widget", "w1", 2, R"({"u":1})")), AC::kApplied);
  EXPECT_EQ(this->Get("w1")->marker.version, 3);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 3, R"({"s":"v2"})", 2)),
            AC::kSkippedStale);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpdate, "widget", "w1", 1, R"({"u":0})")), AC::kSkippedStale);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 4, R"({"s":"v4"})", 4)), AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"s":"v4"})");
  // An unversioned entity that receives a versioned event: position decides.
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w2", 10, R"({"a":1})")), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w2", 9, R"({"a":2})", 7)), AC::kSkippedStale);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w2", 11, R"({"a":3})", 1)), AC::kApplied);
  EXPECT_EQ(this->Get("w2")->marker.version, 1);
}

TYPED_TEST_P(StoreContractTest, StaleEventsAfterDeleteDoNotResurrect) {
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 0, R"({"n":1})", 1)), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kDelete, "widget", "w1", 2, "{}", 3)), AC::kApplied);
  StoreDigest after_delete = this->DigestNow();
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpdate, "widget", "w1", 1, R"({"n":2})", 2)), AC::kSkippedStale);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 3, R"({"n":3})", 3)), AC::kSkippedStale);
  auto s = this->Get("w1");
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->deleted());
  EXPECT_EQ(s->payload, "{}");
  EXPECT_EQ(s->marker.version, 3);
  EXPECT_EQ(this->DigestNow(), after_delete);
  // Unversioned: the tombstone's position guards it.
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "gadget", "g1", 0, R"({"n":1})")), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kDelete, "gadget", "g1", 5)), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "gadget", "g1", 4, R"({"n":4})")), AC::kSkippedStale);
  EXPECT_EQ(this->PayloadOf("g1"), "<deleted>");
  // A delete of an entity never seen still leaves a tombstone.
  EXPECT_EQ(this->ApplyOne(Ev(ET::kDelete, "gadget", "g2", 9)), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "gadget", "g2", 8, R"({"n":8})")), AC::kSkippedStale);
  EXPECT_EQ(this->PayloadOf("g2"), "<deleted>");
  EXPECT_EQ(this->DigestNow().entities, 0u);
}

TYPED_TEST_P(StoreContractTest, NewerEventsAfterDeleteRecreate) {
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 0, R"({"a":1,"b":2})")), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kDelete, "widget", "w1", 1)), AC::kApplied);
  // update of a deleted entity creates it from the patch alone (nulls dropped).
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpdate, "widget", "w1", 2, R"({"b":3,"c":null})")),
            AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"b":3})");
  EXPECT_EQ(this->ApplyOne(Ev(ET::kDelete, "widget", "w1", 3)), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 4, R"({"z":1})")), AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"z":1})");
}

TYPED_TEST_P(StoreContractTest, TombstonesExpireAfterRetention) {
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 0, R"({"n":1})")), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kDelete, "widget", "w1", 1)), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kDelete, "widget", "w2", 2)), AC::kApplied);
  this->clock_.Advance(kRetentionUs / 2);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kDelete, "widget", "w3", 3)), AC::kApplied);
  auto none = this->store_->ExpireTombstones();
  STORE_ASSERT_OK(none);
  EXPECT_EQ(*none, 0u);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 0, R"({"n":1})")), AC::kSkippedStale);
  this->clock_.Advance(kRetentionUs / 2 + 1);  // w1, w2 now older than retention; w3 not
  // Expired tombstones stop guarding before they are purged: the documented
  // risk of a replay older than retention is a resurrection.
  EXPECT_FALSE(this->Get("w2").has_value());
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 0, R"({"n":1})")), AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"n":1})");
  auto expired = this->store_->ExpireTombstones();
  STORE_ASSERT_OK(expired);
  EXPECT_EQ(*expired, 1u);  // w2 (w1 was recreated, w3 is young)
  EXPECT_EQ(this->PayloadOf("w3"), "<deleted>");
  EXPECT_FALSE(this->Get("w2").has_value());
  this->Reopen();
  EXPECT_FALSE(this->Get("w2").has_value());
  EXPECT_EQ(this->PayloadOf("w3"), "<deleted>");
}

TYPED_TEST_P(StoreContractTest, UpdateMergesAndUpsertReplaces) {
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 0,
                              R"({"a":1,"o":{"x":1,"y":{"z":1}},"arr":[1,2],"gone":true})")),
            AC::kApplied);
  // RFC 7386: objects merge recursively, null deletes, arrays and scalars replace.
  EXPECT_EQ(
      this->ApplyOne(Ev(ET::kUpdate, "widget", "w1", 1,
                        R"({"o":{"y":{"z":null,"w":2}},"arr":[3],"gone":null,"n":null,"b":"x"})")),
      AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"a":1,"arr":[3],"b":"x","o":{"x":1,"y":{"w":2}}})");
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 2, R"({"only":null})")), AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"only":null})");  // upsert keeps the payload as given
  // Numbers keep their text; strings are re-escaped canonically.
  EXPECT_EQ(
      this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 3,
                        R"({"big":123456789012345678901234567890,"f":950000.0,"s":"\u00e9\n\/"})")),
      AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w1"),
            "{\"big\":123456789012345678901234567890,\"f\":950000.0,\"s\":\"\xc3\xa9\\n/\"}");
}

TYPED_TEST_P(StoreContractTest, CreateOfLiveEntityReplacesAndUpdateOfMissingCreates) {
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 0, R"({"a":1,"b":2})")), AC::kApplied);
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 1, R"({"c":3})")), AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w1"), R"({"c":3})");
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpdate, "widget", "w9", 2, R"({"a":{"b":null,"c":1}})")),
            AC::kApplied);
  EXPECT_EQ(this->PayloadOf("w9"), R"({"a":{"c":1}})");
}

TYPED_TEST_P(StoreContractTest, PositionsAreRecordedWithTheBatchAndSurviveReopen) {
  auto empty = this->store_->Positions();
  STORE_ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());
  BatchResult r = this->Apply({Ev(ET::kCreate, "widget", "w1", 4, R"({})"),
                               Ev(ET::kCreate, "widget", "w2", 9, R"({})", {}, 1),
                               Ev(ET::kCreate, "widget", "w3", 2, R"({})"),
                               Ev(ET::kCreate, "gadget", "g1", 6, "[1]"),  // permanent error
                               Ev(ET::kCreate, "gadget", "g2", 3, R"({})")});
  EXPECT_EQ(r.counts.applied, 4u);
  PositionMap want = {{{"widget", 0}, 4}, {{"widget", 1}, 9}, {{"gadget", 0}, 3}};
  EXPECT_EQ(*this->store_->Positions(), want);
  // Stale and duplicate events are handled too; positions never go backwards.
  this->Apply({Ev(ET::kCreate, "widget", "w1", 4, R"({})"), Ev(ET::kCreate, "gadget", "g2", 1)});
  EXPECT_EQ(*this->store_->Positions(), want);
  this->Apply({Ev(ET::kUpdate, "gadget", "g2", 8, R"({"x":1})")});
  want[{"gadget", 0}] = 8;
  this->Reopen();
  auto after = this->store_->Positions();
  STORE_ASSERT_OK(after);
  EXPECT_EQ(*after, want);
  EXPECT_EQ(this->PayloadOf("g2"), R"({"x":1})");
}

// The leg commits a batch, then dies before acknowledging it: the log
// redelivers the whole batch to the restarted leg.
TYPED_TEST_P(StoreContractTest, CrashBetweenCommitAndAckIsHarmless) {
  std::vector<StoreEvent> batch;
  for (uint64_t i = 0; i < 20; ++i) {
    batch.push_back(Ev(i % 3 == 0 ? ET::kUpdate : ET::kUpsert, "widget",
                       "w" + std::to_string(i % 7), i,
                       R"({"i":)" + std::to_string(i) + R"(,"tag":"t"})"));
  }
  this->Apply(batch);
  StoreDigest d = this->DigestNow();
  auto positions = this->store_->Positions();
  STORE_ASSERT_OK(positions);
  this->Reopen();  // the store object dies without any ack or flush
  EXPECT_EQ(this->DigestNow(), d);
  EXPECT_EQ(*this->store_->Positions(), *positions);
  BatchResult again = this->Apply(batch);
  EXPECT_EQ(again.counts.applied, 0u);
  EXPECT_EQ(again.counts.stale + again.counts.duplicate, batch.size());
  EXPECT_EQ(this->DigestNow(), d);
}

TYPED_TEST_P(StoreContractTest, PermanentErrorsLeaveNoTraceAndDoNotBlockOthers) {
  EXPECT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "live", 0, R"({"keep":1})")), AC::kApplied);
  // Store-specific refusals (e.g. a malformed reference), each tried on a new
  // entity and as an update of a live one of the same type.
  const std::vector<InvalidPayload> extra = this->factory_->InvalidPayloads();
  for (size_t k = 0; k < extra.size(); ++k) {
    EXPECT_EQ(this->ApplyOne(
                  Ev(ET::kCreate, extra[k].entity_type, "live" + std::to_string(k), 50 + k, "{}")),
              AC::kApplied);
  }
  StoreEvent empty_id = Ev(ET::kCreate, "widget", "", 1, "{}");
  StoreEvent bad_type = Ev(ET::kCreate, "widget", "w-type", 2, "{}");
  bad_type.event.entity_type = "Bad-Type";
  std::vector<StoreEvent> batch = {
      Ev(ET::kCreate, "widget", "ok1", 3, R"({"n":1})"),
      Ev(ET::kCreate, "widget", "w-array", 4, "[1,2]"),
      Ev(ET::kUpdate, "widget", "live", 5, R"({"keep":)"),  // invalid JSON
      empty_id,
      bad_type,
      Ev(ET::kCreate, "gadget", "live", 0, R"({"other":1})"),  // entity_type conflict
      Ev(ET::kUpsert, "widget", "w-num", 6, "42"),
      Ev(ET::kCreate, "widget", "ok2", 7, R"({"n":2})"),
  };
  for (size_t k = 0; k < extra.size(); ++k) {
    batch.push_back(Ev(ET::kCreate, extra[k].entity_type, "x" + std::to_string(k), 100 + 2 * k,
                       extra[k].payload));
    batch.push_back(Ev(ET::kUpdate, extra[k].entity_type, "live" + std::to_string(k), 101 + 2 * k,
                       extra[k].payload));
  }
  BatchResult r = this->Apply(batch);
  ASSERT_EQ(r.outcomes.size(), batch.size());
  EXPECT_EQ(r.outcomes[0].code, AC::kApplied);
  EXPECT_EQ(r.outcomes[7].code, AC::kApplied);
  for (size_t i = 1; i < 7; ++i) {
    EXPECT_EQ(r.outcomes[i].code, AC::kPermanentError) << i;
    EXPECT_FALSE(r.outcomes[i].reason.empty()) << i;
  }
  EXPECT_NE(r.outcomes[1].reason.find("payload"), std::string::npos) << r.outcomes[1].reason;
  EXPECT_NE(r.outcomes[2].reason.find("payload"), std::string::npos) << r.outcomes[2].reason;
  EXPECT_NE(r.outcomes[3].reason.find("entity_id"), std::string::npos) << r.outcomes[3].reason;
  EXPECT_NE(r.outcomes[4].reason.find("entity_type"), std::string::npos) << r.outcomes[4].reason;
  EXPECT_NE(r.outcomes[5].reason.find("entity_type"), std::string::npos) << r.outcomes[5].reason;
  for (size_t k = 0; k < extra.size(); ++k) {
    for (size_t j : {8 + 2 * k, 9 + 2 * k}) {
      EXPECT_EQ(r.outcomes[j].code, AC::kPermanentError) << extra[k].payload;
      EXPECT_NE(r.outcomes[j].reason.find(extra[k].reason_contains), std::string::npos)
          << r.outcomes[j].reason;
    }
    EXPECT_FALSE(this->Get("x" + std::to_string(k)).has_value());
    auto live = this->Get("live" + std::to_string(k));
    ASSERT_TRUE(live.has_value());
    EXPECT_EQ(live->payload, "{}");
    EXPECT_EQ(live->marker.position.offset, 50 + k);
  }
  EXPECT_EQ(r.counts.applied, 2u);
  EXPECT_EQ(r.counts.permanent, batch.size() - 2);
  EXPECT_EQ(this->PayloadOf("live"), R"({"keep":1})");
  EXPECT_EQ(this->Get("live")->marker.position.offset, 0u);
  EXPECT_FALSE(this->Get("w-array").has_value());
  EXPECT_FALSE(this->Get("w-num").has_value());
  EXPECT_EQ(this->DigestNow().entities, 3u + extra.size());
  // Refused events do not move positions.
  EXPECT_EQ((*this->store_->Positions())[(TopicPartition{"widget", 0})], 7u);
}

TYPED_TEST_P(StoreContractTest, DigestIsOrderIndependentAndContentSensitive) {
  std::vector<StoreEvent> a = {Ev(ET::kCreate, "widget", "w1", 0, R"({"x":1,"y":2})", 1),
                               Ev(ET::kCreate, "gadget", "g1", 0, R"({"n":"a"})"),
                               Ev(ET::kCreate, "widget", "w2", 1, R"({"n":"b"})")};
  this->Apply(a);
  StoreDigest d1 = this->DigestNow();
  EXPECT_EQ(d1.entities, 3u);
  TypeParam other_factory;
  auto other = other_factory.Open({&this->clock_, kRetentionUs});
  STORE_ASSERT_OK(other);
  std::vector<StoreEvent> b = {a[2], a[1], a[0]};
  b[0].event.payload = R"({ "n" : "b" })";  // same content, other spelling and order
  b[2].event.payload = R"({"y":2,"x":1})";
  STORE_ASSERT_OK((*other)->ApplyBatch(b));
  EXPECT_EQ(*(*other)->Digest(), d1);
  STORE_ASSERT_OK((*other)->ApplyBatch(
      std::vector<StoreEvent>{Ev(ET::kUpdate, "gadget", "g1", 1, R"({"n":"c"})")}));
  EXPECT_NE(*(*other)->Digest(), d1);
  EXPECT_EQ(StoreDigest{}.ToString(), "0:0000000000000000");
}

TYPED_TEST_P(StoreContractTest, EmptyBatchChangesNothing) {
  BatchResult r = this->Apply({});
  EXPECT_TRUE(r.outcomes.empty());
  EXPECT_TRUE(this->store_->Positions()->empty());
  EXPECT_EQ(this->DigestNow(), StoreDigest{});
}


// ---- Audit and repair (Store::ScanEntities, Store::RestoreEntity) ----------

TYPED_TEST_P(StoreContractTest, ScanEntitiesVisitsLiveAndTombstonesInIdOrder) {
  this->Apply({Ev(ET::kCreate, "widget", "w3", 0, R"({"n":3})"),
               Ev(ET::kCreate, "widget", "w1", 1, R"({"n":1})"),
               Ev(ET::kCreate, "gadget", "g2", 0, R"({"n":2})"),
               Ev(ET::kDelete, "gadget", "g2", 1)});
  std::vector<std::string> ids;
  std::vector<bool> deleted;
  STORE_ASSERT_OK(this->store_->ScanEntities("", "", [&](const EntityState& s) -> Result<bool> {
    ids.push_back(s.entity_id);
    deleted.push_back(s.deleted());
    if (s.entity_id == "w1") {
      EXPECT_EQ(s.payload, R"({"n":1})");
      EXPECT_EQ(s.marker.position, (LogPosition{"widget", 0, 1}));
    }
    return true;
  }));
  EXPECT_EQ(ids, (std::vector<std::string>{"g2", "w1", "w3"}));
  EXPECT_EQ(deleted, (std::vector<bool>{true, false, false}));
  ids.clear();  // [begin, end), and stopping early
  STORE_ASSERT_OK(this->store_->ScanEntities("g3", "w3", [&](const EntityState& s) -> Result<bool> {
    ids.push_back(s.entity_id);
    return true;
  }));
  EXPECT_EQ(ids, (std::vector<std::string>{"w1"}));
  ids.clear();
  STORE_ASSERT_OK(this->store_->ScanEntities("", "", [&](const EntityState& s) -> Result<bool> {
    ids.push_back(s.entity_id);
    return false;
  }));
  EXPECT_EQ(ids, (std::vector<std::string>{"g2"}));
  // An expired tombstone is no entity.
  this->clock_.Advance(kRetentionUs + 1);
  ids.clear();
  STORE_ASSERT_OK(this->store_->ScanEntities("", "", [&](const EntityState& s) -> Result<bool> {
    ids.push_back(s.entity_id);
    return true;
  }));
  EXPECT_EQ(ids, (std::vector<std::string>{"w1", "w3"}));
}

TYPED_TEST_P(StoreContractTest, RestoreEntityIsACompareAndSet) {
  this->Apply({Ev(ET::kCreate, "widget", "w1", 4, R"({"n":1})", 2)});
  const PositionMap positions = *this->store_->Positions();
  const AppliedMarker seen = this->Get("w1")->marker;
  EntityState target;
  target.entity_id = "w1";
  target.entity_type = "widget";
  target.payload = R"({"z":1, "a":[2]})";
  target.marker.version = 5;
  target.marker.position = LogPosition{"widget", 0, 9};
  target.marker.event_id = "widget/0@9";
  AppliedMarker wrong = seen;
  wrong.position.offset = 3;
  // The marker is not the expected one: nothing changes.
  EXPECT_FALSE(*this->store_->RestoreEntity("w1", wrong, target));
  EXPECT_FALSE(*this->store_->RestoreEntity("w1", std::nullopt, target));
  EXPECT_EQ(this->PayloadOf("w1"), R"({"n":1})");
  this->clock_.Advance(7);
  ASSERT_TRUE(*this->store_->RestoreEntity("w1", seen, target));
  auto s = this->Get("w1");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->payload, R"({"a":[2],"z":1})");  // canonical
  EXPECT_EQ(s->marker.version, 5);
  EXPECT_EQ(s->marker.position, (LogPosition{"widget", 0, 9}));
  EXPECT_EQ(s->marker.event_id, "widget/0@9");
  EXPECT_EQ(s->marker.applied_at_us, this->clock_.NowMicros());
  EXPECT_EQ(*this->store_->Positions(), positions);  // a repair moves no position
  // The old marker no longer matches: a second repair by it is refused.
  EXPECT_FALSE(*this->store_->RestoreEntity("w1", seen, target));
  // The restored marker decides like an applied one: version 4 is stale now.
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 10, R"({"n":4})", 4)),
            AC::kSkippedStale);
  // Idempotent by its own marker.
  ASSERT_TRUE(*this->store_->RestoreEntity("w1", s->marker, target));
  EXPECT_EQ(this->Get("w1")->payload, R"({"a":[2],"z":1})");
  // A tombstone, then nothing at all, then a creation from nothing.
  EntityState tomb = target;
  tomb.marker.deleted = true;
  tomb.marker.position.offset = 11;
  ASSERT_TRUE(*this->store_->RestoreEntity("w1", this->Get("w1")->marker, tomb));
  EXPECT_EQ(this->PayloadOf("w1"), "<deleted>");
  EXPECT_EQ(this->DigestNow(), StoreDigest{});
  ASSERT_TRUE(*this->store_->RestoreEntity("w1", this->Get("w1")->marker, std::nullopt));
  EXPECT_EQ(this->PayloadOf("w1"), "<missing>");
  ASSERT_TRUE(*this->store_->RestoreEntity("w1", std::nullopt, target));
  EXPECT_EQ(this->PayloadOf("w1"), R"({"a":[2],"z":1})");
  // Same content as an applied event: same digest.
  StoreDigest want;
  want.Add(EntityHash("widget", "w1", 5, R"({"a":[2],"z":1})"));
  EXPECT_EQ(this->DigestNow(), want);
  this->Reopen();  // durable
  EXPECT_EQ(this->PayloadOf("w1"), R"({"a":[2],"z":1})");
}

TYPED_TEST_P(StoreContractTest, RestoreEntityRefusesABadTarget) {
  EntityState target;
  target.entity_id = "w2";
  target.entity_type = "widget";
  target.payload = "[1]";
  Result<bool> r = this->store_->RestoreEntity("w2", std::nullopt, target);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  target.payload = "{}";
  r = this->store_->RestoreEntity("w1", std::nullopt, target);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  target.entity_type = "Bad Type";
  r = this->store_->RestoreEntity("w2", std::nullopt, target);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  EXPECT_EQ(this->PayloadOf("w2"), "<missing>");
}

REGISTER_TYPED_TEST_SUITE_P(StoreContractTest, AppliedStateIsReadBack, RedeliveredBatchIsANoOp,
                            DuplicatesInsideOneBatch,
                            ShuffledReplayWithRedeliveriesReachesTheSameState,
                            StaleVersionIsSkippedAndCounted, UnversionedEventsAreOrderedByPosition,
                            MixedVersionedAndUnversionedEvents,
                            StaleEventsAfterDeleteDoNotResurrect, NewerEventsAfterDeleteRecreate,
                            TombstonesExpireAfterRetention, UpdateMergesAndUpsertReplaces,
                            CreateOfLiveEntityReplacesAndUpdateOfMissingCreates,
                            PositionsAreRecordedWithTheBatchAndSurviveReopen,
                            CrashBetweenCommitAndAckIsHarmless,
                            PermanentErrorsLeaveNoTraceAndDoNotBlockOthers,
                            DigestIsOrderIndependentAndContentSensitive, EmptyBatchChangesNothing,
                            ScanEntitiesVisitsLiveAndTombstonesInIdOrder,
                            RestoreEntityIsACompareAndSet, RestoreEntityRefusesABadTarget);

}  // namespace tandem::store_test
