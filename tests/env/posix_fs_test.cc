// What only the real file system can show: errno mapping and messages.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "env_test_util.h"
#include "tandem/env.h"

namespace tandem {
namespace {

class PosixFs : public ::testing::Test {
 protected:
  PosixFs() : fs_(NewPosixFileSystem()) {
    char tmpl[] = "/tmp/tandem_posix_test.XXXXXX";
    const char* dir = ::mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr);
    root_ = dir == nullptr ? "" : dir;
  }
  ~PosixFs() override {
    std::error_code ignored;
    if (!root_.empty()) std::filesystem::remove_all(root_, ignored);
  }

  std::unique_ptr<FileSystem> fs_;
  std::string root_;
};

TEST_F(PosixFs, MissingFileErrorNamesPathAndStrerror) {
  const std::string path = root_ + "/x/y.log";
  Status s = fs_->NewRandomAccessFile(path).status();
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.message(), "open " + path + ": No such file or directory");
}

TEST_F(PosixFs, ExistingEntryMapsToAlreadyExists) {
  TANDEM_ASSERT_OK(testing_util::WriteWhole(*fs_, root_ + "/f", "x"));
  Status s = fs_->CreateDirs(root_ + "/f/sub");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(fs_->CreateDirs(root_ + "/f").code(), StatusCode::kAlreadyExists);
}

TEST_F(PosixFs, FullDeviceMapsToNoSpace) {
  if (!fs_->FileExists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto file = fs_->NewAppendableFile("/dev/full");
  TANDEM_ASSERT_OK(file);
  Status s = (*file)->Append("bytes");
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_NE(s.message().find("/dev/full"), std::string::npos);
}

TEST_F(PosixFs, LargeAppendIsWrittenWhole) {
  const std::string data(8 << 20, 'z');
  TANDEM_ASSERT_OK(testing_util::WriteWhole(*fs_, root_ + "/big", data));
  auto size = fs_->GetFileSize(root_ + "/big");
  TANDEM_ASSERT_OK(size);
  EXPECT_EQ(*size, data.size());
}

TEST_F(PosixFs, EveryDescriptorIsCloseOnExec) {
  const std::string path = root_ + "/f";
  auto writable = fs_->NewWritableFile(path);
  auto appendable = fs_->NewAppendableFile(path);
  auto readable = fs_->NewRandomAccessFile(path);
  auto lock = fs_->LockFile(path);
  TANDEM_ASSERT_OK(writable);
  TANDEM_ASSERT_OK(appendable);
  TANDEM_ASSERT_OK(readable);
  TANDEM_ASSERT_OK(lock);
  int open_on_path = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(entry.path(), ec) != path) continue;
    ++open_on_path;
    const int fd = std::stoi(entry.path().filename().string());
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << "fd " << fd;
  }
  EXPECT_EQ(open_on_path, 4);
}

}  // namespace
}  // namespace tandem
