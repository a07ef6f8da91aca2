// ParseBatch: JSON arrays and NDJSON bodies, where every item stands alone.

#include <string>

#include "test_util.h"

namespace tandem {
namespace {

using testing::ErrorOf;
using testing::FixedClock;
using ::testing::HasSubstr;

std::string Event(std::string_view id) {
  return R"({"event_type":"create","entity_type":"person","entity_id":")" + std::string(id) +
         R"("})";
}

class BatchTest : public ::testing::Test {
 protected:
  FixedClock clock_;
  EventParser parser_{clock_, testing::TestOptions()};
};

TEST_F(BatchTest, ArrayWithOneBadItemInTheMiddle) {
  std::string body = "[" + Event("p0") + ",\n " +
                     R"({"event_type":"merge","entity_type":"person"})" + ", " + Event("p2") + "]";
  auto r = parser_.ParseBatch(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].position, 0u);
  EXPECT_EQ((*r)[0].event->entity_id, "p0");
  EXPECT_EQ((*r)[1].position, 1u);
  EXPECT_EQ(ErrorOf((*r)[1].event),
            R"(item 1: event_type: unknown value "merge" (expected create, update, upsert, )"
            R"(delete); entity_id: required)");
  EXPECT_EQ((*r)[2].event->entity_id, "p2");
}

TEST_F(BatchTest, ArrayItemWithBrokenJsonDoesNotHideTheOthers) {
  std::string body = "[" + Event("p0") + R"(, {"event_type": tru, "x": [1,2]}, )" + Event("p2") +
                     ", \"\xFF\", 17, " + Event("p5") + "]";
  auto r = parser_.ParseBatch(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 6u);
  EXPECT_TRUE((*r)[0].event.ok());
  EXPECT_THAT(ErrorOf((*r)[1].event), HasSubstr("item 1: (document): invalid JSON at byte"));
  EXPECT_TRUE((*r)[2].event.ok());
  EXPECT_EQ(ErrorOf((*r)[3].event), "item 3: (document): invalid UTF-8 at byte 1");
  EXPECT_EQ(ErrorOf((*r)[4].event), "item 4: (document): must be a JSON object, got number");
  EXPECT_EQ((*r)[5].event->entity_id, "p5");
}

TEST_F(BatchTest, NdjsonWithOneBadLineInTheMiddle) {
  std::string body = Event("p1") + "\n" + Event("p2") + "\r\n\n   \n" +
                     R"({"event_type":"create"})" + "\n" + Event("p6");  // no final newline
  auto r = parser_.ParseBatch(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].position, 1u);
  EXPECT_EQ((*r)[1].position, 2u);
  EXPECT_EQ((*r)[1].event->entity_id, "p2");
  EXPECT_EQ((*r)[2].position, 5u);
  EXPECT_EQ(ErrorOf((*r)[2].event), "line 5: entity_type: required; entity_id: required");
  EXPECT_EQ((*r)[3].position, 6u);
  EXPECT_EQ((*r)[3].event->entity_id, "p6");
}

TEST_F(BatchTest, NdjsonLineWithBrokenJsonOrUtf8) {
  std::string body = Event("p1") + "\n{\"a\":\n" + "{\"event_type\":\"\xC3\"}\n" + Event("p4");
  auto r = parser_.ParseBatch(body);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 4u);
  EXPECT_THAT(ErrorOf((*r)[1].event), HasSubstr("line 2: (document): invalid JSON"));
  EXPECT_EQ(ErrorOf((*r)[2].event), "line 3: event_type: invalid UTF-8 at byte 15");
  EXPECT_TRUE((*r)[3].event.ok());
}

TEST_F(BatchTest, ExplicitFramingOverridesDetection) {
  std::string body = "[" + Event("p1") + "]";
  auto r = parser_.ParseBatch(body, EventFormat::kNative, BatchFraming::kNdjson);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(ErrorOf((*r)[0].event), "line 1: (document): must be a JSON object, got array");
  auto bad = parser_.ParseBatch(Event("p1"), EventFormat::kNative, BatchFraming::kJsonArray);
  EXPECT_THAT(bad.status().message(), HasSubstr("(batch): expected '['"));
}

TEST_F(BatchTest, EmptyBodies) {
  EXPECT_TRUE(parser_.ParseBatch("[]")->empty());
  EXPECT_TRUE(parser_.ParseBatch(" [ ] \n")->empty());
  EXPECT_TRUE(parser_.ParseBatch("")->empty());
  EXPECT_TRUE(parser_.ParseBatch("\n\n")->empty());
}

TEST_F(BatchTest, UnsplittableArraysFailAsAWhole) {
  EXPECT_EQ(parser_.ParseBatch("[" + Event("p1")).status().message(),
            "(batch): the array is not closed at byte " + std::to_string(Event("p1").size() + 1));
  EXPECT_THAT(parser_.ParseBatch(R"([{"a":"open string]})").status().message(),
              HasSubstr("(batch): unterminated string"));
  EXPECT_THAT(parser_.ParseBatch("[" + Event("p1") + "] x").status().message(),
              HasSubstr("(batch): trailing content after the array"));
  EXPECT_THAT(parser_.ParseBatch("[}]").status().message(), HasSubstr("(batch): unbalanced '}'"));
}

TEST_F(BatchTest, EmptyArrayElementIsAnItemError) {
  auto r = parser_.ParseBatch("[" + Event("p1") + ",," + Event("p3") + "]");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(ErrorOf((*r)[1].event), "item 1: (document): empty, expected a JSON object");
  EXPECT_TRUE((*r)[2].event.ok());
}

TEST_F(BatchTest, StringsWithBracketsAndEscapedQuotesDoNotConfuseSplitting) {
  std::string tricky = R"({"event_type":"create","entity_type":"a","entity_id":"x],\"{[\\",)"
                       R"("payload":{"s":"}]\\\"]"}})";
  auto r = parser_.ParseBatch("[" + tricky + "," + Event("p2") + "]");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 2u);
  ASSERT_TRUE((*r)[0].event.ok()) << ErrorOf((*r)[0].event);
  EXPECT_EQ((*r)[0].event->entity_id, "x],\"{[\\");
  EXPECT_TRUE((*r)[1].event.ok());
}

TEST_F(BatchTest, ItemAndBatchLimits) {
  EventParserOptions o = testing::TestOptions();
  o.limits.max_batch_items = 2;
  o.limits.max_event_bytes = 80;
  o.limits.max_batch_bytes = 400;
  EventParser p(clock_, o);
  std::string big =
      R"({"event_type":"create","entity_type":"a","entity_id":")" + std::string(40, 'x') + "\"}";
  auto r = p.ParseBatch("[" + Event("p1") + "," + big + "]");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)[0].event.ok());
  EXPECT_EQ((*r)[1].event.status().code(), StatusCode::kTooLarge);
  EXPECT_THAT(ErrorOf((*r)[1].event), HasSubstr("item 1: (document): 96 bytes exceeds limit 80"));
  std::string three = "[" + Event("a") + "," + Event("b") + "," + Event("c") + "]";
  EXPECT_EQ(p.ParseBatch(three).status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(p.ParseBatch(Event("a") + "\n" + Event("b") + "\n" + Event("c")).status().message(),
            "(batch): more than 2 lines");
  auto huge = p.ParseBatch(std::string(401, ' '));
  EXPECT_EQ(huge.status().message(), "(batch): 401 bytes exceeds limit 400");
}

TEST_F(BatchTest, CloudEventsBatch) {
  std::string ce = R"({"specversion":"1.0","id":"1","source":"s","type":"t","subject":"x",
                       "entitytype":"account","eventtype":"create","data":{"iban":"DE00"}})";
  std::string bad = R"({"specversion":"1.0","id":"2","source":"s","type":"t"})";
  auto r = parser_.ParseBatch("[" + ce + "," + bad + "]", EventFormat::kCloudEvent);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].event->payload, R"({"iban":"DE00"})");
  EXPECT_EQ(ErrorOf((*r)[1].event),
            "item 1: subject: required; entitytype: required; eventtype: required");
}

}  // namespace
}  // namespace tandem
