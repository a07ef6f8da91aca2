// The event module's internal helpers: RFC 3339, UUIDs and byte-level JSON.

#include <set>
#include <string>
#include <vector>

#include "event/json_text.h"
#include "event/rfc3339.h"
#include "event/uuid.h"
#include "test_util.h"

namespace tandem::event_internal {
namespace {

TEST(Rfc3339, ParsesOffsetsFractionsAndLowerCase) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:00:00-01:00"), 0);
  EXPECT_EQ(ParseRfc3339("1970-01-01t00:00:00.000001z"), 1);
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00.1234567899Z"), 123456);  // truncated
  EXPECT_EQ(ParseRfc3339("2000-02-29T00:00:00Z"), 951'782'400'000'000);
  EXPECT_EQ(ParseRfc3339("0001-01-01T00:00:00Z"), -62'135'596'800'000'000);
  EXPECT_EQ(ParseRfc3339("9999-12-31T23:59:59.999999Z"), 253'402'300'799'999'999);
}

TEST(Rfc3339, LeapSecondCountsAsTheNextSecond) {
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60Z"), ParseRfc3339("2017-01-01T00:00:00Z"));
}

TEST(Rfc3339, RejectsMalformedDates) {
  for (const char* bad :
       {"", "2024", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
        "2024-04-31T00:00:00Z", "0000-01-01T00:00:00Z", "2024-01-01T24:00:00Z",
        "2024-01-01T00:60:00Z", "2024-01-01T00:00:61Z", "2024-01-01T00:00:00",
        "2024-01-01T00:00:00+24:00", "2024-01-01T00:00:00+01", "2024-01-01T00:00:00ZZ",
        "2024-1-01T00:00:00Z", "+2024-01-01T00:00:00Z", "2024-01-01T00:00:00.Z",
        "2024-01-01T00:00:00,5Z", "２０２４-01-01T00:00:00Z"}) {
    EXPECT_EQ(ParseRfc3339(bad), std::nullopt) << bad;
  }
}

TEST(Rfc3339, FormatIsUtcMicrosAndParsesBack) {
  EXPECT_EQ(FormatRfc3339Utc(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Utc(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339Utc(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
  for (int64_t us : {int64_t{0}, int64_t{-62'135'596'800'000'000}, int64_t{951'782'400'000'001},
                     int64_t{253'402'300'799'999'999}}) {
    EXPECT_EQ(ParseRfc3339(FormatRfc3339Utc(us)), us);
  }
}

TEST(Uuid, Version4FormatAndUniqueness) {
  UuidGenerator gen(0);
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = gen.NewV4();
    ASSERT_THAT(id, ::testing::MatchesRegex(
                        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Uuid, FixedSeedIsReproducible) {
  UuidGenerator a(7), b(7), c(8);
  std::string first = a.NewV4();
  EXPECT_EQ(first, b.NewV4());
  EXPECT_NE(first, c.NewV4());
}

TEST(JsonText, AppendJsonStringEscapes) {
  std::string out;
  AppendJsonString("a\"b\\c\n\x01\x7f\xC3\xA9/", &out);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\x7f\xC3\xA9/\"");
}

TEST(JsonText, NumberGrammar) {
  for (const char* good : {"0", "-0", "1", "-12", "1.5", "0.0", "1e5", "1E+5", "1e-05", "-0.5e10",
                           "123456789012345678901234567890"}) {
    EXPECT_TRUE(IsJsonNumber(good)) << good;
  }
  for (const char* bad : {"", "-", "01", "+1", "1.", ".5", "1e", "1e+", "0x10", "NaN", "1 ", "--1",
                          "1.5.5", "Infinity"}) {
    EXPECT_FALSE(IsJsonNumber(bad)) << bad;
  }
}

TEST(JsonText, FindInvalidUtf8) {
  EXPECT_EQ(FindInvalidUtf8("plain"), 5u);
  EXPECT_EQ(FindInvalidUtf8("\xC3\xA9\xE6\x9D\xB1\xF0\x9F\x99\x82"), 9u);
  EXPECT_EQ(FindInvalidUtf8("ab\x80"), 2u);             // stray continuation
  EXPECT_EQ(FindInvalidUtf8("a\xC3"), 1u);              // truncated
  EXPECT_EQ(FindInvalidUtf8("a\xC1\x81"), 1u);          // overlong
  EXPECT_EQ(FindInvalidUtf8("a\xED\xB0\x80"), 1u);      // surrogate
  EXPECT_EQ(FindInvalidUtf8("a\xF4\x90\x80\x80"), 1u);  // above U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("a\xF8\x88\x80\x80\x80"), 1u);
}

TEST(JsonText, TopLevelMemberAt) {
  std::string_view json = R"({"a":"xy","b":{"c":["d",1]},"e\"f":2})";
  EXPECT_EQ(TopLevelMemberAt(json, json.find("xy")), "a");
  EXPECT_EQ(TopLevelMemberAt(json, json.find("\"d\"") + 1), "b");
  EXPECT_EQ(TopLevelMemberAt(json, json.find("\"c\"") + 1), "b");
  EXPECT_EQ(TopLevelMemberAt(json, json.find("2}")), "e\\\"f");
  EXPECT_EQ(TopLevelMemberAt(json, 2), "");  // inside the key "a"
  EXPECT_EQ(TopLevelMemberAt(json, 0), "");
}

TEST(JsonText, SplitJsonArray) {
  std::vector<std::string_view> items;
  ASSERT_TRUE(SplitJsonArray(R"( [ {"a":"],"} , [1,[2]] ,"x\"]" ] )", 10, &items).ok());
  EXPECT_THAT(items, ::testing::ElementsAre(R"({"a":"],"})", "[1,[2]]", R"("x\"]")"));
  ASSERT_TRUE(SplitJsonArray("[]", 10, &items).ok());
  EXPECT_TRUE(items.empty());
  ASSERT_TRUE(SplitJsonArray(R"(["a\\"])", 10, &items).ok());
  EXPECT_THAT(items, ::testing::ElementsAre(R"("a\\")"));
  EXPECT_FALSE(SplitJsonArray("[1,2", 10, &items).ok());
  EXPECT_FALSE(SplitJsonArray("{}", 10, &items).ok());
  EXPECT_EQ(SplitJsonArray("[1,2,3]", 2, &items).code(), StatusCode::kTooLarge);
}

TEST(JsonText, SplitNdjson) {
  std::vector<NdjsonLine> lines;
  ASSERT_TRUE(SplitNdjson("a\r\n\n  \nb\nc", 10, &lines).ok());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].number, 1u);
  EXPECT_EQ(lines[0].text, "a");
  EXPECT_EQ(lines[1].number, 4u);
  EXPECT_EQ(lines[2].number, 5u);
  EXPECT_EQ(lines[2].text, "c");
}

}  // namespace
}  // namespace tandem::event_internal
