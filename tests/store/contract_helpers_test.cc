// The contract helpers on their own: the newer-than rule as a table, markers,
// entity hashes, canonical JSON and merge patch (RFC 7386 appendix A).

#include <gtest/gtest.h>

#include <string>

#include "store/json_value.h"
#include "store_test_util.h"
#include "tandem/store.h"

namespace tandem::store_test {
namespace {

AppliedMarker Marker(std::optional<int64_t> version, std::string topic, uint32_t partition,
                     uint64_t offset, std::string event_id = "e") {
  AppliedMarker m;
  m.version = version;
  m.position = {std::move(topic), partition, offset};
  m.event_id = std::move(event_id);
  return m;
}

StoreEvent At(std::optional<int64_t> version, std::string topic, uint32_t partition,
              uint64_t offset, std::string event_id = "new") {
  StoreEvent e = Ev(EventType::kUpsert, "widget", "w", offset, "{}", version, partition);
  e.position.topic = std::move(topic);
  e.event.event_id = std::move(event_id);
  return e;
}

TEST(NewerThanRule, Table) {
  using F = Freshness;
  const AppliedMarker v3 = Marker(3, "t", 0, 10);
  const AppliedMarker plain = Marker(std::nullopt, "t", 0, 10);
  struct Case {
    const AppliedMarker* marker;
    StoreEvent event;
    Freshness want;
    const char* why;
  } cases[] = {
      {nullptr, At(1, "t", 0, 0), F::kNewer, "nothing applied"},
      {&v3, At(4, "t", 0, 11), F::kNewer, "higher version"},
      {&v3, At(4, "t", 0, 1), F::kNewer, "higher version, earlier offset"},
      {&v3, At(4, "u", 7, 1), F::kNewer, "higher version, other partition"},
      {&v3, At(2, "t", 0, 11), F::kStale, "late version"},
      {&v3, At(3, "t", 0, 11), F::kStale, "equal version, other event"},
      {&v3, At(3, "t", 0, 10), F::kDuplicate, "same position"},
      {&v3, At(9, "t", 0, 12, "e"), F::kDuplicate, "same event_id"},
      {&v3, At(std::nullopt, "t", 0, 11), F::kNewer, "unversioned, later offset"},
      {&v3, At(std::nullopt, "t", 0, 9), F::kStale, "unversioned, earlier offset"},
      {&plain, At(5, "t", 0, 9), F::kStale, "versioned vs unversioned marker: position"},
      {&plain, At(5, "t", 0, 11), F::kNewer, "versioned vs unversioned marker: position"},
      {&plain, At(std::nullopt, "t", 1, 11), F::kIncomparable, "other partition"},
      {&plain, At(std::nullopt, "u", 0, 11), F::kIncomparable, "other topic"},
      {&v3, At(std::nullopt, "t", 1, 11), F::kIncomparable, "unversioned, other partition"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CompareWithApplied(c.marker, c.event), c.want) << c.why;
  }
}

TEST(NewerThanRule, MarkerKeepsTheHighestVersion) {
  AppliedMarker prev = Marker(5, "t", 0, 3);
  AppliedMarker m = NextMarker(&prev, At(std::nullopt, "t", 0, 4), 77);
  EXPECT_EQ(m.version, 5);
  EXPECT_EQ(m.position.offset, 4u);
  EXPECT_EQ(m.event_id, "new");
  EXPECT_EQ(m.applied_at_us, 77);
  EXPECT_FALSE(m.deleted);
  StoreEvent del = At(7, "t", 0, 5);
  del.event.event_type = EventType::kDelete;
  m = NextMarker(&m, del, 78);
  EXPECT_EQ(m.version, 7);
  EXPECT_TRUE(m.deleted);
  EXPECT_EQ(NextMarker(nullptr, At(std::nullopt, "t", 0, 1), 0).version, std::nullopt);
}

TEST(NewerThanRule, TombstoneExpiry) {
  AppliedMarker m = Marker(1, "t", 0, 0);
  m.applied_at_us = 1000;
  EXPECT_FALSE(TombstoneExpired(m, 5000, 10));  // not a tombstone
  m.deleted = true;
  EXPECT_FALSE(TombstoneExpired(m, 1010, 10));
  EXPECT_TRUE(TombstoneExpired(m, 1011, 10));
  EXPECT_FALSE(TombstoneExpired(m, 1'000'000, -1));  // kept forever
}

TEST(EntityHash, CoversEveryField) {
  uint64_t h = EntityHash("widget", "w1", 3, R"({"a":1})");
  EXPECT_EQ(h, EntityHash("widget", "w1", 3, R"({"a":1})"));
  EXPECT_NE(h, EntityHash("gadget", "w1", 3, R"({"a":1})"));
  EXPECT_NE(h, EntityHash("widget", "w2", 3, R"({"a":1})"));
  EXPECT_NE(h, EntityHash("widget", "w1", 4, R"({"a":1})"));
  EXPECT_NE(h, EntityHash("widget", "w1", std::nullopt, R"({"a":1})"));
  EXPECT_NE(h, EntityHash("widget", "w1", 3, R"({"a":2})"));
  // Field boundaries are unambiguous.
  EXPECT_NE(EntityHash("ab", "c", 1, "{}"), EntityHash("a", "bc", 1, "{}"));
}

TEST(CanonicalJson, SortsMembersAndKeepsNumbers) {
  EXPECT_EQ(*CanonicalJson(R"( { "b" : [ 1 , 2.50, -0.0 ], "a" : { "d":null, "c":true } } )"),
            R"({"a":{"c":true,"d":null},"b":[1,2.50,-0.0]})");
  EXPECT_EQ(*CanonicalJson(R"({"a":1,"a":2})"), R"({"a":2})");  // the last duplicate wins
  EXPECT_EQ(*CanonicalJson(R"({"b":1,"a":2,"b":3})"), R"({"a":2,"b":3})");
  EXPECT_EQ(*CanonicalJson(R"("\u0001\t\"\\\u00e9")"), "\"\\u0001\\t\\\"\\\\\xc3\xa9\"");
  EXPECT_EQ(*CanonicalJson("18446744073709551616"), "18446744073709551616");
  EXPECT_EQ(*CanonicalJson("-12"), "-12");
  EXPECT_EQ(*CanonicalJson("-0"), "0");  // integers are printed in plain decimal
}

TEST(CanonicalJson, LargeObjectsAndEscapesInsideText) {
  // More members than the small-object sort handles, in reverse order, with
  // duplicates: sorted by key bytes, the last duplicate wins.
  std::string in = "{", want = "{";
  for (int i = 39; i >= 0; --i) {
    in += "\"k" + std::to_string(100 + i) + "\":" + std::to_string(i) + ",";
  }
  in += R"("k100":"last","k139":"again"})";
  for (int i = 0; i < 40; ++i) {
    const std::string value = i == 0 ? "\"last\"" : i == 39 ? "\"again\"" : std::to_string(i);
    want += "\"k" + std::to_string(100 + i) + "\":" + value + (i < 39 ? "," : "}");
  }
  EXPECT_EQ(*CanonicalJson(in), want);
  // Escapes between runs of plain text, and a text ending in one.
  EXPECT_EQ(*CanonicalJson(R"("ab\"cd\\ef\ngh\u001f")"), R"("ab\"cd\\ef\ngh\u001f")");
  // A document parsed after a larger one (the parse buffer is reused).
  EXPECT_EQ(*CanonicalJson(R"({"b":1,"a":2})"), R"({"a":2,"b":1})");
}

TEST(CanonicalJson, RefusesWhatIsNotJson) {
  for (const char* bad : {"", "{", "{\"a\":1} x", "[1,]", "{'a':1}", "1e400", "\"\xff\"", "nul"}) {
    Result<std::string> r = CanonicalJson(bad);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad;
  }
  std::string deep(200, '[');
  deep += std::string(200, ']');
  Result<std::string> r = CanonicalJson(deep);
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("nesting"), std::string::npos) << r.status().ToString();
  std::string ok(100, '[');
  ok += std::string(100, ']');
  EXPECT_TRUE(CanonicalJson(ok).ok());
}

// RFC 7386, Appendix A, applied through NextPayload(update) where the target
// is an object (the only case a store meets), plus the non-object cases
// directly on MergePatch.
TEST(MergePatch, Rfc7386Examples) {
  struct Case {
    const char* target;
    const char* patch;
    const char* want;
  } cases[] = {
      {R"({"a":"b"})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"b"})", R"({"b":"c"})", R"({"a":"b","b":"c"})"},
      {R"({"a":"b"})", R"({"a":null})", R"({})"},
      {R"({"a":"b","b":"c"})", R"({"a":null})", R"({"b":"c"})"},
      {R"({"a":["b"]})", R"({"a":"c"})", R"({"a":"c"})"},
      {R"({"a":"c"})", R"({"a":["b"]})", R"({"a":["b"]})"},
      {R"({"a":{"b":"c"}})", R"({"a":{"b":"d","c":null}})", R"({"a":{"b":"d"}})"},
      {R"({"a":[{"b":"c"}]})", R"({"a":[1]})", R"({"a":[1]})"},
      {R"({"e":null})", R"({"a":1})", R"({"a":1,"e":null})"},
      {R"({})", R"({"a":{"bb":{"ccc":null}}})", R"({"a":{"bb":{}}})"},
  };
  for (const Case& c : cases) {
    Result<std::string> got = NextPayload(EventType::kUpdate, std::string(c.target), c.patch);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, c.want) << c.target << " + " << c.patch;
  }
  using store_internal::ParseJson;
  using store_internal::ToCanonicalJson;
  for (auto [t, p, w] : {std::tuple{"[1,2]", R"({"a":"b","c":null})", R"({"a":"b"})"},
                         std::tuple{R"({"a":"foo"})", "null", "null"},
                         std::tuple{R"({"a":"foo"})", R"("bar")", R"("bar")"},
                         std::tuple{R"(["a","b"])", R"(["c","d"])", R"(["c","d"])"}}) {
    auto target = ParseJson(t);
    ASSERT_TRUE(target.ok());
    store_internal::MergePatch(&*target, *ParseJson(p));
    EXPECT_EQ(ToCanonicalJson(*target), w) << t << " + " << p;
  }
}

TEST(NextPayload, ByEventType) {
  const std::optional<std::string> cur = R"({"a":1})";
  EXPECT_EQ(*NextPayload(EventType::kUpsert, cur, R"({"b":null})"), R"({"b":null})");
  EXPECT_EQ(*NextPayload(EventType::kCreate, cur, R"({"b":2})"), R"({"b":2})");
  EXPECT_EQ(*NextPayload(EventType::kUpdate, cur, R"({"b":2})"), R"({"a":1,"b":2})");
  EXPECT_EQ(*NextPayload(EventType::kUpdate, std::nullopt, R"({"b":null,"c":3})"), R"({"c":3})");
  EXPECT_EQ(*NextPayload(EventType::kDelete, cur, "ignored"), "{}");
  Result<std::string> bad = NextPayload(EventType::kUpsert, cur, "[1]");
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_EQ(bad.status().message(), "payload: must be a JSON object, got array");
  EXPECT_TRUE(NextPayload(EventType::kUpdate, std::string("{bad"), "{}").status().IsCorruption());
}

TEST(ValidateStoreEvent, StructuralChecks) {
  STORE_EXPECT_OK(ValidateStoreEvent(Ev(EventType::kCreate, "w_1", "id", 0)));
  StoreEvent e = Ev(EventType::kCreate, "widget", "", 0);
  EXPECT_TRUE(ValidateStoreEvent(e).IsInvalidArgument());
  e.event.entity_id = std::string(kMaxStoreEntityIdBytes + 1, 'x');
  EXPECT_TRUE(ValidateStoreEvent(e).IsInvalidArgument());
  e.event.entity_id = std::string(kMaxStoreEntityIdBytes, 'x');
  STORE_EXPECT_OK(ValidateStoreEvent(e));
  for (const char* t : {"", "1abc", "Abc", "a-b", "a b"}) {
    e.event.entity_type = t;
    EXPECT_TRUE(ValidateStoreEvent(e).IsInvalidArgument()) << t;
  }
  e.event.entity_type = std::string(65, 'a');
  EXPECT_TRUE(ValidateStoreEvent(e).IsInvalidArgument());
  e.event.entity_type = "ok";
  e.position.topic.clear();
  EXPECT_TRUE(ValidateStoreEvent(e).IsInvalidArgument());
}

}  // namespace
}  // namespace tandem::store_test
