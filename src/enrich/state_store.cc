// The RocksDB state store of an enrichment leg (state_store.h).
#include "enrich/state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "common/coding.h"
#include "store/rocks_status.h"
#include "tandem/env.h"

namespace tandem::enrich {
namespace {

using store_internal::FromRocks;

constexpr char kFormat[] = "tandem-enrich-1";

std::string Key(char kind, std::string_view id) {
  std::string k(1, kind);
  k.append(id);
  return k;
}

std::string PositionKey(const TopicPartition& tp) {
  std::string k(1, 'P');
  k.append(tp.topic);
  k.push_back('\0');
  coding::PutBE(&k, tp.partition, 4);
  return k;
}

void PutPosition(std::string* out, const LogPosition& p) {
  coding::PutStr(out, p.topic);
  coding::PutVarint(out, p.partition);
  coding::PutVarint(out, p.offset);
}

LogPosition ReadPosition(coding::Reader& r) {
  LogPosition p;
  p.topic = r.Str();
  p.partition = static_cast<uint32_t>(r.Varint());
  p.offset = r.Varint();
  return p;
}

class RocksStateStore final : public StateStore {
 public:
  RocksStateStore(std::unique_ptr<rocksdb::DB> db, bool sync) : db_(std::move(db)), sync_(sync) {}

  Result<std::optional<EntityRecord>> GetEntity(const std::string& id) override {
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Key('E', id), &v);
    if (s.IsNotFound()) return std::optional<EntityRecord>();
    TANDEM_RETURN_IF_ERROR(FromRocks(s, "get entity"));
    TANDEM_ASSIGN_OR_RETURN(EntityRecord r, DecodeEntity(v));
    return std::optional<EntityRecord>(std::move(r));
  }

  Result<std::optional<JobRecord>> GetJob(const std::string& id) override {
    std::string v;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), Key('J', id), &v);
    if (s.IsNotFound()) return std::optional<JobRecord>();
    TANDEM_RETURN_IF_ERROR(FromRocks(s, "get job"));
    TANDEM_ASSIGN_OR_RETURN(JobRecord r, DecodeJob(v));
    return std::optional<JobRecord>(std::move(r));
  }

  Result<std::vector<std::pair<std::string, JobRecord>>> AllJobs() override {
    std::vector<std::pair<std::string, JobRecord>> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("J"); it->Valid() && it->key().starts_with("J"); it->Next()) {
      TANDEM_ASSIGN_OR_RETURN(JobRecord r, DecodeJob(it->value().ToStringView()));
      out.emplace_back(it->key().ToString().substr(1), std::move(r));
    }
    TANDEM_RETURN_IF_ERROR(FromRocks(it->status(), "scan jobs"));
    return out;
  }

  Result<PositionMap> Positions() override {
    PositionMap out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("P"); it->Valid() && it->key().starts_with("P"); it->Next()) {
      const std::string_view k = it->key().ToStringView().substr(1);
      const size_t nul = k.find('\0');
      if (nul == std::string_view::npos || k.size() != nul + 5 || it->value().size() != 8) {
        return Status::Corruption("enrich state: malformed position record");
      }
      TopicPartition tp{std::string(k.substr(0, nul)),
                        static_cast<uint32_t>(coding::GetBE(k.substr(nul + 1), 4))};
      out[tp] = coding::GetLE(it->value().ToStringView(), 8);
    }
    TANDEM_RETURN_IF_ERROR(FromRocks(it->status(), "scan positions"));
    return out;
  }

  Status Commit(const Batch& batch) override {
    rocksdb::WriteBatch wb;
    rocksdb::Status s;
    for (const auto& [id, rec] : batch.entities) {
      if (s.ok()) s = wb.Put(Key('E', id), EncodeEntity(rec));
    }
    for (const auto& [id, job] : batch.jobs) {
      if (!s.ok()) break;
      s = job.has_value() ? wb.Put(Key('J', id), EncodeJob(*job)) : wb.Delete(Key('J', id));
    }
    for (const auto& [tp, offset] : batch.positions) {
      if (!s.ok()) break;
      std::string v;
      coding::PutLE(&v, offset, 8);
      s = wb.Put(PositionKey(tp), v);
    }
    TANDEM_RETURN_IF_ERROR(FromRocks(s, "batch"));
    rocksdb::WriteOptions wo;
    wo.sync = sync_;
    return FromRocks(db_->Write(wo, &wb), "write");
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  const bool sync_;
};

}  // namespace

std::string EncodeEntity(const EntityRecord& r) {
  std::string out;
  coding::PutStr(&out, r.entity_type);
  coding::PutStr(&out, r.payload);
  out.push_back(r.marker.version.has_value() ? 1 : 0);
  coding::PutVarint(&out, static_cast<uint64_t>(r.marker.version.value_or(0)));
  PutPosition(&out, r.marker.position);
  coding::PutStr(&out, r.marker.event_id);
  out.push_back(r.marker.deleted ? 1 : 0);
  coding::PutVarint(&out, static_cast<uint64_t>(r.marker.applied_at_us));
  coding::PutLE(&out, r.input_hash, 8);
  coding::PutVarint(&out, r.job_seq);
  out.push_back(r.text.has_value() ? 1 : 0);
  coding::PutStr(&out, r.text.value_or(""));
  return out;
}

Result<EntityRecord> DecodeEntity(std::string_view bytes) {
  coding::Reader rd(bytes);
  EntityRecord r;
  r.entity_type = rd.Str();
  r.payload = rd.Str();
  const bool has_version = rd.U8() != 0;
  const auto version = static_cast<int64_t>(rd.Varint());
  if (has_version) r.marker.version = version;
  r.marker.position = ReadPosition(rd);
  r.marker.event_id = rd.Str();
  r.marker.deleted = rd.U8() != 0;
  r.marker.applied_at_us = static_cast<int64_t>(rd.Varint());
  r.input_hash = rd.Fixed64();
  r.job_seq = rd.Varint();
  const bool has_text = rd.U8() != 0;
  std::string text = rd.Str();
  if (has_text) r.text = std::move(text);
  if (!rd.ok() || !rd.rest().empty()) return Status::Corruption("enrich state: malformed entity record");
  return r;
}

std::string EncodeJob(const JobRecord& r) {
  std::string out;
  coding::PutStr(&out, r.entity_type);
  coding::PutLE(&out, r.input_hash, 8);
  coding::PutVarint(&out, r.seq);
  coding::PutVarint(&out, r.attempts);
  PutPosition(&out, r.source);
  return out;
}

Result<JobRecord> DecodeJob(std::string_view bytes) {
  coding::Reader rd(bytes);
  JobRecord r;
  r.entity_type = rd.Str();
  r.input_hash = rd.Fixed64();
  r.seq = rd.Varint();
  r.attempts = static_cast<uint32_t>(rd.Varint());
  r.source = ReadPosition(rd);
  if (!rd.ok() || !rd.rest().empty()) return Status::Corruption("enrich state: malformed job record");
  return r;
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& dir, bool sync) {
  if (dir.empty()) return Status::InvalidArgument("dir: must not be empty");
  // RocksDB creates only the last component (<data_dir>/enrich/<name>).
  TANDEM_RETURN_IF_ERROR(NewPosixFileSystem()->CreateDirs(dir).WithContext("enrich state " + dir));
  rocksdb::Options o;
  o.create_if_missing = true;
  o.max_background_jobs = 1;
  o.write_buffer_size = size_t{4} << 20;
  o.create_missing_column_families = false;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, dir, &raw);
  if (!s.ok()) {
    Status st = FromRocks(s, "open " + dir);
    if (st.code() == StatusCode::kIOError && s.ToString().find("lock") != std::string::npos) {
      return Status::FailedPrecondition(dir + ": in use by another enrichment leg (" +
                                        s.ToString() + ")");
    }
    return st;
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string format;
  s = db->Get(rocksdb::ReadOptions(), Key('M', "format"), &format);
  if (s.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) return Status::FailedPrecondition(dir + ": not an enrichment state store");
    rocksdb::WriteOptions wo;
    wo.sync = true;
    TANDEM_RETURN_IF_ERROR(FromRocks(db->Put(wo, Key('M', "format"), kFormat), "write meta"));
  } else {
    TANDEM_RETURN_IF_ERROR(FromRocks(s, "read meta"));
    if (format != kFormat) {
      return Status::FailedPrecondition(dir + ": enrichment state format \"" + format +
                                        "\", this build reads \"" + kFormat + "\"");
    }
  }
  return std::unique_ptr<StateStore>(std::make_unique<RocksStateStore>(std::move(db), sync));
}

}  // namespace tandem::enrich
