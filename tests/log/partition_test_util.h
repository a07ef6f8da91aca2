// Helpers shared by the storage-layer tests (record batches, segments,
// partitions): an in-memory file system under a fault-injecting wrapper, a
// manual clock, a pool that can be held shut so requests queue up
// deterministically, a file system whose fdatasync can be held open, and small
// file-poking utilities.
//
// Thread safety: a PartitionEnv is used by one test; GatedFileSystem and
// PoolGate are safe for concurrent use.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/thread_pool.h"
#include "env/fault_injection_fs.h"
#include "log/partition.h"
#include "log/segment.h"
#include "tandem/env.h"

namespace tandem::testing_util {

inline ProduceRecord Rec(std::string value, std::string id = "", std::string key = "k") {
  ProduceRecord r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.id = std::move(id);
  return r;
}

// Blocks every pool thread until Open() so that requests queue up and form
// one group, whatever the scheduler does.
class PoolGate {
 public:
  explicit PoolGate(ThreadPool& pool) : threads_(pool.size()) {
    for (size_t i = 0; i < threads_; ++i) {
      pool.Schedule([this] {
        std::unique_lock<std::mutex> l(mu_);
        ++inside_;
        cv_.notify_all();
        cv_.wait(l, [this] { return open_; });
        if (--inside_ == 0) cv_.notify_all();
      });
    }
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [this] { return inside_ == threads_; });  // every thread is held
  }
  // Opens the gate and waits until every held thread has left it.
  ~PoolGate() {
    std::unique_lock<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
    cv_.wait(l, [this] { return inside_ == 0; });
  }

 private:
  const size_t threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t inside_ = 0;
  bool open_ = false;
};

// Forwards to a base file system; while armed, WritableFile::Sync blocks
// until released (so a test can cut power while a group is written but not
// yet fdatasync'ed) and reports that it is waiting.
class GatedFileSystem final : public ForwardingFileSystem {
 public:
  explicit GatedFileSystem(FileSystem& base) : ForwardingFileSystem(base) {}

  void Arm() {
    std::lock_guard<std::mutex> l(mu_);
    armed_ = true;
  }
  // Waits until a Sync is blocked at the gate.
  void WaitForBlockedSync() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [this] { return waiting_ > 0; });
  }
  void Release() {
    std::lock_guard<std::mutex> l(mu_);
    armed_ = false;
    cv_.notify_all();
  }
  void SyncGate() {
    std::unique_lock<std::mutex> l(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(l, [this] { return !armed_; });
    --waiting_;
  }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p) override {
    return Wrap(base().NewWritableFile(p));
  }
  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& p) override {
    return Wrap(base().NewAppendableFile(p));
  }

 private:
  class File final : public WritableFile {
   public:
    File(GatedFileSystem& fs, std::unique_ptr<WritableFile> base)
        : fs_(fs), base_(std::move(base)) {}
    Status Append(std::string_view d) override { return base_->Append(d); }
    Status Sync() override {
      fs_.SyncGate();
      return base_->Sync();
    }
    Status Close() override { return base_->Close(); }
    uint64_t Size() const override { return base_->Size(); }

   private:
    GatedFileSystem& fs_;
    std::unique_ptr<WritableFile> base_;
  };

  Result<std::unique_ptr<WritableFile>> Wrap(Result<std::unique_ptr<WritableFile>> f) {
    if (!f.ok()) return f.status();
    return std::unique_ptr<WritableFile>(std::make_unique<File>(*this, std::move(*f)));
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  int waiting_ = 0;
};

// Mem FS + fault injection + manual clock + io pool, and partition helpers.
struct PartitionEnv {
  std::unique_ptr<FileSystem> mem = NewMemFileSystem();
  FaultInjectionFileSystem fault{*mem};
  ManualClock clock;
  ThreadPool pool{2, "part-test"};
  std::string dir = "/data/p0";
  FileSystem* fs = &fault;

  Result<std::unique_ptr<Partition>> Open(const PartitionOptions& o) {
    return Partition::Open(*fs, clock, pool, dir, o);
  }
  std::unique_ptr<Partition> MustOpen(const PartitionOptions& o) {
    auto p = Open(o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(*p) : nullptr;
  }
  std::string SegPath(uint64_t base) const { return JoinPath(dir, storage::SegmentFileName(base)); }
  std::string IndexPath(uint64_t base) const { return JoinPath(dir, storage::IndexFileName(base)); }
  std::vector<uint64_t> Segments() {
    std::vector<uint64_t> out;
    auto children = mem->GetChildren(dir);
    if (!children.ok()) return out;
    for (const std::string& n : *children) {
      uint64_t base = 0;
      bool is_index = false;
      if (storage::ParseSegmentFileName(n, &base, &is_index) && !is_index) out.push_back(base);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string ReadFile(const std::string& path) {
    std::string data;
    EXPECT_TRUE(ReadFileToString(*mem, path, &data).ok()) << path;
    return data;
  }
  // Replaces `path` with `data` durably (through the fault FS, so its
  // power-loss model stays consistent).
  void WriteFile(const std::string& path, const std::string& data) {
    auto f = fault.NewWritableFile(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(data).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Close().ok());
    ASSERT_TRUE(fault.SyncDir(dir).ok());
  }
  void FlipByte(const std::string& path, uint64_t pos) {
    std::string data = ReadFile(path);
    ASSERT_LT(pos, data.size());
    data[pos] = static_cast<char>(data[pos] ^ 0x5a);
    WriteFile(path, data);
  }
};

// Reads every acknowledged record from the start.
inline std::vector<Record> ReadAll(Partition& p) {
  std::vector<Record> all;
  uint64_t from = 0;
  for (;;) {
    std::vector<Record> batch;
    Status s = p.Read(from, 1 << 20, &batch);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok() || batch.empty()) return all;
    from = batch.back().offset + 1;
    for (Record& r : batch) all.push_back(std::move(r));
  }
}

inline AppendResult AppendOne(Partition& p, std::string value, std::string id = "") {
  std::vector<AppendResult> results;
  std::vector<ProduceRecord> records;
  records.push_back(Rec(std::move(value), std::move(id)));
  Status s = p.Append(std::move(records), &results);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return results.empty() ? AppendResult{} : results[0];
}

}  // namespace tandem::testing_util
