// Helpers shared by the env tests: status assertions and small file helpers.
//
// Thread safety: the helpers are free functions over a FileSystem, as safe as
// the file system they are given.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "tandem/env.h"

namespace tandem::testing_util {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

// Writes `data` to `path` (create or truncate), then Sync and Close.
inline Status WriteWhole(FileSystem& fs, const std::string& path, std::string_view data) {
  TANDEM_ASSIGN_OR_RETURN(auto file, fs.NewWritableFile(path));
  TANDEM_RETURN_IF_ERROR(file->Append(data));
  TANDEM_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

// The whole file, or "<error: ...>" so a comparison failure shows why.
inline std::string Contents(FileSystem& fs, const std::string& path) {
  std::string out;
  Status s = ReadFileToString(fs, path, &out);
  return s.ok() ? out : "<error: " + s.ToString() + ">";
}

}  // namespace tandem::testing_util

#define TANDEM_ASSERT_OK(expr)                                                 \
  do {                                                                         \
    /* a copy: `expr` may be a temporary Result */                             \
    const ::tandem::Status _tandem_s = ::tandem::testing_util::StatusOf(expr); \
    ASSERT_TRUE(_tandem_s.ok()) << #expr << ": " << _tandem_s.ToString();      \
  } while (0)

#define TANDEM_EXPECT_OK(expr)                                                 \
  do {                                                                         \
    /* a copy: `expr` may be a temporary Result */                             \
    const ::tandem::Status _tandem_s = ::tandem::testing_util::StatusOf(expr); \
    EXPECT_TRUE(_tandem_s.ok()) << #expr << ": " << _tandem_s.ToString();      \
  } while (0)
