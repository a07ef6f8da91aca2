// One connection to Redis (the hiredis adapter: nothing else includes
// hiredis), a pool of them, and the reply tree they return.
//
//   RedisConnection c(options);
//   TANDEM_ASSIGN_OR_RETURN(Reply r, c.Command({"XLEN", "tandem:{person:0}:s"}));
//
// Failures: a transport failure (refused, reset, timeout) returns
// Unavailable and drops the connection; the next call reconnects, but not
// before the backoff (base * 2^(failures-1), capped) has passed, failing fast
// with Unavailable meanwhile. An error reply is an IOError "redis <CMD>:
// <message>" from Command, or a kError Reply from Call / Pipeline.
//
// Thread safety: a RedisConnection is used by one thread at a time (the pool
// hands each out to one holder); ConnectionPool is safe for concurrent use.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/bus.h"
#include "tandem/status.h"

struct redisContext;

namespace tandem::redis {

struct Reply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
};

using Argv = std::vector<std::string>;

// A Lua script called by EVALSHA, loaded on first use per connection.
struct Script {
  std::string_view name;
  std::string_view text;
};

class RedisConnection {
 public:
  explicit RedisConnection(const RedisBusOptions& options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Runs one command; error replies become IOError.
  Result<Reply> Command(const Argv& argv, int64_t extra_timeout_ms = 0);
  // Runs one command; error replies are returned as kError replies.
  Result<Reply> Call(const Argv& argv, int64_t extra_timeout_ms = 0);
  // Sends every command, then reads every reply (one round trip).
  Status Pipeline(const std::vector<Argv>& commands, std::vector<Reply>* replies);
  // EVALSHA of `script` with `keys` and `args`, loading it when Redis does not
  // know it (first use, or after a Redis restart). Error replies become IOError.
  Result<Reply> Eval(const Script& script, const Argv& keys, const Argv& args);
  // The EVALSHA argv of a script (loaded now if needed), for pipelines.
  Result<Argv> EvalArgv(const Script& script, const Argv& keys, const Argv& args);
  // Forgets loaded scripts (after a NOSCRIPT reply in a pipeline).
  void ForgetScripts() { shas_.clear(); }

  std::string Endpoint() const;

 private:
  Status Connect();
  Status Fail(std::string_view what);
  Result<std::string> Sha(const Script& script);

  const RedisBusOptions& options_;
  redisContext* context_ = nullptr;
  uint32_t failures_ = 0;
  std::string last_error_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::map<std::string_view, std::string> shas_;  // script name → SHA1
};

// A fixed set of connections handed out one holder at a time.
class ConnectionPool {
 public:
  ConnectionPool(const RedisBusOptions& options, uint32_t size);

  class Lease {
   public:
    Lease(ConnectionPool& pool, RedisConnection* c) : pool_(&pool), c_(c) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), c_(o.c_) { o.c_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (c_ != nullptr) pool_->Release(c_);
    }
    RedisConnection* operator->() const { return c_; }
    RedisConnection& operator*() const { return *c_; }

   private:
    ConnectionPool* pool_;
    RedisConnection* c_;
  };

  // Waits until a connection is free.
  Lease Acquire();

 private:
  void Release(RedisConnection* c);

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<RedisConnection>> all_;
  std::vector<RedisConnection*> free_;  // GUARDED_BY(mu_)
};

// "0-<offset+1>": the stream ID of an offset, and back (nullopt-like: false
// for IDs this bus did not write).
std::string StreamId(uint64_t offset);
bool ParseStreamId(std::string_view id, uint64_t* offset);
// The offset after the entry `id` ("0-0" → 0): a group's next position.
bool NextOffsetAfter(std::string_view id, uint64_t* next);

}  // namespace tandem::redis
