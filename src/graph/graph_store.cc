// RocksGraphStore: opening, the RocksDB plumbing (ReadView, WriteBuffer) and
// the Store methods other than event application.

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <utility>

#include "graph/rocks_graph_store.h"
#include "store/rocks_logger.h"

namespace tandem {
namespace graph_internal {

// ---- ReadView --------------------------------------------------------------

ReadView::ReadView(rocksdb::DB& db) : db_(db), snapshot_(db.GetSnapshot()) {}

ReadView::~ReadView() { db_.ReleaseSnapshot(snapshot_); }

Status ReadView::Get(std::string_view key, std::optional<std::string>* out) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  std::string value;
  rocksdb::Status s = db_.Get(ro, rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) {
    out->reset();
    return Status::OK();
  }
  if (!s.ok()) return FromRocks(s, "get");
  *out = std::move(value);
  return Status::OK();
}

Status ReadView::ScanRange(std::string_view begin, std::string_view end, const ScanFn& fn) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  rocksdb::Slice upper(end.data(), end.size());
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator(ro));
  for (it->Seek(rocksdb::Slice(begin.data(), begin.size())); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    rocksdb::Slice v = it->value();
    TANDEM_ASSIGN_OR_RETURN(
        bool more, fn(std::string_view(k.data(), k.size()), std::string_view(v.data(), v.size())));
    if (!more) return Status::OK();
  }
  return FromRocks(it->status(), "scan");
}

Status ReadView::LoadVertex(std::string_view id, std::optional<VertexRecord>* out) const {
  std::optional<std::string> bytes;
  TANDEM_RETURN_IF_ERROR(Get(VertexKey(id), &bytes));
  if (!bytes.has_value()) {
    out->reset();
    return Status::OK();
  }
  out->emplace();
  return DecodeVertex(id, *bytes, &**out);
}

// ---- WriteBuffer -----------------------------------------------------------

const std::optional<std::string>* WriteBuffer::FindInChain(const std::string& key) const {
  for (const WriteBuffer* b = overlay_.get(); b != nullptr; b = b->overlay_.get()) {
    if (auto it = b->pending_.find(key); it != b->pending_.end()) return &it->second;
  }
  return nullptr;
}

const WriteBuffer::VertexEntry* WriteBuffer::FindVertexInChain(std::string_view id) const {
  for (const WriteBuffer* b = overlay_.get(); b != nullptr; b = b->overlay_.get()) {
    if (auto it = b->vertices_.find(id); it != b->vertices_.end() && it->second.dirty) {
      return &it->second;
    }
  }
  return nullptr;
}

bool WriteBuffer::Touched(std::string_view id) const {
  return vertices_.contains(id) || FindVertexInChain(id) != nullptr;
}

Status WriteBuffer::Get(const std::string& key, std::optional<std::string>* out,
                        bool absent_in_db) {
  if (auto it = pending_.find(key); it != pending_.end()) {
    *out = it->second;
    return Status::OK();
  }
  if (absent_in_db) {
    out->reset();
    return Status::OK();
  }
  if (const std::optional<std::string>* v = FindInChain(key); v != nullptr) {
    *out = *v;
    return Status::OK();
  }
  if (auto it = read_cache_.find(key); it != read_cache_.end()) {
    *out = it->second;
    return Status::OK();
  }
  std::string value;
  rocksdb::Status s = db_.Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound()) {
    out->reset();
  } else if (!s.ok()) {
    return FromRocks(s, "get");
  } else {
    *out = std::move(value);
  }
  read_cache_.emplace(key, *out);
  return Status::OK();
}

Result<bool> WriteBuffer::AnyWithPrefix(std::string_view prefix) {
  // The newest write of a key decides: this batch's, then the chain's.
  auto newest = [&](const std::string& key) -> const std::optional<std::string>* {
    if (auto it = pending_.find(key); it != pending_.end()) return &it->second;
    return FindInChain(key);
  };
  for (const WriteBuffer* b = this; b != nullptr; b = b->overlay_.get()) {
    for (const auto& [key, value] : b->pending_) {
      if (!value.has_value() || !key.starts_with(prefix)) continue;
      if (const std::optional<std::string>* v = newest(key); v != nullptr && v->has_value()) {
        return true;
      }
    }
  }
  const std::string end = PrefixEnd(prefix);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator(ro));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix)) break;
    const std::optional<std::string>* v = newest(std::string(key));
    if (v == nullptr || v->has_value()) return true;  // committed and not deleted since
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scan");
  return false;
}

Result<WriteBuffer::VertexEntry*> WriteBuffer::Vertex(std::string_view id) {
  auto [it, inserted] = vertices_.try_emplace(std::string(id));
  if (!inserted) return &it->second;
  if (const VertexEntry* e = FindVertexInChain(id); e != nullptr) {
    it->second.record = e->record;  // not dirty: this batch has not changed it
    return &it->second;
  }
  std::string bytes;
  rocksdb::Status s = db_.Get(rocksdb::ReadOptions(), VertexKey(id), &bytes);
  Status decoded;
  if (s.ok()) {
    it->second.record.emplace();
    decoded = DecodeVertex(id, bytes, &*it->second.record);
  } else if (!s.IsNotFound()) {
    decoded = FromRocks(s, "get");
  }
  if (!decoded.ok()) {
    vertices_.erase(it);
    return decoded;
  }
  return &it->second;
}

Status WriteBuffer::Prefetch(const std::vector<std::string_view>& ids) {
  // Pointers, not iterators: inserting may rehash, which keeps only pointers.
  std::vector<decltype(vertices_)::value_type*> entries;
  std::vector<std::string> keys;
  for (std::string_view id : ids) {
    auto [it, inserted] = vertices_.try_emplace(std::string(id));
    if (!inserted) continue;
    if (const VertexEntry* e = FindVertexInChain(id); e != nullptr) {
      it->second.record = e->record;
      continue;
    }
    entries.push_back(&*it);
    keys.push_back(VertexKey(id));
  }
  if (keys.empty()) return Status::OK();
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_.MultiGet(rocksdb::ReadOptions(), db_.DefaultColumnFamily(), keys.size(), slices.data(),
               values.data(), statuses.data());
  Status failed;
  for (size_t i = 0; i < keys.size(); ++i) {
    VertexEntry& entry = entries[i]->second;
    if (failed.ok() && statuses[i].ok()) {
      entry.record.emplace();
      failed = DecodeVertex(entries[i]->first, values[i].ToStringView(), &*entry.record);
    } else if (failed.ok() && !statuses[i].IsNotFound()) {
      failed = FromRocks(statuses[i], "multiget");
    }
  }
  if (!failed.ok()) {
    for (auto* entry : entries) vertices_.erase(vertices_.find(entry->first));
  }
  return failed;
}

Status WriteBuffer::LoadVertex(std::string_view id, std::optional<VertexRecord>* out) {
  TANDEM_ASSIGN_OR_RETURN(VertexEntry * entry, Vertex(id));
  *out = entry->record;
  return Status::OK();
}

Result<const VertexRecord*> WriteBuffer::PeekVertex(std::string_view id) {
  TANDEM_ASSIGN_OR_RETURN(VertexEntry * entry, Vertex(id));
  return entry->record.has_value() ? &*entry->record : nullptr;
}

void WriteBuffer::PutVertex(std::string_view id, VertexRecord&& v) {
  auto it = vertices_.find(id);
  if (it == vertices_.end()) it = vertices_.try_emplace(std::string(id)).first;
  VertexEntry& entry = it->second;
  entry.record = std::move(v);
  entry.dirty = true;
  any_vertex_dirty_ = true;
}

void WriteBuffer::AddToCount(std::string_view label, int64_t delta) {
  for (auto& [l, d] : count_deltas_) {
    if (l == label) {
      d += delta;
      return;
    }
  }
  count_deltas_.emplace_back(std::string(label), delta);
}

void WriteBuffer::DeleteVertex(std::string_view id) {
  VertexEntry& entry = vertices_[std::string(id)];
  entry.record.reset();
  entry.dirty = true;
  any_vertex_dirty_ = true;
}

namespace {

// One write of a batch: key and value are ranges of the batch's arena. 24
// bytes, sorted in place; `head` (the first 8 key bytes, big-endian, zero
// padded) decides most comparisons without touching the arena. (A 16-byte
// head measured slightly worse: more bytes moved than comparisons saved.)
struct ArenaWrite {
  uint64_t head;
  uint32_t key;  // arena offset; the value follows the key
  uint16_t key_len;
  bool put;  // false: a delete
  uint32_t value_len;
};

uint64_t KeyHead(std::string_view key) {
  uint64_t h = 0;
  for (size_t i = 0; i < 8; ++i) {
    h = (h << 8) | (i < key.size() ? static_cast<unsigned char>(key[i]) : 0);
  }
  return h;
}

}  // namespace

Status WriteBuffer::Commit(const rocksdb::WriteOptions& options) const {
  // Every key and value of the batch (vertices encoded here, once) in one
  // arena, then sorted: the memtable inserts in key order (see the insert
  // hint in MakeRocksOptions).
  std::string arena;
  std::vector<ArenaWrite> writes;
  writes.reserve(pending_.size() + vertices_.size());
  size_t bytes = 0;
  for (const auto& [key, value] : pending_) bytes += key.size() + (value ? value->size() : 0);
  arena.reserve(bytes + vertices_.size() * 96);
  auto add = [&](size_t key_at, bool put) -> Status {
    const size_t key_len = arena.size() - key_at;
    if (key_len > UINT16_MAX || arena.size() > UINT32_MAX) {
      return Status::InvalidArgument("graph: a batch's writes exceed 4 GiB or a key 64 KiB");
    }
    const std::string_view key(arena.data() + key_at, key_len);
    writes.push_back(
        {KeyHead(key), static_cast<uint32_t>(key_at), static_cast<uint16_t>(key_len), put, 0});
    return Status::OK();
  };
  auto value_done = [&](size_t value_at) {
    writes.back().value_len = static_cast<uint32_t>(arena.size() - value_at);
  };
  for (const auto& [key, value] : pending_) {
    const size_t at = arena.size();
    arena.append(key);
    TANDEM_RETURN_IF_ERROR(add(at, value.has_value()));
    if (value.has_value()) {
      const size_t value_at = arena.size();
      arena.append(*value);
      value_done(value_at);
    }
  }
  for (const auto& [id, entry] : vertices_) {
    if (!entry.dirty) continue;
    const size_t at = arena.size();
    arena.push_back(kVertexPrefix);
    arena.append(id);
    TANDEM_RETURN_IF_ERROR(add(at, entry.record.has_value()));
    if (entry.record.has_value()) {
      const size_t value_at = arena.size();
      AppendVertex(*entry.record, &arena);
      value_done(value_at);
    }
  }
  const char* base = arena.data();
  auto key_of = [base](const ArenaWrite& w) { return std::string_view(base + w.key, w.key_len); };
  std::sort(writes.begin(), writes.end(), [&](const ArenaWrite& a, const ArenaWrite& b) {
    if (a.head != b.head) return a.head < b.head;
    return key_of(a) < key_of(b);
  });
  // Per entry: a tag byte, the column family varint at most, two length
  // varints.
  rocksdb::WriteBatch batch(arena.size() + writes.size() * 12 + 12);
  for (const ArenaWrite& w : writes) {
    const rocksdb::Slice key(base + w.key, w.key_len);
    rocksdb::Status s = w.put
                            ? batch.Put(key, rocksdb::Slice(base + w.key + w.key_len, w.value_len))
                            : batch.Delete(key);
    if (!s.ok()) return FromRocks(s, "batch");
  }
  return FromRocks(db_.Write(options, &batch), "write");
}

// ---- Open ------------------------------------------------------------------

namespace {

Status CheckOrWriteMeta(rocksdb::DB& db, const GraphStoreOptions& options) {
  const std::string schema = SerializeGraphSchema(options.schema);
  ReadView view(db);
  std::optional<std::string> format;
  TANDEM_RETURN_IF_ERROR(view.Get(MetaKey("format"), &format));
  if (!format.has_value()) {
    bool empty = true;
    TANDEM_RETURN_IF_ERROR(view.ScanRange("", "", [&](std::string_view, std::string_view) {
      empty = false;
      return Result<bool>(false);
    }));
    if (!empty) {
      return Status::FailedPrecondition(options.dir + ": not a tandem graph store (no format)");
    }
    rocksdb::WriteBatch batch;
    rocksdb::Status s = batch.Put(MetaKey("format"), kStoreFormat);
    if (s.ok()) s = batch.Put(MetaKey("schema"), schema);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (s.ok()) s = db.Write(wo, &batch);
    return FromRocks(s, "write meta " + options.dir);
  }
  if (*format != kStoreFormat) {
    return Status::FailedPrecondition(options.dir + ": graph store format \"" + *format +
                                      "\", this build reads \"" + std::string(kStoreFormat) + "\"");
  }
  std::optional<std::string> stored;
  TANDEM_RETURN_IF_ERROR(view.Get(MetaKey("schema"), &stored));
  if (stored != schema) {
    return Status::FailedPrecondition(options.dir +
                                      ": the store was built with another graph schema; "
                                      "rebuild it from the log (stored: " +
                                      stored.value_or("<none>") + ")");
  }
  return Status::OK();
}

rocksdb::Options MakeRocksOptions(const GraphStoreOptions& options) {
  rocksdb::Options o;
  o.create_if_missing = true;
  // Not RocksDB's LOG file on the store's own disk: see store/rocks_logger.h.
  o.info_log = std::make_shared<store_internal::StderrRocksLogger>(options.dir);
  o.write_buffer_size = options.write_buffer_bytes;
  o.max_background_jobs = 2;
  // Most point reads of an ApplyBatch miss (new vertices, new edges): a bloom
  // filter over whole memtable keys lets them skip the skiplist search.
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.memtable_whole_key_filtering = true;
  // Commit writes each batch in key order. With a hint per key kind (the
  // first byte) the memtable resumes each insert from where the previous key
  // of that kind went and fixes the search path only from the level where
  // they part, instead of searching the skiplist from the top for every key
  // (RocksDB's plain sequential splice is dropped as soon as a key is not
  // adjacent to the previous one).
  o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1));
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

}  // namespace

RocksGraphStore::RocksGraphStore(const GraphStoreOptions& options, std::unique_ptr<rocksdb::DB> db)
    : dir_(options.dir),
      clock_(options.clock != nullptr ? *options.clock : SystemClock()),
      retention_us_(options.tombstone_retention_us),
      extractor_(options.schema),
      db_(std::move(db)),
      known_capacity_(options.known_vertex_cache_entries) {
  write_options_.sync = options.sync;
}

RocksGraphStore::~RocksGraphStore() {
  // Close() flushes nothing by itself: committed batches are in the WAL.
  if (db_ != nullptr) {
    rocksdb::Status s = db_->Close();
    (void)s;  // nothing to report to; the WAL holds every committed batch
  }
}

Result<std::unique_ptr<GraphStore>> RocksGraphStore::Open(const GraphStoreOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("graph store: dir is required");
  TANDEM_RETURN_IF_ERROR(ValidateGraphSchema(options.schema).WithContext("graph schema"));
  TANDEM_RETURN_IF_ERROR(NewPosixFileSystem()->CreateDirs(options.dir));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(MakeRocksOptions(options), options.dir, &raw);
  if (!s.ok()) return FromRocks(s, "open " + options.dir);
  std::unique_ptr<rocksdb::DB> db(raw);
  TANDEM_RETURN_IF_ERROR(CheckOrWriteMeta(*db, options));
  return std::unique_ptr<GraphStore>(new RocksGraphStore(options, std::move(db)));
}

// ---- Store methods ---------------------------------------------------------

Result<BatchResult> RocksGraphStore::ApplyBatch(std::span<const StoreEvent> events) {
  std::unique_lock<std::mutex> plan(plan_mu_);
  const int64_t now = clock_.NowMicros();
  auto wb = std::make_shared<WriteBuffer>(*db_, inflight_);
  wb->Reserve(events.size());
  BatchResult result;
  result.outcomes.resize(events.size());
  PositionMap handled;
  std::vector<std::string_view> ids;
  ids.reserve(events.size());
  for (const StoreEvent& e : events) ids.push_back(e.event.entity_id);
  TANDEM_RETURN_IF_ERROR(wb->Prefetch(ids));
  for (size_t i = 0; i < events.size(); ++i) {
    const StoreEvent& e = events[i];
    TANDEM_RETURN_IF_ERROR(ApplyOne(*wb, e, now, &result.outcomes[i]));
    const ApplyCode code = result.outcomes[i].code;
    result.counts.Add(code);
    if (code == ApplyCode::kPermanentError || code == ApplyCode::kTransientError) continue;
    uint64_t& offset = handled[{e.position.topic, e.position.partition}];
    offset = std::max(offset, e.position.offset);
  }
  TANDEM_RETURN_IF_ERROR(RecordPositions(*wb, handled));
  TANDEM_RETURN_IF_ERROR(CommitInOrder(plan, std::move(wb), result.counts));
  return result;
}

Status RocksGraphStore::CommitInOrder(std::unique_lock<std::mutex>& plan,
                                      std::shared_ptr<WriteBuffer> wb, const ApplyCounts& counts) {
  TANDEM_RETURN_IF_ERROR(FlushCounts(*wb));
  const uint64_t ticket = next_ticket_++;
  inflight_ = wb;
  plan.unlock();
  Status s;
  {
    std::unique_lock<std::mutex> c(commit_mu_);
    commit_cv_.wait(c, [&] { return committed_tickets_ == ticket; });
    // Planned on top of a batch whose commit failed: its reads saw writes
    // that never happened.
    if (wb->overlay() != nullptr && !wb->overlay()->commit_status.ok()) {
      s = Status::Aborted("graph: an earlier batch this one depends on failed: " +
                          wb->overlay()->commit_status.ToString());
    }
  }
  // Only the holder of the current ticket writes, so the writes reach
  // RocksDB in planning order.
  if (s.ok() && !wb->empty()) s = wb->Commit(write_options_);
  plan.lock();
  if (s.ok()) {
    RememberVertices(*wb);
    counters_ += counts;
  }
  wb->DropOverlay();  // committed (or failed): later batches need not look past it
  if (inflight_ == wb) inflight_.reset();
  plan.unlock();
  {
    std::lock_guard<std::mutex> c(commit_mu_);
    wb->commit_status = s;
    ++committed_tickets_;
  }
  commit_cv_.notify_all();
  return s;
}

void RocksGraphStore::DrainCommits(std::unique_lock<std::mutex>& plan) {
  const uint64_t planned = next_ticket_;
  plan.unlock();
  {
    std::unique_lock<std::mutex> c(commit_mu_);
    commit_cv_.wait(c, [&] { return committed_tickets_ == planned; });
  }
  plan.lock();
}

void RocksGraphStore::RememberVertices(const WriteBuffer& wb) {
  wb.ForEachVertex([&](const std::string& id, const std::optional<VertexRecord>& r) {
    if (r.has_value() && (r->live() || r->referenced)) {
      known_.insert_or_assign(id, r->live());
    } else {
      known_.erase(id);
    }
  });
  if (known_.size() > known_capacity_) known_.clear();
}

Status RocksGraphStore::RecordPositions(WriteBuffer& wb, const PositionMap& handled) {
  for (const auto& [tp, offset] : handled) {
    std::string key = PositionKey(tp.topic, tp.partition);
    std::optional<std::string> old;
    TANDEM_RETURN_IF_ERROR(wb.Get(key, &old));
    uint64_t stored = 0;
    if (old.has_value()) TANDEM_RETURN_IF_ERROR(DecodeU64(*old, &stored));
    if (old.has_value() && stored >= offset) continue;
    wb.Put(std::move(key), EncodeU64(offset));
  }
  return Status::OK();
}

Result<PositionMap> RocksGraphStore::Positions() {
  ReadView view(*db_);
  PositionMap out;
  TANDEM_RETURN_IF_ERROR(view.Scan(std::string(1, kPositionPrefix),
                                   [&](std::string_view k, std::string_view v) -> Result<bool> {
                                     TopicPartition tp;
                                     TANDEM_RETURN_IF_ERROR(DecodePositionKey(k, &tp));
                                     TANDEM_RETURN_IF_ERROR(DecodeU64(v, &out[tp]));
                                     return true;
                                   }));
  return out;
}

Result<EntityState> RocksGraphStore::Get(std::string_view entity_id) {
  ReadView view(*db_);
  std::optional<VertexRecord> v;
  TANDEM_RETURN_IF_ERROR(view.LoadVertex(entity_id, &v));
  if (!v.has_value() || !v->has_marker || Expired(*v, clock_.NowMicros())) {
    return Status::NotFound("entity \"" + std::string(entity_id) + "\"");
  }
  EntityState s;
  s.entity_id = std::string(entity_id);
  s.entity_type = v->entity_type;
  s.payload = v->payload;
  s.marker = v->marker;
  return s;
}

Result<StoreDigest> RocksGraphStore::Digest() {
  ReadView view(*db_);
  StoreDigest d;
  TANDEM_RETURN_IF_ERROR(
      view.Scan(std::string(1, kVertexPrefix),
                [&](std::string_view k, std::string_view bytes) -> Result<bool> {
                  std::string_view id = k.substr(1);
                  VertexRecord v;
                  TANDEM_RETURN_IF_ERROR(DecodeVertex(id, bytes, &v));
                  if (v.live()) {
                    d.Add(EntityHash(v.entity_type, id, v.marker.version, v.payload));
                  }
                  return true;
                }));
  return d;
}

Result<uint64_t> RocksGraphStore::ExpireTombstones() {
  if (retention_us_ < 0) return uint64_t{0};
  std::unique_lock<std::mutex> plan(plan_mu_);
  // Every planned batch written first, so the snapshot below is the state
  // this expiry plans on (nothing new is planned while plan_mu_ is held).
  DrainCommits(plan);
  const int64_t now = clock_.NowMicros();
  ReadView view(*db_);
  auto wb_owner = std::make_shared<WriteBuffer>(*db_, nullptr);
  WriteBuffer& wb = *wb_owner;
  uint64_t expired = 0;
  auto expire = [&](std::string_view key, std::string_view) -> Result<bool> {
    int64_t at = 0;
    std::string id;
    TANDEM_RETURN_IF_ERROR(DecodeTombstoneKey(key, &at, &id));
    std::optional<VertexRecord> before;
    TANDEM_RETURN_IF_ERROR(wb.LoadVertex(id, &before));
    if (!before.has_value() || !before->tombstone() || !Expired(*before, now)) {
      return Status::Corruption("graph: tombstone index entry for \"" + id +
                                "\" without an expired tombstone");
    }
    VertexRecord after = *before;
    after.has_marker = false;
    after.marker = AppliedMarker{};
    after.entity_type.clear();
    TANDEM_RETURN_IF_ERROR(StoreVertex(wb, id, before, after));
    ++expired;
    return true;
  };
  TANDEM_RETURN_IF_ERROR(view.ScanRange(std::string(1, kTombstonePrefix),
                                        TombstonePrefixBefore(now - retention_us_), expire));
  TANDEM_RETURN_IF_ERROR(CommitInOrder(plan, std::move(wb_owner), ApplyCounts{}));
  return expired;
}

ApplyCounts RocksGraphStore::counters() const {
  std::lock_guard<std::mutex> lock(plan_mu_);
  return counters_;
}

}  // namespace graph_internal

Result<std::unique_ptr<GraphStore>> OpenGraphStore(const GraphStoreOptions& options) {
  return graph_internal::RocksGraphStore::Open(options);
}

}  // namespace tandem
