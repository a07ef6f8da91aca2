// The graph store, the embedder and the vector store a configuration names
// (graph.backend: rocksdb | postgres; vector.backend: hnsw | pgvector), opened
// the same way by `tandem serve`, `tandem audit --offline` and `tandem replay`.
//
//   TANDEM_ASSIGN_OR_RETURN(auto g, OpenGraphBackend(config, schema, ""));
//   TANDEM_ASSIGN_OR_RETURN(auto e, OpenEmbedder(config.vector.embedder));
//   TANDEM_ASSIGN_OR_RETURN(auto v, OpenVectorBackend(config, e.get(), ""));
//
// Errors carry the config section as context ("graph store <dir>",
// "graph.postgres", "vector.pgvector"); a url is never part of a message.
#pragma once

#include <memory>
#include <string>

#include "tandem/config.h"
#include "tandem/embed.h"
#include "tandem/graph.h"
#include "tandem/status.h"
#include "tandem/vector.h"

namespace tandem {

// graph.schema_file parsed (InvalidArgument naming it), or the built-in
// banking schema when `path` is empty.
Result<GraphSchema> LoadGraphSchema(const std::string& path);

// `dir` overrides graph.store.dir for the embedded backend (replay builds into
// a fresh directory); empty = the configured one. Replay into another place
// is not offered for postgres: `dir` non-empty with it is FailedPrecondition.
Result<std::unique_ptr<GraphStore>> OpenGraphBackend(const Config& config,
                                                     const GraphSchema& schema,
                                                     const std::string& dir);

Result<std::unique_ptr<Embedder>> OpenEmbedder(const EmbedderConfig& config);

// `embedder` must outlive the store. `dir` as for OpenGraphBackend.
Result<std::unique_ptr<VectorStore>> OpenVectorBackend(const Config& config, Embedder* embedder,
                                                       const std::string& dir);

// True when the backend keeps its data under a local directory (RocksDB),
// false for a shared database (PostgreSQL).
bool GraphBackendIsLocal(const Config& config);
bool VectorBackendIsLocal(const Config& config);

}  // namespace tandem
