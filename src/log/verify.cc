// VerifyLogDir: the read-only integrity walk behind `tandem log verify`. It
// never opens a partition for writing (no recovery, no truncation): topic.meta
// files and subscription .pos files are decoded and CRC-checked here, segments
// and indexes by storage::VerifyPartitionDir.
#include <algorithm>

#include "log/position_store.h"
#include "log/segment.h"
#include "log/topic.h"
#include "tandem/log.h"

namespace tandem {
namespace {

void AddIssue(VerifyReport* report, const std::string& file, const Status& s) {
  report->issues.push_back(VerifyIssue{file, 0, s.ToString()});
}

Status VerifyTopics(FileSystem& fs, const std::string& topics_dir, VerifyReport* report) {
  TANDEM_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.GetChildren(topics_dir));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (!ValidateTopicName(name).ok()) continue;
    const std::string dir = JoinPath(topics_dir, name);
    const std::string meta = JoinPath(dir, kTopicMetaFile);
    if (!fs.FileExists(meta)) {
      AddIssue(report, meta,
               Status::NotFound("topic directory without topic.meta "
                                "(creation interrupted; ignored on open)"));
      continue;
    }
    uint32_t partitions = 0;
    Status s = ReadTopicMeta(fs, dir, name, &partitions);
    if (!s.ok()) {
      if (!s.IsCorruption()) return s;
      AddIssue(report, meta, s);
      continue;
    }
    for (uint32_t p = 0; p < partitions; ++p) {
      const std::string pdir = JoinPath(dir, std::to_string(p));
      if (!fs.FileExists(pdir)) continue;  // created on the next open
      TANDEM_RETURN_IF_ERROR(storage::VerifyPartitionDir(fs, pdir, report));
    }
  }
  return Status::OK();
}

Status VerifyPositions(FileSystem& fs, const std::string& subs_dir, VerifyReport* report) {
  if (!fs.FileExists(subs_dir)) return Status::OK();
  TANDEM_ASSIGN_OR_RETURN(std::vector<std::string> names, fs.GetChildren(subs_dir));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (name.size() < 5 || name.substr(name.size() - 4) != ".pos") continue;
    const std::string file = JoinPath(subs_dir, name);
    std::string data;
    TANDEM_RETURN_IF_ERROR(ReadFileToString(fs, file, &data));
    PositionMap positions;
    Status s = DecodePositions(file, data, &positions);
    if (!s.ok()) AddIssue(report, file, s);
  }
  return Status::OK();
}

}  // namespace

Status VerifyLogDir(FileSystem& fs, const std::string& dir, VerifyReport* report) {
  const std::string topics_dir = JoinPath(dir, "topics");
  if (!fs.FileExists(topics_dir)) {
    return Status::NotFound(dir + " is not a tandem log directory (no topics/)");
  }
  TANDEM_RETURN_IF_ERROR(VerifyTopics(fs, topics_dir, report));
  return VerifyPositions(fs, JoinPath(dir, "subscriptions"), report);
}

}  // namespace tandem
