// The embedded event log: Kafka's model in one process.
//
// A Log is a directory of topics; a topic has N partitions; a partition is a
// sequence of segment files of CRC-checked record batches (docs/log_format.md).
// A record's partition is StableHash64(key) mod N, so one key's records keep
// their order. Appends from concurrent producers are group-committed: one
// write(2) and one fdatasync(2) per group, acknowledged after the sync.
//
//   LogOptions o; o.dir = "/var/lib/tandem/log";
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, Log::Open(o));
//   ProduceRecord r{.key = "person-1", .value = json, .id = "evt-1"};
//   TANDEM_ASSIGN_OR_RETURN(AppendResult a, log->Append("person", r));
//   // a.offset is durable (fsync=always); a.duplicate if "evt-1" was seen.
//
// Durability (LogOptions::fsync):
//  * kAlways (default): Append returns after write(2) and fdatasync(2) of the
//    segment file (and SyncDir when the append created a segment). An
//    acknowledged record survives a process crash and a power loss.
//  * kInterval: Append returns after write(2); a background fdatasync(2) runs
//    every fsync_interval_ms. A process crash loses nothing acknowledged (the
//    page cache survives); a power loss may lose records acknowledged in the
//    last interval, always a suffix (never a hole).
//  * kNever: Append returns after write(2); fdatasync(2) only at segment roll
//    and Close. Power loss may lose any unsynced suffix.
// Readers only see acknowledged records (the "high watermark"), so no
// consumer ever applies a record that a crash could take back.
//
// Thread safety: Log, Subscription are safe for concurrent use. A Consumer is
// used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/env.h"
#include "tandem/status.h"

namespace tandem {

enum class FsyncPolicy { kAlways, kInterval, kNever };
enum class Compression : uint8_t { kNone = 0, kZstd = 1 };

struct LogOptions {
  // Directory of the log; created when missing. Required.
  std::string dir;
  // File system and clock; nullptr means the real ones. Must outlive the Log.
  FileSystem* fs = nullptr;
  Clock* clock = nullptr;

  // Partitions of a topic created on first use. Fixed per topic once created.
  uint32_t default_partitions = 8;
  // A segment is rolled when it reaches this size (default 128 MiB) ...
  uint64_t segment_bytes = 128ull << 20;
  // ... or when its first record is older than this (default 7 days).
  int64_t segment_ms = 7ll * 24 * 3600 * 1000;
  // One sparse index entry per this many bytes of batches (default 4 KiB).
  uint32_t index_interval_bytes = 4096;
  // Whole segments older than this are deleted (default 7 days; < 0 = keep forever).
  // Risk: a subscription further behind than retention skips the deleted records
  // (reported as a gap in its lag).
  int64_t retention_ms = 7ll * 24 * 3600 * 1000;
  // Oldest segments are deleted while a partition is larger (default -1 = unlimited).
  int64_t retention_bytes = -1;

  FsyncPolicy fsync = FsyncPolicy::kAlways;
  // Background fdatasync period for kInterval (default 100 ms).
  int64_t fsync_interval_ms = 100;
  // Batch compression (default none). zstd trades CPU for disk and page cache.
  Compression compression = Compression::kNone;
  // Largest record (key + value + headers) accepted (default 1 MiB + 64 KiB of envelope).
  uint32_t max_record_bytes = (1u << 20) + (64u << 10);
  // Largest group written in one write(2) (default 4 MiB); larger groups split.
  uint32_t max_batch_bytes = 4u << 20;
  // Threads that write and fdatasync partitions (default 4).
  uint32_t io_threads = 4;

  // Dedup window: a record whose id was appended to the same partition within
  // this window is acknowledged with the original offset and not appended
  // (default 24 h; 0 disables dedup).
  int64_t dedup_window_ms = 24ll * 3600 * 1000;
  // At most this many ids remembered per partition (default 200,000); the
  // oldest are forgotten first. Memory: an id is kept as a 128-bit
  // fingerprint, 48-64 bytes per entry whatever its length (about 53 at the
  // default), allocated as ids arrive: a full partition holds about 10.6 MB,
  // so a log of 64 busy partitions about 680 MB (entries x 53 B x
  // partitions). Risk: under heavy load the effective window narrows to the
  // last dedup_max_entries ids of each partition: at 100,000 records/s into
  // one partition that is 2 s, not dedup_window_ms, and a retry arriving
  // later is appended twice. Raise it for slow retries, lower it for many
  // partitions.
  uint32_t dedup_max_entries = 200'000;
};

struct TopicOptions {
  uint32_t partitions = 0;  // 0 = LogOptions::default_partitions
};

struct Header {
  std::string key;
  std::string value;
  friend bool operator==(const Header&, const Header&) = default;
};

// What a producer appends.
struct ProduceRecord {
  std::string key;    // partitioning key (entity_id); may be empty (partition 0)
  std::string value;  // the payload bytes (an event's JSON)
  std::string id;     // dedup id (event_id); empty = never deduplicated
  std::vector<Header> headers;
  int64_t timestamp_us = 0;  // 0 = the log's clock at append
};

// What a reader gets back.
struct Record {
  uint64_t offset = 0;
  int64_t timestamp_us = 0;
  std::string key;
  std::string value;
  std::string id;
  std::vector<Header> headers;
  friend bool operator==(const Record&, const Record&) = default;
};

struct AppendResult {
  uint32_t partition = 0;
  uint64_t offset = 0;     // the record's offset, or the original's when duplicate
  bool duplicate = false;  // the id was seen within the dedup window
};

struct PartitionStats {
  uint32_t partition = 0;
  uint64_t start_offset = 0;  // first offset still retained
  uint64_t end_offset = 0;    // next offset to be assigned (= high watermark)
  uint64_t bytes = 0;         // on disk
  uint32_t segments = 0;
};

struct TopicStats {
  std::string name;
  std::vector<PartitionStats> partitions;
  uint64_t records() const;  // sum of end - start
  uint64_t bytes() const;
};

// One problem found by Verify.
struct VerifyIssue {
  std::string file;
  uint64_t file_offset = 0;
  std::string problem;
};

struct VerifyReport {
  uint64_t segments = 0;
  uint64_t batches = 0;
  uint64_t records = 0;
  std::vector<VerifyIssue> issues;  // empty = healthy
};

// ---- Subscriptions -------------------------------------------------------

struct SubscriptionOptions {
  // Durable name; positions are kept per (name, topic, partition). Required.
  std::string name;
  // Topics to consume. Empty = every topic whose name has no '.', including
  // topics created later ('.'-named topics are internal: "<t>.dlq", ...).
  std::vector<std::string> topics;
  // Where a partition without a committed position starts: true = offset of
  // the first retained record, false = the current end.
  bool from_beginning = true;
  // Redeliveries after a nack: delay = min(max, base * 2^(n-1)) * (1 ± jitter).
  int64_t nack_backoff_base_ms = 100;
  int64_t nack_backoff_max_ms = 30'000;
  double nack_backoff_jitter = 0.2;
  // A message nacked this many times goes to "<topic>.dlq" (default 5).
  uint32_t max_deliveries = 5;
  // At most this many unacknowledged messages per consumer (backpressure).
  uint32_t max_unacked_per_consumer = 10'000;
  // Positions are written at least this often (and on Commit / Close).
  int64_t commit_interval_ms = 1000;

  // ---- Chained stages (src/log/README.md "Start positions and filters").
  // The defaults keep plain consumption. A Log implementation that does not
  // support one of these returns InvalidArgument from Subscribe naming it.

  // Where a partition without a committed position starts, overriding
  // from_beginning for it (clamped to the retained range). Partitions not
  // listed follow from_beginning. Ignored once a position is committed.
  struct StartPosition {
    std::string topic;
    uint32_t partition = 0;
    uint64_t offset = 0;
  };
  std::vector<StartPosition> start_positions;
  // Records whose timestamp (Record::timestamp_us, the log's clock at append
  // unless the producer set one) is older than this are acknowledged without
  // being delivered: the subscription starts "from a time". 0 = off. A filter
  // on every record, so it holds across restarts and for topics created later.
  int64_t start_time_us = 0;
  // Backlog with a maximum age: like start_time_us = (the log clock when
  // Subscribe is called) - max_age_ms; the later of the two applies. < 0 = off
  // (default). Recomputed at every Subscribe, so after a restart records that
  // aged past it meanwhile are skipped too.
  int64_t max_age_ms = -1;
  // CloudEvents type filter: when non-empty, only records whose
  // kCloudEventTypeHeader header equals one of these are delivered; the others
  // (and records without the header) are acknowledged without delivery.
  std::vector<std::string> ce_types;
};

// The record header carrying a CloudEvent's `type` (the CloudEvents Kafka
// protocol binding's name). tandem's own CloudEvents records set it.
inline constexpr std::string_view kCloudEventTypeHeader = "ce_type";

struct MessageId {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  friend bool operator==(const MessageId&, const MessageId&) = default;
};

struct Message {
  MessageId id;
  Record record;
  uint32_t delivery_count = 1;  // 1 on first delivery, +1 per redelivery
};

struct PartitionLag {
  std::string topic;
  uint32_t partition = 0;
  uint64_t committed = 0;  // lowest unacknowledged offset
  uint64_t end = 0;        // partition end offset
  uint64_t lag() const { return end > committed ? end - committed : 0; }
};

// One worker of a subscription. Key_Shared: all messages of a key go to one
// consumer at a time, in offset order; a key moves to another consumer only
// when none of its messages is in flight.
class Consumer {
 public:
  virtual ~Consumer() = default;
  // Waits up to `timeout_us` for messages; returns at most `max` (may be empty).
  virtual Result<std::vector<Message>> Poll(size_t max, int64_t timeout_us) = 0;
  // The message was handled; it will not be delivered again to this subscription
  // (unless positions roll back through a crash before the next commit).
  virtual Status Ack(const MessageId& id) = 0;
  // Redeliver after the nack backoff; once delivery_count reaches
  // max_deliveries the message goes to "<topic>.dlq" with `reason` instead.
  // No later message of the same key is delivered before this one is acked or
  // dead-lettered.
  virtual Status Nack(const MessageId& id, std::string_view reason) = 0;
  // Send to "<topic>.dlq" now (a permanent failure) and treat as acked.
  virtual Status DeadLetter(const MessageId& id, std::string_view reason) = 0;
};

class Subscription {
 public:
  virtual ~Subscription() = default;
  // Adds a worker. Its unacked messages are released to others when it is destroyed.
  virtual Result<std::unique_ptr<Consumer>> AddConsumer(std::string name) = 0;
  // Writes the positions durably now (temp file, fdatasync, rename, dir fsync).
  virtual Status Commit() = 0;
  virtual std::vector<PartitionLag> Lag() = 0;
};

class Log {
 public:
  virtual ~Log() = default;

  // Opens or creates the log in options.dir, recovering every partition
  // (torn tails truncated, missing indexes rebuilt). Fails with Corruption,
  // naming the file and offset, when damage is found before a partition's tail.
  static Result<std::unique_ptr<Log>> Open(const LogOptions& options);

  // Creates a topic explicitly. AlreadyExists when present.
  virtual Status CreateTopic(std::string_view topic, const TopicOptions& options) = 0;
  virtual std::vector<std::string> ListTopics() = 0;
  virtual Result<TopicStats> Stats(std::string_view topic) = 0;
  // Partition of `key` in `topic`; NotFound when the topic does not exist.
  virtual Result<uint32_t> PartitionFor(std::string_view topic, std::string_view key) = 0;

  // Appends one record, creating the topic on first use. Blocks until the
  // record is acknowledged under the fsync policy. TooLarge over
  // max_record_bytes, NoSpace when the disk is full (nothing appended).
  virtual Result<AppendResult> Append(std::string_view topic, const ProduceRecord& record) = 0;
  // Appends many records (one group per partition, partitions in parallel).
  // On OK, results[i] belongs to records[i]. On failure nothing of a failed
  // partition's share was acknowledged; shares of other partitions may have been.
  virtual Status AppendBatch(std::string_view topic, std::span<const ProduceRecord> records,
                             std::vector<AppendResult>* results) = 0;
  // Asynchronous form: `done` runs on a log thread once the group is durable.
  using AppendCallback = std::function<void(Status, std::vector<AppendResult>)>;
  virtual void AppendAsync(std::string_view topic, std::vector<ProduceRecord> records,
                           AppendCallback done) = 0;

  // Reads acknowledged records with offset >= `from`, up to about `max_bytes`
  // (always at least one record when one exists). A `from` below the first
  // retained offset starts at the first retained record. `*out` is replaced,
  // not appended to.
  virtual Status Read(std::string_view topic, uint32_t partition, uint64_t from,
                      size_t max_bytes, std::vector<Record>* out) = 0;

  virtual Result<std::unique_ptr<Subscription>> Subscribe(const SubscriptionOptions& options) = 0;

  // Applies retention now (it also runs periodically).
  virtual Status EnforceRetention() = 0;
  // Walks every batch of every segment checking CRCs, offsets and indexes.
  virtual Status Verify(VerifyReport* report) = 0;
  // Flushes and syncs everything, stops background threads. Idempotent.
  virtual Status Close() = 0;
};

// Verifies a log directory without opening it for writing (tandem log verify).
Status VerifyLogDir(FileSystem& fs, const std::string& dir, VerifyReport* report);

}  // namespace tandem
