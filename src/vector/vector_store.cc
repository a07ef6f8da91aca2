// RocksVectorStore: opening, the RocksDB plumbing (ReadView, WriteBuffer) and
// the Store methods other than event application.

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <utility>

#include "vector/rocks_vector_store.h"
#include "store/rocks_logger.h"

namespace tandem {
namespace vector_internal {

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

Status ReadView::LoadDoc(std::string_view id, std::optional<DocRecord>* out) const {
  std::optional<std::string> bytes;
  TANDEM_RETURN_IF_ERROR(Get(DocKey(id), &bytes));
  if (!bytes.has_value()) {
    out->reset();
    return Status::OK();
  }
  out->emplace();
  return DecodeDoc(id, *bytes, &**out);
}

// ---- WriteBuffer -----------------------------------------------------------

Status WriteBuffer::Get(const std::string& key, std::optional<std::string>* out) {
  if (auto it = pending_.find(key); it != pending_.end()) {
    *out = it->second;
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

Status WriteBuffer::Commit(const rocksdb::WriteOptions& options) {
  rocksdb::WriteBatch batch;
  for (const auto& [key, value] : pending_) {
    rocksdb::Status s = value.has_value() ? batch.Put(key, *value) : batch.Delete(key);
    if (!s.ok()) return FromRocks(s, "batch");
  }
  for (const auto& [begin, end] : ranges_) {
    rocksdb::Status s = batch.DeleteRange(begin, end);
    if (!s.ok()) return FromRocks(s, "batch");
  }
  return FromRocks(db_.Write(options, &batch), "write");
}

// ---- Open ------------------------------------------------------------------

namespace {

Status CheckOrWriteMeta(rocksdb::DB& db, const VectorStoreOptions& options) {
  const std::string model = options.embedder->model_id();
  const std::string dimension = std::to_string(options.embedder->dimension());
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
      return Status::FailedPrecondition(options.dir + ": not a tandem vector store (no format)");
    }
    rocksdb::WriteBatch batch;
    rocksdb::Status s = batch.Put(MetaKey("format"), kStoreFormat);
    if (s.ok()) s = batch.Put(MetaKey("model_id"), model);
    if (s.ok()) s = batch.Put(MetaKey("dimension"), dimension);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (s.ok()) s = db.Write(wo, &batch);
    return FromRocks(s, "write meta " + options.dir);
  }
  if (*format != kStoreFormat) {
    return Status::FailedPrecondition(options.dir + ": vector store format \"" + *format +
                                      "\", this build reads \"" + std::string(kStoreFormat) + "\"");
  }
  std::optional<std::string> stored_model, stored_dimension;
  TANDEM_RETURN_IF_ERROR(view.Get(MetaKey("model_id"), &stored_model));
  TANDEM_RETURN_IF_ERROR(view.Get(MetaKey("dimension"), &stored_dimension));
  if (stored_model != model || stored_dimension != dimension) {
    return Status::FailedPrecondition(
        options.dir + ": the store holds vectors of embedder \"" + stored_model.value_or("?") +
        "\" (d=" + stored_dimension.value_or("?") + "), not of \"" + model + "\" (d=" + dimension +
        "); rebuild it from the log into a new directory");
  }
  return Status::OK();
}

rocksdb::Options MakeRocksOptions(const VectorStoreOptions& options) {
  rocksdb::Options o;
  o.create_if_missing = true;
  // Not RocksDB's LOG file on the store's own disk: see store/rocks_logger.h.
  o.info_log = std::make_shared<store_internal::StderrRocksLogger>(options.dir);
  o.write_buffer_size = options.write_buffer_bytes;
  o.max_background_jobs = 2;
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.memtable_whole_key_filtering = true;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return o;
}

Status ValidateOptions(const VectorStoreOptions& o) {
  if (o.dir.empty()) return Status::InvalidArgument("vector store: dir is required");
  if (o.embedder == nullptr) return Status::InvalidArgument("vector store: embedder is required");
  const size_t d = o.embedder->dimension();
  if (d == 0 || d > 4096) {
    return Status::InvalidArgument("vector store: embedder dimension " + std::to_string(d) +
                                   " is outside 1..4096");
  }
  if (o.hnsw_m < 2 || o.hnsw_m > 256) {
    return Status::InvalidArgument("vector store: hnsw_m must be 2..256");
  }
  if (o.hnsw_ef_construction == 0) {
    return Status::InvalidArgument("vector store: hnsw_ef_construction must be >= 1");
  }
  if (o.hnsw_ef_search == 0) {
    return Status::InvalidArgument("vector store: hnsw_ef_search must be >= 1");
  }
  if (o.index_insert_threads == 0 || o.index_insert_threads > 64) {
    return Status::InvalidArgument("vector store: index_insert_threads must be 1..64");
  }
  for (const auto& [type, fields] : o.text_fields) {
    for (const std::string& f : fields) {
      if (f.empty()) {
        return Status::InvalidArgument("vector store: text_fields[" + type + "]: empty field name");
      }
    }
  }
  return Status::OK();
}

}  // namespace

RocksVectorStore::RocksVectorStore(const VectorStoreOptions& options,
                                   std::unique_ptr<rocksdb::DB> db,
                                   std::unique_ptr<FileSystem> owned_fs)
    : options_(options),
      embedder_(*options.embedder),
      dimension_(options.embedder->dimension()),
      clock_(options.clock != nullptr ? *options.clock : SystemClock()),
      owned_fs_(std::move(owned_fs)),
      fs_(options.fs != nullptr ? *options.fs : *owned_fs_),
      db_(std::move(db)) {
  write_options_.sync = options.sync;
}

RocksVectorStore::~RocksVectorStore() {
  // Snapshots make the next open fast; losing them costs a rebuild, nothing else.
  Status s = SaveSnapshots();
  (void)s;
  if (db_ != nullptr) {
    rocksdb::Status c = db_->Close();
    (void)c;  // the WAL holds every committed batch
  }
}

Result<std::unique_ptr<VectorStore>> RocksVectorStore::Open(const VectorStoreOptions& options) {
  TANDEM_RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  TANDEM_RETURN_IF_ERROR(posix->CreateDirs(options.dir));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(MakeRocksOptions(options), options.dir, &raw);
  if (!s.ok()) return FromRocks(s, "open " + options.dir);
  std::unique_ptr<rocksdb::DB> db(raw);
  TANDEM_RETURN_IF_ERROR(CheckOrWriteMeta(*db, options));
  std::unique_ptr<RocksVectorStore> store(
      new RocksVectorStore(options, std::move(db), std::move(posix)));
  TANDEM_RETURN_IF_ERROR(store->LoadIndexes());
  return std::unique_ptr<VectorStore>(std::move(store));
}

// ---- Store methods ---------------------------------------------------------

Result<PositionMap> RocksVectorStore::Positions() {
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

Result<EntityState> RocksVectorStore::Get(std::string_view entity_id) {
  TANDEM_ASSIGN_OR_RETURN(VectorDocument d, GetDocument(entity_id));
  return std::move(d.state);
}

Result<VectorDocument> RocksVectorStore::GetDocument(std::string_view entity_id) {
  ReadView view(*db_);
  std::optional<DocRecord> d;
  TANDEM_RETURN_IF_ERROR(view.LoadDoc(entity_id, &d));
  if (!d.has_value() || Expired(*d, clock_.NowMicros())) {
    return Status::NotFound("entity \"" + std::string(entity_id) + "\"");
  }
  VectorDocument out;
  out.state.entity_id = std::string(entity_id);
  out.state.entity_type = d->entity_type;
  out.state.payload = d->payload;
  out.state.marker = d->marker;
  out.text = d->text;
  if (d->has_vector) {
    std::optional<std::string> bytes;
    TANDEM_RETURN_IF_ERROR(view.Get(VectorKey(*d->label), &bytes));
    if (!bytes.has_value()) {
      return Status::Corruption("vector: document \"" + std::string(entity_id) +
                                "\" has no vector under its label");
    }
    TANDEM_RETURN_IF_ERROR(DecodeVector(*d->label, *bytes, dimension_, &out.vector));
    std::shared_lock lock(indexes_mu_);
    auto it = indexes_.find(d->entity_type);
    out.indexed = it != indexes_.end() && it->second.index->Contains(*d->label);
  }
  return out;
}

Result<StoreDigest> RocksVectorStore::Digest() {
  ReadView view(*db_);
  StoreDigest digest;
  TANDEM_RETURN_IF_ERROR(view.Scan(
      std::string(1, kDocPrefix), [&](std::string_view k, std::string_view bytes) -> Result<bool> {
        std::string_view id = k.substr(1);
        DocRecord d;
        TANDEM_RETURN_IF_ERROR(DecodeDoc(id, bytes, &d));
        if (d.live()) {
          digest.Add(EntityHash(d.entity_type, id, d.marker.version, d.payload));
        }
        return true;
      }));
  return digest;
}

Result<uint64_t> RocksVectorStore::ExpireTombstones() {
  if (options_.tombstone_retention_us < 0) return uint64_t{0};
  std::lock_guard<std::mutex> lock(apply_mu_);
  const int64_t now = clock_.NowMicros();
  ReadView view(*db_);
  WriteBuffer wb(*db_);
  uint64_t expired = 0;
  auto expire = [&](std::string_view key, std::string_view) -> Result<bool> {
    int64_t at = 0;
    std::string id;
    TANDEM_RETURN_IF_ERROR(DecodeTombstoneKey(key, &at, &id));
    std::optional<DocRecord> d;
    TANDEM_RETURN_IF_ERROR(view.LoadDoc(id, &d));
    if (!d.has_value() || d->live() || !Expired(*d, now) || d->has_vector) {
      return Status::Corruption("vector: tombstone index entry for \"" + id +
                                "\" without an expired tombstone");
    }
    wb.Delete(std::string(key));
    wb.Delete(DocKey(id));
    if (d->label.has_value()) wb.Delete(LabelKey(*d->label));
    ++expired;
    return true;
  };
  TANDEM_RETURN_IF_ERROR(
      view.ScanRange(std::string(1, kTombstonePrefix),
                     TombstonePrefixBefore(now - options_.tombstone_retention_us), expire));
  if (!wb.empty()) TANDEM_RETURN_IF_ERROR(wb.Commit(write_options_));
  return expired;
}

ApplyCounts RocksVectorStore::counters() const {
  std::lock_guard<std::mutex> lock(apply_mu_);
  return counters_;
}

VectorCounters RocksVectorStore::vector_counters() const {
  std::lock_guard<std::mutex> lock(stats_mu_);
  return vcounters_;
}

std::map<std::string, uint64_t> RocksVectorStore::IndexSizes() const {
  std::shared_lock lock(indexes_mu_);
  std::map<std::string, uint64_t> out;
  for (const auto& [type, ti] : indexes_) out[type] = ti.index->size();
  return out;
}

}  // namespace vector_internal

Result<std::unique_ptr<VectorStore>> OpenVectorStore(const VectorStoreOptions& options) {
  return vector_internal::RocksVectorStore::Open(options);
}

}  // namespace tandem
