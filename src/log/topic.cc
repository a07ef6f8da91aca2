#include "log/topic.h"

#include "common/hash.h"
#include "log/meta_codec.h"

namespace tandem {
namespace {

constexpr uint32_t kTopicMetaMagic = 0x43504F54;  // "TOPC"
constexpr uint32_t kTopicMetaVersion = 1;
constexpr size_t kMaxComponent = 64;
constexpr size_t kMaxTopicName = 249;  // fits a file name with room for suffixes

bool ValidComponent(std::string_view c) {
  if (c.empty() || c.size() > kMaxComponent) return false;
  if (c[0] < 'a' || c[0] > 'z') return false;
  for (char ch : c) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Status ValidateTopicName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxTopicName;
  for (size_t start = 0; ok;) {
    const size_t dot = name.find('.', start);
    const size_t end = dot == std::string_view::npos ? name.size() : dot;
    ok = ValidComponent(name.substr(start, end - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (ok) return Status::OK();
  return Status::InvalidArgument("topic name \"" + std::string(name) +
                                 "\" is invalid: a topic name is [a-z][a-z0-9_]{0,63}, "
                                 "optionally followed by '.'-separated parts of the same form");
}

std::string EncodeTopicMeta(std::string_view name, uint32_t partitions) {
  log_internal::MetaWriter w(kTopicMetaMagic, kTopicMetaVersion);
  w.PutU32(partitions);
  w.PutString(name);
  return w.Finish();
}

Status DecodeTopicMeta(const std::string& file, std::string_view data, std::string_view name,
                       uint32_t* partitions) {
  log_internal::MetaReader r(file, data);
  TANDEM_RETURN_IF_ERROR(r.Open(kTopicMetaMagic, kTopicMetaVersion));
  std::string stored_name;
  TANDEM_RETURN_IF_ERROR(r.GetU32(partitions));
  TANDEM_RETURN_IF_ERROR(r.GetString(&stored_name));
  TANDEM_RETURN_IF_ERROR(r.Done());
  if (stored_name != name) {
    return r.Corrupt(8,
                     "names topic \"" + stored_name + "\", expected \"" + std::string(name) + "\"");
  }
  if (*partitions == 0 || *partitions > kMaxPartitionsPerTopic) {
    return r.Corrupt(8, "partition count " + std::to_string(*partitions) + " out of range");
  }
  return Status::OK();
}

Status ReadTopicMeta(FileSystem& fs, const std::string& dir, std::string_view name,
                     uint32_t* partitions) {
  const std::string file = JoinPath(dir, kTopicMetaFile);
  if (!fs.FileExists(file)) return Status::NotFound(file + " does not exist");
  std::string data;
  TANDEM_RETURN_IF_ERROR(ReadFileToString(fs, file, &data));
  return DecodeTopicMeta(file, data, name, partitions);
}

Result<std::unique_ptr<Topic>> Topic::Open(FileSystem& fs, Clock& clock, ThreadPool& pool,
                                           std::string dir, std::string name,
                                           const PartitionOptions& base) {
  uint32_t n = 0;
  TANDEM_RETURN_IF_ERROR(ReadTopicMeta(fs, dir, name, &n));
  std::unique_ptr<Topic> t(new Topic(std::move(dir), std::move(name)));
  TANDEM_RETURN_IF_ERROR(t->OpenPartitions(fs, clock, pool, n, base));
  return t;
}

Result<std::unique_ptr<Topic>> Topic::Create(FileSystem& fs, Clock& clock, ThreadPool& pool,
                                             std::string dir, std::string name, uint32_t partitions,
                                             const PartitionOptions& base) {
  TANDEM_RETURN_IF_ERROR(fs.CreateDirs(dir));
  const std::string parent = DirName(dir);
  TANDEM_RETURN_IF_ERROR(fs.SyncDir(parent.empty() ? "." : parent));
  TANDEM_RETURN_IF_ERROR(
      WriteFileAtomically(fs, JoinPath(dir, kTopicMetaFile), EncodeTopicMeta(name, partitions)));
  std::unique_ptr<Topic> t(new Topic(std::move(dir), std::move(name)));
  TANDEM_RETURN_IF_ERROR(t->OpenPartitions(fs, clock, pool, partitions, base));
  // The partition directories' entries in the topic directory.
  TANDEM_RETURN_IF_ERROR(fs.SyncDir(t->dir_));
  return t;
}

Status Topic::OpenPartitions(FileSystem& fs, Clock& clock, ThreadPool& pool, uint32_t n,
                             const PartitionOptions& base) {
  partitions_.reserve(n);
  for (uint32_t p = 0; p < n; ++p) {
    PartitionOptions po = base;
    po.partition = p;
    Result<std::unique_ptr<Partition>> part =
        Partition::Open(fs, clock, pool, JoinPath(dir_, std::to_string(p)), po);
    if (!part.ok()) {
      (void)Close();  // the partitions opened so far
      return part.status().WithContext("topic " + name_ + " partition " + std::to_string(p));
    }
    partitions_.push_back(std::move(*part));
  }
  return Status::OK();
}

uint32_t Topic::PartitionOf(std::string_view key) const {
  if (key.empty()) return 0;
  return PartitionForKey(key, num_partitions());
}

Status Topic::Close() {
  Status first;
  for (auto& p : partitions_) {
    Status s = p->Close();
    if (first.ok() && !s.ok()) first = s;
  }
  return first;
}

}  // namespace tandem
