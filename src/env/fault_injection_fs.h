// FaultInjectionFileSystem wraps another FileSystem (normally a MemFileSystem)
// and simulates what the hardware and the kernel may do to tandem
// (LevelDB's FaultInjectionTestEnv, RocksDB's FaultInjectionTestFS):
//
//  * Power loss. It records, per file, how many bytes were made durable by
//    WritableFile::Sync, and which files were created or renamed since the last
//    SyncDir of their directory. DropUnsyncedData() then truncates every file to
//    its synced length and deletes files whose directory entry was never synced
//    (a rename not followed by SyncDir is undone: the target reverts to its old
//    contents if it had synced ones, else disappears).
//  * I/O errors. FailAfter(n, op mask, error) makes the n-th subsequent matching
//    operation fail (n = 1: the next one) with EIO or ENOSPC, once or
//    persistently; a failing Append may first write a prefix of its data (a
//    partial write), as a real disk can.
//
// Only for tests and the crash/fault tools. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "tandem/env.h"

namespace tandem {

enum class InjectedError { kIO, kNoSpace };

struct FaultSpec {
  // Operations counted and failed: a bit set of 1 << static_cast<int>(FileOp).
  uint32_t op_mask = 0;
  // Fail the n-th matching operation from now (1 = the next one). 0 = never.
  uint64_t fail_after = 0;
  // Once failing, keep failing every matching operation until ClearFaults().
  bool persistent = false;
  InjectedError error = InjectedError::kIO;
  // On a failing Append, write this fraction (0..1) of the data first.
  double partial_write_fraction = 0.0;
};

constexpr uint32_t FileOpBit(FileOp op) { return 1u << static_cast<int>(op); }
constexpr uint32_t kMutatingOps = FileOpBit(FileOp::kWrite) | FileOpBit(FileOp::kSync) |
                                  FileOpBit(FileOp::kRename) | FileOpBit(FileOp::kCreate) |
                                  FileOpBit(FileOp::kDelete) | FileOpBit(FileOp::kTruncate) |
                                  FileOpBit(FileOp::kSyncDir);

class FaultInjectionFileSystem final : public FileSystem {
 public:
  // `base` must outlive this object.
  explicit FaultInjectionFileSystem(FileSystem& base);
  ~FaultInjectionFileSystem() override;

  void SetFault(const FaultSpec& spec);
  void ClearFaults();
  // Number of operations matching the current spec's mask seen since SetFault.
  uint64_t ops_seen() const;
  // Number of injected failures since construction.
  uint64_t faults_injected() const;

  // Simulates power loss (see the file comment). Open WritableFiles become
  // unusable (their operations return IOError) until reopened.
  Status DropUnsyncedData();

  // FileSystem
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override;
  bool FileExists(const std::string& path) override;
  Result<std::vector<std::string>> GetChildren(const std::string& dir) override;
  Result<uint64_t> GetFileSize(const std::string& path) override;
  Status CreateDirs(const std::string& dir) override;
  Status DeleteFile(const std::string& path) override;
  Status DeleteDir(const std::string& dir) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status Truncate(const std::string& path, uint64_t size) override;
  Status SyncDir(const std::string& dir) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;

  // Internal (used by the wrapped file handles).
  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace tandem
