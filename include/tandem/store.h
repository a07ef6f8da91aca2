// The store contract: what every store that a leg writes into (the embedded
// graph store now; the vector store and PostgreSQL later) promises, and the
// small pure helpers that make all of them decide alike.
//
// A leg hands a store batches of StoreEvents: an EntityEvent plus the log
// position it was read from. The store applies a batch atomically (all of its
// effects and the leg's positions become durable together, or none do) and
// reports one ApplyOutcome per event:
//
//   std::vector<StoreEvent> batch = ...;  // from Consumer::Poll + EventParser
//   TANDEM_ASSIGN_OR_RETURN(BatchResult r, store->ApplyBatch(batch));
//   for (size_t i = 0; i < batch.size(); ++i) {
//     switch (r.outcomes[i].code) {
//       case ApplyCode::kTransientError: /* nack: retry with backoff */ break;
//       case ApplyCode::kPermanentError: /* dead-letter with outcomes[i].reason */ break;
//       default: /* applied or a no-op: ack */ break;
//     }
//   }
//
// The rules (docs/store_contract.md has the long form, with examples):
//  * Per entity the store keeps an applied marker: the highest `version` it
//    has applied (carried across unversioned events), the log position and
//    the event_id of the last event it applied, and whether that event was a
//    delete (a tombstone).
//  * An event is applied only when it is newer than the marker
//    (CompareWithApplied): the same position or the same event_id as the last
//    applied event is a duplicate; when both the event and the marker carry a
//    version, a higher version is newer and anything else is stale; otherwise
//    a later offset in the same (topic, partition) is newer and an earlier one
//    stale; an unversioned event from another (topic, partition) cannot be
//    ordered and is a permanent error.
//  * create and upsert replace the payload (create of a live entity behaves
//    as upsert); update merges it as a JSON merge patch (RFC 7386: null
//    deletes a member, objects merge recursively, anything else replaces) and
//    creates the entity when it is missing or deleted; delete leaves a
//    tombstone that refuses stale events until it expires
//    (tombstone_retention; a stale event replayed after that resurrects).
//  * Positions: each committed batch also records, in the same atomic write,
//    the highest offset per (topic, partition) whose event was applied or
//    found to be a no-op. A store is written by one leg.
//  * Digest: an order-independent hash over the live entities' canonical
//    content, equal for any two stores holding the same entities.
//
// Thread safety: Store implementations are safe for concurrent use; ApplyBatch
// calls are serialised inside the store. The free functions are pure.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/event.h"
#include "tandem/status.h"

namespace tandem {

// Where an event was read from: the log's MessageId (tandem/log.h) by value,
// kept separate so stores do not depend on the log module.
struct LogPosition {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  friend bool operator==(const LogPosition&, const LogPosition&) = default;
};

// The input unit of a store: an event and where it came from.
struct StoreEvent {
  EntityEvent event;
  LogPosition position;
};

enum class ApplyCode {
  kApplied,           // the event changed the store
  kSkippedStale,      // older than what the store holds for the entity: a no-op
  kSkippedDuplicate,  // this very event (position or event_id) was applied: a no-op
  kTransientError,    // not applied; retrying later may succeed
  kPermanentError,    // not applied and never will be: dead-letter it (see reason)
};

// "applied", "skipped_stale", "skipped_duplicate", "transient_error",
// "permanent_error".
std::string_view ApplyCodeName(ApplyCode code);

struct ApplyOutcome {
  ApplyCode code = ApplyCode::kApplied;
  std::string reason;  // empty unless an error: "<field>: <why>"
  friend bool operator==(const ApplyOutcome&, const ApplyOutcome&) = default;
};

// Outcome counts, per batch (BatchResult) or cumulative since Open (Store::counters).
struct ApplyCounts {
  uint64_t applied = 0;
  uint64_t stale = 0;
  uint64_t duplicate = 0;
  uint64_t transient = 0;
  uint64_t permanent = 0;
  void Add(ApplyCode code);
  ApplyCounts& operator+=(const ApplyCounts& other);
  friend bool operator==(const ApplyCounts&, const ApplyCounts&) = default;
};

struct BatchResult {
  std::vector<ApplyOutcome> outcomes;  // outcomes[i] belongs to events[i]
  ApplyCounts counts;
};

// A partition of a topic; the key of Positions().
struct TopicPartition {
  std::string topic;
  uint32_t partition = 0;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};
// (topic, partition) → highest offset handled by a committed batch.
using PositionMap = std::map<TopicPartition, uint64_t>;

// The applied marker of one entity: what a store last applied for it.
struct AppliedMarker {
  std::optional<int64_t> version;  // the highest version applied so far
  LogPosition position;            // of the last applied event
  std::string event_id;            // of the last applied event
  bool deleted = false;            // the last applied event was a delete
  int64_t applied_at_us = 0;       // store clock at apply; ages tombstones
  friend bool operator==(const AppliedMarker&, const AppliedMarker&) = default;
};

// What a store holds for one entity (Store::Get).
struct EntityState {
  std::string entity_id;
  std::string entity_type;
  std::string payload = "{}";  // canonical JSON (CanonicalJson); "{}" for a tombstone
  AppliedMarker marker;
  // What a store derives from the events beyond the payload, filled by
  // ScanEntities and compared by `audit` (Get leaves it unset): the text a
  // vector store embeds (nullopt: the entity has no text, or the store keeps
  // none — the graph store, MemStore). See Store::NextContent.
  std::optional<std::string> content;
  // Set by ScanEntities of a store with a search index (the vector store) for
  // a live entity that has a vector: true when the vector is stored and the
  // label is in its HNSW index, false when it should be and is not (the
  // audit's `unindexed`). nullopt: nothing to index, or no index at all.
  std::optional<bool> indexed;
  bool deleted() const { return marker.deleted; }
};

// Order-independent digest of a store's live entities.
struct StoreDigest {
  uint64_t entities = 0;  // live entities (tombstones and placeholders excluded)
  uint64_t hash = 0;      // sum mod 2^64 of EntityHash over them
  void Add(uint64_t entity_hash) {
    ++entities;
    hash += entity_hash;
  }
  std::string ToString() const;  // "<entities>:<16 hex digits>"
  friend bool operator==(const StoreDigest&, const StoreDigest&) = default;
};

// ---- Contract helpers (src/store) ----------------------------------------

enum class Freshness {
  kNewer,         // apply it
  kStale,         // older than the marker: skip
  kDuplicate,     // the marker's own event (position or event_id): skip
  kIncomparable,  // unversioned and from another (topic, partition): refuse
};

// The "is this event newer" rule, for an entity whose marker is `applied`
// (nullptr when the store holds nothing for it, or its tombstone expired):
//  1. no marker                                          → kNewer
//  2. same position, or same non-empty event_id         → kDuplicate
//  3. event and marker both carry a version: higher      → kNewer, else kStale
//  4. same (topic, partition): higher offset             → kNewer, else kStale
//  5. otherwise                                          → kIncomparable
Freshness CompareWithApplied(const AppliedMarker* applied, const StoreEvent& incoming);

// The marker after applying `incoming` over `previous` (nullptr: none):
// version = max(previous version, event version), the event's position and
// event_id, deleted = (event_type == delete), applied_at_us = now_us.
AppliedMarker NextMarker(const AppliedMarker* previous, const StoreEvent& incoming, int64_t now_us);

// True when `marker` is a tombstone applied more than `retention_us` before
// `now_us`. A negative retention keeps tombstones forever.
bool TombstoneExpired(const AppliedMarker& marker, int64_t now_us, int64_t retention_us);

// Derived updates never re-create an entity. An `update` whose `source`
// starts with kDerivedSourcePrefix (the enrichment leg's status and result
// events, "tandem/enrich/<name>") carries data computed *from* the entity; it
// applies only to a live entity and is kSkippedStale on a missing, deleted or
// expired one, so a result computed before a delete and published after it
// cannot resurrect the entity as a stub (docs/store_contract.md).
inline constexpr std::string_view kDerivedSourcePrefix = "tandem/enrich/";
bool IsDerivedUpdate(const EntityEvent& event);

// The digest contribution of one live entity: XXH64 over entity_type, NUL,
// entity_id, NUL, the decimal version or "-", NUL, canonical payload.
// Positions and event_ids are excluded so that stores rebuilt from a
// compacted or re-partitioned log still agree.
uint64_t EntityHash(std::string_view entity_type, std::string_view entity_id,
                    std::optional<int64_t> version, std::string_view canonical_payload);

// The structural checks every store makes before anything else: entity_id
// 1..kMaxStoreEntityIdBytes, entity_type matching [a-z][a-z0-9_]{0,63},
// topic non-empty. InvalidArgument "<field>: <why>" otherwise.
inline constexpr size_t kMaxStoreEntityIdBytes = 1024;
Status ValidateStoreEvent(const StoreEvent& e);

// Canonical JSON of `json`: minified, object members sorted by key bytes
// (a duplicated key keeps its last value), strings re-escaped minimally
// (only '"', '\\' and control characters), numbers as written except that
// integers are printed in plain decimal. InvalidArgument when `json` is not
// JSON or nests deeper than 128.
Result<std::string> CanonicalJson(std::string_view json);

// The canonical payload after applying an event of `type` with `event_payload`
// to an entity whose live canonical payload is `current` (nullopt: missing or
// deleted). create/upsert: the event payload; update: RFC 7386 merge patch of
// it into `current` (or into {} when missing); delete: "{}". InvalidArgument
// ("payload: ...") when the event payload is not a JSON object.
Result<std::string> NextPayload(EventType type, const std::optional<std::string>& current,
                                std::string_view event_payload);

// The checks every store makes on Store::RestoreEntity's target: entity_id
// equal to `entity_id`, a valid entity_type (as ValidateStoreEvent), and for
// a live target a payload that is a JSON object. Returns the target with its
// payload in canonical form ("{}" for a tombstone). InvalidArgument
// "<field>: <why>" otherwise. (Implemented in src/store/mem_store.cc.)
Result<EntityState> CheckRestoreTarget(std::string_view entity_id, const EntityState& target);

// ---- The store interface -------------------------------------------------

class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  // Applies `events` in order (several events of one entity apply one after
  // the other) and commits their effects together with the positions in one
  // atomic write. OK: the batch is committed (durable as the store's options
  // say) and `outcomes` has one entry per event; an event reported as an
  // error left no trace. Not OK (IOError, NoSpace, Corruption, ...): nothing
  // was applied and no position moved; treat every event as kTransientError.
  virtual Result<BatchResult> ApplyBatch(std::span<const StoreEvent> events) = 0;

  // The positions recorded by committed batches (empty for a new store).
  virtual Result<PositionMap> Positions() = 0;

  // The applied state of `entity_id`, tombstones included. NotFound when the
  // store never applied an event for it or its tombstone has expired.
  virtual Result<EntityState> Get(std::string_view entity_id) = 0;

  // Digest over the live entities (see StoreDigest).
  virtual Result<StoreDigest> Digest() = 0;

  // Removes tombstones older than the store's tombstone retention (by its
  // clock) and returns how many. Expired tombstones already have no effect
  // before they are removed; this reclaims their space.
  virtual Result<uint64_t> ExpireTombstones() = 0;

  // Checks the store's internal invariants (store-specific: see each store).
  // Corruption naming the first broken one.
  virtual Status CheckInvariants() = 0;

  // Outcome counts since the store was opened.
  virtual ApplyCounts counters() const = 0;

  // ---- Audit and repair (src/audit, docs/store_contract.md "Audit") -------

  // Visits every entity the store holds a marker for — live entities and
  // unexpired tombstones; graph placeholders are not entities — whose id is
  // in [begin, end) (an empty `end`: unbounded), in entity_id byte order,
  // with `content` and `indexed` filled as the store keeps them. `fn` returns
  // false to stop early, or an error that stops the scan and is returned.
  // Streams over one consistent snapshot of the store (RocksDB stores) or
  // under the store's lock (MemStore: do not call the store from `fn`);
  // never materialises the whole store.
  using EntityVisitor = std::function<Result<bool>(const EntityState&)>;
  virtual Status ScanEntities(std::string_view begin, std::string_view end,
                              const EntityVisitor& fn) = 0;

  // The repair primitive, a compare-and-set on one entity through the same
  // serialised write path as ApplyBatch (so it cannot race a leg). When the
  // store's current marker for `entity_id` equals `expected` (nullopt: the
  // store holds nothing for it, or only an expired tombstone), sets the
  // entity to `target` atomically and returns true:
  //  * target live: its entity_type, canonical payload, content (the
  //    vector store embeds target->content when the stored text differs,
  //    and indexes it) and marker; the graph store moves the entity's edges
  //    to the payload's references exactly as an applied event would;
  //  * target->marker.deleted: a tombstone with that marker (edges, vector
  //    and index entry removed);
  //  * nullopt: nothing at all (the entity erased, no tombstone).
  // target->marker.applied_at_us is replaced by the store clock. Positions
  // and counters() do not move. Returns false, changing nothing, when the
  // marker differs from `expected` (a leg applied something meanwhile).
  // InvalidArgument when target's entity_id differs, its payload is not a
  // canonical JSON object, or the store refuses it (a bad reference field);
  // store failures as ApplyBatch's. Idempotent: repeating a successful call
  // with the marker it set as `expected` changes nothing observable.
  virtual Result<bool> RestoreEntity(std::string_view entity_id,
                                     const std::optional<AppliedMarker>& expected,
                                     const std::optional<EntityState>& target) = 0;

  // EntityState::content after `incoming` was applied with the resulting
  // canonical payload `payload`, over `previous` (the entity's content while
  // live; nullopt when it had none or was missing or deleted). The rule the
  // store applies itself, so that an audit can fold the log into the content
  // the store must hold. Default: nullopt (a store deriving nothing). The
  // vector store: its embedding text rule (tandem/vector.h).
  virtual std::optional<std::string> NextContent(const StoreEvent& incoming,
                                                 std::string_view payload,
                                                 const std::optional<std::string>& previous) const {
    (void)incoming;
    (void)payload;
    (void)previous;
    return std::nullopt;
  }
};

}  // namespace tandem
