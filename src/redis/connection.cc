// The hiredis adapter (0.14 API: blocking contexts, RESP2 replies).

#include "redis/connection.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <charconv>

namespace tandem::redis {
namespace {

timeval Timeval(int64_t ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

void AppendArgv(redisContext* c, const Argv& argv) {
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data());
}

}  // namespace

RedisConnection::RedisConnection(const RedisBusOptions& options) : options_(options) {}

RedisConnection::~RedisConnection() {
  if (context_ != nullptr) redisFree(context_);
}

std::string RedisConnection::Endpoint() const {
  return options_.host + ":" + std::to_string(options_.port);
}

Status RedisConnection::Fail(std::string_view what) {
  last_error_ = std::string(what);
  if (context_ != nullptr) {
    if (context_->err != 0) last_error_ += std::string(": ") + context_->errstr;
    redisFree(context_);
    context_ = nullptr;
  }
  shas_.clear();
  ++failures_;
  const int64_t shift = std::min<int64_t>(failures_ - 1, 20);
  const int64_t backoff =
      std::min(options_.reconnect_backoff_max_ms, options_.reconnect_backoff_base_ms << shift);
  next_attempt_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff);
  return Status::Unavailable("redis " + Endpoint() + ": " + last_error_);
}

Status RedisConnection::Connect() {
  if (context_ != nullptr) return Status::OK();
  if (failures_ > 0 && std::chrono::steady_clock::now() < next_attempt_) {
    return Status::Unavailable("redis " + Endpoint() + ": " + last_error_ +
                               " (reconnect backing off)");
  }
  context_ = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                     Timeval(options_.connect_timeout_ms));
  if (context_ == nullptr || context_->err != 0) return Fail("connect failed");
  if (redisSetTimeout(context_, Timeval(options_.command_timeout_ms)) != REDIS_OK) {
    return Fail("cannot set the socket timeout");
  }
  std::vector<Argv> setup;
  if (!options_.password.empty()) setup.push_back({"AUTH", options_.password});
  if (options_.db != 0) setup.push_back({"SELECT", std::to_string(options_.db)});
  for (const Argv& a : setup) {
    AppendArgv(context_, a);
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK) return Fail(a[0] + " failed");
    ReplyPtr r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ERROR) {
      const std::string e(r->str, r->len);
      Status s = Fail(a[0] + " refused: " + e);
      return Status::InvalidArgument("bus.redis: " + std::string(s.message()));
    }
  }
  failures_ = 0;
  return Status::OK();
}

Result<Reply> RedisConnection::Call(const Argv& argv, int64_t extra_timeout_ms) {
  std::vector<Reply> replies;
  TANDEM_RETURN_IF_ERROR(Connect());
  if (extra_timeout_ms > 0) {
    redisSetTimeout(context_, Timeval(options_.command_timeout_ms + extra_timeout_ms));
  }
  AppendArgv(context_, argv);
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK) return Fail(argv[0] + " failed");
  ReplyPtr r(static_cast<redisReply*>(raw));
  if (extra_timeout_ms > 0) redisSetTimeout(context_, Timeval(options_.command_timeout_ms));
  return Convert(r.get());
}

Result<Reply> RedisConnection::Command(const Argv& argv, int64_t extra_timeout_ms) {
  TANDEM_ASSIGN_OR_RETURN(Reply r, Call(argv, extra_timeout_ms));
  if (r.is_error()) return Status::IOError("redis " + argv[0] + ": " + r.str);
  return r;
}

Status RedisConnection::Pipeline(const std::vector<Argv>& commands, std::vector<Reply>* replies) {
  replies->clear();
  TANDEM_RETURN_IF_ERROR(Connect());
  for (const Argv& a : commands) AppendArgv(context_, a);
  replies->reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK) return Fail(commands[i][0] + " failed");
    ReplyPtr r(static_cast<redisReply*>(raw));
    replies->push_back(Convert(r.get()));
  }
  return Status::OK();
}

Result<std::string> RedisConnection::Sha(const Script& script) {
  if (auto it = shas_.find(script.name); it != shas_.end()) return it->second;
  TANDEM_ASSIGN_OR_RETURN(Reply r, Command({"SCRIPT", "LOAD", std::string(script.text)}));
  shas_[script.name] = r.str;
  return r.str;
}

Result<Argv> RedisConnection::EvalArgv(const Script& script, const Argv& keys, const Argv& args) {
  TANDEM_ASSIGN_OR_RETURN(std::string sha, Sha(script));
  Argv argv;
  argv.reserve(3 + keys.size() + args.size());
  argv.push_back("EVALSHA");
  argv.push_back(std::move(sha));
  argv.push_back(std::to_string(keys.size()));
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Result<Reply> RedisConnection::Eval(const Script& script, const Argv& keys, const Argv& args) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    TANDEM_ASSIGN_OR_RETURN(Argv argv, EvalArgv(script, keys, args));
    TANDEM_ASSIGN_OR_RETURN(Reply r, Call(argv));
    if (r.is_error() && r.str.starts_with("NOSCRIPT")) {
      shas_.clear();
      continue;
    }
    if (r.is_error()) return Status::IOError("redis script " + std::string(script.name) + ": " + r.str);
    return r;
  }
  return Status::IOError("redis script " + std::string(script.name) + ": NOSCRIPT after loading it");
}

ConnectionPool::ConnectionPool(const RedisBusOptions& options, uint32_t size) {
  for (uint32_t i = 0; i < std::max<uint32_t>(size, 1); ++i) {
    all_.push_back(std::make_unique<RedisConnection>(options));
    free_.push_back(all_.back().get());
  }
}

ConnectionPool::Lease ConnectionPool::Acquire() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return !free_.empty(); });
  RedisConnection* c = free_.back();
  free_.pop_back();
  return Lease(*this, c);
}

void ConnectionPool::Release(RedisConnection* c) {
  {
    std::lock_guard<std::mutex> l(mu_);
    free_.push_back(c);
  }
  cv_.notify_one();
}

std::string StreamId(uint64_t offset) { return "0-" + std::to_string(offset + 1); }

bool NextOffsetAfter(std::string_view id, uint64_t* next) {
  if (!id.starts_with("0-")) return false;
  const char* b = id.data() + 2;
  const char* e = id.data() + id.size();
  auto [p, ec] = std::from_chars(b, e, *next);
  return ec == std::errc() && p == e && b != e;
}

bool ParseStreamId(std::string_view id, uint64_t* offset) {
  uint64_t seq = 0;
  if (!NextOffsetAfter(id, &seq) || seq == 0) return false;
  *offset = seq - 1;
  return true;
}

}  // namespace tandem::redis
