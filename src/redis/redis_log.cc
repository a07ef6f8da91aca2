// RedisLog: topics in a hash, one stream per partition, appends through one
// Lua script that deduplicates, numbers and adds atomically.

#include "redis/redis_log.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "common/hash.h"
#include "log/topic.h"

namespace tandem::redis {
namespace {

// Appends records to one partition. KEYS: counter, stream, then the dedup
// markers. ARGV: marker TTL ms, MAXLEN (-1: none), then per record: its
// marker's KEYS index (0: no dedup), its field count, its field/value pairs.
// Returns {duplicate, offset} per record, flattened. A duplicate within the
// batch finds the marker its first copy just set. Numbers go through
// string.format('%d'): Lua's default conversion is "%.14g".
constexpr Script kAppendScript{"append", R"lua(
local out = {}
local a = 3
while a <= #ARGV do
  local marker = tonumber(ARGV[a])
  local nfields = tonumber(ARGV[a + 1])
  local seen = marker > 0 and redis.call('GET', KEYS[marker])
  if seen then
    out[#out + 1] = 1; out[#out + 1] = tonumber(seen)
  else
    local offset = redis.call('INCR', KEYS[1]) - 1
    local args = {'XADD', KEYS[2]}
    if tonumber(ARGV[2]) >= 0 then
      args[#args + 1] = 'MAXLEN'; args[#args + 1] = '~'; args[#args + 1] = ARGV[2]
    end
    args[#args + 1] = string.format('0-%d', offset + 1)
    for i = a + 2, a + 1 + nfields do args[#args + 1] = ARGV[i] end
    redis.call(unpack(args))
    if marker > 0 then
      redis.call('SET', KEYS[marker], string.format('%d', offset), 'PX', ARGV[1])
    end
    out[#out + 1] = 0; out[#out + 1] = offset
  end
  a = a + 2 + nfields
end
return out
)lua"};

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Headers as "<len>:<key><len>:<value>" pairs.
std::string EncodeHeaders(const std::vector<Header>& headers) {
  std::string out;
  for (const Header& h : headers) {
    out += std::to_string(h.key.size()) + ":" + h.key;
    out += std::to_string(h.value.size()) + ":" + h.value;
  }
  return out;
}

bool NextPart(std::string_view* in, std::string* out) {
  const size_t colon = in->find(':');
  if (colon == std::string_view::npos) return false;
  size_t n = 0;
  auto [p, ec] = std::from_chars(in->data(), in->data() + colon, n);
  if (ec != std::errc() || p != in->data() + colon || n > in->size() - colon - 1) return false;
  out->assign(in->substr(colon + 1, n));
  in->remove_prefix(colon + 1 + n);
  return true;
}

bool DecodeHeaders(std::string_view in, std::vector<Header>* out) {
  while (!in.empty()) {
    Header h;
    if (!NextPart(&in, &h.key) || !NextPart(&in, &h.value)) return false;
    out->push_back(std::move(h));
  }
  return true;
}

Argv EntryFields(const ProduceRecord& r) {
  Argv f = {"k", r.key, "v", r.value, "i", r.id, "t",
            std::to_string(r.timestamp_us != 0 ? r.timestamp_us : NowUs())};
  if (!r.headers.empty()) {
    f.push_back("h");
    f.push_back(EncodeHeaders(r.headers));
  }
  return f;
}

size_t RecordBytes(const ProduceRecord& r) {
  size_t n = r.key.size() + r.value.size() + r.id.size();
  for (const Header& h : r.headers) n += h.key.size() + h.value.size();
  return n;
}

// The script's reply for the records `indexes` of a batch, into `results`.
Status ParseAppendReply(const Reply& r, uint32_t partition, const std::vector<size_t>& indexes,
                        std::vector<AppendResult>* results) {
  if (r.is_error()) return Status::IOError("redis append: " + r.str);
  if (r.type != Reply::Type::kArray || r.elements.size() != 2 * indexes.size()) {
    return Status::Corruption("redis append: unexpected reply");
  }
  for (size_t i = 0; i < indexes.size(); ++i) {
    AppendResult& a = (*results)[indexes[i]];
    a.partition = partition;
    a.duplicate = r.elements[2 * i].integer == 1;
    a.offset = static_cast<uint64_t>(r.elements[2 * i + 1].integer);
  }
  return Status::OK();
}

}  // namespace

Status DecodeEntry(const Reply& entry, Record* out) {
  if (entry.type != Reply::Type::kArray || entry.elements.size() != 2 ||
      !ParseStreamId(entry.elements[0].str, &out->offset) ||
      entry.elements[1].type != Reply::Type::kArray) {
    return Status::Corruption("redis stream entry: not written by tandem (id " +
                              (entry.elements.empty() ? std::string("?") : entry.elements[0].str) +
                              ")");
  }
  const std::vector<Reply>& f = entry.elements[1].elements;
  for (size_t i = 0; i + 1 < f.size(); i += 2) {
    const std::string& name = f[i].str;
    const std::string& value = f[i + 1].str;
    if (name == "k") {
      out->key = value;
    } else if (name == "v") {
      out->value = value;
    } else if (name == "i") {
      out->id = value;
    } else if (name == "t") {
      out->timestamp_us = std::strtoll(value.c_str(), nullptr, 10);
    } else if (name == "h" && !DecodeHeaders(value, &out->headers)) {
      return Status::Corruption("redis stream entry " + entry.elements[0].str + ": bad headers");
    }
  }
  return Status::OK();
}

RedisLog::RedisLog(const RedisBusOptions& options)
    : options_(options), keys_{options.prefix}, pool_(options_, options.connections) {}

RedisLog::~RedisLog() { (void)Close(); }

Status RedisLog::Start() {
  {
    ConnectionPool::Lease c = pool_.Acquire();
    TANDEM_RETURN_IF_ERROR(c->Command({"PING"}).status());
  }
  if (options_.retention_ms >= 0 && options_.retention_check_ms > 0) {
    retention_ = std::thread([this] { RetentionLoop(); });
  }
  return Status::OK();
}

Status RedisLog::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_) return Status::OK();
    closed_ = true;
  }
  cv_.notify_all();
  if (retention_.joinable()) retention_.join();
  return Status::OK();
}

void RedisLog::RetentionLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!closed_) {
    cv_.wait_for(l, std::chrono::milliseconds(options_.retention_check_ms));
    if (closed_) break;
    l.unlock();
    (void)EnforceRetention();  // best effort; the next round retries
    l.lock();
  }
}

Result<std::map<std::string, uint32_t>> RedisLog::Topics() {
  ConnectionPool::Lease c = pool_.Acquire();
  TANDEM_ASSIGN_OR_RETURN(Reply r, c->Command({"HGETALL", keys_.Topics()}));
  std::map<std::string, uint32_t> out;
  for (size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out[r.elements[i].str] = static_cast<uint32_t>(std::strtoul(r.elements[i + 1].str.c_str(), nullptr, 10));
  }
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [t, n] : out) partitions_[t] = n;
  return out;
}

Result<uint32_t> RedisLog::Partitions(std::string_view topic) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = partitions_.find(topic); it != partitions_.end()) return it->second;
  }
  ConnectionPool::Lease c = pool_.Acquire();
  TANDEM_ASSIGN_OR_RETURN(Reply r, c->Command({"HGET", keys_.Topics(), std::string(topic)}));
  if (r.is_nil()) return Status::NotFound("topic " + std::string(topic) + ": does not exist");
  const uint32_t n = static_cast<uint32_t>(std::strtoul(r.str.c_str(), nullptr, 10));
  if (n == 0) return Status::Corruption("topic " + std::string(topic) + ": bad partition count");
  std::lock_guard<std::mutex> l(mu_);
  partitions_[std::string(topic)] = n;
  return n;
}

Result<uint32_t> RedisLog::EnsureTopic(std::string_view topic) {
  Result<uint32_t> n = Partitions(topic);
  if (n.ok() || n.status().code() != StatusCode::kNotFound) return n;
  TANDEM_RETURN_IF_ERROR(ValidateTopicName(topic));
  {
    ConnectionPool::Lease c = pool_.Acquire();
    TANDEM_RETURN_IF_ERROR(c->Command({"HSETNX", keys_.Topics(), std::string(topic),
                                       std::to_string(options_.default_partitions)})
                               .status());
  }
  return Partitions(topic);
}

Status RedisLog::CreateTopic(std::string_view topic, const TopicOptions& options) {
  TANDEM_RETURN_IF_ERROR(ValidateTopicName(topic));
  const uint32_t n = options.partitions != 0 ? options.partitions : options_.default_partitions;
  ConnectionPool::Lease c = pool_.Acquire();
  TANDEM_ASSIGN_OR_RETURN(
      Reply r, c->Command({"HSETNX", keys_.Topics(), std::string(topic), std::to_string(n)}));
  if (r.integer == 0) return Status::AlreadyExists("topic " + std::string(topic) + ": exists");
  std::lock_guard<std::mutex> l(mu_);
  partitions_[std::string(topic)] = n;
  return Status::OK();
}

std::vector<std::string> RedisLog::ListTopics() {
  Result<std::map<std::string, uint32_t>> t = Topics();
  std::vector<std::string> out;
  if (!t.ok()) return out;
  for (const auto& kv : *t) out.push_back(kv.first);
  return out;
}

Result<TopicStats> RedisLog::Stats(std::string_view topic) {
  TANDEM_ASSIGN_OR_RETURN(uint32_t n, Partitions(topic));
  std::vector<Argv> cmds;
  for (uint32_t p = 0; p < n; ++p) {
    cmds.push_back({"GET", keys_.Counter(topic, p)});
    cmds.push_back({"XLEN", keys_.Stream(topic, p)});
  }
  std::vector<Reply> replies;
  {
    ConnectionPool::Lease c = pool_.Acquire();
    TANDEM_RETURN_IF_ERROR(c->Pipeline(cmds, &replies));
  }
  TopicStats stats;
  stats.name = std::string(topic);
  for (uint32_t p = 0; p < n; ++p) {
    const Reply& end = replies[2 * p];
    const Reply& len = replies[2 * p + 1];
    if (end.is_error() || len.is_error()) return Status::IOError("redis stats: " + end.str + len.str);
    PartitionStats s;
    s.partition = p;
    s.end_offset = end.is_nil() ? 0 : std::strtoull(end.str.c_str(), nullptr, 10);
    // Entries are only ever trimmed from the head, so the retained ones are dense.
    s.start_offset = s.end_offset - std::min<uint64_t>(s.end_offset, static_cast<uint64_t>(len.integer));
    stats.partitions.push_back(s);
  }
  return stats;
}

Result<uint32_t> RedisLog::PartitionFor(std::string_view topic, std::string_view key) {
  TANDEM_ASSIGN_OR_RETURN(uint32_t n, Partitions(topic));
  return key.empty() ? 0u : PartitionForKey(key, n);
}

Result<AppendResult> RedisLog::Append(std::string_view topic, const ProduceRecord& record) {
  std::vector<AppendResult> results;
  TANDEM_RETURN_IF_ERROR(AppendBatch(topic, std::span<const ProduceRecord>(&record, 1), &results));
  return results.front();
}

Status RedisLog::AppendBatch(std::string_view topic, std::span<const ProduceRecord> records,
                             std::vector<AppendResult>* results) {
  results->clear();
  for (const ProduceRecord& r : records) {
    if (RecordBytes(r) > options_.max_record_bytes) {
      return Status::TooLarge("record " + r.id + ": " + std::to_string(RecordBytes(r)) +
                              " bytes, bus.redis.max_record_bytes is " +
                              std::to_string(options_.max_record_bytes));
    }
  }
  TANDEM_ASSIGN_OR_RETURN(uint32_t n, EnsureTopic(topic));
  // One script call per partition (its records in input order), pipelined.
  std::map<uint32_t, std::vector<size_t>> by_partition;
  for (size_t i = 0; i < records.size(); ++i) {
    by_partition[records[i].key.empty() ? 0 : PartitionForKey(records[i].key, n)].push_back(i);
  }
  std::vector<std::pair<Argv, Argv>> calls;  // keys, args
  for (const auto& [p, indexes] : by_partition) {
    Argv keys = {keys_.Counter(topic, p), keys_.Stream(topic, p)};
    Argv args = {std::to_string(options_.dedup_window_ms), std::to_string(options_.max_len)};
    for (size_t i : indexes) {
      const ProduceRecord& r = records[i];
      size_t marker = 0;
      if (!r.id.empty() && options_.dedup_window_ms > 0) {
        keys.push_back(keys_.Marker(topic, p, r.id));
        marker = keys.size();
      }
      Argv fields = EntryFields(r);
      args.push_back(std::to_string(marker));
      args.push_back(std::to_string(fields.size()));
      args.insert(args.end(), std::make_move_iterator(fields.begin()),
                  std::make_move_iterator(fields.end()));
    }
    calls.emplace_back(std::move(keys), std::move(args));
  }
  ConnectionPool::Lease c = pool_.Acquire();
  // A NOSCRIPT reply (Redis restarted, its script cache empty) ran nothing: resend once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<Argv> cmds;
    for (const auto& [keys, args] : calls) {
      TANDEM_ASSIGN_OR_RETURN(Argv argv, c->EvalArgv(kAppendScript, keys, args));
      cmds.push_back(std::move(argv));
    }
    std::vector<Reply> replies;
    TANDEM_RETURN_IF_ERROR(c->Pipeline(cmds, &replies));
    const bool noscript = std::all_of(replies.begin(), replies.end(), [](const Reply& r) {
      return r.is_error() && r.str.starts_with("NOSCRIPT");
    });
    if (noscript && attempt == 0) {
      c->ForgetScripts();
      continue;
    }
    results->assign(records.size(), AppendResult{});
    size_t k = 0;
    for (const auto& [p, indexes] : by_partition) {
      TANDEM_RETURN_IF_ERROR(ParseAppendReply(replies[k++], p, indexes, results));
    }
    return Status::OK();
  }
  return Status::IOError("redis append: script not accepted after loading it");
}

void RedisLog::AppendAsync(std::string_view topic, std::vector<ProduceRecord> records,
                           AppendCallback done) {
  std::vector<AppendResult> results;
  Status s = AppendBatch(topic, records, &results);
  done(s, s.ok() ? std::move(results) : std::vector<AppendResult>{});
}

Status RedisLog::Read(std::string_view topic, uint32_t partition, uint64_t from,
                      size_t max_bytes, std::vector<Record>* out) {
  TANDEM_ASSIGN_OR_RETURN(uint32_t n, Partitions(topic));
  if (partition >= n) {
    return Status::InvalidArgument("topic " + std::string(topic) + ": no partition " +
                                   std::to_string(partition));
  }
  out->clear();
  ConnectionPool::Lease c = pool_.Acquire();
  size_t bytes = 0;
  std::string start = StreamId(from);
  // Bounded: every round returns entries (or ends) and adds at least one byte.
  while (bytes < max_bytes || out->empty()) {
    TANDEM_ASSIGN_OR_RETURN(Reply r, c->Command({"XRANGE", keys_.Stream(topic, partition), start, "+",
                                                 "COUNT", std::to_string(options_.fetch_count)}));
    for (const Reply& e : r.elements) {
      Record rec;
      TANDEM_RETURN_IF_ERROR(DecodeEntry(e, &rec));
      bytes += rec.key.size() + rec.value.size() + rec.id.size() + 16;
      start = StreamId(rec.offset + 1);
      out->push_back(std::move(rec));
    }
    if (r.elements.size() < options_.fetch_count) break;
  }
  return Status::OK();
}

Status RedisLog::TrimPartition(RedisConnection& c, const std::string& topic, uint32_t partition,
                               int64_t cutoff_us) {
  const std::string stream = keys_.Stream(topic, partition);
  std::string start = "-";
  std::string keep_from;
  // At most 64 rounds per call; the periodic check continues where this stopped.
  for (int round = 0; round < 64 && keep_from.empty(); ++round) {
    // The head entry alone first: usually it is young enough and nothing is trimmed.
    const uint32_t count = round == 0 ? 1 : options_.fetch_count;
    TANDEM_ASSIGN_OR_RETURN(Reply r, c.Command({"XRANGE", stream, start, "+", "COUNT",
                                                std::to_string(count)}));
    if (r.elements.empty()) break;
    for (const Reply& e : r.elements) {
      Record rec;
      TANDEM_RETURN_IF_ERROR(DecodeEntry(e, &rec));
      start = StreamId(rec.offset + 1);
      if (rec.timestamp_us >= cutoff_us) {
        keep_from = e.elements[0].str;
        break;
      }
    }
    if (keep_from.empty() && r.elements.size() < count) keep_from = start;
  }
  if (start == "-") return Status::OK();       // empty stream
  if (keep_from.empty()) keep_from = start;     // every entry scanned was old

  return c.Command({"XTRIM", stream, "MINID", keep_from}).status();
}

Status RedisLog::EnforceRetention() {
  if (options_.retention_ms < 0) return Status::OK();
  const int64_t cutoff = NowUs() - options_.retention_ms * 1000;
  TANDEM_ASSIGN_OR_RETURN(auto topics, Topics());
  ConnectionPool::Lease c = pool_.Acquire();
  for (const auto& [topic, n] : topics) {
    for (uint32_t p = 0; p < n; ++p) TANDEM_RETURN_IF_ERROR(TrimPartition(*c, topic, p, cutoff));
  }
  return Status::OK();
}

Status RedisLog::Verify(VerifyReport* report) {
  *report = VerifyReport{};
  return Status::OK();
}

Result<std::unique_ptr<Subscription>> RedisLog::Subscribe(const SubscriptionOptions& options) {
  return OpenRedisSubscription(*this, options);
}

Result<std::unique_ptr<Log>> OpenRedisLog(const RedisBusOptions& options) {
  auto log = std::make_unique<RedisLog>(options);
  TANDEM_RETURN_IF_ERROR(log->Start());
  return std::unique_ptr<Log>(std::move(log));
}

}  // namespace tandem::redis

namespace tandem {

Result<std::unique_ptr<Log>> OpenRedisBus(const RedisBusOptions& options) {
  if (options.default_partitions == 0) {
    return Status::InvalidArgument("bus.redis.partitions: must be at least 1");
  }
  if (options.lease_renew_ms <= 0 || options.lease_renew_ms * 2 >= options.lease_ttl_ms) {
    return Status::InvalidArgument("bus.redis.lease_renew: must be positive and below half of lease_ttl");
  }
  if (options.block_ms <= 0 || options.fetch_count == 0) {
    return Status::InvalidArgument("bus.redis.block and fetch_count: must be positive");
  }
  return redis::OpenRedisLog(options);
}

}  // namespace tandem
