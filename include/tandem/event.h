// Events: the unit of change that the log stores and both legs apply.
//
// An EntityEvent says that one entity (entity_type + entity_id) was created,
// updated (payload merged), upserted (payload replaced) or deleted. Producers
// send it as a JSON object in the native format of DESIGN §3, or as a
// CloudEvent 1.0 (structured JSON or HTTP binary mode); both map onto the same
// EntityEvent. EventParser validates every input against EventLimits and
// reports all field problems of an event in one message; Serialize writes the
// canonical JSON that the log stores, and Parse(Serialize(e)) == e.
//
//   EventParser parser(SystemClock());
//   Result<EntityEvent> e = parser.Parse(
//       R"({"event_type":"create","entity_type":"person","entity_id":"p1",)"
//       R"("payload":{"name":"Ada Lovelace"}})");
//   if (!e.ok()) return e.status();  // e.g. "entity_id: required; version: ..."
//   std::string line = Serialize(*e);
//
// Native format (one JSON object; field order is free):
//   event_id            string, 1..max_event_id_bytes; a random UUIDv4 when absent
//   event_type          required: "create" | "update" | "upsert" | "delete"
//   entity_type         required, [a-z][a-z0-9_]{0,63}
//   entity_id           required string, 1..max_entity_id_bytes
//   payload             JSON object; "{}" when absent (the normal case for delete)
//   text_for_embedding  string, 0..max_text_bytes
//   timestamp           RFC 3339 date-time; the clock's now (UTC, micros, 'Z') when absent
//   version             integer >= 1
//   source              string, 0..max_attribute_bytes
//   cloudevent          {"id","source","type"}: provenance written by Serialize for
//                       events that arrived as CloudEvents (see below); when present,
//                       event_id is derived from it and a given event_id must match
// For the optional fields, null means absent. A field given twice is an error.
// Unknown fields are rejected (a typo such as "text_for_embeding" would
// otherwise silently drop data) unless EventParserOptions::allow_unknown_fields.
//
// CloudEvents mapping (structured mode: attributes are JSON members; binary
// mode: "ce-<name>" HTTP headers and the body is the data):
//   specversion must be "1.0"  id, source, type required, non-empty strings
//   subject → entity_id (required)   time → timestamp   data → payload
//   source → source                  datacontenttype: absent or a JSON media type
//                                    (application/json, text/json, */*+json)
//   extension attributes: entitytype → entity_type (required),
//   eventtype → event_type (required), entityversion → version,
//   textforembedding → text_for_embedding.
// Other extension attributes are ignored (CloudEvents requires tolerating
// them); data_base64 is refused. CloudEvents makes source+id unique, so that
// pair is the dedup key: event_id = "ce:" + <decimal byte length of source> +
// ":" + source + ":" + id (see CloudEventId); the length prefix keeps the
// encoding injective whatever characters source holds. The raw attributes
// are kept in EntityEvent::cloudevent.
//
// Error messages are "<field>: <reason>", several joined by "; ", e.g.
// `entity_id: must be 1..256 bytes, got 300; version: must be an integer >= 1,
// got -3`. Whole-document problems use the field name "(document)":
// `(document): invalid JSON at byte 17: ...`, `(document): nesting depth 65
// exceeds limit 64`; invalid UTF-8 names the member holding the first bad
// byte (`entity_id: invalid UTF-8 at byte 55`). Codes: TooLarge for the byte
// and item-count limits, InvalidArgument for everything else. Batch items
// are prefixed with "item <index>: " (JSON array, 0-based) or "line <n>: "
// (NDJSON, 1-based).
//
// Thread safety: EntityEvent and the free functions are plain values and pure
// functions. An EventParser holds scratch buffers and a random generator, so
// it must be used by one thread at a time; give each thread its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tandem/status.h"

namespace tandem {

class Clock;  // tandem/env.h

enum class EventType { kCreate, kUpdate, kUpsert, kDelete };

// "create", "update", "upsert" or "delete".
std::string_view EventTypeName(EventType type);
// The inverse of EventTypeName; nullopt for any other string (case-sensitive).
std::optional<EventType> ParseEventType(std::string_view name);

// Where an event came from when it arrived as a CloudEvent.
struct CloudEventOrigin {
  std::string id;      // the CloudEvent "id"
  std::string source;  // the CloudEvent "source" (a URI-reference)
  std::string type;    // the CloudEvent "type", e.g. "com.bank.person.created"

  friend bool operator==(const CloudEventOrigin&, const CloudEventOrigin&) = default;
};

struct EntityEvent {
  std::string event_id;  // dedup key
  EventType event_type = EventType::kUpsert;
  std::string entity_type;                        // selects the topic
  std::string entity_id;                          // the key everywhere
  std::string payload = "{}";                     // minified JSON object text
  std::optional<std::string> text_for_embedding;  // nullopt: the vector leg skips it
  std::string timestamp;                          // RFC 3339, as received or stamped
  int64_t timestamp_us = 0;                       // `timestamp` in micros since the epoch
  std::optional<int64_t> version;                 // >= 1 when present
  std::string source;                             // empty when absent
  std::optional<CloudEventOrigin> cloudevent;     // set when it arrived as a CloudEvent

  friend bool operator==(const EntityEvent&, const EntityEvent&) = default;
};

// The dedup key of a CloudEvent: "ce:<len(source)>:<source>:<id>".
std::string CloudEventId(std::string_view source, std::string_view id);

// The canonical native JSON of `event`: one line, fixed member order
// (event_id, event_type, entity_type, entity_id, timestamp, version, source,
// text_for_embedding, cloudevent, payload), absent optionals omitted, payload
// copied verbatim. timestamp_us is not written: Parse derives it from
// timestamp. For any event returned by EventParser, Parse(Serialize(e)) == e.
std::string Serialize(const EntityEvent& event);

// Input limits. Each is checked at ingest; exceeding one is an error naming
// the limit, never a crash or a truncation.
struct EventLimits {
  // Bytes of one event document (native or CloudEvent JSON, or binary-mode
  // headers + body). TooLarge beyond. Bounds memory per event.
  size_t max_event_bytes = size_t{1} << 20;
  // Nesting of objects and arrays in the whole document, the event object
  // itself being depth 1 (so a payload may nest 63 more levels by default).
  // Deeper input could exhaust the stack of consumers that recurse.
  size_t max_depth = 64;
  // entity_id length in bytes (DESIGN §3: 1..256). It is a key in every store.
  size_t max_entity_id_bytes = 256;
  // Length of a producer-supplied event_id and of a CloudEvent id.
  size_t max_event_id_bytes = 128;
  // Length of source and of a CloudEvent's source, type and dataschema.
  size_t max_attribute_bytes = 256;
  // Length of text_for_embedding; embedding models truncate far earlier.
  size_t max_text_bytes = size_t{64} << 10;
  // Bytes of one ParseBatch body. TooLarge beyond.
  size_t max_batch_bytes = size_t{16} << 20;
  // Events in one ParseBatch body. TooLarge beyond.
  size_t max_batch_items = 10'000;
};

struct EventParserOptions {
  EventLimits limits;
  // false (default): an unknown native field is an error ("foo: unknown
  // field"). true: unknown fields are validated as JSON and dropped.
  bool allow_unknown_fields = false;
  // Seed of the UUIDv4 generator for missing event_ids. 0 (default): seeded
  // from std::random_device. A fixed seed makes ids reproducible (tests only:
  // two parsers with one seed generate the same ids).
  uint64_t uuid_seed = 0;
};

enum class EventFormat {
  kNative,      // DESIGN §3 JSON object
  kCloudEvent,  // CloudEvents 1.0 structured-mode JSON
};

enum class BatchFraming {
  kAuto,       // '[' as first non-blank byte: kJsonArray, otherwise kNdjson
  kJsonArray,  // [event, event, ...]  (application/cloudevents-batch+json too)
  kNdjson,     // one event per line; blank lines are skipped
};

// One element of a batch: its position and its own outcome.
struct BatchItem {
  size_t position;            // array index (0-based) or NDJSON line (1-based)
  Result<EntityEvent> event;  // errors start with "item <i>: " or "line <n>: "
};

// An HTTP header (name, value); names compare case-insensitively.
using HttpHeader = std::pair<std::string_view, std::string_view>;

// Parses and validates events. Holds a reusable simdjson parser and scratch
// buffers, so reuse one parser for many events. Not thread-safe.
class EventParser {
 public:
  // `clock` stamps events that arrive without a timestamp; it must outlive
  // the parser.
  explicit EventParser(Clock& clock, EventParserOptions options = {});
  ~EventParser();
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // One native event. InvalidArgument naming every bad field, or TooLarge
  // when `json` exceeds max_event_bytes.
  [[nodiscard]] Result<EntityEvent> Parse(std::string_view json);
  // One CloudEvents 1.0 structured-mode JSON event. Errors as Parse.
  [[nodiscard]] Result<EntityEvent> ParseCloudEvent(std::string_view json);
  // One CloudEvent in HTTP binary mode: attributes from "ce-*" headers
  // (percent-decoded), datacontenttype from "content-type", `body` is the
  // data (a JSON object; empty means "{}"). Other headers are ignored.
  [[nodiscard]] Result<EntityEvent> ParseCloudEventBinary(std::span<const HttpHeader> headers,
                                                          std::string_view body);
  // A batch body: every item is parsed independently, so one bad item does
  // not hide the others. The returned Status is not OK only when the body as
  // a whole is unusable: TooLarge (max_batch_bytes, max_batch_items) or
  // InvalidArgument when a JSON array cannot be split into items (unbalanced
  // brackets, unterminated string, trailing content).
  [[nodiscard]] Result<std::vector<BatchItem>> ParseBatch(
      std::string_view body, EventFormat format = EventFormat::kNative,
      BatchFraming framing = BatchFraming::kAuto);

  const EventParserOptions& options() const;

 private:
  struct Rep;
  std::unique_ptr<Rep> rep_;
};

}  // namespace tandem
