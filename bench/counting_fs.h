// CountingFileSystem forwards to another FileSystem and counts the calls a
// benchmark wants to report (fdatasyncs, bytes written, write calls), so the
// log's group-commit factor can be measured from the outside.
//
// Thread safety: as safe as the wrapped file system; counters are atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "tandem/env.h"

namespace tandem::bench {

struct IoCounters {
  std::atomic<uint64_t> syncs{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> bytes{0};
};

class CountingFileSystem final : public FileSystem {
 public:
  explicit CountingFileSystem(FileSystem& base) : base_(base) {}
  IoCounters& counters() { return counters_; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& p) override {
    return base_.NewRandomAccessFile(p);
  }
  bool FileExists(const std::string& p) override { return base_.FileExists(p); }
  Result<std::vector<std::string>> GetChildren(const std::string& d) override {
    return base_.GetChildren(d);
  }
  Result<uint64_t> GetFileSize(const std::string& p) override { return base_.GetFileSize(p); }
  Status CreateDirs(const std::string& d) override { return base_.CreateDirs(d); }
  Status DeleteFile(const std::string& p) override { return base_.DeleteFile(p); }
  Status DeleteDir(const std::string& d) override { return base_.DeleteDir(d); }
  Status RenameFile(const std::string& f, const std::string& t) override {
    return base_.RenameFile(f, t);
  }
  Status Truncate(const std::string& p, uint64_t n) override { return base_.Truncate(p, n); }
  Status SyncDir(const std::string& d) override { return base_.SyncDir(d); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& p) override {
    return base_.LockFile(p);
  }

 private:
  FileSystem& base_;
  IoCounters counters_;
};

}  // namespace tandem::bench
