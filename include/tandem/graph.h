// The embedded graph store: entities as vertices, references as edges, kept
// in RocksDB and written by the graph leg through the store contract
// (tandem/store.h), plus the traversals that queries run on it.
//
// A vertex is keyed by entity_id (the key everywhere); its label is the
// entity_type and its properties are the canonical payload. Which payload
// fields are references is declared per entity type in a GraphSchema
// (BankingSchema() by default, config/banking_schema.json as a file):
// `account.owner_id` → an `owns` edge from the owner to the account. Order is
// guaranteed per entity only, so a reference may name an entity that has not
// arrived: the graph keeps a placeholder vertex for it (label "", flagged),
// filled when the entity arrives and removed when nothing references it any
// more. Edges belong to the entity whose payload declares them: an update
// that changes a reference moves the edge, a delete removes the entity's own
// edges; edges that other entities declare towards a deleted entity stay,
// and it remains as a placeholder while they do.
//
//   GraphStoreOptions o;
//   o.dir = "/var/lib/tandem/graph";
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<GraphStore> g, OpenGraphStore(o));
//   TANDEM_ASSIGN_OR_RETURN(BatchResult r, g->ApplyBatch(batch));
//   TANDEM_ASSIGN_OR_RETURN(std::vector<Edge> owned,
//                           g->Neighbors("p-1001", Direction::kOut, "owns", 100));
//
// Durability: ApplyBatch commits one RocksDB WriteBatch (the batch's vertices,
// edges, indexes and the leg's positions). With GraphStoreOptions::sync
// (default) it returns after the write-ahead log is fdatasync(2)ed: a
// committed batch survives power loss. Without it, it survives a process
// crash but a power loss may take back a suffix of committed batches (never
// part of one).
//
// Thread safety: a GraphStore is safe for concurrent use. ApplyBatch and
// ExpireTombstones are serialised; each read (Get, traversals, Digest,
// CheckInvariants) sees one committed state through a RocksDB snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/env.h"
#include "tandem/status.h"
#include "tandem/store.h"

namespace tandem {

// ---- Schema ---------------------------------------------------------------

// One reference field. Its value in a payload is an entity_id string, an
// array of them, or null/absent (no edge).
struct ReferenceSpec {
  enum class Orientation {
    kOut,  // edge from the entity to the referenced one (transaction -received_by-> account)
    kIn,   // edge from the referenced entity to this one (person -owns-> account)
  };
  std::string entity_type;  // [a-z][a-z0-9_]{0,63}
  std::string field;        // top-level payload member, 1..256 bytes
  std::string edge_label;   // [a-z][a-z0-9_]{0,63}
  Orientation orientation = Orientation::kOut;
  friend bool operator==(const ReferenceSpec&, const ReferenceSpec&) = default;
};

struct GraphSchema {
  std::vector<ReferenceSpec> references;  // at most one per (entity_type, field)
  friend bool operator==(const GraphSchema&, const GraphSchema&) = default;
};

// The default schema for the banking domain (examples/banking):
//   account.owner_id                 person|company -owns->              account
//   transaction.from_account         account        -sent->              transaction
//   transaction.to_account           transaction    -received_by->       account
//   communication.from_person        person         -sent->              communication
//   communication.to_person          communication  -received_by->       person
//   company.beneficial_owners[]      person         -beneficial_owner_of-> company
//   company.directors[]              person         -director_of->       company
//   company.signatories[]            person         -signatory_of->      company
//   person.employer_id               person         -employed_by->       company
//   sanction_entry.matches_entity    sanction_entry -lists->             person|company
GraphSchema BankingSchema();

// OK when every spec is well formed and (entity_type, field) pairs are unique.
Status ValidateGraphSchema(const GraphSchema& schema);

// The JSON form (config/banking_schema.json):
//   {"references":[{"entity_type":"account","field":"owner_id",
//                   "edge":"owns","direction":"in"}, ...]}
// Unknown members are errors. InvalidArgument naming the item and member.
Result<GraphSchema> ParseGraphSchema(std::string_view json);
// Canonical JSON: specs sorted by (entity_type, field), one line.
std::string SerializeGraphSchema(const GraphSchema& schema);

// ---- Store ----------------------------------------------------------------

struct GraphStoreOptions {
  // RocksDB directory; created when missing. Required.
  std::string dir;
  // Reference fields. Fixed for the life of a store: opening it with a
  // different schema fails (FailedPrecondition), since existing edges would
  // no longer match; rebuild the store from the log instead.
  GraphSchema schema = BankingSchema();
  // true (default): fdatasync(2) of the RocksDB write-ahead log before
  // ApplyBatch returns. false: faster; a power loss may take back the last
  // committed batches (a process crash does not).
  bool sync = true;
  // Clock for applied markers and tombstone expiry; nullptr = SystemClock().
  // Must outlive the store.
  Clock* clock = nullptr;
  // Tombstones older than this stop refusing stale events (default 7 days,
  // the log's default retention; < 0 = keep forever). Risk: a stale event
  // replayed after expiry (a DLQ replay, a partial replay) resurrects the
  // entity. Keep it at least as long as any replay you might run.
  int64_t tombstone_retention_us = int64_t{7} * 24 * 3600 * 1'000'000;
  // RocksDB block cache (default 64 MiB) and memtable size (default 8 MiB).
  // Applying a batch is bound by memtable inserts, which get slower as the
  // skiplist grows (deeper, fewer cache hits): 8 MiB applied about 20% more
  // events/s than 32 MiB in bench/graph_leg_bench.cc. Smaller memtables
  // mean more flushes and level-0 files (background work, more files for a
  // point read to check through their bloom filters).
  size_t block_cache_bytes = size_t{64} << 20;
  size_t write_buffer_bytes = size_t{8} << 20;
  // Ids of vertices known to exist (live or placeholder), kept in memory so
  // that a reference to one (a transaction naming its accounts) needs no
  // read (default 256k ids, about 70 bytes each plus ids over 15 bytes;
  // cleared and refilled when full; 0 = off). Exact, not a hint: only the
  // store's own writer changes vertices, and it refreshes the entries after
  // each commit.
  size_t known_vertex_cache_entries = size_t{256} << 10;
};

// Direction of an edge relative to the vertex asked about.
enum class Direction { kOut, kIn, kBoth };

struct Vertex {
  std::string id;
  std::string label;              // entity_type; "" for a placeholder
  bool placeholder = false;       // referenced, but not (or no longer) a live entity
  bool deleted = false;           // a placeholder left by a delete (tombstone)
  std::string properties = "{}";  // canonical payload JSON
  std::optional<int64_t> version;
  std::optional<LogPosition> position;  // of the last applied event
  // How many references live entities declare towards it, counted from its
  // edges when the vertex is read (O(degree)).
  uint64_t references = 0;
};

struct Edge {
  std::string from;
  std::string label;
  std::string to;
  uint32_t multiplicity = 1;  // references declaring it (2 only if both ends do)
  friend bool operator==(const Edge&, const Edge&) = default;
};

struct ExpandOptions {
  Direction direction = Direction::kBoth;
  std::vector<std::string> edge_labels;  // empty: every label
  uint32_t max_depth = 2;                // hops from the start vertex
  size_t max_vertices = 1000;            // including the start vertex
};

struct Subgraph {
  struct Entry {
    Vertex vertex;
    uint32_t depth = 0;
  };
  std::vector<Entry> vertices;  // breadth-first order, the start vertex first
  std::vector<Edge> edges;      // every edge followed between included vertices
  bool truncated = false;       // max_vertices stopped the expansion
};

struct PathOptions {
  Direction direction = Direction::kBoth;  // kOut: follow edges forwards only
  std::vector<std::string> edge_labels;    // empty: every label
  uint32_t max_depth = 6;                  // longest path (in edges) considered
  size_t max_visited = 100'000;            // vertices visited before giving up
};

struct Path {
  std::vector<std::string> vertices;  // from ... to
  std::vector<Edge> edges;            // edges[i] joins vertices[i] and vertices[i+1]
};

// The RocksDB graph store. Implements the store contract; CheckInvariants
// verifies that every out-edge has its in-edge twin and vice versa, that
// edges are exactly those the live entities' references declare, that edges
// touch only live vertices or placeholders, that reference counts, the label
// index, the label counts and the tombstone index agree with the vertices.
class GraphStore : public Store {
 public:
  // The vertex `id`, live or placeholder. NotFound otherwise (a tombstone
  // that nothing references is not a vertex).
  virtual Result<Vertex> GetVertex(std::string_view id) = 0;

  // Edges of `id` in `direction`, only those labelled `edge_label` unless it
  // is empty, at most `limit` (out-edges first, then in-edges, each in key
  // order). NotFound when `id` is not a vertex.
  virtual Result<std::vector<Edge>> Neighbors(std::string_view id, Direction direction,
                                              std::string_view edge_label, size_t limit) = 0;

  // Breadth-first expansion from `start` within the options' limits.
  // NotFound when `start` is not a vertex.
  virtual Result<Subgraph> Expand(std::string_view start, const ExpandOptions& options) = 0;

  // A shortest path from `from` to `to` (bidirectional breadth-first search)
  // of at most options.max_depth edges; nullopt when there is none within
  // the bound. NotFound when an endpoint is not a vertex; TooLarge when
  // max_visited vertices were visited without an answer.
  virtual Result<std::optional<Path>> ShortestPath(std::string_view from, std::string_view to,
                                                   const PathOptions& options) = 0;

  // Vertex count per label; placeholders are counted under "_placeholder".
  virtual Result<std::map<std::string, uint64_t>> CountByLabel() = 0;

  // Ids of vertices labelled `label` ("_placeholder" for placeholders), in
  // id order, at most `limit`.
  virtual Result<std::vector<std::string>> VerticesWithLabel(std::string_view label,
                                                             size_t limit) = 0;
};

// The label index name of placeholders.
inline constexpr std::string_view kPlaceholderLabel = "_placeholder";

// Opens or creates the store in options.dir. InvalidArgument for a bad
// schema or an empty dir; FailedPrecondition when the directory holds a store
// of another format version or schema, or is open elsewhere (IOError from
// RocksDB's LOCK file).
Result<std::unique_ptr<GraphStore>> OpenGraphStore(const GraphStoreOptions& options);

}  // namespace tandem
