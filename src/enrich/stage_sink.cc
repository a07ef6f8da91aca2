// Stage output (tandem/stage.h): a Sink decorator publishing one CloudEvent
// per applied event to the stage's downstream topic.
#include <vector>

#include "event/rfc3339.h"
#include "log/topic.h"
#include "tandem/log.h"
#include "tandem/stage.h"

namespace tandem {
namespace {

bool ValidStageName(std::string_view s) {
  if (s.empty() || s.size() > 64 || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

class StageOutputSink final : public Sink {
 public:
  StageOutputSink(Log& log, std::unique_ptr<Sink> inner, std::string stage, std::string topic)
      : log_(log),
        inner_(std::move(inner)),
        stage_(std::move(stage)),
        topic_(std::move(topic)),
        source_("tandem/stage/" + stage_) {}

  Result<std::vector<ApplyOutcome>> Apply(std::span<const StoreEvent> events) override {
    TANDEM_ASSIGN_OR_RETURN(std::vector<ApplyOutcome> outcomes, inner_->Apply(events));
    std::vector<ProduceRecord> out;
    for (size_t i = 0; i < events.size() && i < outcomes.size(); ++i) {
      const ApplyCode c = outcomes[i].code;
      if (c == ApplyCode::kApplied || c == ApplyCode::kSkippedDuplicate) {
        out.push_back(Record(events[i]));
      }
    }
    if (out.empty()) return outcomes;
    std::vector<AppendResult> results;
    Status s = log_.AppendBatch(topic_, out, &results);
    if (!s.ok()) return s.WithContext("stage " + stage_ + ": publishing to " + topic_);
    return outcomes;
  }

  Result<PositionMap> Positions() override { return inner_->Positions(); }

 private:
  // CloudEvents Kafka binary mode: attributes in ce_* headers, the data (the
  // applied event in the native format) as the value.
  ProduceRecord Record(const StoreEvent& se) const {
    const EntityEvent& e = se.event;
    // The applied event's id names it uniquely (ingest deduplicates by it);
    // without one, its log position does.
    const std::string id =
        stage_ + ":" +
        (!e.event_id.empty() ? e.event_id
                             : se.position.topic + "/" + std::to_string(se.position.partition) +
                                   "@" + std::to_string(se.position.offset));
    ProduceRecord r;
    r.key = e.entity_id;
    r.value = Serialize(e);
    r.id = id;
    r.headers = {{"ce_specversion", "1.0"},
                 {"ce_id", id},
                 {"ce_source", source_},
                 {std::string(kCloudEventTypeHeader), StageEventType(stage_, e.event_type)},
                 {"ce_subject", e.entity_id},
                 {"ce_time", event_internal::FormatRfc3339Utc(e.timestamp_us)},
                 {"content-type", "application/json"}};
    return r;
  }

  Log& log_;
  const std::unique_ptr<Sink> inner_;
  const std::string stage_;
  const std::string topic_;
  const std::string source_;
};

}  // namespace

std::string StageEventType(std::string_view stage, EventType event_type) {
  return "tandem." + std::string(stage) +
         (event_type == EventType::kDelete ? ".deleted" : ".applied");
}

Result<std::unique_ptr<Sink>> NewStageOutputSink(Log& log, std::unique_ptr<Sink> inner,
                                                 const StageOutputOptions& o) {
  if (!ValidStageName(o.stage)) {
    return Status::InvalidArgument("stage: must match [a-z][a-z0-9_]{0,63}, got \"" + o.stage +
                                   "\"");
  }
  const std::string topic = o.topic.empty() ? o.stage + ".applied" : o.topic;
  if (Status s = ValidateTopicName(topic); !s.ok()) return s.WithContext("topic");
  if (inner == nullptr) return Status::InvalidArgument("inner: a sink is required");
  return std::unique_ptr<Sink>(
      std::make_unique<StageOutputSink>(log, std::move(inner), o.stage, topic));
}

Result<std::unique_ptr<Leg>> MakeStageLeg(Log& log, Store& store, std::string_view stage,
                                          LegOptions options, const StageConfig& config) {
  if (options.name.empty()) options.name = std::string(stage);
  if (!config.publish) return NewLeg(log, NewStoreSink(store), options);
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Sink> sink,
                          NewStageOutputSink(log, NewStoreSink(store),
                                             StageOutputOptions{std::string(stage), config.topic}));
  return NewLeg(log, std::move(sink), options);
}

}  // namespace tandem
