#include "audit/truth_db.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>

#include <filesystem>
#include <utility>

#include "common/coding.h"
#include "store/rocks_status.h"

namespace tandem::audit_internal {
namespace {

using coding::PutLE;
using coding::PutStr;
using coding::PutVarint;
using coding::Reader;
using store_internal::FromRocks;

constexpr char kEntityPrefix = 'e';
constexpr char kDeadLetterPrefix = 'q';

enum Flags : uint8_t { kHasState = 1, kDeleted = 2, kHasVersion = 4 };

std::string EntityKey(std::string_view id) { return std::string(1, kEntityPrefix).append(id); }

std::string DeadLetterKey(std::string_view leg, std::string_view id) {
  std::string k(1, kDeadLetterPrefix);
  PutStr(&k, leg);
  k.append(id);
  return k;
}

}  // namespace

// u8 flags, [fixed64 version], str topic, varint partition, varint offset,
// str event_id, str entity_type, str payload, str last_seen.topic,
// varint last_seen.partition, varint last_seen.offset, varint n,
// n × (u8 present, [str content]).
std::string EncodeTruth(const TruthEntry& e) {
  std::string out;
  const AppliedMarker& m = e.state.marker;
  uint8_t flags = (e.has_state ? kHasState : 0) | (m.deleted ? kDeleted : 0) |
                  (m.version.has_value() ? kHasVersion : 0);
  out.push_back(static_cast<char>(flags));
  if (m.version.has_value()) PutLE(&out, static_cast<uint64_t>(*m.version), 8);
  PutStr(&out, m.position.topic);
  PutVarint(&out, m.position.partition);
  PutVarint(&out, m.position.offset);
  PutStr(&out, m.event_id);
  PutStr(&out, e.state.entity_type);
  PutStr(&out, e.state.payload);
  PutStr(&out, e.last_seen.topic);
  PutVarint(&out, e.last_seen.partition);
  PutVarint(&out, e.last_seen.offset);
  PutVarint(&out, e.contents.size());
  for (const std::optional<std::string>& c : e.contents) {
    out.push_back(c.has_value() ? 1 : 0);
    if (c.has_value()) PutStr(&out, *c);
  }
  return out;
}

Status DecodeTruth(std::string_view id, std::string_view bytes, TruthEntry* out) {
  Reader r(bytes);
  *out = TruthEntry{};
  const uint8_t flags = r.U8();
  out->has_state = (flags & kHasState) != 0;
  AppliedMarker& m = out->state.marker;
  m.deleted = (flags & kDeleted) != 0;
  if ((flags & kHasVersion) != 0) m.version = static_cast<int64_t>(r.Fixed64());
  m.position.topic = r.Str();
  m.position.partition = static_cast<uint32_t>(r.Varint());
  m.position.offset = r.Varint();
  m.event_id = r.Str();
  out->state.entity_id = std::string(id);
  out->state.entity_type = r.Str();
  out->state.payload = r.Str();
  out->last_seen.topic = r.Str();
  out->last_seen.partition = static_cast<uint32_t>(r.Varint());
  out->last_seen.offset = r.Varint();
  const uint64_t n = r.Varint();
  for (uint64_t i = 0; r.ok() && i < n && i < 1024; ++i) {
    if (r.U8() != 0) {
      out->contents.emplace_back(r.Str());
    } else {
      out->contents.emplace_back(std::nullopt);
    }
  }
  if (!r.ok() || out->contents.size() != n) {
    return Status::Corruption("audit truth: entry of \"" + std::string(id) + "\" is malformed");
  }
  return Status::OK();
}

// ---- TruthCursor -------------------------------------------------------------

TruthCursor::TruthCursor(std::unique_ptr<rocksdb::Iterator> it) : it_(std::move(it)) {}
TruthCursor::~TruthCursor() = default;

Status TruthCursor::Seek(std::string_view id) {
  it_->Seek(EntityKey(id));
  return FromRocks(it_->status(), "audit truth seek");
}

bool TruthCursor::Valid(std::string_view end) const {
  if (!it_->Valid()) return false;
  std::string_view k = it_->key().ToStringView();
  if (k.empty() || k[0] != kEntityPrefix) return false;
  return end.empty() || k.substr(1) < end;
}

std::string_view TruthCursor::id() const { return it_->key().ToStringView().substr(1); }

Status TruthCursor::Entry(TruthEntry* out) const {
  return DecodeTruth(id(), it_->value().ToStringView(), out);
}

Status TruthCursor::Next() {
  it_->Next();
  return FromRocks(it_->status(), "audit truth scan");
}

// ---- TruthDb -----------------------------------------------------------------

TruthDb::TruthDb(std::string dir, std::unique_ptr<rocksdb::DB> db)
    : dir_(std::move(dir)), db_(std::move(db)) {}

TruthDb::~TruthDb() {
  if (db_ != nullptr) {
    rocksdb::Status s = db_->Close();
    (void)s;  // scratch data: nothing to keep
    db_.reset();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Result<std::unique_ptr<TruthDb>> TruthDb::Create(const std::string& dir,
                                                 size_t memory_budget_bytes) {
  std::error_code ec;
  if (!std::filesystem::create_directories(dir, ec)) {
    return Status::IOError("audit: cannot create the temporary directory " + dir + ": " +
                           (ec ? ec.message() : std::string("it exists")));
  }
  rocksdb::Options o;
  o.create_if_missing = true;
  o.error_if_exists = true;
  // Half the budget for the memtable, a quarter for the block cache; the rest
  // is RocksDB's own overhead (index blocks, iterators).
  o.write_buffer_size = std::max<size_t>(memory_budget_bytes / 2, 256 << 10);
  o.max_write_buffer_number = 2;
  o.max_background_jobs = 1;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(std::max<size_t>(memory_budget_bytes / 4, 64 << 10));
  table.cache_index_and_filter_blocks = true;
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, dir, &raw);
  if (!s.ok()) {
    std::filesystem::remove_all(dir, ec);
    return FromRocks(s, "open audit truth " + dir);
  }
  return std::unique_ptr<TruthDb>(new TruthDb(dir, std::unique_ptr<rocksdb::DB>(raw)));
}

Status TruthDb::Get(std::string_view id, std::optional<TruthEntry>* out) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), EntityKey(id), &value);
  if (s.IsNotFound()) {
    out->reset();
    return Status::OK();
  }
  if (!s.ok()) return FromRocks(s, "audit truth get");
  out->emplace();
  return DecodeTruth(id, value, &**out);
}

Status TruthDb::Put(std::string_view id, const TruthEntry& entry) {
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  return FromRocks(db_->Put(wo, EntityKey(id), EncodeTruth(entry)), "audit truth put");
}

Status TruthDb::AddDeadLetter(std::string_view leg, std::string_view id) {
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  return FromRocks(db_->Put(wo, DeadLetterKey(leg, id), ""), "audit truth put");
}

Result<bool> TruthDb::IsDeadLettered(std::string_view leg, std::string_view id) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), DeadLetterKey(leg, id), &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocks(s, "audit truth get");
  return true;
}

std::unique_ptr<TruthCursor> TruthDb::NewCursor() {
  return std::make_unique<TruthCursor>(
      std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(rocksdb::ReadOptions())));
}

}  // namespace tandem::audit_internal
