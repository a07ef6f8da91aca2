// OpenBus: bus.kind → the Log implementation (tandem/bus.h).

#include "tandem/bus.h"

namespace tandem {

Result<std::unique_ptr<Log>> OpenBus(const BusConfig& bus, const LogOptions& log) {
  if (bus.kind == "embedded") return Log::Open(log);
  if (bus.kind == "redis") return OpenRedisBus(bus.redis);
  if (bus.kind == "kafka") return OpenKafkaLog(bus.kafka);
  return Status::InvalidArgument("bus.kind: must be embedded, redis or kafka, got \"" + bus.kind +
                                 "\"");
}

}  // namespace tandem
