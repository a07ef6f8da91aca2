// A file system held in memory, for tests: fast, isolated and deterministic.
//
// Model. The namespace is two sorted maps under one mutex: `files_` (path →
// node) and `dirs_` (explicit directories; "/" always exists, and so does the
// unnamed parent "" of relative names). A node is the file's bytes with their
// own mutex, shared by the namespace and by every open handle, which gives
// POSIX inode semantics: a RandomAccessFile sees later appends, a file
// deleted or replaced while open keeps working for its open handles, and
// RenameFile moves the node in one step under the namespace lock, so readers
// see the old or the new target, never neither. Error codes and messages copy
// what the POSIX implementation returns for the same mistake.
//
// Lock order: MemFileSystem::mu_, then a node's mu. Handles take only the
// node's mutex. Locks live in a table shared with the FileLock objects, so a
// lock may outlive the file system.
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "env/path_util.h"
#include "tandem/env.h"

namespace tandem {
namespace {

using env_internal::IsBelow;
using env_internal::NormalizePath;

constexpr std::string_view kNoEntry = "No such file or directory";
constexpr std::string_view kIsDir = "Is a directory";
constexpr std::string_view kNotDir = "Not a directory";

Status MemError(StatusCode code, std::string_view op, std::string_view path,
                std::string_view what) {
  std::string message(op);
  message += ' ';
  message += path;
  message += ": ";
  message += what;
  return Status(code, std::move(message));
}

struct MemNode {
  mutable std::mutex mu;
  std::string data;  // GUARDED_BY(mu)

  uint64_t size() const {
    std::lock_guard<std::mutex> l(mu);
    return data.size();
  }
};

struct LockTable {
  std::mutex mu;
  std::set<std::string> held;  // GUARDED_BY(mu)
};

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<MemNode> node, uint64_t size)
      : path_(std::move(path)), node_(std::move(node)), size_(size) {}

  Status Append(std::string_view data) override {
    if (closed_) return MemError(StatusCode::kIOError, "write", path_, "file is closed");
    std::lock_guard<std::mutex> l(node_->mu);
    node_->data.append(data);
    size_ += data.size();
    return Status::OK();
  }

  Status Sync() override {
    if (closed_) return MemError(StatusCode::kIOError, "fdatasync", path_, "file is closed");
    return Status::OK();
  }

  Status Close() override {
    closed_ = true;
    return Status::OK();
  }

  uint64_t Size() const override { return size_; }

 private:
  const std::string path_;
  const std::shared_ptr<MemNode> node_;
  uint64_t size_;
  bool closed_ = false;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  explicit MemRandomAccessFile(std::shared_ptr<MemNode> node) : node_(std::move(node)) {}

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    std::lock_guard<std::mutex> l(node_->mu);
    if (offset >= node_->data.size()) {
      out->clear();
    } else {
      out->assign(node_->data, static_cast<size_t>(offset), n);
    }
    return Status::OK();
  }

  Result<uint64_t> Size() const override { return node_->size(); }

 private:
  const std::shared_ptr<MemNode> node_;
};

class MemFileLock final : public FileLock {
 public:
  MemFileLock(std::shared_ptr<LockTable> table, std::string path)
      : table_(std::move(table)), path_(std::move(path)) {}
  ~MemFileLock() override {
    std::lock_guard<std::mutex> l(table_->mu);
    table_->held.erase(path_);
  }

 private:
  const std::shared_ptr<LockTable> table_;
  const std::string path_;
};

const std::string& KeyOf(const std::string& key) { return key; }
template <typename V>
const std::string& KeyOf(const std::pair<const std::string, V>& entry) {
  return entry.first;
}

// Keys of `m` strictly below directory `dir`, at any depth.
template <typename Container>
std::vector<std::string> KeysBelow(const Container& m, const std::string& dir) {
  const std::string prefix = dir == "/" ? dir : dir + "/";
  std::vector<std::string> keys;
  for (auto it = m.lower_bound(prefix); it != m.end(); ++it) {
    const std::string& key = KeyOf(*it);
    if (key.compare(0, prefix.size(), prefix) != 0) break;
    if (key != dir) keys.push_back(key);
  }
  return keys;
}

class MemFileSystem final : public FileSystem {
 public:
  MemFileSystem() : locks_(std::make_shared<LockTable>()) { dirs_.insert("/"); }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    return OpenForWrite(path, /*truncate=*/true);
  }

  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override {
    return OpenForWrite(path, /*truncate=*/false);
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    TANDEM_ASSIGN_OR_RETURN(auto node, FindFileLocked("open", NormalizePath(path)));
    return std::unique_ptr<RandomAccessFile>(std::make_unique<MemRandomAccessFile>(node));
  }

  bool FileExists(const std::string& path) override {
    const std::string p = NormalizePath(path);
    std::lock_guard<std::mutex> l(mu_);
    return files_.count(p) > 0 || dirs_.count(p) > 0;
  }

  Result<std::vector<std::string>> GetChildren(const std::string& dir) override;

  Result<uint64_t> GetFileSize(const std::string& path) override {
    const std::string p = NormalizePath(path);
    std::lock_guard<std::mutex> l(mu_);
    if (dirs_.count(p) > 0) return uint64_t{0};
    TANDEM_ASSIGN_OR_RETURN(auto node, FindFileLocked("stat", p));
    return node->size();
  }

  Status CreateDirs(const std::string& dir) override;

  Status DeleteFile(const std::string& path) override {
    const std::string p = NormalizePath(path);
    std::lock_guard<std::mutex> l(mu_);
    TANDEM_RETURN_IF_ERROR(FindFileLocked("unlink", p).status());
    files_.erase(p);  // open handles keep the node alive
    return Status::OK();
  }

  Status DeleteDir(const std::string& dir) override;
  Status RenameFile(const std::string& from, const std::string& to) override;

  Status Truncate(const std::string& path, uint64_t size) override {
    const std::string p = NormalizePath(path);
    std::lock_guard<std::mutex> l(mu_);
    TANDEM_ASSIGN_OR_RETURN(auto node, FindFileLocked("truncate", p));
    std::lock_guard<std::mutex> nl(node->mu);
    node->data.resize(static_cast<size_t>(size), '\0');  // extends with zeros, as truncate(2)
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    const std::string d = NormalizePath(dir);
    std::lock_guard<std::mutex> l(mu_);
    if (d.empty() || dirs_.count(d) > 0) return Status::OK();
    if (files_.count(d) > 0) return MemError(StatusCode::kIOError, "open", d, kNotDir);
    return MemError(StatusCode::kNotFound, "open", d, kNoEntry);
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;

 private:
  Result<std::unique_ptr<WritableFile>> OpenForWrite(const std::string& path, bool truncate);
  Result<std::shared_ptr<MemNode>> FindFileLocked(std::string_view op, const std::string& p);
  Result<std::shared_ptr<MemNode>> FindOrCreateLocked(std::string_view op, const std::string& p);
  Status CheckParentLocked(std::string_view op, std::string_view shown, const std::string& p);
  Status RenameDirLocked(const std::string& from, const std::string& to);

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<MemNode>> files_;  // GUARDED_BY(mu_)
  std::set<std::string> dirs_;                             // GUARDED_BY(mu_)
  const std::shared_ptr<LockTable> locks_;
};

Result<std::shared_ptr<MemNode>> MemFileSystem::FindFileLocked(std::string_view op,
                                                               const std::string& p) {
  auto it = files_.find(p);
  if (it != files_.end()) return it->second;
  if (dirs_.count(p) > 0) return MemError(StatusCode::kIOError, op, p, kIsDir);
  return MemError(StatusCode::kNotFound, op, p, kNoEntry);
}

Status MemFileSystem::CheckParentLocked(std::string_view op, std::string_view shown,
                                        const std::string& p) {
  const std::string parent = DirName(p);
  if (parent.empty() || dirs_.count(parent) > 0) return Status::OK();
  if (files_.count(parent) > 0) return MemError(StatusCode::kIOError, op, shown, kNotDir);
  return MemError(StatusCode::kNotFound, op, shown, kNoEntry);
}

Result<std::shared_ptr<MemNode>> MemFileSystem::FindOrCreateLocked(std::string_view op,
                                                                   const std::string& p) {
  auto it = files_.find(p);
  if (it != files_.end()) return it->second;
  if (dirs_.count(p) > 0 || p.empty()) return MemError(StatusCode::kIOError, op, p, kIsDir);
  TANDEM_RETURN_IF_ERROR(CheckParentLocked(op, p, p));
  auto node = std::make_shared<MemNode>();
  files_.emplace(p, node);
  return node;
}

Result<std::unique_ptr<WritableFile>> MemFileSystem::OpenForWrite(const std::string& path,
                                                                  bool truncate) {
  const std::string p = NormalizePath(path);
  std::lock_guard<std::mutex> l(mu_);
  TANDEM_ASSIGN_OR_RETURN(auto node, FindOrCreateLocked("open", p));
  uint64_t size = 0;
  {
    std::lock_guard<std::mutex> nl(node->mu);
    if (truncate) node->data.clear();  // O_TRUNC: same node, so readers see it
    size = node->data.size();
  }
  return std::unique_ptr<WritableFile>(std::make_unique<MemWritableFile>(p, node, size));
}

Result<std::vector<std::string>> MemFileSystem::GetChildren(const std::string& dir) {
  const std::string d = NormalizePath(dir);
  std::lock_guard<std::mutex> l(mu_);
  if (dirs_.count(d) == 0) {
    if (files_.count(d) > 0) return MemError(StatusCode::kIOError, "opendir", d, kNotDir);
    return MemError(StatusCode::kNotFound, "opendir", d, kNoEntry);
  }
  std::vector<std::string> names;
  const size_t skip = d == "/" ? 1 : d.size() + 1;
  for (const auto& keys : {KeysBelow(files_, d), KeysBelow(dirs_, d)}) {
    for (const std::string& key : keys) {
      if (key.find('/', skip) == std::string::npos) names.push_back(key.substr(skip));
    }
  }
  return names;
}

Status MemFileSystem::CreateDirs(const std::string& dir) {
  const std::string d = NormalizePath(dir);
  std::lock_guard<std::mutex> l(mu_);
  // mkdir -p: every proper prefix ending before a slash, then the whole path.
  std::vector<std::string> chain;
  for (size_t slash = d.find('/', 1); slash != std::string::npos; slash = d.find('/', slash + 1)) {
    chain.push_back(d.substr(0, slash));
  }
  if (!d.empty()) chain.push_back(d);
  for (const std::string& prefix : chain) {
    if (files_.count(prefix) > 0) {
      return MemError(StatusCode::kAlreadyExists, "mkdir", prefix, "File exists");
    }
    dirs_.insert(prefix);
  }
  return Status::OK();
}

Status MemFileSystem::DeleteDir(const std::string& dir) {
  const std::string d = NormalizePath(dir);
  std::lock_guard<std::mutex> l(mu_);
  if (dirs_.count(d) == 0) {
    if (files_.count(d) > 0) return MemError(StatusCode::kIOError, "rmdir", d, kNotDir);
    return MemError(StatusCode::kNotFound, "rmdir", d, kNoEntry);
  }
  if (d == "/") return MemError(StatusCode::kIOError, "rmdir", d, "Device or resource busy");
  if (!KeysBelow(files_, d).empty() || !KeysBelow(dirs_, d).empty()) {
    return MemError(StatusCode::kIOError, "rmdir", d, "Directory not empty");
  }
  dirs_.erase(d);
  return Status::OK();
}

Status MemFileSystem::RenameFile(const std::string& from, const std::string& to) {
  const std::string f = NormalizePath(from);
  const std::string t = NormalizePath(to);
  const std::string shown = f + " to " + t;
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(f);
  if (it == files_.end()) {
    if (dirs_.count(f) > 0) return RenameDirLocked(f, t);
    return MemError(StatusCode::kNotFound, "rename", shown, kNoEntry);
  }
  if (f == t) return Status::OK();
  if (dirs_.count(t) > 0) return MemError(StatusCode::kIOError, "rename", shown, kIsDir);
  TANDEM_RETURN_IF_ERROR(CheckParentLocked("rename", shown, t));
  files_[t] = it->second;  // one step under mu_: `to` is never missing
  files_.erase(f);
  return Status::OK();
}

Status MemFileSystem::RenameDirLocked(const std::string& from, const std::string& to) {
  const std::string shown = from + " to " + to;
  if (from == to) return Status::OK();
  if (from == "/" || IsBelow(to, from)) {
    return MemError(StatusCode::kIOError, "rename", shown, "Invalid argument");
  }
  if (files_.count(to) > 0) return MemError(StatusCode::kIOError, "rename", shown, kNotDir);
  if (!KeysBelow(files_, to).empty() || !KeysBelow(dirs_, to).empty()) {
    return MemError(StatusCode::kIOError, "rename", shown, "Directory not empty");
  }
  TANDEM_RETURN_IF_ERROR(CheckParentLocked("rename", shown, to));
  for (const std::string& key : KeysBelow(files_, from)) {
    auto node = files_.extract(key);
    node.key() = to + key.substr(from.size());
    files_.insert(std::move(node));
  }
  for (const std::string& key : KeysBelow(dirs_, from)) {
    dirs_.erase(key);
    dirs_.insert(to + key.substr(from.size()));
  }
  dirs_.erase(from);
  dirs_.insert(to);
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> MemFileSystem::LockFile(const std::string& path) {
  const std::string p = NormalizePath(path);
  std::lock_guard<std::mutex> l(mu_);
  TANDEM_RETURN_IF_ERROR(FindOrCreateLocked("open", p).status());
  std::lock_guard<std::mutex> ll(locks_->mu);
  if (!locks_->held.insert(p).second) {
    return Status::FailedPrecondition("lock " + p + ": is locked by another process");
  }
  return std::unique_ptr<FileLock>(std::make_unique<MemFileLock>(locks_, p));
}

}  // namespace

std::unique_ptr<FileSystem> NewMemFileSystem() { return std::make_unique<MemFileSystem>(); }

}  // namespace tandem
