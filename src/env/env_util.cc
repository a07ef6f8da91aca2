// Helpers built only on the FileSystem interface, so they behave the same on
// every implementation (and fault injection sees every step).
#include <string>
#include <string_view>

#include "env/path_util.h"
#include "tandem/env.h"

namespace tandem {

namespace env_internal {

std::string NormalizePath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

bool IsBelow(std::string_view path, std::string_view dir) {
  if (dir == "/") return path.size() > 1 && path.front() == '/';
  return path.size() > dir.size() + 1 && path.substr(0, dir.size()) == dir &&
         path[dir.size()] == '/';
}

}  // namespace env_internal

Status ReadFileToString(FileSystem& fs, const std::string& path, std::string* out) {
  constexpr size_t kChunk = 1 << 20;
  out->clear();
  TANDEM_ASSIGN_OR_RETURN(auto file, fs.NewRandomAccessFile(path));
  std::string chunk;
  for (;;) {
    TANDEM_RETURN_IF_ERROR(file->Read(out->size(), kChunk, &chunk));
    out->append(chunk);
    if (chunk.size() < kChunk) return Status::OK();
  }
}

namespace {

// Every step up to and including the rename; the caller syncs the directory.
Status WriteTempAndRename(FileSystem& fs, const std::string& tmp, const std::string& path,
                          std::string_view data) {
  TANDEM_ASSIGN_OR_RETURN(auto file, fs.NewWritableFile(tmp));
  TANDEM_RETURN_IF_ERROR(file->Append(data));
  TANDEM_RETURN_IF_ERROR(file->Sync());
  TANDEM_RETURN_IF_ERROR(file->Close());
  return fs.RenameFile(tmp, path);
}

}  // namespace

Status WriteFileAtomically(FileSystem& fs, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  Status s = WriteTempAndRename(fs, tmp, path, data);
  if (!s.ok()) {
    // Best effort: the tmp file may not exist, or the disk may be failing.
    (void)fs.DeleteFile(tmp);
    return s;
  }
  const std::string dir = DirName(path);
  return fs.SyncDir(dir.empty() ? "." : dir);
}

std::string DirName(const std::string& path) {
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;  // "a/b/" names "a/b"
  const size_t slash = path.rfind('/', end - (end > 0 ? 1 : 0));
  if (slash == std::string::npos) return "";
  size_t dir_end = slash;
  while (dir_end > 0 && path[dir_end - 1] == '/') --dir_end;
  return dir_end == 0 ? "/" : path.substr(0, dir_end);
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  std::string out(dir);
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

}  // namespace tandem
