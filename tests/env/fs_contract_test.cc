// One contract suite, run against every FileSystem: the real one (in a fresh
// mkdtemp directory), the memory one, and fault injection over memory with no
// faults set. A behaviour that differs between them is a bug in one of them.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "env/fault_injection_fs.h"
#include "env_test_util.h"
#include "tandem/env.h"

namespace tandem {
namespace {

using testing_util::Contents;
using testing_util::WriteWhole;

class PosixEnv {
 public:
  static constexpr const char* kName = "Posix";
  PosixEnv() : fs_(NewPosixFileSystem()) {
    char tmpl[] = "/tmp/tandem_env_test.XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr);
    root_ = dir == nullptr ? "/tmp" : dir;
  }
  ~PosixEnv() {
    std::error_code ignored;
    if (root_ != "/tmp") std::filesystem::remove_all(root_, ignored);
  }
  FileSystem& fs() { return *fs_; }
  const std::string& root() const { return root_; }

 private:
  std::unique_ptr<FileSystem> fs_;
  std::string root_;
};

class MemEnv {
 public:
  static constexpr const char* kName = "Mem";
  MemEnv() : fs_(NewMemFileSystem()) { EXPECT_TRUE(fs_->CreateDirs(root_).ok()); }
  FileSystem& fs() { return *fs_; }
  const std::string& root() const { return root_; }

 private:
  std::unique_ptr<FileSystem> fs_;
  std::string root_ = "/test";
};

class FaultOverMemEnv {
 public:
  static constexpr const char* kName = "FaultOverMem";
  FaultOverMemEnv() : mem_(NewMemFileSystem()), fault_(*mem_) {
    EXPECT_TRUE(fault_.CreateDirs(root_).ok());
  }
  FileSystem& fs() { return fault_; }
  const std::string& root() const { return root_; }

 private:
  std::unique_ptr<FileSystem> mem_;
  FaultInjectionFileSystem fault_;
  std::string root_ = "/test";
};

template <typename Env>
class FsContract : public ::testing::Test {
 protected:
  FileSystem& fs() { return env_.fs(); }
  std::string Path(const std::string& name) const { return JoinPath(env_.root(), name); }

  std::vector<std::string> SortedChildren(const std::string& dir) {
    Result<std::vector<std::string>> r = fs().GetChildren(dir);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return {};
    std::vector<std::string> names = *r;
    std::sort(names.begin(), names.end());
    return names;
  }

  Env env_;
};

struct EnvName {
  template <typename Env>
  static std::string GetName(int) {
    return Env::kName;
  }
};

using Envs = ::testing::Types<PosixEnv, MemEnv, FaultOverMemEnv>;
TYPED_TEST_SUITE(FsContract, Envs, EnvName);

TYPED_TEST(FsContract, CreateAppendAndReadBack) {
  FileSystem& fs = this->fs();
  auto file = fs.NewWritableFile(this->Path("a.log"));
  TANDEM_ASSERT_OK(file);
  TANDEM_ASSERT_OK((*file)->Append("hello "));
  TANDEM_ASSERT_OK((*file)->Append("world"));
  EXPECT_EQ((*file)->Size(), 11u);
  TANDEM_ASSERT_OK((*file)->Sync());
  TANDEM_ASSERT_OK((*file)->Close());

  auto reader = fs.NewRandomAccessFile(this->Path("a.log"));
  TANDEM_ASSERT_OK(reader);
  std::string out;
  TANDEM_ASSERT_OK((*reader)->Read(0, 100, &out));
  EXPECT_EQ(out, "hello world");
  TANDEM_ASSERT_OK((*reader)->Read(6, 5, &out));
  EXPECT_EQ(out, "world");
}

TYPED_TEST(FsContract, ReopenedAppendableFileContinuesAtEnd) {
  FileSystem& fs = this->fs();
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("a.log"), "abc"));
  auto file = fs.NewAppendableFile(this->Path("a.log"));
  TANDEM_ASSERT_OK(file);
  EXPECT_EQ((*file)->Size(), 3u);
  TANDEM_ASSERT_OK((*file)->Append("def"));
  EXPECT_EQ((*file)->Size(), 6u);
  TANDEM_ASSERT_OK((*file)->Close());
  EXPECT_EQ(Contents(fs, this->Path("a.log")), "abcdef");
}

TYPED_TEST(FsContract, AppendableFileIsCreatedWhenMissing) {
  FileSystem& fs = this->fs();
  auto file = fs.NewAppendableFile(this->Path("new.log"));
  TANDEM_ASSERT_OK(file);
  EXPECT_EQ((*file)->Size(), 0u);
  TANDEM_ASSERT_OK((*file)->Append("x"));
  TANDEM_ASSERT_OK((*file)->Close());
  EXPECT_EQ(Contents(fs, this->Path("new.log")), "x");
}

TYPED_TEST(FsContract, NewWritableFileTruncatesExistingFile) {
  FileSystem& fs = this->fs();
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("a"), "old contents"));
  auto file = fs.NewWritableFile(this->Path("a"));
  TANDEM_ASSERT_OK(file);
  EXPECT_EQ((*file)->Size(), 0u);
  TANDEM_ASSERT_OK((*file)->Append("new"));
  TANDEM_ASSERT_OK((*file)->Close());
  EXPECT_EQ(Contents(fs, this->Path("a")), "new");
}

TYPED_TEST(FsContract, CloseIsIdempotentAndAppendAfterCloseFails) {
  auto file = this->fs().NewWritableFile(this->Path("a"));
  TANDEM_ASSERT_OK(file);
  TANDEM_ASSERT_OK((*file)->Close());
  TANDEM_EXPECT_OK((*file)->Close());
  EXPECT_FALSE((*file)->Append("x").ok());
  EXPECT_FALSE((*file)->Sync().ok());
}

TYPED_TEST(FsContract, ReadAcrossEndOfFileIsShort) {
  TANDEM_ASSERT_OK(WriteWhole(this->fs(), this->Path("a"), "0123456789"));
  auto reader = this->fs().NewRandomAccessFile(this->Path("a"));
  TANDEM_ASSERT_OK(reader);
  std::string out;
  TANDEM_ASSERT_OK((*reader)->Read(7, 10, &out));
  EXPECT_EQ(out, "789");
}

TYPED_TEST(FsContract, ReadAtOrPastEndIsEmptyAndOk) {
  TANDEM_ASSERT_OK(WriteWhole(this->fs(), this->Path("a"), "0123456789"));
  auto reader = this->fs().NewRandomAccessFile(this->Path("a"));
  TANDEM_ASSERT_OK(reader);
  std::string out = "stale";
  TANDEM_ASSERT_OK((*reader)->Read(10, 5, &out));
  EXPECT_EQ(out, "");
  out = "stale";
  TANDEM_ASSERT_OK((*reader)->Read(1000, 5, &out));
  EXPECT_EQ(out, "");
}

TYPED_TEST(FsContract, GetChildrenListsDirectEntriesWithoutDots) {
  FileSystem& fs = this->fs();
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("b"), ""));
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("a"), "x"));
  TANDEM_ASSERT_OK(fs.CreateDirs(this->Path("sub")));
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("sub/c"), "y"));
  EXPECT_EQ(this->SortedChildren(this->Path("")), (std::vector<std::string>{"a", "b", "sub"}));
  EXPECT_EQ(this->SortedChildren(this->Path("sub")), (std::vector<std::string>{"c"}));
}

TYPED_TEST(FsContract, SizesAgreeWithContents) {
  FileSystem& fs = this->fs();
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("empty"), ""));
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("seven"), "1234567"));
  auto empty = fs.GetFileSize(this->Path("empty"));
  auto seven = fs.GetFileSize(this->Path("seven"));
  TANDEM_ASSERT_OK(empty);
  TANDEM_ASSERT_OK(seven);
  EXPECT_EQ(*empty, 0u);
  EXPECT_EQ(*seven, 7u);
  auto reader = fs.NewRandomAccessFile(this->Path("seven"));
  TANDEM_ASSERT_OK(reader);
  auto size = (*reader)->Size();
  TANDEM_ASSERT_OK(size);
  EXPECT_EQ(*size, 7u);
}

TYPED_TEST(FsContract, RandomAccessFileSeesLaterAppends) {
  FileSystem& fs = this->fs();
  auto writer = fs.NewWritableFile(this->Path("a"));
  TANDEM_ASSERT_OK(writer);
  TANDEM_ASSERT_OK((*writer)->Append("first"));
  auto reader = fs.NewRandomAccessFile(this->Path("a"));
  TANDEM_ASSERT_OK(reader);
  TANDEM_ASSERT_OK((*writer)->Append("+second"));
  auto size = (*reader)->Size();
  TANDEM_ASSERT_OK(size);
  EXPECT_EQ(*size, 12u);
  std::string out;
  TANDEM_ASSERT_OK((*reader)->Read(5, 100, &out));
  EXPECT_EQ(out, "+second");
}

TYPED_TEST(FsContract, RenameReplacesTarget) {
  FileSystem& fs = this->fs();
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("from"), "new"));
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("to"), "old"));
  TANDEM_ASSERT_OK(fs.RenameFile(this->Path("from"), this->Path("to")));
  EXPECT_FALSE(fs.FileExists(this->Path("from")));
  EXPECT_EQ(Contents(fs, this->Path("to")), "new");
  EXPECT_EQ(this->SortedChildren(this->Path("")), (std::vector<std::string>{"to"}));
}

// A reader racing renames over the same name must always find a whole file:
// the target is replaced in one step, never missing or half-written.
TYPED_TEST(FsContract, RenameIsAtomicForConcurrentReaders) {
  FileSystem& fs = this->fs();
  const std::string target = this->Path("target");
  const std::string v1(4096, '1'), v2(4096, '2');
  TANDEM_ASSERT_OK(WriteWhole(fs, target, v1));
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!done.load()) {
      std::string got = Contents(fs, target);
      if (got != v1 && got != v2) bad.fetch_add(1);
    }
  });
  for (int i = 0; i < 200; ++i) {
    const std::string tmp = this->Path("tmp" + std::to_string(i));
    auto file = fs.NewWritableFile(tmp);
    TANDEM_ASSERT_OK(file);
    TANDEM_ASSERT_OK((*file)->Append(i % 2 == 0 ? v2 : v1));
    TANDEM_ASSERT_OK((*file)->Close());
    TANDEM_ASSERT_OK(fs.RenameFile(tmp, target));
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

TYPED_TEST(FsContract, DeleteFileRemovesItOnce) {
  FileSystem& fs = this->fs();
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("a"), "x"));
  EXPECT_TRUE(fs.FileExists(this->Path("a")));
  TANDEM_ASSERT_OK(fs.DeleteFile(this->Path("a")));
  EXPECT_FALSE(fs.FileExists(this->Path("a")));
  EXPECT_TRUE(fs.DeleteFile(this->Path("a")).IsNotFound());
}

TYPED_TEST(FsContract, DeletedFileStaysUsableThroughOpenHandles) {
  FileSystem& fs = this->fs();
  auto writer = fs.NewWritableFile(this->Path("a"));
  TANDEM_ASSERT_OK(writer);
  TANDEM_ASSERT_OK((*writer)->Append("kept"));
  auto reader = fs.NewRandomAccessFile(this->Path("a"));
  TANDEM_ASSERT_OK(reader);
  TANDEM_ASSERT_OK(fs.DeleteFile(this->Path("a")));
  TANDEM_ASSERT_OK((*writer)->Append("+more"));
  std::string out;
  TANDEM_ASSERT_OK((*reader)->Read(0, 100, &out));
  EXPECT_EQ(out, "kept+more");
  EXPECT_FALSE(fs.FileExists(this->Path("a")));
}

TYPED_TEST(FsContract, MissingEntriesAreNotFound) {
  FileSystem& fs = this->fs();
  const std::string missing = this->Path("missing");
  EXPECT_FALSE(fs.FileExists(missing));
  EXPECT_TRUE(fs.NewRandomAccessFile(missing).status().IsNotFound());
  EXPECT_TRUE(fs.GetFileSize(missing).status().IsNotFound());
  EXPECT_TRUE(fs.DeleteFile(missing).IsNotFound());
  EXPECT_TRUE(fs.RenameFile(missing, this->Path("x")).IsNotFound());
  EXPECT_TRUE(fs.Truncate(missing, 0).IsNotFound());
  EXPECT_TRUE(fs.GetChildren(missing).status().IsNotFound());
  EXPECT_TRUE(fs.DeleteDir(missing).IsNotFound());
  std::string out;
  EXPECT_TRUE(ReadFileToString(fs, missing, &out).IsNotFound());
}

TYPED_TEST(FsContract, CreateDirsMakesParentsAndIsIdempotent) {
  FileSystem& fs = this->fs();
  TANDEM_ASSERT_OK(fs.CreateDirs(this->Path("x/y/z")));
  TANDEM_ASSERT_OK(fs.CreateDirs(this->Path("x/y/z")));
  TANDEM_ASSERT_OK(fs.CreateDirs(this->Path("x/y")));
  EXPECT_TRUE(fs.FileExists(this->Path("x/y/z")));
  EXPECT_EQ(this->SortedChildren(this->Path("x")), (std::vector<std::string>{"y"}));
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("x/y/z/f"), "deep"));
  EXPECT_EQ(Contents(fs, this->Path("x/y/z/f")), "deep");
}

TYPED_TEST(FsContract, CreateDirsOverAFileFails) {
  FileSystem& fs = this->fs();
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("f"), "x"));
  EXPECT_EQ(fs.CreateDirs(this->Path("f")).code(), StatusCode::kAlreadyExists);
}

TYPED_TEST(FsContract, FileInMissingDirectoryIsNotFound) {
  FileSystem& fs = this->fs();
  EXPECT_TRUE(fs.NewWritableFile(this->Path("nodir/f")).status().IsNotFound());
  EXPECT_TRUE(fs.NewAppendableFile(this->Path("nodir/f")).status().IsNotFound());
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("f"), "x"));
  EXPECT_TRUE(fs.RenameFile(this->Path("f"), this->Path("nodir/f")).IsNotFound());
  EXPECT_TRUE(fs.FileExists(this->Path("f")));
  EXPECT_FALSE(fs.FileExists(this->Path("nodir")));
}

TYPED_TEST(FsContract, DeleteDirRemovesOnlyEmptyDirectories) {
  FileSystem& fs = this->fs();
  TANDEM_ASSERT_OK(fs.CreateDirs(this->Path("d")));
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("d/f"), "x"));
  EXPECT_FALSE(fs.DeleteDir(this->Path("d")).ok());
  EXPECT_TRUE(fs.FileExists(this->Path("d/f")));
  TANDEM_ASSERT_OK(fs.DeleteFile(this->Path("d/f")));
  TANDEM_ASSERT_OK(fs.DeleteDir(this->Path("d")));
  EXPECT_FALSE(fs.FileExists(this->Path("d")));
}

TYPED_TEST(FsContract, TruncateCutsTheFile) {
  FileSystem& fs = this->fs();
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("a"), "0123456789"));
  TANDEM_ASSERT_OK(fs.Truncate(this->Path("a"), 4));
  EXPECT_EQ(Contents(fs, this->Path("a")), "0123");
  auto size = fs.GetFileSize(this->Path("a"));
  TANDEM_ASSERT_OK(size);
  EXPECT_EQ(*size, 4u);
}

TYPED_TEST(FsContract, SyncDirSucceedsOnDirectoryAndFailsWhenMissing) {
  TANDEM_EXPECT_OK(this->fs().SyncDir(this->Path("")));
  EXPECT_TRUE(this->fs().SyncDir(this->Path("missing")).IsNotFound());
}

TYPED_TEST(FsContract, LockFileIsExclusiveUntilReleased) {
  FileSystem& fs = this->fs();
  const std::string path = this->Path("LOCK");
  auto first = fs.LockFile(path);
  TANDEM_ASSERT_OK(first);
  EXPECT_TRUE(fs.FileExists(path));
  auto second = fs.LockFile(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find(path), std::string::npos);
  first->reset();
  auto third = fs.LockFile(path);
  TANDEM_EXPECT_OK(third);
}

TYPED_TEST(FsContract, ConcurrentRandomAccessReadsSeeTheirOwnRanges) {
  FileSystem& fs = this->fs();
  std::string data(64 * 1024, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 7) % 26);
  TANDEM_ASSERT_OK(WriteWhole(fs, this->Path("a"), data));
  auto reader = fs.NewRandomAccessFile(this->Path("a"));
  TANDEM_ASSERT_OK(reader);
  const RandomAccessFile& file = **reader;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Random rnd(t + 1);
      std::string out;
      for (int i = 0; i < 500; ++i) {
        const uint64_t offset = rnd.Uniform(data.size());
        const size_t n = 1 + rnd.Uniform(4096);
        if (!file.Read(offset, n, &out).ok() || out != data.substr(offset, n)) bad.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TYPED_TEST(FsContract, WriteFileAtomicallyReplacesContentsAndLeavesNoTemp) {
  FileSystem& fs = this->fs();
  const std::string path = this->Path("META");
  TANDEM_ASSERT_OK(WriteFileAtomically(fs, path, "v1"));
  EXPECT_EQ(Contents(fs, path), "v1");
  TANDEM_ASSERT_OK(WriteFileAtomically(fs, path, "version two"));
  EXPECT_EQ(Contents(fs, path), "version two");
  EXPECT_EQ(this->SortedChildren(this->Path("")), (std::vector<std::string>{"META"}));
}

}  // namespace
}  // namespace tandem
