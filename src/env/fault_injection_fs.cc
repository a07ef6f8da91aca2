// FaultInjectionFileSystem: power loss and I/O errors on top of another
// FileSystem (see fault_injection_fs.h for the contract).
//
// The power-loss model
// --------------------
// The wrapper tracks two name → inode maps for every file it has touched:
//
//  * `live`    — what the base file system holds now;
//  * `durable` — what a power loss would leave: the entries of a directory as
//    of its last SyncDir.
//
// An Inode is a file's identity, which survives renames. It carries `size`
// (bytes in the file now) and `synced_size` (the prefix made durable). The
// rules, each following the syscall it models:
//
//  * WritableFile::Sync (fdatasync) sets synced_size = size: every byte in the
//    file, appended through any handle, is durable.
//  * Truncate (truncate + fsync) sets size = synced_size = the new size.
//  * NewWritableFile on an existing file (O_TRUNC) sets both to 0: the old
//    contents are gone even though no Sync followed, the pessimistic choice.
//  * A name created by NewWritableFile / NewAppendableFile / LockFile, or
//    moved by RenameFile, changes only `live`; SyncDir(dir) then copies the
//    live entries of `dir` (direct children only) into `durable`.
//  * RenameFile over a file that some durable name still refers to first
//    copies that file's durable prefix into the inode (`saved`), because the
//    base file system frees its bytes; the rename can then be undone.
//  * DeleteFile and DeleteDir are treated as durable at once: a power loss
//    never brings a deleted file back. A real disk might, so this is the one
//    place the model is optimistic; it keeps deletions cheap (no copy of the
//    deleted bytes). Deleting a name also forgets every durable name of the
//    same inode (a committed unlink implies the rename before it committed).
//  * Directories (CreateDirs, renaming a whole directory) are durable at once.
//  * Files the wrapper never touched, and files it first sees already present
//    in the base, are taken as durable in full.
//
// DropUnsyncedData turns `durable` into the base's contents: a name whose
// durable inode is its live inode is cut to synced_size; a name whose durable
// inode differs (a rename not followed by SyncDir) is rewritten with that
// inode's durable prefix; a live name with no durable entry is deleted. Every
// result is a state a real disk could be in after power loss, and the worst
// one for appended bytes and new names: what was acknowledged by Sync (and
// SyncDir for new names) survives, nothing else is promised.
//
// Known limits: bytes synced through a handle after its file was replaced by
// a rename are not tracked; a NewWritableFile/Append on the base through two
// handles at once (an unusual pattern) is modelled as appends.
//
// Fault points: Append = kWrite, WritableFile::Sync = kSync, RenameFile =
// kRename, NewWritableFile / NewAppendableFile = kCreate, DeleteFile /
// DeleteDir = kDelete, Truncate = kTruncate, SyncDir = kSyncDir,
// RandomAccessFile::Read = kRead. CreateDirs, LockFile and the read-only
// queries are never failed.
//
// Locking: one mutex (State::mu) guards the maps and the fault spec and is
// held across base calls that must stay consistent with them; the base never
// calls back, so there is no lock cycle. Reads drop it before reading.
#include "env/fault_injection_fs.h"

#include <algorithm>
#include <cassert>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "env/path_util.h"

namespace tandem {
namespace {

using env_internal::IsBelow;
using env_internal::NormalizePath;

struct Inode {
  uint64_t size = 0;
  uint64_t synced_size = 0;
  std::optional<std::string> saved;  // durable bytes, kept once a rename replaced the file
};
using InodePtr = std::shared_ptr<Inode>;
using NameMap = std::map<std::string, InodePtr>;

std::string_view OpName(FileOp op) {
  switch (op) {
    case FileOp::kWrite:
      return "write";
    case FileOp::kSync:
      return "fdatasync";
    case FileOp::kRename:
      return "rename";
    case FileOp::kCreate:
      return "open";
    case FileOp::kDelete:
      return "unlink";
    case FileOp::kTruncate:
      return "truncate";
    case FileOp::kSyncDir:
      return "fsync";
    case FileOp::kRead:
      return "pread";
  }
  return "op";
}

// The directory whose SyncDir makes `path`'s entry durable ("" for relative names).
std::string ParentKey(const std::string& dir_or_path, bool is_dir) {
  if (is_dir) return dir_or_path == "." ? "" : dir_or_path;
  return DirName(dir_or_path);
}

void EraseBelow(NameMap& names, const std::string& dir) {
  std::erase_if(names, [&](const auto& e) { return IsBelow(e.first, dir); });
}

void RekeyBelow(NameMap& names, const std::string& from, const std::string& to) {
  NameMap moved;
  for (auto it = names.begin(); it != names.end();) {
    if (!IsBelow(it->first, from)) {
      ++it;
      continue;
    }
    moved.emplace(to + it->first.substr(from.size()), it->second);
    it = names.erase(it);
  }
  names.merge(moved);
}

}  // namespace

struct FaultInjectionFileSystem::State {
  explicit State(FileSystem& b) : base(b) {}

  Status CheckFaultLocked(FileOp op, std::string_view path);
  InodePtr TrackLocked(const std::string& p);
  InodePtr NewNameLocked(const std::string& p);
  Status SaveDurableBytesLocked(const std::string& p, const InodePtr& inode);
  Result<std::string> ReadPrefix(const std::string& p, uint64_t n);
  Result<std::string> DurableBytesLocked(const InodePtr& inode);
  Status ApplyDurableNamesLocked();
  void ResetAfterDropLocked();

  FileSystem& base;
  std::mutex mu;
  FaultSpec spec;                // GUARDED_BY(mu)
  uint64_t ops_seen = 0;         // GUARDED_BY(mu)
  uint64_t faults_injected = 0;  // GUARDED_BY(mu)
  bool failing = false;          // GUARDED_BY(mu): a persistent fault has fired
  uint64_t epoch = 0;            // GUARDED_BY(mu): bumped by each DropUnsyncedData
  NameMap live;                  // GUARDED_BY(mu)
  NameMap durable;               // GUARDED_BY(mu)
};

Status FaultInjectionFileSystem::State::CheckFaultLocked(FileOp op, std::string_view path) {
  if ((spec.op_mask & FileOpBit(op)) == 0) return Status::OK();
  ++ops_seen;
  if (spec.fail_after == 0) return Status::OK();
  if (!failing && ops_seen != spec.fail_after) return Status::OK();
  failing = spec.persistent;
  ++faults_injected;
  std::string message(OpName(op));
  message += ' ';
  message += path;
  if (spec.error == InjectedError::kNoSpace) {
    return Status::NoSpace(message + ": injected no space (ENOSPC)");
  }
  return Status::IOError(message + ": injected I/O error (EIO)");
}

// The inode of the file at `p`, adopting a base file seen for the first time
// as fully durable. Null when `p` is missing or a directory.
InodePtr FaultInjectionFileSystem::State::TrackLocked(const std::string& p) {
  auto it = live.find(p);
  if (it != live.end()) return it->second;
  Result<uint64_t> size = base.GetFileSize(p);
  if (!size.ok() || base.GetChildren(p).ok()) return nullptr;
  auto inode = std::make_shared<Inode>();
  inode->size = inode->synced_size = *size;
  live[p] = inode;
  durable[p] = inode;
  return inode;
}

// A file just created at `p`: live, but not durable until SyncDir.
InodePtr FaultInjectionFileSystem::State::NewNameLocked(const std::string& p) {
  auto inode = std::make_shared<Inode>();
  live[p] = inode;
  return inode;
}

Result<std::string> FaultInjectionFileSystem::State::ReadPrefix(const std::string& p, uint64_t n) {
  TANDEM_ASSIGN_OR_RETURN(auto file, base.NewRandomAccessFile(p));
  std::string bytes;
  TANDEM_RETURN_IF_ERROR(file->Read(0, static_cast<size_t>(n), &bytes));
  return bytes;
}

// Before a rename frees the file at `p`: keep its durable prefix if a durable
// name still refers to it, so DropUnsyncedData can put it back.
Status FaultInjectionFileSystem::State::SaveDurableBytesLocked(const std::string& p,
                                                               const InodePtr& inode) {
  const bool referenced =
      std::any_of(durable.begin(), durable.end(), [&](const auto& e) { return e.second == inode; });
  if (!referenced || inode->saved.has_value()) return Status::OK();
  TANDEM_ASSIGN_OR_RETURN(inode->saved, ReadPrefix(p, inode->synced_size));
  return Status::OK();
}

// The bytes a power loss leaves in `inode`: its synced prefix, read from its
// live name, or the copy saved when a rename replaced it.
Result<std::string> FaultInjectionFileSystem::State::DurableBytesLocked(const InodePtr& inode) {
  for (const auto& [path, live_inode] : live) {
    if (live_inode == inode) return ReadPrefix(path, inode->synced_size);
  }
  // Durable inodes are live or saved: SyncDir only adds live ones, and a
  // rename saves the one it unlinks; DeleteFile drops its durable names.
  assert(inode->saved.has_value());
  return inode->saved.value_or(std::string());
}

// Makes the base hold exactly the durable names with their durable bytes.
Status FaultInjectionFileSystem::State::ApplyDurableNamesLocked() {
  std::map<std::string, std::string> rewrite;  // names whose inode changed since SyncDir
  for (const auto& [path, inode] : durable) {
    auto it = live.find(path);
    if (it != live.end() && it->second == inode) continue;
    TANDEM_ASSIGN_OR_RETURN(rewrite[path], DurableBytesLocked(inode));
  }
  for (const auto& [path, inode] : live) {
    auto it = durable.find(path);
    if (it != durable.end() && it->second == inode) continue;
    Status s = base.DeleteFile(path);
    if (!s.ok() && !s.IsNotFound()) return s;
  }
  for (const auto& [path, inode] : durable) {
    if (rewrite.count(path) > 0) continue;
    TANDEM_ASSIGN_OR_RETURN(uint64_t size, base.GetFileSize(path));
    if (size > inode->synced_size) TANDEM_RETURN_IF_ERROR(base.Truncate(path, inode->synced_size));
  }
  for (const auto& [path, bytes] : rewrite) {
    TANDEM_RETURN_IF_ERROR(base.CreateDirs(DirName(path)));
    TANDEM_ASSIGN_OR_RETURN(auto file, base.NewWritableFile(path));
    TANDEM_RETURN_IF_ERROR(file->Append(bytes));
    TANDEM_RETURN_IF_ERROR(file->Sync());
    TANDEM_RETURN_IF_ERROR(file->Close());
  }
  return Status::OK();
}

// After a drop the base holds only durable bytes: fresh inodes, all synced.
void FaultInjectionFileSystem::State::ResetAfterDropLocked() {
  live.clear();
  for (auto& [path, inode] : durable) {
    auto fresh = std::make_shared<Inode>();
    Result<uint64_t> size = base.GetFileSize(path);
    fresh->size = fresh->synced_size = size.ok() ? *size : 0;
    live[path] = fresh;
    inode = fresh;
  }
}

namespace {

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionFileSystem::State& state, std::string path, InodePtr inode,
                    std::unique_ptr<WritableFile> base, uint64_t epoch)
      : state_(state),
        path_(std::move(path)),
        inode_(std::move(inode)),
        base_(std::move(base)),
        epoch_(epoch) {}

  Status Append(std::string_view data) override {
    std::lock_guard<std::mutex> l(state_.mu);
    TANDEM_RETURN_IF_ERROR(CheckUsableLocked("write"));
    const uint64_t before = base_->Size();
    Status s = state_.CheckFaultLocked(FileOp::kWrite, path_);
    if (!s.ok()) {
      const double fraction = std::clamp(state_.spec.partial_write_fraction, 0.0, 1.0);
      const auto prefix = static_cast<size_t>(fraction * static_cast<double>(data.size()));
      if (prefix > 0) (void)base_->Append(data.substr(0, prefix));  // the torn write
    } else {
      s = base_->Append(data);
    }
    inode_->size += base_->Size() - before;  // counts a base's own partial write too
    return s;
  }

  Status Sync() override {
    std::lock_guard<std::mutex> l(state_.mu);
    TANDEM_RETURN_IF_ERROR(CheckUsableLocked("fdatasync"));
    TANDEM_RETURN_IF_ERROR(state_.CheckFaultLocked(FileOp::kSync, path_));
    TANDEM_RETURN_IF_ERROR(base_->Sync());
    inode_->synced_size = inode_->size;  // fdatasync covers the whole file
    return Status::OK();
  }

  // Always releases the base handle, even after a drop.
  Status Close() override { return base_->Close(); }

  uint64_t Size() const override { return base_->Size(); }

 private:
  Status CheckUsableLocked(std::string_view op) const {
    if (epoch_ == state_.epoch) return Status::OK();
    return Status::IOError(std::string(op) + " " + path_ +
                           ": handle lost in simulated power loss (DropUnsyncedData)");
  }

  FaultInjectionFileSystem::State& state_;
  const std::string path_;
  const InodePtr inode_;
  const std::unique_ptr<WritableFile> base_;
  const uint64_t epoch_;
};

class FaultRandomAccessFile final : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultInjectionFileSystem::State& state, std::string path,
                        std::unique_ptr<RandomAccessFile> base)
      : state_(state), path_(std::move(path)), base_(std::move(base)) {}

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    {
      std::lock_guard<std::mutex> l(state_.mu);
      Status s = state_.CheckFaultLocked(FileOp::kRead, path_);
      if (!s.ok()) {
        out->clear();
        return s;
      }
    }
    return base_->Read(offset, n, out);  // unlocked: concurrent reads stay concurrent
  }

  Result<uint64_t> Size() const override { return base_->Size(); }

 private:
  FaultInjectionFileSystem::State& state_;
  const std::string path_;
  const std::unique_ptr<RandomAccessFile> base_;
};

}  // namespace

FaultInjectionFileSystem::FaultInjectionFileSystem(FileSystem& base)
    : state_(std::make_unique<State>(base)) {}

FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

void FaultInjectionFileSystem::SetFault(const FaultSpec& spec) {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->spec = spec;
  state_->ops_seen = 0;
  state_->failing = false;
}

void FaultInjectionFileSystem::ClearFaults() {
  std::lock_guard<std::mutex> l(state_->mu);
  state_->spec = FaultSpec{};
  state_->failing = false;
}

uint64_t FaultInjectionFileSystem::ops_seen() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->ops_seen;
}

uint64_t FaultInjectionFileSystem::faults_injected() const {
  std::lock_guard<std::mutex> l(state_->mu);
  return state_->faults_injected;
}

Status FaultInjectionFileSystem::DropUnsyncedData() {
  std::lock_guard<std::mutex> l(state_->mu);
  ++state_->epoch;  // first: even a failed drop leaves no usable stale handle
  TANDEM_RETURN_IF_ERROR(state_->ApplyDurableNamesLocked());
  state_->ResetAfterDropLocked();
  return Status::OK();
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewWritableFile(
    const std::string& path) {
  const std::string p = NormalizePath(path);
  std::lock_guard<std::mutex> l(state_->mu);
  TANDEM_RETURN_IF_ERROR(state_->CheckFaultLocked(FileOp::kCreate, p));
  InodePtr inode = state_->TrackLocked(p);
  TANDEM_ASSIGN_OR_RETURN(auto file, state_->base.NewWritableFile(p));
  if (inode == nullptr) inode = state_->NewNameLocked(p);
  inode->size = inode->synced_size = 0;  // O_TRUNC
  return std::unique_ptr<WritableFile>(std::make_unique<FaultWritableFile>(
      *state_, p, std::move(inode), std::move(file), state_->epoch));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::NewAppendableFile(
    const std::string& path) {
  const std::string p = NormalizePath(path);
  std::lock_guard<std::mutex> l(state_->mu);
  TANDEM_RETURN_IF_ERROR(state_->CheckFaultLocked(FileOp::kCreate, p));
  InodePtr inode = state_->TrackLocked(p);
  TANDEM_ASSIGN_OR_RETURN(auto file, state_->base.NewAppendableFile(p));
  if (inode == nullptr) inode = state_->NewNameLocked(p);
  return std::unique_ptr<WritableFile>(std::make_unique<FaultWritableFile>(
      *state_, p, std::move(inode), std::move(file), state_->epoch));
}

Result<std::unique_ptr<RandomAccessFile>> FaultInjectionFileSystem::NewRandomAccessFile(
    const std::string& path) {
  const std::string p = NormalizePath(path);
  TANDEM_ASSIGN_OR_RETURN(auto file, state_->base.NewRandomAccessFile(p));
  return std::unique_ptr<RandomAccessFile>(
      std::make_unique<FaultRandomAccessFile>(*state_, p, std::move(file)));
}

bool FaultInjectionFileSystem::FileExists(const std::string& path) {
  return state_->base.FileExists(path);
}

Result<std::vector<std::string>> FaultInjectionFileSystem::GetChildren(const std::string& dir) {
  return state_->base.GetChildren(dir);
}

Result<uint64_t> FaultInjectionFileSystem::GetFileSize(const std::string& path) {
  return state_->base.GetFileSize(path);
}

Status FaultInjectionFileSystem::CreateDirs(const std::string& dir) {
  return state_->base.CreateDirs(dir);
}

Status FaultInjectionFileSystem::DeleteFile(const std::string& path) {
  const std::string p = NormalizePath(path);
  std::lock_guard<std::mutex> l(state_->mu);
  TANDEM_RETURN_IF_ERROR(state_->CheckFaultLocked(FileOp::kDelete, p));
  InodePtr inode = state_->TrackLocked(p);
  TANDEM_RETURN_IF_ERROR(state_->base.DeleteFile(p));
  state_->live.erase(p);
  state_->durable.erase(p);  // deletions are durable at once (see the file comment)
  std::erase_if(state_->durable, [&](const auto& e) { return e.second == inode; });
  return Status::OK();
}

Status FaultInjectionFileSystem::DeleteDir(const std::string& dir) {
  const std::string d = NormalizePath(dir);
  std::lock_guard<std::mutex> l(state_->mu);
  TANDEM_RETURN_IF_ERROR(state_->CheckFaultLocked(FileOp::kDelete, d));
  TANDEM_RETURN_IF_ERROR(state_->base.DeleteDir(d));
  EraseBelow(state_->live, d);
  EraseBelow(state_->durable, d);
  return Status::OK();
}

Status FaultInjectionFileSystem::RenameFile(const std::string& from, const std::string& to) {
  const std::string f = NormalizePath(from);
  const std::string t = NormalizePath(to);
  std::lock_guard<std::mutex> l(state_->mu);
  TANDEM_RETURN_IF_ERROR(state_->CheckFaultLocked(FileOp::kRename, f + " to " + t));
  InodePtr source = state_->TrackLocked(f);
  if (source == nullptr) {  // missing (the base says so) or a whole directory
    TANDEM_RETURN_IF_ERROR(state_->base.RenameFile(f, t));
    RekeyBelow(state_->live, f, t);
    RekeyBelow(state_->durable, f, t);
    return Status::OK();
  }
  InodePtr target = state_->TrackLocked(t);
  if (target != nullptr && target != source) {
    TANDEM_RETURN_IF_ERROR(state_->SaveDurableBytesLocked(t, target));
  }
  TANDEM_RETURN_IF_ERROR(state_->base.RenameFile(f, t));
  if (f != t) {
    state_->live[t] = source;
    state_->live.erase(f);
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::Truncate(const std::string& path, uint64_t size) {
  const std::string p = NormalizePath(path);
  std::lock_guard<std::mutex> l(state_->mu);
  TANDEM_RETURN_IF_ERROR(state_->CheckFaultLocked(FileOp::kTruncate, p));
  InodePtr inode = state_->TrackLocked(p);
  TANDEM_RETURN_IF_ERROR(state_->base.Truncate(p, size));
  if (inode != nullptr) inode->size = inode->synced_size = size;  // truncate + fsync
  return Status::OK();
}

Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  const std::string d = NormalizePath(dir);
  std::lock_guard<std::mutex> l(state_->mu);
  TANDEM_RETURN_IF_ERROR(state_->CheckFaultLocked(FileOp::kSyncDir, d));
  TANDEM_RETURN_IF_ERROR(state_->base.SyncDir(d));
  const std::string key = ParentKey(d, /*is_dir=*/true);
  std::erase_if(state_->durable, [&](const auto& e) { return ParentKey(e.first, false) == key; });
  for (const auto& [path, inode] : state_->live) {
    if (ParentKey(path, false) == key) state_->durable[path] = inode;
  }
  return Status::OK();
}

Result<std::unique_ptr<FileLock>> FaultInjectionFileSystem::LockFile(const std::string& path) {
  const std::string p = NormalizePath(path);
  std::lock_guard<std::mutex> l(state_->mu);
  InodePtr inode = state_->TrackLocked(p);
  TANDEM_ASSIGN_OR_RETURN(auto lock, state_->base.LockFile(p));
  if (inode == nullptr) state_->NewNameLocked(p);  // LockFile created it
  return lock;
}

}  // namespace tandem
