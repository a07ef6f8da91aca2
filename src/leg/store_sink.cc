// StoreSink (a Store as a leg's sink) and the graph leg factory.
#include "tandem/graph.h"
#include "tandem/leg.h"

namespace tandem {
namespace {

class StoreSink final : public Sink {
 public:
  explicit StoreSink(Store& store) : store_(store) {}

  Result<std::vector<ApplyOutcome>> Apply(std::span<const StoreEvent> events) override {
    TANDEM_ASSIGN_OR_RETURN(BatchResult r, store_.ApplyBatch(events));
    return std::move(r.outcomes);
  }
  Result<PositionMap> Positions() override { return store_.Positions(); }

 private:
  Store& store_;
};

}  // namespace

std::unique_ptr<Sink> NewStoreSink(Store& store) { return std::make_unique<StoreSink>(store); }

Result<std::unique_ptr<Leg>> MakeGraphLeg(Log& log, GraphStore& store, LegOptions options) {
  if (options.name.empty()) options.name = "graph";
  return NewLeg(log, NewStoreSink(store), options);
}

}  // namespace tandem
