// The format decoders: native JSON (DESIGN §3), CloudEvents 1.0 structured
// JSON and CloudEvents HTTP binary mode. Each reads its input with the
// JsonReader, hands typed values to the shared checks of draft.h and ends in
// FinishDraft, so every format yields the same EntityEvent and the same
// error vocabulary. EventParser (event_parser.cc) is the public face.
//
//   DecodeContext ctx{options, clock, uuids, reader};
//   Result<EntityEvent> e = DecodeNative(ctx, json);
//
// Thread safety: a DecodeContext and everything it refers to belong to one
// thread.
#pragma once

#include <span>
#include <string_view>

#include "event/draft.h"
#include "event/json_reader.h"
#include "event/uuid.h"
#include "tandem/env.h"
#include "tandem/event.h"

namespace tandem::event_internal {

struct DecodeContext {
  const EventParserOptions& options;
  Clock& clock;
  UuidGenerator& uuids;
  JsonReader& json;

  const EventLimits& limits() const { return options.limits; }
};

// TooLarge when one event document of `bytes` exceeds max_event_bytes.
Status CheckEventSize(const EventLimits& limits, size_t bytes);

Result<EntityEvent> DecodeNative(DecodeContext& ctx, std::string_view json);
Result<EntityEvent> DecodeCloudEvent(DecodeContext& ctx, std::string_view json);
Result<EntityEvent> DecodeCloudEventBinary(DecodeContext& ctx, std::span<const HttpHeader> headers,
                                           std::string_view body);

// The event, with a generated event_id and the clock's timestamp when they
// are absent; or InvalidArgument with every error recorded in `d`.
Result<EntityEvent> FinishDraft(DecodeContext& ctx, Draft* d);

}  // namespace tandem::event_internal
