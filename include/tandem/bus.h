// The bus: which implementation of `tandem::Log` a process runs on.
//
// Legs, ingest, audit and the server only see `Log` (tandem/log.h). The
// embedded log is the default; a Redis Streams bus (src/redis/) lets several
// processes share one log. `OpenBus` picks the implementation from the
// configuration:
//
//   BusConfig b; b.kind = "redis"; b.redis.port = 6379; b.redis.prefix = "prod:";
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenBus(b, config.log));
//
// Capabilities differ; what each `Log` operation means on each bus:
//
//   operation            embedded                      redis
//   Append/AppendBatch   ack after fdatasync (policy)  ack after Redis ran the script
//                                                      (durability = Redis's appendfsync)
//   dedup by id          per partition, window+count   per partition, marker key with TTL
//   offsets              dense from 0                  dense from 0 (stream IDs 0-(offset+1))
//   Read / Stats         yes                           yes (Stats.bytes and .segments are 0)
//   Subscribe            Key_Shared by key             partitions leased to consumers
//   Commit               writes positions (.pos)       sends the queued XACKs (groups keep positions)
//   Verify               CRC walk of segments          nothing to walk (empty report)
//   EnforceRetention     age and size                  age (XTRIM MINID) and count (MAXLEN)
//
// Thread safety: OpenBus is safe to call concurrently; see tandem/log.h for Log.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tandem/kafka.h"
#include "tandem/log.h"
#include "tandem/status.h"

namespace tandem {

// The Redis Streams bus (src/redis/README.md has the key layout and the design).
struct RedisBusOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string password;  // AUTH when non-empty
  uint32_t db = 0;       // SELECT when non-zero
  // Every key this bus writes starts with it; two deployments sharing a Redis
  // must use different prefixes.
  std::string prefix = "tandem:";
  // Partitions of a topic created on first use (fixed per topic once created).
  uint32_t default_partitions = 8;
  // Largest record (key + value + id + headers) accepted; TooLarge above.
  uint32_t max_record_bytes = (1u << 20) + (64u << 10);

  int64_t connect_timeout_ms = 2'000;
  // A command without an answer for this long fails with Unavailable and the
  // connection is dropped (blocking reads add their block time).
  int64_t command_timeout_ms = 5'000;
  // Connections shared by appends and reads (each consumer has its own).
  uint32_t connections = 4;
  // After a connection failure, calls fail fast with Unavailable until the
  // next attempt: base * 2^(failures-1), at most max.
  int64_t reconnect_backoff_base_ms = 50;
  int64_t reconnect_backoff_max_ms = 5'000;

  // Dedup window: an id appended to the same partition within this window is
  // acknowledged with the original offset (default 24 h; 0 disables). Memory:
  // one marker key per id for the window (about 100 bytes + the id).
  int64_t dedup_window_ms = 24ll * 3600 * 1000;
  // Retention: at most about this many entries per partition (XADD MAXLEN ~;
  // -1 = unlimited) ...
  int64_t max_len = -1;
  // ... and entries older than this are trimmed (XTRIM MINID) by
  // EnforceRetention and every retention_check_ms (default 7 days; < 0 = keep).
  // Risk: a subscription further behind loses the trimmed entries.
  int64_t retention_ms = 7ll * 24 * 3600 * 1000;
  int64_t retention_check_ms = 60'000;

  // Subscriptions: a consumer owns a partition while it holds the partition's
  // lease (a key with this TTL). A dead consumer's partitions, and its
  // unacknowledged messages (XAUTOCLAIM), go to another consumer once the
  // lease has expired: this TTL is the reclaim idle time.
  int64_t lease_ttl_ms = 10'000;
  // Leases and membership are renewed this often (must be < lease_ttl_ms / 2),
  // by a thread of each consumer, so a long sink call keeps its partitions ...
  int64_t lease_renew_ms = 2'000;
  // ... unless the consumer has not polled for this long: then it is presumed
  // stuck, its leases lapse and its partitions and messages move (default 5 min).
  int64_t max_poll_interval_ms = 300'000;
  // Longest XREADGROUP BLOCK of one poll round (polls loop until their timeout).
  int64_t block_ms = 100;
  // Entries read per stream per XREADGROUP / XAUTOCLAIM round.
  uint32_t fetch_count = 512;
  // Topics are re-listed this often by subscriptions of every topic.
  int64_t topic_refresh_ms = 1'000;
};

struct BusConfig {
  std::string kind = "embedded";  // "embedded", "redis" or "kafka"
  RedisBusOptions redis;          // used when kind == "redis"
  KafkaOptions kafka;             // used when kind == "kafka" (tandem/kafka.h)
};

// Opens the bus `bus.kind` names: the embedded log in `log.dir` (Log::Open),
// or the Redis bus (connects once to check the server answers: Unavailable
// naming host:port when it does not). InvalidArgument for an unknown kind.
Result<std::unique_ptr<Log>> OpenBus(const BusConfig& bus, const LogOptions& log);

// The Redis bus alone (src/redis/).
Result<std::unique_ptr<Log>> OpenRedisBus(const RedisBusOptions& options);

}  // namespace tandem
