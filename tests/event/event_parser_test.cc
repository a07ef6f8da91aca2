// EventParser on the native format: what is accepted, how it is normalised,
// and the message for each kind of bad input.

#include <string>

#include "test_util.h"

namespace tandem {
namespace {

using testing::ErrorOf;
using testing::FixedClock;
using ::testing::HasSubstr;

class EventParserTest : public ::testing::Test {
 protected:
  Result<EntityEvent> Parse(std::string_view json) { return parser_.Parse(json); }
  // A valid event with `extra` members spliced in before the closing brace.
  static std::string With(std::string_view extra) {
    std::string json = R"({"event_type":"create","entity_type":"person","entity_id":"p1")";
    if (!extra.empty()) json += "," + std::string(extra);
    return json + "}";
  }

  FixedClock clock_;
  EventParser parser_{clock_, testing::TestOptions()};
};

TEST_F(EventParserTest, ValidEventKeepsEveryField) {
  auto r = Parse(R"({"event_id":"e-1","event_type":"upsert","entity_type":"person",
      "entity_id":"p1","payload":{ "name" : "Ada", "tags":[1, 2.5e3, true, null] },
      "text_for_embedding":"Ada, mathematician","timestamp":"2024-05-01T12:00:00.25+02:00",
      "version":7,"source":"crm"})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->event_id, "e-1");
  EXPECT_EQ(r->event_type, EventType::kUpsert);
  EXPECT_EQ(r->entity_type, "person");
  EXPECT_EQ(r->entity_id, "p1");
  EXPECT_EQ(r->payload, R"({"name":"Ada","tags":[1,2.5e3,true,null]})");
  EXPECT_EQ(r->text_for_embedding, "Ada, mathematician");
  EXPECT_EQ(r->timestamp, "2024-05-01T12:00:00.25+02:00");
  EXPECT_EQ(r->timestamp_us, 1'714'557'600'250'000);
  EXPECT_EQ(r->version, 7);
  EXPECT_EQ(r->source, "crm");
  EXPECT_FALSE(r->cloudevent.has_value());
}

TEST_F(EventParserTest, MissingOptionalFieldsGetDefaults) {
  auto r = Parse(With(""));
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->payload, "{}");
  EXPECT_EQ(r->timestamp, testing::kFixedNowText);
  EXPECT_EQ(r->timestamp_us, FixedClock::kNow);
  EXPECT_FALSE(r->version.has_value());
  EXPECT_FALSE(r->text_for_embedding.has_value());
  EXPECT_EQ(r->source, "");
  EXPECT_THAT(r->event_id,
              ::testing::MatchesRegex(
                  "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
}

TEST_F(EventParserTest, GeneratedEventIdsDiffer) {
  auto a = Parse(With(""));
  auto b = Parse(With(""));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->event_id, b->event_id);
}

TEST_F(EventParserTest, UnseededParsersGenerateDifferentIds) {
  EventParser p1(clock_), p2(clock_);
  auto a = p1.Parse(With(""));
  auto b = p2.Parse(With(""));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->event_id, b->event_id);
}

TEST_F(EventParserTest, AllEventTypesAreAccepted) {
  for (auto [name, type] : {std::pair{"create", EventType::kCreate},
                            {"update", EventType::kUpdate},
                            {"upsert", EventType::kUpsert},
                            {"delete", EventType::kDelete}}) {
    auto r =
        Parse(R"({"event_type":")" + std::string(name) + R"(","entity_type":"a","entity_id":"x"})");
    ASSERT_TRUE(r.ok()) << name << ": " << ErrorOf(r);
    EXPECT_EQ(r->event_type, type);
  }
}

TEST_F(EventParserTest, UnknownEventTypeIsNamed) {
  auto r = Parse(R"({"event_type":"merge","entity_type":"a","entity_id":"x"})");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_EQ(r.status().message(),
            R"(event_type: unknown value "merge" (expected create, update, upsert, delete))");
}

TEST_F(EventParserTest, EventTypeIsCaseSensitive) {
  auto r = Parse(R"({"event_type":"Create","entity_type":"a","entity_id":"x"})");
  EXPECT_THAT(ErrorOf(r), HasSubstr(R"(event_type: unknown value "Create")"));
}

TEST_F(EventParserTest, DeleteWithoutPayloadHasEmptyObject) {
  auto r = Parse(R"({"event_type":"delete","entity_type":"account","entity_id":"a9"})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->event_type, EventType::kDelete);
  EXPECT_EQ(r->payload, "{}");
}

TEST_F(EventParserTest, NullPayloadMeansAbsent) {
  auto r = Parse(With(R"("payload":null)"));
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->payload, "{}");
}

TEST_F(EventParserTest, TextForEmbeddingNullAbsentAndString) {
  auto absent = Parse(With(""));
  auto null = Parse(With(R"("text_for_embedding":null)"));
  auto empty = Parse(With(R"("text_for_embedding":"")"));
  auto text = Parse(With(R"("text_for_embedding":"a \"quoted\" line\n")"));
  ASSERT_TRUE(absent.ok() && null.ok() && empty.ok() && text.ok());
  EXPECT_EQ(absent->text_for_embedding, std::nullopt);
  EXPECT_EQ(null->text_for_embedding, std::nullopt);
  EXPECT_EQ(empty->text_for_embedding, std::optional<std::string>(""));
  EXPECT_EQ(text->text_for_embedding, std::optional<std::string>("a \"quoted\" line\n"));
}

TEST_F(EventParserTest, TextForEmbeddingOfWrongType) {
  EXPECT_EQ(ErrorOf(Parse(With(R"("text_for_embedding":42)"))),
            "text_for_embedding: must be a string, got number");
}

TEST_F(EventParserTest, MissingRequiredFieldsAreAllReported) {
  EXPECT_EQ(ErrorOf(Parse(R"({"payload":{}})")),
            "event_type: required; entity_type: required; entity_id: required");
}

TEST_F(EventParserTest, NullRequiredFieldIsATypeError) {
  EXPECT_EQ(ErrorOf(Parse(R"({"event_type":"create","entity_type":"a","entity_id":null})")),
            "entity_id: must be a string, got null");
}

TEST_F(EventParserTest, WrongTypePerField) {
  struct Case {
    const char* member;
    const char* message;
  } cases[] = {
      {R"("event_id":7)", "event_id: must be a string, got number"},
      {R"("payload":[1,2])", "payload: must be a JSON object, got array"},
      {R"("payload":"{}")", "payload: must be a JSON object, got string"},
      {R"("timestamp":1700000000)", "timestamp: must be a string, got number"},
      {R"("version":"3")", "version: must be an integer >= 1, got string"},
      {R"("source":{"a":1})", "source: must be a string, got object"},
      {R"("text_for_embedding":true)", "text_for_embedding: must be a string, got boolean"},
  };
  for (const Case& c : cases) EXPECT_EQ(ErrorOf(Parse(With(c.member))), c.message) << c.member;
  EXPECT_EQ(ErrorOf(Parse(R"({"event_type":1,"entity_type":"a","entity_id":"x"})")),
            "event_type: must be a string, got number");
  EXPECT_EQ(ErrorOf(Parse(R"({"event_type":"create","entity_type":[],"entity_id":"x"})")),
            "entity_type: must be a string, got array");
  EXPECT_EQ(ErrorOf(Parse(R"({"event_type":"create","entity_type":"a","entity_id":5})")),
            "entity_id: must be a string, got number");
}

TEST_F(EventParserTest, MultipleFieldErrorsInOneMessage) {
  auto r = Parse(R"({"event_type":"merge","entity_type":"Person","entity_id":"",
                     "version":-3,"payload":[]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            R"(event_type: unknown value "merge" (expected create, update, upsert, delete); )"
            R"(entity_type: must match [a-z][a-z0-9_]{0,63}, got "Person"; )"
            "entity_id: must be 1..256 bytes, got 0; "
            "version: must be an integer >= 1, got -3; "
            "payload: must be a JSON object, got array");
}

TEST_F(EventParserTest, EntityTypePattern) {
  for (const char* good : {"a", "person", "bank_account2",
                           "a234567890123456789012345678901234567890"
                           "123456789012345678901234"}) {
    auto r = Parse(R"({"event_type":"create","entity_type":")" + std::string(good) +
                   R"(","entity_id":"x"})");
    EXPECT_TRUE(r.ok()) << good << ": " << ErrorOf(r);
  }
  for (const char* bad : {"", "Person", "1abc", "_a", "a-b", "a b", "émile",
                          "a2345678901234567890123456789012345678901234567890123456789012345"}) {
    auto r = Parse(R"({"event_type":"create","entity_type":")" + std::string(bad) +
                   R"(","entity_id":"x"})");
    EXPECT_THAT(ErrorOf(r), HasSubstr("entity_type: must match [a-z][a-z0-9_]{0,63}")) << bad;
  }
}

TEST_F(EventParserTest, EntityIdLengthLimits) {
  auto id = [&](size_t n) {
    return Parse(R"({"event_type":"create","entity_type":"a","entity_id":")" + std::string(n, 'x') +
                 R"("})");
  };
  EXPECT_TRUE(id(1).ok());
  EXPECT_TRUE(id(256).ok());
  EXPECT_EQ(ErrorOf(id(0)), "entity_id: must be 1..256 bytes, got 0");
  EXPECT_EQ(ErrorOf(id(300)), "entity_id: must be 1..256 bytes, got 300");
  EXPECT_TRUE(id(300).status().IsInvalidArgument());
}

TEST_F(EventParserTest, EntityIdLimitIsConfigurable) {
  EventParserOptions o = testing::TestOptions();
  o.limits.max_entity_id_bytes = 4;
  EventParser p(clock_, o);
  EXPECT_TRUE(p.Parse(R"({"event_type":"create","entity_type":"a","entity_id":"abcd"})").ok());
  EXPECT_EQ(ErrorOf(p.Parse(R"({"event_type":"create","entity_type":"a","entity_id":"abcde"})")),
            "entity_id: must be 1..4 bytes, got 5");
}

TEST_F(EventParserTest, EntityIdEscapesAreDecoded) {
  auto r = Parse(R"({"event_type":"create","entity_type":"a","entity_id":"caf\u00e9\/\"1\""})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->entity_id, "caf\xC3\xA9/\"1\"");
}

TEST_F(EventParserTest, VersionRules) {
  EXPECT_EQ(Parse(With(R"("version":1)"))->version, 1);
  EXPECT_EQ(Parse(With(R"("version":9223372036854775807)"))->version, INT64_MAX);
  EXPECT_EQ(Parse(With(R"("version":null)"))->version, std::nullopt);
  EXPECT_EQ(ErrorOf(Parse(With(R"("version":0)"))), "version: must be an integer >= 1, got 0");
  EXPECT_EQ(ErrorOf(Parse(With(R"("version":-3)"))), "version: must be an integer >= 1, got -3");
  EXPECT_EQ(ErrorOf(Parse(With(R"("version":1.5)"))), "version: must be an integer >= 1, got 1.5");
  EXPECT_EQ(ErrorOf(Parse(With(R"("version":2.0)"))), "version: must be an integer >= 1, got 2.0");
  EXPECT_EQ(ErrorOf(Parse(With(R"("version":1e3)"))), "version: must be an integer >= 1, got 1e3");
  EXPECT_EQ(ErrorOf(Parse(With(R"("version":99999999999999999999)"))),
            "version: must be an integer >= 1, got 99999999999999999999");
  EXPECT_EQ(ErrorOf(Parse(With(R"("version":true)"))),
            "version: must be an integer >= 1, got boolean");
}

TEST_F(EventParserTest, TimestampAbsentIsStampedFromTheClock) {
  auto r = Parse(With(R"("timestamp":null)"));
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->timestamp, testing::kFixedNowText);
  EXPECT_EQ(r->timestamp_us, FixedClock::kNow);
}

TEST_F(EventParserTest, TimestampGivenIsKeptAsWritten) {
  auto r = Parse(With(R"("timestamp":"1970-01-01t00:00:01z")"));
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->timestamp, "1970-01-01t00:00:01z");
  EXPECT_EQ(r->timestamp_us, 1'000'000);
}

TEST_F(EventParserTest, InvalidTimestampsAreRejected) {
  for (const char* bad : {"yesterday", "2024-02-30T00:00:00Z", "2024-01-01", "2024-01-01T25:00:00Z",
                          "2024-01-01T00:00:00", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00.Z",
                          "2024-01-01T00:00:00+0100", ""}) {
    EXPECT_THAT(ErrorOf(Parse(With(R"("timestamp":")" + std::string(bad) + "\""))),
                HasSubstr("timestamp: must be an RFC 3339 date-time"))
        << bad;
  }
}

TEST_F(EventParserTest, EventIdLimits) {
  EXPECT_EQ(ErrorOf(Parse(With(R"("event_id":"")"))), "event_id: must be 1..128 bytes, got 0");
  EXPECT_EQ(ErrorOf(Parse(With(R"("event_id":")" + std::string(129, 'e') + "\""))),
            "event_id: must be 1..128 bytes, got 129");
  EXPECT_EQ(Parse(With(R"("event_id":null)"))->event_id.size(), 36u);
}

TEST_F(EventParserTest, MalformedJsonNamesTheByte) {
  auto r = Parse(R"({"event_type":"create","entity_type":"a" "entity_id":"x"})");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_THAT(r.status().message(), HasSubstr("(document): invalid JSON at byte 41: "));
}

TEST_F(EventParserTest, MalformedJsonVariants) {
  for (const char* bad :
       {R"({"event_type":"create",})", R"({"event_type")", R"({"a":tru})", R"({"a":01})",
        R"({"a":1.})", R"({"a":"\q"})", R"({"a":[1,]})", R"({"a":{"b":1}}})", R"({"a":1} {"b":2})",
        R"({"a":nul})", R"({"a":"unterminated})", "{\"a\":\"tab\there\"}", R"({"a":-})",
        R"({"a":[1 2]})", R"({"payload":{"k":}})", R"({"a":"\ud800"})"}) {
    auto r = Parse(bad);
    EXPECT_THAT(ErrorOf(r), HasSubstr("invalid JSON")) << bad;
  }
}

TEST_F(EventParserTest, NonObjectDocuments) {
  EXPECT_EQ(ErrorOf(Parse("[]")), "(document): must be a JSON object, got array");
  EXPECT_EQ(ErrorOf(Parse("42")), "(document): must be a JSON object, got number");
  EXPECT_EQ(ErrorOf(Parse("\"x\"")), "(document): must be a JSON object, got string");
  EXPECT_EQ(ErrorOf(Parse("")), "(document): empty, expected a JSON object");
  EXPECT_EQ(ErrorOf(Parse("  \n")), "(document): empty, expected a JSON object");
}

TEST_F(EventParserTest, InvalidUtf8InEntityIdNamesTheField) {
  std::string json = R"({"event_type":"create","entity_type":"a","entity_id":"ab)";
  json += "\xC3\x28";  // a lead byte followed by a non-continuation byte
  json += "\"}";
  EXPECT_EQ(ErrorOf(Parse(json)), "entity_id: invalid UTF-8 at byte 56");
}

TEST_F(EventParserTest, InvalidUtf8InsidePayloadNamesPayload) {
  std::string json = With(R"("payload":{"name":{"first":")" + std::string("\xFF\xFE") + "\"}}");
  EXPECT_THAT(ErrorOf(Parse(json)), HasSubstr("payload: invalid UTF-8 at byte "));
}

TEST_F(EventParserTest, InvalidUtf8InAKeyIsADocumentError) {
  std::string json = With("\"pay\xED\xA0\x80load\":{}");  // an encoded surrogate
  EXPECT_THAT(ErrorOf(Parse(json)), HasSubstr("(document): invalid UTF-8 at byte "));
}

TEST_F(EventParserTest, OverlongAndSurrogateEncodingsAreRejected) {
  for (std::string bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80"}) {
    EXPECT_THAT(ErrorOf(Parse(With(R"("source":")" + bad + "\""))),
                HasSubstr("source: invalid UTF-8"));
  }
}

TEST_F(EventParserTest, ValidMultibyteUtf8IsKept) {
  auto r = Parse(R"({"event_type":"create","entity_type":"a","entity_id":"Zoë-東京-🙂"})");
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->entity_id, "Zoë-東京-🙂");
}

TEST_F(EventParserTest, OversizeEventIsTooLargeBeforeParsing) {
  EventParserOptions o = testing::TestOptions();
  o.limits.max_event_bytes = 100;
  EventParser p(clock_, o);
  std::string json = With(R"("source":")" + std::string(200, 's') + "\"");
  auto r = p.Parse(json);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(r.status().message(),
            "(document): " + std::to_string(json.size()) + " bytes exceeds limit 100");
  // Not even JSON: the size is checked first.
  EXPECT_EQ(p.Parse(std::string(101, '{')).status().code(), StatusCode::kTooLarge);
}

TEST_F(EventParserTest, DefaultSizeLimitIsOneMebibyte) {
  std::string big(size_t{1} << 20, ' ');
  EXPECT_EQ(Parse(With("") + big).status().code(), StatusCode::kTooLarge);
  EXPECT_TRUE(Parse(With("") + big.substr(0, big.size() - With("").size())).ok());
}

std::string Nested(size_t payload_depth) {
  std::string open, close;
  for (size_t i = 0; i < payload_depth; ++i) {
    open += i + 1 < payload_depth ? R"({"a":)" : "{";
    close += "}";
  }
  return R"({"event_type":"create","entity_type":"a","entity_id":"x","payload":)" + open + close +
         "}";
}

TEST_F(EventParserTest, NestingDepth64IsAccepted) {
  auto r = Parse(Nested(63));  // the event object is depth 1
  EXPECT_TRUE(r.ok()) << ErrorOf(r);
}

TEST_F(EventParserTest, NestingDepth65IsRejected) {
  auto r = Parse(Nested(64));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "(document): nesting depth 65 exceeds limit 64");
}

TEST_F(EventParserTest, DepthCountsArraysAndUnknownMembersToo) {
  std::string deep_array = std::string(64, '[') + std::string(64, ']');
  EXPECT_EQ(ErrorOf(Parse(With(R"("payload":{"a":)" + deep_array + "}"))),
            "(document): nesting depth 65 exceeds limit 64");
  EXPECT_EQ(ErrorOf(Parse(With(R"("source":)" + deep_array))),
            "(document): nesting depth 65 exceeds limit 64");
}

TEST_F(EventParserTest, VeryDeepInputDoesNotCrash) {
  std::string json = With(R"("payload":)" + std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_THAT(ErrorOf(Parse(json)), HasSubstr("nesting depth 65 exceeds limit 64"));
}

TEST_F(EventParserTest, PayloadIsMinifiedButTokensAreKeptVerbatim) {
  auto r = Parse(With(R"("payload" : {
      "amount" : 1.50, "big" : 123456789012345678901234567890, "e" : 1E+2,
      "s" : "a \u00e9 \" b", "k\u0041" : [ ], "o" : { } })"));
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->payload, R"({"amount":1.50,"big":123456789012345678901234567890,"e":1E+2,)"
                        R"("s":"a \u00e9 \" b","kA":[],"o":{}})");
}

TEST_F(EventParserTest, PayloadValidationCoversEveryNestedValue) {
  EXPECT_THAT(ErrorOf(Parse(With(R"("payload":{"a":[{"b":[1,{"c":tru}]}]})"))),
              HasSubstr("invalid JSON"));
  EXPECT_THAT(ErrorOf(Parse(With(R"("payload":{"a":[{"b":[1,{"c":"\x"}]}]})"))),
              HasSubstr("invalid JSON"));
}

TEST_F(EventParserTest, UnknownFieldsAreRejectedWithAHint) {
  EXPECT_EQ(ErrorOf(Parse(With(R"("text_for_embeding":"x")"))),
            "text_for_embeding: unknown field (did you mean text_for_embedding?)");
  EXPECT_EQ(ErrorOf(Parse(With(R"("colour":"red")"))), "colour: unknown field");
}

TEST_F(EventParserTest, UnknownFieldsCanBeAllowed) {
  EventParserOptions o = testing::TestOptions();
  o.allow_unknown_fields = true;
  EventParser p(clock_, o);
  auto r = p.Parse(With(R"("colour":{"r":[1,2]})"));
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  // Still validated as JSON.
  EXPECT_THAT(ErrorOf(p.Parse(With(R"("colour":{"r":[1,2,]})"))), HasSubstr("invalid JSON"));
}

TEST_F(EventParserTest, DuplicateFieldIsAnError) {
  EXPECT_EQ(ErrorOf(Parse(With(R"("entity_id":"p2")"))), "entity_id: given more than once");
}

TEST_F(EventParserTest, ParserIsReusableAfterErrors) {
  EXPECT_FALSE(Parse(R"({"a":[)").ok());
  EXPECT_FALSE(Parse("\xFF").ok());
  auto r = Parse(With(R"("payload":{"x":1})"));
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->payload, R"({"x":1})");
}

TEST_F(EventParserTest, InputWithoutPaddingOrTerminatorIsSafe) {
  std::string text = With(R"("payload":{"x":1})") + "GARBAGE";
  std::string_view json(text.data(), text.size() - 7);
  auto r = Parse(json);
  EXPECT_TRUE(r.ok()) << ErrorOf(r);
}

}  // namespace
}  // namespace tandem
