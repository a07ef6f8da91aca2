#include "log/log_impl.h"

#include <algorithm>
#include <chrono>
#include <future>

#include "log/subscription.h"

namespace tandem {
namespace {

constexpr int64_t kRetentionCheckMicros = 60ll * 1000 * 1000;
constexpr const char* kTopicsDir = "topics";
constexpr const char* kSubscriptionsDir = "subscriptions";
constexpr const char* kLockFile = "LOCK";

uint64_t RecordBytes(const ProduceRecord& r) {
  uint64_t n = r.key.size() + r.value.size() + r.id.size();
  for (const Header& h : r.headers) n += h.key.size() + h.value.size();
  return n;
}

Status Closed() { return Status::Aborted("the log is closed"); }

}  // namespace

// The records of one partition within a batch, and where their results go.
struct LogImpl::Share {
  uint32_t partition = 0;
  std::vector<ProduceRecord> records;
  std::vector<size_t> index;  // index[i]: position of records[i] in the caller's batch
};

std::vector<LogImpl::Share> LogImpl::EmptyShares(uint32_t partitions) {
  std::vector<Share> shares(partitions);
  for (uint32_t p = 0; p < partitions; ++p) shares[p].partition = p;
  return shares;
}

uint64_t TopicStats::records() const {
  uint64_t n = 0;
  for (const PartitionStats& p : partitions) n += p.end_offset - p.start_offset;
  return n;
}

uint64_t TopicStats::bytes() const {
  uint64_t n = 0;
  for (const PartitionStats& p : partitions) n += p.bytes;
  return n;
}

Result<std::unique_ptr<Log>> Log::Open(const LogOptions& options) {
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<LogImpl> log, LogImpl::OpenImpl(options));
  return std::unique_ptr<Log>(std::move(log));
}

LogImpl::LogImpl(const LogOptions& options) : options_(options) {
  if (options_.fs == nullptr) owned_fs_ = NewPosixFileSystem();
  fs_ = options_.fs != nullptr ? options_.fs : owned_fs_.get();
  clock_ = options_.clock != nullptr ? options_.clock : &SystemClock();
}

Result<std::unique_ptr<LogImpl>> LogImpl::OpenImpl(const LogOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("LogOptions::dir is required");
  if (options.default_partitions == 0 || options.default_partitions > kMaxPartitionsPerTopic) {
    return Status::InvalidArgument("LogOptions::default_partitions must be 1.." +
                                   std::to_string(kMaxPartitionsPerTopic));
  }
  std::unique_ptr<LogImpl> log(new LogImpl(options));
  TANDEM_RETURN_IF_ERROR(log->OpenDirs());
  log->pool_ =
      std::make_unique<ThreadPool>(std::max<uint32_t>(1, options.io_threads), "tandem-log");
  TANDEM_RETURN_IF_ERROR(log->LoadTopics());
  log->bg_ = std::thread([p = log.get()] { p->BackgroundLoop(); });
  return log;
}

LogImpl::~LogImpl() { (void)Close(); }

Status LogImpl::OpenDirs() {
  const std::string& dir = options_.dir;
  TANDEM_RETURN_IF_ERROR(fs_->CreateDirs(dir));
  const std::string lock_path = JoinPath(dir, kLockFile);
  Result<std::unique_ptr<FileLock>> lock = fs_->LockFile(lock_path);
  if (!lock.ok()) {
    if (lock.status().code() != StatusCode::kFailedPrecondition) return lock.status();
    return Status::FailedPrecondition("log directory " + dir + " is already open (" + lock_path +
                                      " is locked by another process or Log)");
  }
  lock_ = std::move(*lock);
  TANDEM_RETURN_IF_ERROR(fs_->CreateDirs(JoinPath(dir, kTopicsDir)));
  TANDEM_RETURN_IF_ERROR(fs_->CreateDirs(JoinPath(dir, kSubscriptionsDir)));
  return fs_->SyncDir(dir);
}

PartitionOptions LogImpl::MakePartitionOptions() const {
  PartitionOptions po;
  po.segment_bytes = options_.segment_bytes;
  po.segment_ms = options_.segment_ms;
  po.index_interval_bytes = options_.index_interval_bytes;
  po.retention_ms = options_.retention_ms;
  po.retention_bytes = options_.retention_bytes;
  po.fsync = options_.fsync;
  po.compression = options_.compression;
  po.max_record_bytes = options_.max_record_bytes;
  po.max_batch_bytes = options_.max_batch_bytes;
  po.dedup_window_ms = options_.dedup_window_ms;
  po.dedup_max_entries = options_.dedup_max_entries;
  return po;
}

Status LogImpl::LoadTopics() {
  const std::string topics_dir = JoinPath(options_.dir, kTopicsDir);
  TANDEM_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->GetChildren(topics_dir));
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (!ValidateTopicName(name).ok()) continue;  // not a topic (tmp files, litter)
    const std::string dir = JoinPath(topics_dir, name);
    // No meta: creation was interrupted before it; the topic is created again on use.
    if (!fs_->FileExists(JoinPath(dir, kTopicMetaFile))) continue;
    TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Topic> t,
                            Topic::Open(*fs_, *clock_, *pool_, dir, name, MakePartitionOptions()));
    std::unique_lock l(topics_mu_);
    topics_.emplace(name, std::move(t));
  }
  return Status::OK();
}

Topic* LogImpl::FindTopic(std::string_view name) {
  std::shared_lock l(topics_mu_);
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}

Result<Topic*> LogImpl::GetOrCreateTopic(std::string_view name, uint32_t partitions,
                                         bool must_create) {
  auto existing = [&]() -> Result<Topic*> {
    Topic* t = FindTopic(name);
    if (t == nullptr) return Status::NotFound(std::string(name));
    if (must_create) return Status::AlreadyExists("topic " + std::string(name) + " exists");
    return t;
  };
  Result<Topic*> found = existing();
  if (!found.status().IsNotFound()) return found;
  TANDEM_RETURN_IF_ERROR(ValidateTopicName(name));
  std::lock_guard create(create_mu_);
  found = existing();  // another thread may have created it meanwhile
  if (!found.status().IsNotFound()) return found;
  if (closed_.load()) return Closed();
  const uint32_t n = partitions != 0 ? partitions : options_.default_partitions;
  TANDEM_ASSIGN_OR_RETURN(
      std::unique_ptr<Topic> t,
      Topic::Create(*fs_, *clock_, *pool_, JoinPath(JoinPath(options_.dir, kTopicsDir), name),
                    std::string(name), n, MakePartitionOptions()));
  Topic* raw = t.get();
  {
    std::unique_lock l(topics_mu_);
    topics_.emplace(std::string(name), std::move(t));
  }
  topic_generation_.fetch_add(1, std::memory_order_acq_rel);
  NotifyListeners();
  return raw;
}

Status LogImpl::CreateTopic(std::string_view topic, const TopicOptions& options) {
  if (closed_.load()) return Closed();
  if (options.partitions > kMaxPartitionsPerTopic) {
    return Status::InvalidArgument(
        "topic " + std::string(topic) + ": " + std::to_string(options.partitions) +
        " partitions exceed the limit of " + std::to_string(kMaxPartitionsPerTopic));
  }
  return GetOrCreateTopic(topic, options.partitions, /*must_create=*/true).status();
}

std::vector<std::string> LogImpl::ListTopics() {
  std::shared_lock l(topics_mu_);
  std::vector<std::string> names;
  names.reserve(topics_.size());
  for (const auto& [name, t] : topics_) names.push_back(name);
  return names;
}

Result<TopicStats> LogImpl::Stats(std::string_view topic) {
  Topic* t = FindTopic(topic);
  if (t == nullptr) return Status::NotFound("topic " + std::string(topic) + " does not exist");
  TopicStats stats;
  stats.name = t->name();
  for (uint32_t p = 0; p < t->num_partitions(); ++p) {
    stats.partitions.push_back(t->partition(p).Stats());
  }
  return stats;
}

Result<uint32_t> LogImpl::PartitionFor(std::string_view topic, std::string_view key) {
  Topic* t = FindTopic(topic);
  if (t == nullptr) return Status::NotFound("topic " + std::string(topic) + " does not exist");
  return t->PartitionOf(key);
}

Status LogImpl::CheckRecordSizes(std::span<const ProduceRecord> records) const {
  for (size_t i = 0; i < records.size(); ++i) {
    const uint64_t n = RecordBytes(records[i]);
    if (n > options_.max_record_bytes) {
      return Status::TooLarge("record " + std::to_string(i) + " (key \"" +
                              records[i].key.substr(0, 64) + "\") is " + std::to_string(n) +
                              " bytes (key + value + id + headers), over max_record_bytes " +
                              std::to_string(options_.max_record_bytes));
    }
  }
  return Status::OK();
}

Result<Topic*> LogImpl::TopicForAppend(std::string_view name,
                                       std::span<const ProduceRecord> records) {
  if (closed_.load()) return Closed();
  TANDEM_RETURN_IF_ERROR(CheckRecordSizes(records));
  return GetOrCreateTopic(name, 0, /*must_create=*/false);
}

Result<AppendResult> LogImpl::Append(std::string_view topic, const ProduceRecord& record) {
  TANDEM_ASSIGN_OR_RETURN(Topic * t, TopicForAppend(topic, std::span(&record, 1)));
  const uint32_t p = t->PartitionOf(record.key);
  std::vector<AppendResult> results;
  TANDEM_RETURN_IF_ERROR(t->partition(p).Append({record}, &results));
  NotifyListeners();
  if (results.size() != 1) {
    return Status::IOError("partition " + std::to_string(p) + " of topic " + t->name() +
                           " returned " + std::to_string(results.size()) + " results for 1 record");
  }
  results[0].partition = p;
  return results[0];
}

Status LogImpl::AppendBatch(std::string_view topic, std::span<const ProduceRecord> records,
                            std::vector<AppendResult>* results) {
  results->clear();
  if (records.empty()) return Status::OK();
  TANDEM_ASSIGN_OR_RETURN(Topic * t, TopicForAppend(topic, records));
  std::vector<Share> shares = EmptyShares(t->num_partitions());
  for (size_t i = 0; i < records.size(); ++i) {
    Share& s = shares[t->PartitionOf(records[i].key)];
    s.records.push_back(records[i]);
    s.index.push_back(i);
  }
  std::promise<Status> done;
  std::future<Status> status = done.get_future();
  Submit(*t, std::move(shares), records.size(),
         [&done, results](Status s, std::vector<AppendResult> r) {
           if (s.ok()) *results = std::move(r);
           done.set_value(std::move(s));
         });
  return status.get();
}

void LogImpl::AppendAsync(std::string_view topic, std::vector<ProduceRecord> records,
                          AppendCallback done) {
  if (records.empty()) return done(Status::OK(), {});
  Result<Topic*> t = TopicForAppend(topic, records);
  if (!t.ok()) return done(t.status(), {});
  std::vector<Share> shares = EmptyShares((*t)->num_partitions());
  const size_t count = records.size();
  for (size_t i = 0; i < count; ++i) {
    Share& s = shares[(*t)->PartitionOf(records[i].key)];
    s.records.push_back(std::move(records[i]));
    s.index.push_back(i);
  }
  Submit(**t, std::move(shares), count, std::move(done));
}

// Queues every non-empty share on its partition (they group-commit in
// parallel on the io threads) and calls `done` once, after the last one,
// with the results in the caller's order.
void LogImpl::Submit(Topic& topic, std::vector<Share> shares, size_t count, AppendCallback done) {
  struct State {
    std::mutex mu;
    Status status;                      // GUARDED_BY(mu): the first failure
    std::vector<AppendResult> results;  // GUARDED_BY(mu)
    std::atomic<size_t> remaining{0};
    AppendCallback done;
  };
  std::erase_if(shares, [](const Share& s) { return s.records.empty(); });
  auto state = std::make_shared<State>();
  state->results.resize(count);
  state->remaining = shares.size();
  state->done = std::move(done);
  for (Share& s : shares) {
    const uint32_t p = s.partition;
    topic.partition(p).AppendAsync(
        std::move(s.records),
        [this, state, p, index = std::move(s.index)](Status st, std::vector<AppendResult> r) {
          {
            std::lock_guard l(state->mu);
            if (st.ok() && r.size() == index.size()) {
              for (size_t i = 0; i < index.size(); ++i) {
                state->results[index[i]] = r[i];
                state->results[index[i]].partition = p;
              }
            } else if (state->status.ok()) {
              state->status = st.ok() ? Status::IOError("short append result") : st;
            }
          }
          if (state->remaining.fetch_sub(1) != 1) return;
          NotifyListeners();
          state->done(state->status, std::move(state->results));
        });
  }
}

Status LogImpl::Read(std::string_view topic, uint32_t partition, uint64_t from, size_t max_bytes,
                     std::vector<Record>* out) {
  Topic* t = FindTopic(topic);
  if (t == nullptr) return Status::NotFound("topic " + std::string(topic) + " does not exist");
  if (partition >= t->num_partitions()) {
    return Status::InvalidArgument("topic " + t->name() + " has no partition " +
                                   std::to_string(partition) + " (it has " +
                                   std::to_string(t->num_partitions()) + ")");
  }
  return t->partition(partition).Read(from, max_bytes, out);
}

Result<std::unique_ptr<Subscription>> LogImpl::Subscribe(const SubscriptionOptions& options) {
  if (closed_.load()) return Closed();
  return OpenSubscription(*this, options);
}

Status LogImpl::EnforceRetention() {
  Status first;
  for (const std::string& name : ListTopics()) {
    Topic* t = FindTopic(name);
    for (uint32_t p = 0; t != nullptr && p < t->num_partitions(); ++p) {
      Status s = t->partition(p).EnforceRetention();
      if (first.ok() && !s.ok()) first = s;
    }
  }
  return first;
}

Status LogImpl::Verify(VerifyReport* report) {
  for (const std::string& name : ListTopics()) {
    Topic* t = FindTopic(name);
    uint32_t n = 0;
    Status meta = ReadTopicMeta(*fs_, t->dir(), name, &n);
    if (!meta.ok()) {
      report->issues.push_back({JoinPath(t->dir(), kTopicMetaFile), 0, meta.ToString()});
    }
    for (uint32_t p = 0; p < t->num_partitions(); ++p) {
      TANDEM_RETURN_IF_ERROR(t->partition(p).Verify(report));
    }
  }
  return Status::OK();
}

Result<AppendResult> LogImpl::AppendDurably(std::string_view topic, const ProduceRecord& record) {
  TANDEM_ASSIGN_OR_RETURN(AppendResult r, Append(topic, record));
  if (options_.fsync != FsyncPolicy::kAlways) {
    TANDEM_RETURN_IF_ERROR(FindTopic(topic)->partition(r.partition).Flush());
  }
  return r;
}

std::string LogImpl::SubscriptionPath(std::string_view name) const {
  return JoinPath(JoinPath(options_.dir, kSubscriptionsDir), std::string(name) + ".pos");
}

void LogImpl::AddListener(LogListener* l) {
  std::unique_lock lock(listeners_mu_);
  listeners_.push_back(l);
}

void LogImpl::RemoveListener(LogListener* l) {
  std::unique_lock lock(listeners_mu_);
  std::erase(listeners_, l);
}

void LogImpl::NotifyListeners() {
  std::shared_lock lock(listeners_mu_);
  for (LogListener* l : listeners_) l->OnLogChange();
}

Status LogImpl::ClaimSubscription(const std::string& name) {
  std::lock_guard l(subs_mu_);
  if (!open_subscriptions_.insert(name).second) {
    return Status::FailedPrecondition("subscription " + name + " is already open in this log");
  }
  return Status::OK();
}

void LogImpl::ReleaseSubscription(const std::string& name) {
  std::lock_guard l(subs_mu_);
  open_subscriptions_.erase(name);
}

void LogImpl::BackgroundLoop() {
  const int64_t tick_ms = options_.fsync == FsyncPolicy::kInterval
                              ? std::max<int64_t>(1, options_.fsync_interval_ms)
                              : 1000;
  int64_t last_retention_us = clock_->NowMicros();
  std::unique_lock l(bg_mu_);
  while (!bg_stop_) {
    bg_cv_.wait_for(l, std::chrono::milliseconds(tick_ms), [this] { return bg_stop_; });
    if (bg_stop_) break;
    l.unlock();
    RunBackgroundTick(&last_retention_us);
    l.lock();
  }
}

// Errors are not reported from here: a failed Flush leaves the partition to
// report it on its next append or sync, and retention simply runs again.
void LogImpl::RunBackgroundTick(int64_t* last_retention_us) {
  const bool flush = options_.fsync == FsyncPolicy::kInterval;
  const int64_t now = clock_->NowMicros();
  const bool retention = now - *last_retention_us >= kRetentionCheckMicros;
  if (!flush && !retention) return;
  for (const std::string& name : ListTopics()) {
    Topic* t = FindTopic(name);
    for (uint32_t p = 0; t != nullptr && p < t->num_partitions(); ++p) {
      if (flush) (void)t->partition(p).Flush();
      if (retention) (void)t->partition(p).EnforceRetention();
    }
  }
  if (retention) *last_retention_us = now;
}

Status LogImpl::Close() {
  std::lock_guard l(close_mu_);
  if (closed_.exchange(true)) return close_status_;
  {
    std::lock_guard bl(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
  { std::lock_guard wait_for_creation(create_mu_); }  // a creation in progress finishes first
  std::vector<Topic*> topics;
  {
    std::shared_lock tl(topics_mu_);
    for (auto& [name, t] : topics_) topics.push_back(t.get());
  }
  for (Topic* t : topics) {
    Status s = t->Close();
    if (close_status_.ok() && !s.ok()) close_status_ = s;
  }
  return close_status_;
}

}  // namespace tandem
