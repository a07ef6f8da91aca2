// The enrichment leg's state store: a small RocksDB database holding, per
// entity, what the leg last applied (the store contract's marker and the
// canonical payload, so it can tell a changed input from a redelivery), the
// input hash last queued, and the durable outbox of jobs; plus the positions
// of the leg's subscription. Everything a sink call decides is written in one
// WriteBatch, so a job exists exactly when the event that queued it counts as
// applied. Internal to src/enrich (rocksdb headers stay in state_store.cc).
//
// Key space (one column family; first byte = kind):
//   'M' "format"                 → "tandem-enrich-1"
//   'E' entity_id                → EntityRecord
//   'J' entity_id                → JobRecord (at most one open job per entity)
//   'P' topic \0 partition(BE32) → highest handled offset (fixed64 LE)
//
// Thread safety: reads and Commit are safe for concurrent use; callers that
// read-modify-write (the sink, a worker finishing a job) serialise themselves.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tandem/status.h"
#include "tandem/store.h"

namespace tandem::enrich {

struct EntityRecord {
  std::string entity_type;
  std::string payload = "{}";  // canonical, full (owned fields included)
  AppliedMarker marker;
  uint64_t input_hash = 0;  // of the last job queued (0: none yet)
  uint64_t job_seq = 0;     // jobs queued so far for the entity
  // text_for_embedding of the last applied event; the leg's own events carry
  // it on, so an enrichment update does not change what the vector store embeds.
  std::optional<std::string> text;
};

struct JobRecord {
  std::string entity_type;
  uint64_t input_hash = 0;
  uint64_t seq = 0;       // EntityRecord::job_seq when queued; part of the event ids
  uint32_t attempts = 0;  // enricher calls that failed so far
  LogPosition source;     // the event that queued it
};

class StateStore {
 public:
  // Opens or creates the store in `dir`. FailedPrecondition for a directory
  // that is another kind of store; IOError when locked by another process.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& dir, bool sync);
  virtual ~StateStore() = default;

  virtual Result<std::optional<EntityRecord>> GetEntity(const std::string& id) = 0;
  virtual Result<std::optional<JobRecord>> GetJob(const std::string& id) = 0;
  // Every open job, in entity_id order.
  virtual Result<std::vector<std::pair<std::string, JobRecord>>> AllJobs() = 0;
  virtual Result<PositionMap> Positions() = 0;

  // A set of writes committed atomically.
  struct Batch {
    std::vector<std::pair<std::string, EntityRecord>> entities;
    std::vector<std::pair<std::string, std::optional<JobRecord>>> jobs;  // nullopt: delete
    PositionMap positions;
  };
  // Writes `batch` in one WriteBatch (fdatasync of the WAL when sync).
  virtual Status Commit(const Batch& batch) = 0;
};

std::string EncodeEntity(const EntityRecord& r);
Result<EntityRecord> DecodeEntity(std::string_view bytes);
std::string EncodeJob(const JobRecord& r);
Result<JobRecord> DecodeJob(std::string_view bytes);

}  // namespace tandem::enrich
