// CloudEvents 1.0 structured mode and HTTP binary mode mapped onto EntityEvent.

#include <string>
#include <vector>

#include "test_util.h"

namespace tandem {
namespace {

using testing::ErrorOf;
using testing::FixedClock;
using ::testing::HasSubstr;

// The members of a valid structured-mode CloudEvent.
const char* const kMembers[] = {
    R"("specversion": "1.0")",
    R"("id": "evt-17")",
    R"("source": "/core-banking/kyc")",
    R"("type": "com.bank.person")",
    R"("subject": "person-42")",
    R"("time": "2024-03-01T09:30:00Z")",
    R"("datacontenttype": "application/json")",
    R"("entitytype": "person")",
    R"("eventtype": "upsert")",
    R"("entityversion": 3)",
    R"("textforembedding": "Ada Lovelace, mathematician")",
    R"("data": {"name": "Ada Lovelace", "country": "GB"})",
    R"("traceparent": "00-abc-01")",
};

// A valid CloudEvent without member `name`.
std::string Without(std::string_view name) {
  std::string json = "{";
  for (std::string_view m : kMembers) {
    if (m.substr(1).starts_with(std::string(name) + "\"")) continue;
    if (json.size() > 1) json += ",\n  ";
    json += m;
  }
  return json + "}";
}

const std::string kValid = Without("none");

class CloudEventTest : public ::testing::Test {
 protected:
  FixedClock clock_;
  EventParser parser_{clock_, testing::TestOptions()};
};

TEST_F(CloudEventTest, StructuredModeMapsEveryAttribute) {
  auto r = parser_.ParseCloudEvent(kValid);
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->event_id, "ce:17:/core-banking/kyc:evt-17");
  EXPECT_EQ(r->event_type, EventType::kUpsert);
  EXPECT_EQ(r->entity_type, "person");
  EXPECT_EQ(r->entity_id, "person-42");
  EXPECT_EQ(r->payload, R"({"name":"Ada Lovelace","country":"GB"})");
  EXPECT_EQ(r->text_for_embedding, "Ada Lovelace, mathematician");
  EXPECT_EQ(r->timestamp, "2024-03-01T09:30:00Z");
  EXPECT_EQ(r->timestamp_us, 1'709'285'400'000'000);
  EXPECT_EQ(r->version, 3);
  EXPECT_EQ(r->source, "/core-banking/kyc");
  ASSERT_TRUE(r->cloudevent.has_value());
  EXPECT_EQ(*r->cloudevent, (CloudEventOrigin{"evt-17", "/core-banking/kyc", "com.bank.person"}));
}

TEST_F(CloudEventTest, DedupKeyIsSourcePlusId) {
  auto a = parser_.ParseCloudEvent(kValid);
  auto b = parser_.ParseCloudEvent(kValid);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->event_id, b->event_id);
  // The length prefix keeps ("a:b", "c") and ("a", "b:c") apart.
  EXPECT_NE(CloudEventId("a:b", "c"), CloudEventId("a", "b:c"));
  EXPECT_EQ(CloudEventId("/s", "1"), "ce:2:/s:1");
}

TEST_F(CloudEventTest, EachMissingRequiredAttributeIsNamed) {
  for (const char* name :
       {"specversion", "id", "source", "type", "subject", "entitytype", "eventtype"}) {
    EXPECT_EQ(ErrorOf(parser_.ParseCloudEvent(Without(name))), std::string(name) + ": required")
        << name;
  }
}

TEST_F(CloudEventTest, OptionalAttributesMayBeAbsent) {
  std::string json = R"({"specversion":"1.0","id":"1","source":"s","type":"t","subject":"x",
                         "entitytype":"account","eventtype":"delete"})";
  auto r = parser_.ParseCloudEvent(json);
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->payload, "{}");
  EXPECT_EQ(r->timestamp, testing::kFixedNowText);
  EXPECT_FALSE(r->version.has_value());
  EXPECT_FALSE(r->text_for_embedding.has_value());
}

TEST_F(CloudEventTest, WrongSpecVersion) {
  std::string json = kValid;
  json.replace(json.find("\"1.0\""), 5, "\"0.3\"");
  EXPECT_EQ(ErrorOf(parser_.ParseCloudEvent(json)), R"(specversion: must be "1.0", got "0.3")");
}

TEST_F(CloudEventTest, EmptyIdAndSourceAreRejected) {
  std::string json = kValid;
  json.replace(json.find("\"evt-17\""), 8, "\"\"");
  json.replace(json.find("\"/core-banking/kyc\""), 19, "\"\"");
  EXPECT_EQ(ErrorOf(parser_.ParseCloudEvent(json)),
            "id: must be 1..128 bytes, got 0; source: must be 1..256 bytes, got 0");
}

TEST_F(CloudEventTest, DataBase64IsRefused) {
  std::string json = Without("data");
  json.insert(json.size() - 1, R"(, "data_base64": "AAEC")");
  EXPECT_THAT(ErrorOf(parser_.ParseCloudEvent(json)),
              HasSubstr("data_base64: binary data is not supported"));
}

TEST_F(CloudEventTest, NonJsonDataContentTypeIsRefused) {
  std::string json = kValid;
  json.replace(json.find("application/json"), 16, "text/plain");
  EXPECT_EQ(ErrorOf(parser_.ParseCloudEvent(json)),
            "datacontenttype: must be a JSON media type (application/json or */*+json), got "
            "\"text/plain\"");
  json = kValid;
  json.replace(json.find("application/json"), 16, "application/vnd.bank+json; charset=utf-8");
  EXPECT_TRUE(parser_.ParseCloudEvent(json).ok());
}

TEST_F(CloudEventTest, DataMustBeAnObject) {
  std::string json = Without("data");
  json.insert(json.size() - 1, R"(, "data": "plain text")");
  EXPECT_EQ(ErrorOf(parser_.ParseCloudEvent(json)), "data: must be a JSON object, got string");
}

TEST_F(CloudEventTest, ExtensionValuesAreValidated) {
  std::string json = kValid;
  json.replace(json.find("\"upsert\""), 8, "\"merge\"");
  json.replace(json.find("3,"), 1, "0");
  json.replace(json.find("\"person\""), 8, "\"Person\"");
  EXPECT_EQ(ErrorOf(parser_.ParseCloudEvent(json)),
            R"(entitytype: must match [a-z][a-z0-9_]{0,63}, got "Person"; )"
            R"(eventtype: unknown value "merge" (expected create, update, upsert, delete); )"
            "entityversion: must be an integer >= 1, got 0");
}

TEST_F(CloudEventTest, NativeNamesInACloudEventGetAHint) {
  std::string json = Without("entitytype");
  json.insert(json.size() - 1, R"(, "entity_type": "person")");
  EXPECT_EQ(ErrorOf(parser_.ParseCloudEvent(json)),
            "entity_type: not a CloudEvents attribute name (lower-case a-z and 0-9 only); did "
            "you mean entitytype?; entitytype: required");
}

TEST_F(CloudEventTest, UnknownExtensionAttributesAreIgnoredButValidated) {
  std::string json = kValid;
  json.insert(json.size() - 1, R"(, "partitionkey": {"a": [1, 2]})");
  EXPECT_TRUE(parser_.ParseCloudEvent(json).ok());
  json.insert(json.size() - 1, R"(, "other": [1, 2,])");
  EXPECT_THAT(ErrorOf(parser_.ParseCloudEvent(json)), HasSubstr("invalid JSON"));
}

TEST_F(CloudEventTest, SerializedCloudEventRoundTrips) {
  auto r = parser_.ParseCloudEvent(kValid);
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  auto again = parser_.Parse(Serialize(*r));
  ASSERT_TRUE(again.ok()) << ErrorOf(again);
  EXPECT_EQ(*again, *r);
}

TEST_F(CloudEventTest, DerivedEventIdMayExceedTheProducerIdLimit) {
  std::string source = "/" + std::string(250, 's');
  std::string json = kValid;
  json.replace(json.find("\"/core-banking/kyc\""), 19, "\"" + source + "\"");
  auto r = parser_.ParseCloudEvent(json);
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_GT(r->event_id.size(), 128u);
  auto again = parser_.Parse(Serialize(*r));
  ASSERT_TRUE(again.ok()) << ErrorOf(again);
  EXPECT_EQ(*again, *r);
}

TEST_F(CloudEventTest, NativeProvenanceMustMatchItsEventId) {
  std::string json = R"({"event_id":"ce:1:s:2","event_type":"create","entity_type":"a",
      "entity_id":"x","cloudevent":{"id":"1","source":"s","type":"t"}})";
  EXPECT_EQ(ErrorOf(parser_.Parse(json)),
            R"(event_id: must be "ce:1:s:1" (derived from cloudevent.source and cloudevent.id), )"
            R"(got "ce:1:s:2")");
  EXPECT_EQ(ErrorOf(parser_.Parse(R"({"event_type":"create","entity_type":"a","entity_id":"x",
      "cloudevent":{"id":"1","source":"s","kind":"t"}})")),
            "cloudevent.kind: unknown field (expected id, source, type); "
            "cloudevent.type: must be 1..256 bytes, got 0");
}

// --- binary mode --------------------------------------------------------

std::vector<HttpHeader> BinaryHeaders() {
  return {{"CE-SpecVersion", "1.0"},
          {"ce-id", "tx-9"},
          {"ce-source", "/payments"},
          {"ce-type", "com.bank.transaction"},
          {"ce-subject", "tx%2F9%20%C3%A9"},
          {"ce-entitytype", "transaction"},
          {"ce-eventtype", "create"},
          {"ce-entityversion", "2"},
          {"ce-time", "2024-03-01T10:00:00.5Z"},
          {"Content-Type", "application/json; charset=utf-8"},
          {"Accept", "*/*"}};
}

TEST_F(CloudEventTest, BinaryModeMapsHeadersAndBody) {
  auto headers = BinaryHeaders();
  auto r =
      parser_.ParseCloudEventBinary(headers, R"( { "amount" : 125.00, "from_account": "a1" } )");
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->event_id, "ce:9:/payments:tx-9");
  EXPECT_EQ(r->entity_id, "tx/9 \xC3\xA9");  // percent-decoded
  EXPECT_EQ(r->entity_type, "transaction");
  EXPECT_EQ(r->event_type, EventType::kCreate);
  EXPECT_EQ(r->version, 2);
  EXPECT_EQ(r->timestamp_us, 1'709'287'200'500'000);
  EXPECT_EQ(r->payload, R"({"amount":125.00,"from_account":"a1"})");
  EXPECT_EQ(r->cloudevent->type, "com.bank.transaction");
}

TEST_F(CloudEventTest, BinaryModeEmptyBodyIsEmptyPayload) {
  auto headers = BinaryHeaders();
  auto r = parser_.ParseCloudEventBinary(headers, "");
  ASSERT_TRUE(r.ok()) << ErrorOf(r);
  EXPECT_EQ(r->payload, "{}");
}

TEST_F(CloudEventTest, BinaryModeErrorsNameTheHeader) {
  auto headers = BinaryHeaders();
  headers.erase(headers.begin() + 4);  // ce-subject
  headers.push_back({"ce-entityversion", "3"});
  headers[6].second = "two";       // ce-entityversion
  headers[8].second = "text/csv";  // Content-Type
  headers.push_back({"ce-source", "%zz"});
  EXPECT_EQ(ErrorOf(parser_.ParseCloudEventBinary(headers, "{}")),
            "ce-entityversion: must be an integer >= 1, got \"two\"; "
            "content-type: must be a JSON media type (application/json or */*+json), got "
            "\"text/csv\"; ce-entityversion: given more than once; "
            "ce-source: bad percent-encoding; ce-subject: required");
}

TEST_F(CloudEventTest, BinaryModeBodyErrors) {
  auto headers = BinaryHeaders();
  EXPECT_EQ(ErrorOf(parser_.ParseCloudEventBinary(headers, "[1]")),
            "data: must be a JSON object, got array");
  EXPECT_THAT(ErrorOf(parser_.ParseCloudEventBinary(headers, "{\"a\":\"\xFF\"}")),
              HasSubstr("data: invalid UTF-8 at byte 6"));
  EXPECT_THAT(ErrorOf(parser_.ParseCloudEventBinary(headers, "{\"a\":}")),
              HasSubstr("data: invalid JSON at byte"));
}

TEST_F(CloudEventTest, BinaryModeSizeLimitCountsHeadersAndBody) {
  auto headers = BinaryHeaders();
  size_t header_bytes = 0;
  for (const auto& [name, value] : headers) header_bytes += name.size() + value.size();
  EventParserOptions o = testing::TestOptions();
  o.limits.max_event_bytes = header_bytes + 50;
  EventParser p(clock_, o);
  EXPECT_TRUE(p.ParseCloudEventBinary(headers, "{}").ok());
  auto r = p.ParseCloudEventBinary(headers, R"({"pad":")" + std::string(100, 'x') + "\"}");
  EXPECT_EQ(r.status().code(), StatusCode::kTooLarge);
}

}  // namespace
}  // namespace tandem
