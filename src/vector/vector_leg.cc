// The vector leg factory: a leg over a StoreSink of a VectorStore.
#include "tandem/leg.h"
#include "tandem/vector.h"

namespace tandem {

Result<std::unique_ptr<Leg>> MakeVectorLeg(Log& log, VectorStore& store, LegOptions options) {
  if (options.name.empty()) options.name = "vector";
  return NewLeg(log, NewStoreSink(store), options);
}

}  // namespace tandem
