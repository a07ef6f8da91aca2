// The real file system: thin wrappers over POSIX system calls.
//
// Every descriptor is opened with O_CLOEXEC so a forked helper never inherits
// a data file. WritableFile does no user-space buffering: each Append is
// write(2) calls until all bytes are in the page cache (callers batch: the log
// writes one group per Append). Errors become a Status whose message names
// the operation, the path and strerror: "open /x/y.log: No such file or
// directory".
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/env.h"

namespace tandem {
namespace {

// strerror_r is the GNU variant (returns char*) or the XSI one (returns int)
// depending on feature macros; these overloads accept either.
[[maybe_unused]] std::string StrerrorText(const char* text, const char* /*buf*/) { return text; }
[[maybe_unused]] std::string StrerrorText(int rc, const char* buf) {
  return rc == 0 ? std::string(buf) : std::string("Unknown error");
}

std::string ErrnoText(int err) {
  char buf[256] = {0};
  return StrerrorText(strerror_r(err, buf, sizeof(buf)), buf);
}

Status ErrnoStatus(int err, std::string_view op, std::string_view path) {
  std::string message(op);
  message += ' ';
  message += path;
  message += ": ";
  message += ErrnoText(err);
  switch (err) {
    case ENOENT:
      return Status::NotFound(std::move(message));
    case ENOSPC:
    case EDQUOT:
      return Status::NoSpace(std::move(message));
    case EEXIST:
      return Status::AlreadyExists(std::move(message));
    default:
      return Status::IOError(std::move(message));
  }
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Append(std::string_view data) override {
    if (fd_ < 0) return Status::IOError("write " + path_ + ": file is closed");
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "write", path_);
      }
      size_ += static_cast<uint64_t>(n);
      data.remove_prefix(static_cast<size_t>(n));  // short write: go on with the rest
    }
    return Status::OK();
  }

  Status Sync() override {
    if (fd_ < 0) return Status::IOError("fdatasync " + path_ + ": file is closed");
    if (::fdatasync(fd_) != 0) return ErrnoStatus(errno, "fdatasync", path_);
    return Status::OK();
  }

  Status Close() override {
    if (fd_ < 0) return Status::OK();
    // Not retried on EINTR: Linux releases the descriptor whatever close returns.
    const int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0 && errno != EINTR) return ErrnoStatus(errno, "close", path_);
    return Status::OK();
  }

  uint64_t Size() const override { return size_; }

 private:
  const std::string path_;
  int fd_;
  uint64_t size_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd_, out->data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        out->clear();
        return ErrnoStatus(errno, "pread", path_);
      }
      if (r == 0) break;  // end of file
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    return Status::OK();
  }

  Result<uint64_t> Size() const override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return ErrnoStatus(errno, "fstat", path_);
    return static_cast<uint64_t>(st.st_size);
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // closing releases the flock

 private:
  const int fd_;
};

int OpenRetrying(const std::string& path, int flags, mode_t mode = 0644) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

Result<int> OpenOrStatus(const std::string& path, int flags) {
  const int fd = OpenRetrying(path, flags);
  if (fd < 0) return ErrnoStatus(errno, "open", path);
  return fd;
}

Status FsyncPath(const std::string& path, int flags) {
  TANDEM_ASSIGN_OR_RETURN(int fd, OpenOrStatus(path, flags));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, "fsync", path);
  return Status::OK();
}

Status MakeOneDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) return Status::OK();
  const int err = errno;
  struct stat st;
  if (err == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::OK();
  return ErrnoStatus(err, "mkdir", dir);
}

class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    TANDEM_ASSIGN_OR_RETURN(int fd, OpenOrStatus(path, O_WRONLY | O_CREAT | O_TRUNC));
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd, 0));
  }

  Result<std::unique_ptr<WritableFile>> NewAppendableFile(const std::string& path) override {
    TANDEM_ASSIGN_OR_RETURN(int fd, OpenOrStatus(path, O_WRONLY | O_CREAT | O_APPEND));
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int err = errno;
      ::close(fd);
      return ErrnoStatus(err, "fstat", path);
    }
    auto size = static_cast<uint64_t>(st.st_size);
    return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(path, fd, size));
  }

  Result<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path) override {
    TANDEM_ASSIGN_OR_RETURN(int fd, OpenOrStatus(path, O_RDONLY));
    return std::unique_ptr<RandomAccessFile>(std::make_unique<PosixRandomAccessFile>(path, fd));
  }

  bool FileExists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Result<std::vector<std::string>> GetChildren(const std::string& dir) override {
    DIR* d = ::opendir(dir.c_str());  // glibc opens it with O_CLOEXEC
    if (d == nullptr) return ErrnoStatus(errno, "opendir", dir);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
      errno = 0;
    }
    const int err = errno;
    ::closedir(d);
    if (err != 0) return ErrnoStatus(err, "readdir", dir);
    return names;
  }

  Result<uint64_t> GetFileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", path);
    return static_cast<uint64_t>(st.st_size);
  }

  Status CreateDirs(const std::string& dir) override {
    // mkdir -p: every prefix ending before a slash, then the whole path.
    for (size_t slash = dir.find('/', 1); slash != std::string::npos;
         slash = dir.find('/', slash + 1)) {
      if (dir[slash - 1] == '/') continue;  // "a//b"
      TANDEM_RETURN_IF_ERROR(MakeOneDir(dir.substr(0, slash)));
    }
    if (dir.empty() || dir.back() == '/') return Status::OK();
    return MakeOneDir(dir);
  }

  Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, "unlink", path);
    return Status::OK();
  }

  Status DeleteDir(const std::string& dir) override {
    if (::rmdir(dir.c_str()) != 0) return ErrnoStatus(errno, "rmdir", dir);
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      const int err = errno;  // saved before the message allocates
      return ErrnoStatus(err, "rename", from + " to " + to);
    }
    return Status::OK();
  }

  Status Truncate(const std::string& path, uint64_t size) override {
    int rc;
    do {
      rc = ::truncate(path.c_str(), static_cast<off_t>(size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return ErrnoStatus(errno, "truncate", path);
    // truncate(2) alone changes only the page cache; fsync makes the size durable.
    return FsyncPath(path, O_WRONLY);
  }

  Status SyncDir(const std::string& dir) override { return FsyncPath(dir, O_RDONLY | O_DIRECTORY); }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    TANDEM_ASSIGN_OR_RETURN(int fd, OpenOrStatus(path, O_RDWR | O_CREAT));
    int rc;
    do {
      rc = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Status::FailedPrecondition("lock " + path + ": is locked by another process");
      }
      return ErrnoStatus(err, "flock", path);
    }
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd));
  }
};

}  // namespace

std::unique_ptr<FileSystem> NewPosixFileSystem() { return std::make_unique<PosixFileSystem>(); }

}  // namespace tandem
