// TruthDb: the audit's temporary RocksDB holding the truth folded from the
// log (entity_id → what the stores must hold) and the dead-lettered entities
// per leg, so that an audit of any size runs in bounded memory. Created in a
// fresh directory and destroyed with it.
//
// Keys: 'e' entity_id → TruthEntry (EncodeTruth); 'q' str(leg) entity_id → "".
// Writes skip the WAL (the database is scratch: a crash just loses it).
//
// Thread safety: one thread at a time.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.h"
#include "tandem/store.h"

namespace rocksdb {
class DB;
class Iterator;
}  // namespace rocksdb

namespace tandem::audit_internal {

// The truth for one entity.
struct TruthEntry {
  bool has_state = false;  // an event of it was applied (live or tombstone)
  EntityState state;       // entity_id, entity_type, canonical payload, marker
  // Per audit target: the content that store derives (Store::NextContent).
  std::vector<std::optional<std::string>> contents;
  LogPosition last_seen;  // the entity's latest record, whatever its outcome
};

std::string EncodeTruth(const TruthEntry& e);
Status DecodeTruth(std::string_view id, std::string_view bytes, TruthEntry* out);

class TruthDb;

// A forward cursor over the truth's entities in id order.
class TruthCursor {
 public:
  explicit TruthCursor(std::unique_ptr<rocksdb::Iterator> it);
  ~TruthCursor();
  TruthCursor(const TruthCursor&) = delete;
  TruthCursor& operator=(const TruthCursor&) = delete;

  Status Seek(std::string_view id);
  // Valid: positioned on an entity whose id is below `end` ("" unbounded).
  bool Valid(std::string_view end) const;
  std::string_view id() const;
  // Decodes the current entry.
  Status Entry(TruthEntry* out) const;
  Status Next();

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

class TruthDb {
 public:
  // Creates `dir` (which must not exist) and a database in it using about
  // `memory_budget_bytes` of memory.
  static Result<std::unique_ptr<TruthDb>> Create(const std::string& dir, size_t memory_budget_bytes);
  // Closes the database and removes the directory.
  ~TruthDb();
  TruthDb(const TruthDb&) = delete;
  TruthDb& operator=(const TruthDb&) = delete;

  Status Get(std::string_view id, std::optional<TruthEntry>* out);
  Status Put(std::string_view id, const TruthEntry& entry);
  Status AddDeadLetter(std::string_view leg, std::string_view id);
  Result<bool> IsDeadLettered(std::string_view leg, std::string_view id);

  // A cursor over the entities (reads what was written before it was made).
  std::unique_ptr<TruthCursor> NewCursor();

 private:
  TruthDb(std::string dir, std::unique_ptr<rocksdb::DB> db);
  std::string dir_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace tandem::audit_internal
