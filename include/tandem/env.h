// The environment seams: every file operation, every clock read and every
// random number in tandem goes through these interfaces (LevelDB's Env,
// RocksDB's FileSystem/SystemClock split). Tests swap in an in-memory file
// system, a fault-injecting wrapper that simulates power loss and I/O errors,
// a manual clock and a seeded random source.
//
//   std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
//   TANDEM_ASSIGN_OR_RETURN(auto f, fs->NewWritableFile("/data/x.log"));
//   TANDEM_RETURN_IF_ERROR(f->Append("bytes"));
//   TANDEM_RETURN_IF_ERROR(f->Sync());   // fdatasync(2): the bytes survive power loss
//
// Durability vocabulary, used by every implementation and every caller:
//  * WritableFile::Append  = write(2): the bytes are in the OS page cache; a
//    process crash keeps them, a power loss may not.
//  * WritableFile::Sync    = fdatasync(2): the file's bytes (and its size)
//    survive power loss.
//  * FileSystem::SyncDir   = open(dir)+fsync(2): entries created, renamed or
//    deleted in the directory survive power loss. A new file is durable only
//    after both its Sync and a SyncDir of its parent.
//
// Thread safety: FileSystem, Clock implementations are safe for concurrent use.
// A WritableFile takes Append calls from one thread at a time, but Sync may run
// on another thread concurrently with an Append (the log's pipelined group
// commit relies on this; the sync then covers at least what was appended
// before it began). RandomAccessFile::Read is safe to call concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.h"

namespace tandem {

// An open file being written sequentially. Not copyable.
class WritableFile {
 public:
  WritableFile() = default;
  WritableFile(const WritableFile&) = delete;
  WritableFile& operator=(const WritableFile&) = delete;
  virtual ~WritableFile() = default;

  // Appends `data` at the end of the file (write(2), retried on EINTR and short
  // writes). Fails with IOError or NoSpace; after a failure the file may hold
  // a prefix of `data` (a torn write), which callers must tolerate on recovery.
  virtual Status Append(std::string_view data) = 0;
  // fdatasync(2). After OK every byte appended so far survives power loss.
  virtual Status Sync() = 0;
  // Closes the descriptor. Does not sync. Idempotent.
  virtual Status Close() = 0;
  // Bytes in the file as seen through this handle (including unsynced ones).
  virtual uint64_t Size() const = 0;
};

// An open file read at arbitrary offsets (pread(2)). Not copyable.
class RandomAccessFile {
 public:
  RandomAccessFile() = default;
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;
  virtual ~RandomAccessFile() = default;

  // Reads up to `n` bytes at `offset` into `*out` (replacing its contents).
  // A short result means end of file; reading at or past the end yields an
  // empty string and OK. Safe to call from several threads at once.
  virtual Status Read(uint64_t offset, size_t n, std::string* out) const = 0;
  // Current size of the file.
  virtual Result<uint64_t> Size() const = 0;
};

// An advisory exclusive lock on a file (flock(2) on POSIX); released by the
// destructor. Used so two processes never open the same data directory.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

// Which operation a FileSystem call performs; used by fault injection.
enum class FileOp { kWrite, kSync, kRename, kCreate, kDelete, kTruncate, kSyncDir, kRead };

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates or truncates `path` for writing.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) = 0;
  // Opens `path` for appending at its end, creating it when missing.
  virtual Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) = 0;
  // Opens an existing file for reading; NotFound when missing.
  virtual Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path) = 0;

  virtual bool FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, without "." and "..", unsorted.
  virtual Result<std::vector<std::string>> GetChildren(const std::string& dir) = 0;
  virtual Result<uint64_t> GetFileSize(const std::string& path) = 0;
  // Creates `dir` and missing parents; OK when it already exists.
  virtual Status CreateDirs(const std::string& dir) = 0;
  // Removes a file; NotFound when missing.
  virtual Status DeleteFile(const std::string& path) = 0;
  // Removes an empty directory.
  virtual Status DeleteDir(const std::string& dir) = 0;
  // rename(2): atomically replaces `to`. Durable after SyncDir of the parent(s).
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // truncate(2) to `size` bytes, then fsync(2) of the file: OK means the new
  // size survives power loss.
  virtual Status Truncate(const std::string& path, uint64_t size) = 0;
  // fsync(2) of the directory itself.
  virtual Status SyncDir(const std::string& dir) = 0;
  // Takes an exclusive lock on `path` (created if missing). FailedPrecondition
  // when another holder has it.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
};

// Forwards every call to `base`. Wrappers that change a few calls (counting
// syncs, gating them, failing them) derive from it and override only those.
// `base` must outlive it.
class ForwardingFileSystem : public FileSystem {
 public:
  explicit ForwardingFileSystem(FileSystem& base) : base_(base) {}

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p) override {
    return base_.NewWritableFile(p);
  }
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& p) override {
    return base_.NewAppendableFile(p);
  }
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

 protected:
  FileSystem& base() { return base_; }

 private:
  FileSystem& base_;
};

// The real file system. Never fails on construction.
std::unique_ptr<FileSystem> NewPosixFileSystem();
// A file system held in memory. Paths are plain strings ("/a/b"); directories
// must be created before files in them, as on POSIX. Unsynced data is kept
// (a MemFileSystem alone never loses data; wrap it in FaultInjectionFileSystem).
std::unique_ptr<FileSystem> NewMemFileSystem();

// Helpers built on the interface (src/env/env_util.cc).
Status ReadFileToString(FileSystem& fs, const std::string& path, std::string* out);
// Writes `data` durably and atomically: `path`.tmp → Append → Sync → Close →
// RenameFile → SyncDir(parent). After OK the new contents survive power loss;
// after a failure or crash `path` holds either the old or the new contents.
Status WriteFileAtomically(FileSystem& fs, const std::string& path, std::string_view data);
// "a/b" for "a/b/c"; "" when there is no slash.
std::string DirName(const std::string& path);
std::string JoinPath(std::string_view dir, std::string_view name);

// Time. Wall time for timestamps and retention; monotonic time for intervals.
class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch (CLOCK_REALTIME).
  virtual int64_t NowMicros() = 0;
  // Nanoseconds from an arbitrary origin, never going backwards (CLOCK_MONOTONIC).
  virtual int64_t MonotonicNanos() = 0;
  virtual void SleepForMicros(int64_t micros) = 0;
};

// The process-wide real clock (stateless, so sharing it is not mutable global state).
Clock& SystemClock();

// A clock that moves only when told to; SleepForMicros advances it instantly.
// Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_micros = 1'700'000'000'000'000) : now_(start_micros) {}
  int64_t NowMicros() override;
  int64_t MonotonicNanos() override;
  void SleepForMicros(int64_t micros) override { Advance(micros); }
  void Advance(int64_t micros);

 private:
  std::atomic<int64_t> now_;
};

// A small, fast, seeded pseudo-random generator (SplitMix64 seeding a
// xoshiro256**). Deterministic for a seed on every platform. Not thread-safe:
// give each thread its own.
class Random {
 public:
  explicit Random(uint64_t seed);
  uint64_t Next();
  // Uniform in [0, n); n > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [0, 1).
  double NextDouble();
  // True with probability 1/n.
  bool OneIn(uint64_t n) { return Uniform(n) == 0; }

 private:
  uint64_t s_[4];
};

}  // namespace tandem
