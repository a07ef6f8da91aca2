// Serialize writes canonical JSON, and Parse(Serialize(e)) == e.

#include <random>
#include <string>

#include "event/rfc3339.h"
#include "test_util.h"

namespace tandem {
namespace {

using testing::ErrorOf;
using testing::FixedClock;

TEST(Serialize, CanonicalMemberOrderAndOmittedOptionals) {
  EntityEvent e;
  e.event_id = "e1";
  e.event_type = EventType::kDelete;
  e.entity_type = "account";
  e.entity_id = "a\"1";
  e.timestamp = "2024-01-01T00:00:00Z";
  EXPECT_EQ(Serialize(e), R"({"event_id":"e1","event_type":"delete","entity_type":"account",)"
                          R"("entity_id":"a\"1","timestamp":"2024-01-01T00:00:00Z","payload":{}})");
  e.version = 4;
  e.source = "crm";
  e.text_for_embedding = "line\nbreak\x01";
  e.cloudevent = CloudEventOrigin{"i", "s", "t"};
  e.payload = R"({"k":[1]})";
  EXPECT_EQ(Serialize(e),
            R"({"event_id":"e1","event_type":"delete","entity_type":"account",)"
            R"("entity_id":"a\"1","timestamp":"2024-01-01T00:00:00Z","version":4,)"
            R"("source":"crm","text_for_embedding":"line\nbreak\u0001",)"
            R"("cloudevent":{"id":"i","source":"s","type":"t"},"payload":{"k":[1]}})");
}

TEST(Serialize, ParsedEventRoundTripsExactly) {
  FixedClock clock;
  EventParser parser(clock, testing::TestOptions());
  auto e = parser.Parse(R"({ "entity_id" : "p\u00e9", "payload" : { "a" : [ 1 , 2.50 ] },
      "event_type" : "update", "entity_type" : "person", "text_for_embedding" : null })");
  ASSERT_TRUE(e.ok()) << ErrorOf(e);
  std::string line = Serialize(*e);
  auto again = parser.Parse(line);
  ASSERT_TRUE(again.ok()) << ErrorOf(again);
  EXPECT_EQ(*again, *e);
  EXPECT_EQ(Serialize(*again), line);  // canonical: a fixed point
}

// A random string drawn from ASCII, control characters, escapes-worthy
// characters and multi-byte UTF-8.
std::string RandomText(std::mt19937_64& rng, size_t max_len) {
  static const char* const kPieces[] = {
      "a",  "Z",  "0",    " ",    "\"",       "\\",           "/",
      "\n", "\t", "\x01", "\x1f", "\xC3\xA9", "\xE6\x9D\xB1", "\xF0\x9F\x99\x82",
      "{",  "]",  ",",    ":"};
  std::string out;
  size_t len = rng() % (max_len + 1);
  while (out.size() < len) out += kPieces[rng() % std::size(kPieces)];
  return out;
}

std::string RandomPayload(std::mt19937_64& rng) {
  std::string p = "{";
  size_t members = rng() % 5;
  for (size_t i = 0; i < members; ++i) {
    if (i) p += ",";
    p += "\"k" + std::to_string(i) + "\":";
    switch (rng() % 5) {
      case 0:
        p += std::to_string(static_cast<int64_t>(rng()));
        break;
      case 1:
        p += "[1.5e-3,true,null,{\"x\":[]}]";
        break;
      case 2:
        p += "\"\\u00e9\\n\"";
        break;
      case 3:
        p += "{\"deep\":{\"deeper\":[[[]]]}}";
        break;
      default:
        p += "-0.0";
        break;
    }
  }
  return p + "}";
}

EntityEvent RandomEvent(std::mt19937_64& rng) {
  EntityEvent e;
  e.event_id = "ev-" + std::to_string(rng() % 1000000) + RandomText(rng, 10);
  e.event_type = static_cast<EventType>(rng() % 4);
  e.entity_type =
      std::string(1, static_cast<char>('a' + rng() % 26)) + "_t" + std::to_string(rng() % 100);
  e.entity_id = "id" + RandomText(rng, 40);
  e.payload = RandomPayload(rng);
  if (rng() % 2) e.text_for_embedding = RandomText(rng, 80);
  e.timestamp_us = static_cast<int64_t>(rng() % 253'402'300'800'000'000);  // to year 9999
  e.timestamp = event_internal::FormatRfc3339Utc(e.timestamp_us);
  if (rng() % 2) e.version = 1 + static_cast<int64_t>(rng() % INT64_MAX);
  if (rng() % 2) e.source = RandomText(rng, 20);
  return e;
}

TEST(Serialize, ManyGeneratedEventsRoundTrip) {
  FixedClock clock;
  EventParser parser(clock, testing::TestOptions());
  std::mt19937_64 rng(20240501);
  for (int i = 0; i < 2000; ++i) {
    EntityEvent e = RandomEvent(rng);
    std::string line = Serialize(e);
    auto back = parser.Parse(line);
    ASSERT_TRUE(back.ok()) << ErrorOf(back) << "\n" << line;
    ASSERT_EQ(*back, e) << line;
  }
}

TEST(Serialize, EqualityComparesEveryField) {
  EntityEvent a;
  a.event_id = "1";
  EntityEvent b = a;
  EXPECT_EQ(a, b);
  b.text_for_embedding = "";
  EXPECT_NE(a, b);
  b = a;
  b.timestamp_us = 1;
  EXPECT_NE(a, b);
  b = a;
  b.cloudevent = CloudEventOrigin{};
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace tandem
