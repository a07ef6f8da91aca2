// EventParser: the public face of the decoders, plus batch splitting.

#include <utility>

#include "event/decoder.h"
#include "event/json_text.h"
#include "event/rfc3339.h"

namespace tandem {

using event_internal::DecodeContext;

struct EventParser::Rep {
  Rep(Clock& c, EventParserOptions o)
      : options(std::move(o)), clock(c), uuids(options.uuid_seed), json(options.limits) {}

  DecodeContext Context() { return DecodeContext{options, clock, uuids, json}; }
  Result<EntityEvent> Decode(std::string_view text, EventFormat format) {
    DecodeContext ctx = Context();
    return format == EventFormat::kNative ? event_internal::DecodeNative(ctx, text)
                                          : event_internal::DecodeCloudEvent(ctx, text);
  }

  const EventParserOptions options;
  Clock& clock;
  event_internal::UuidGenerator uuids;
  event_internal::JsonReader json;  // refers to options.limits
};

EventParser::EventParser(Clock& clock, EventParserOptions options)
    : rep_(std::make_unique<Rep>(clock, std::move(options))) {}

EventParser::~EventParser() = default;

const EventParserOptions& EventParser::options() const { return rep_->options; }

Result<EntityEvent> EventParser::Parse(std::string_view json) {
  return rep_->Decode(json, EventFormat::kNative);
}

Result<EntityEvent> EventParser::ParseCloudEvent(std::string_view json) {
  return rep_->Decode(json, EventFormat::kCloudEvent);
}

Result<EntityEvent> EventParser::ParseCloudEventBinary(std::span<const HttpHeader> headers,
                                                       std::string_view body) {
  DecodeContext ctx = rep_->Context();
  return event_internal::DecodeCloudEventBinary(ctx, headers, body);
}

namespace {

BatchItem Item(size_t position, std::string_view context, Result<EntityEvent> r) {
  if (r.ok()) return BatchItem{position, std::move(r)};
  return BatchItem{position,
                   r.status().WithContext(std::string(context) + " " + std::to_string(position))};
}

BatchFraming Detect(std::string_view body) {
  std::string_view text = event_internal::TrimSpace(body);
  return !text.empty() && text.front() == '[' ? BatchFraming::kJsonArray : BatchFraming::kNdjson;
}

}  // namespace

Result<std::vector<BatchItem>> EventParser::ParseBatch(std::string_view body, EventFormat format,
                                                       BatchFraming framing) {
  const EventLimits& limits = rep_->options.limits;
  if (body.size() > limits.max_batch_bytes) {
    return Status::TooLarge("(batch): " + std::to_string(body.size()) + " bytes exceeds limit " +
                            std::to_string(limits.max_batch_bytes));
  }
  if (framing == BatchFraming::kAuto) framing = Detect(body);
  std::vector<BatchItem> out;
  if (framing == BatchFraming::kJsonArray) {
    std::vector<std::string_view> items;
    TANDEM_RETURN_IF_ERROR(event_internal::SplitJsonArray(body, limits.max_batch_items, &items));
    out.reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      out.push_back(Item(i, "item", rep_->Decode(items[i], format)));
    }
    return out;
  }
  std::vector<event_internal::NdjsonLine> lines;
  TANDEM_RETURN_IF_ERROR(event_internal::SplitNdjson(body, limits.max_batch_items, &lines));
  out.reserve(lines.size());
  for (const auto& line : lines) {
    out.push_back(Item(line.number, "line", rep_->Decode(line.text, format)));
  }
  return out;
}

}  // namespace tandem

namespace tandem::event_internal {

Status CheckEventSize(const EventLimits& limits, size_t bytes) {
  if (bytes <= limits.max_event_bytes) return Status::OK();
  return Status::TooLarge("(document): " + std::to_string(bytes) + " bytes exceeds limit " +
                          std::to_string(limits.max_event_bytes));
}

Result<EntityEvent> FinishDraft(DecodeContext& ctx, Draft* d) {
  TANDEM_RETURN_IF_ERROR(d->errors.ToStatus());
  EntityEvent& e = d->event;
  if (e.event_id.empty()) e.event_id = ctx.uuids.NewV4();
  if (e.timestamp.empty()) {
    e.timestamp_us = ctx.clock.NowMicros();
    e.timestamp = FormatRfc3339Utc(e.timestamp_us);
  }
  return std::move(e);
}

}  // namespace tandem::event_internal
