// Replay: the log applied to a fresh store through a store sink, and the
// directory swap that puts the rebuilt store in place (tandem replay).

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "audit/audit_internal.h"

namespace tandem {
namespace {

Status SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Status::IOError("fsync " + path + ": " + std::strerror(err));
  return Status::OK();
}

Status Flush(Sink& sink, std::vector<StoreEvent>* batch, ReplayStats* stats) {
  if (batch->empty()) return Status::OK();
  TANDEM_ASSIGN_OR_RETURN(std::vector<ApplyOutcome> outcomes, sink.Apply(*batch));
  for (const ApplyOutcome& o : outcomes) {
    switch (o.code) {
      case ApplyCode::kApplied:
        ++stats->applied;
        break;
      case ApplyCode::kSkippedStale:
      case ApplyCode::kSkippedDuplicate:
        ++stats->skipped;
        break;
      case ApplyCode::kPermanentError:
        ++stats->refused;
        break;
      case ApplyCode::kTransientError:
        return Status::Unavailable("replay: the store failed transiently: " + o.reason);
    }
  }
  batch->clear();
  return Status::OK();
}

}  // namespace

Result<ReplayStats> ReplayLogInto(Log& log, Store& store, const ReplayOptions& options) {
  if (options.batch_events == 0) return Status::InvalidArgument("replay: batch_events must be >= 1");
  if (options.read_bytes == 0) return Status::InvalidArgument("replay: read_bytes must be >= 1");
  TANDEM_ASSIGN_OR_RETURN(audit_internal::EndMap ends, audit_internal::EntityTopicEnds(log));
  std::unique_ptr<Sink> sink = NewStoreSink(store);
  EventParser parser(options.clock != nullptr ? *options.clock : SystemClock(), options.parser);
  ReplayStats stats;
  std::vector<StoreEvent> batch;
  std::vector<Record> records;
  for (const auto& [tp, end] : ends) {
    if (!options.topics.empty() &&
        std::find(options.topics.begin(), options.topics.end(), tp.topic) == options.topics.end()) {
      continue;
    }
    uint64_t from = options.from_beginning ? 0 : options.from_offset;
    while (from < end) {
      records.clear();
      TANDEM_RETURN_IF_ERROR(log.Read(tp.topic, tp.partition, from, options.read_bytes, &records));
      if (records.empty()) break;
      for (Record& r : records) {
        if (r.offset >= end) break;
        from = r.offset + 1;
        ++stats.records;
        Result<EntityEvent> e = parser.Parse(r.value);
        if (!e.ok() || e->entity_id != r.key) {
          ++stats.undecodable;
          continue;
        }
        batch.push_back(StoreEvent{std::move(e).value(),
                                   LogPosition{tp.topic, tp.partition, r.offset}});
        if (batch.size() >= options.batch_events) {
          TANDEM_RETURN_IF_ERROR(Flush(*sink, &batch, &stats));
        }
      }
      if (records.back().offset >= end) break;
    }
  }
  TANDEM_RETURN_IF_ERROR(Flush(*sink, &batch, &stats));
  return stats;
}

Status SwapStoreDirs(const std::string& live, const std::string& fresh, const std::string& old) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(fresh, ec), end; !ec && it != end; it.increment(ec)) {
    TANDEM_RETURN_IF_ERROR(SyncPath(it->path().string(), it->is_directory()));
  }
  if (ec) return Status::IOError("listing " + fresh + ": " + ec.message());
  TANDEM_RETURN_IF_ERROR(SyncPath(fresh, true));
  if (fs::exists(live)) {
    fs::rename(live, old, ec);
    if (ec) return Status::IOError("rename " + live + " → " + old + ": " + ec.message());
  }
  fs::rename(fresh, live, ec);
  if (ec) return Status::IOError("rename " + fresh + " → " + live + ": " + ec.message());
  const fs::path parent = fs::path(live).parent_path();
  return SyncPath(parent.empty() ? std::string(".") : parent.string(), true);
}

}  // namespace tandem
