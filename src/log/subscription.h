// Subscriptions: durable, Key_Shared consumption of topics (include/tandem/log.h).
//
// Design.
//  * Streams. A subscription reads a set of (topic, partition) streams: the
//    listed topics, or every topic without a '.' (re-listed whenever the Log
//    reports a topic creation, so later topics are picked up). Each stream has
//    a read cursor (next offset to fetch) and an AckTracker (committed
//    position = lowest unacknowledged offset, plus acked ranges above it).
//  * Fetching. A polling consumer that finds nothing to deliver becomes the
//    (single) fetcher: it snapshots the cursors, releases the mutex, calls
//    Partition::Read (256 KiB per stream per round) on every stream with data,
//    and re-takes the mutex to hand the records to the KeySharedDispatcher.
//    Read-ahead is bounded (kMaxPendingMessages / kMaxPendingBytes of
//    undelivered records). Offsets the partition no longer has (retention,
//    compaction) are acknowledged as they are skipped, so they never pin the
//    committed position.
//  * Dispatch. KeySharedDispatcher (key_shared_dispatcher.h) decides which
//    consumer gets which message: a key is pinned to one consumer while any of
//    its messages is in flight, idle keys go to their rendezvous-hash owner,
//    nacked messages wait out their backoff at the head of their key's queue
//    (so later messages of the key wait too), and a destroyed consumer's
//    messages go back to their keys' queues with delivery_count + 1.
//  * Waiting. Every wait is a condition-variable wait bounded by the caller's
//    timeout and by kMaxWaitSlice. The Log calls OnLogChange after each
//    acknowledged append and topic creation; fetches, nacks, departing
//    consumers, acks that hand a key to another consumer, and takes that free
//    read-ahead budget notify waiting consumers too.
//  * Dead letters. Nack at delivery_count >= max_deliveries, or DeadLetter,
//    appends the record (key, value, id and headers kept, plus dlq.reason,
//    dlq.subscription, dlq.topic, dlq.partition, dlq.offset,
//    dlq.delivery_count) to "<topic>.dlq" through LogImpl::AppendDurably
//    (acknowledged after fdatasync(2) whatever the fsync policy), and only
//    then acknowledges it. While the append runs the message stays in flight,
//    so its key stays blocked. On failure it stays in flight and the error is
//    returned.
//  * Positions. Commit snapshots every tracker's committed position and writes
//    <log>/subscriptions/<name>.pos with WriteFileAtomically (tmp, write(2),
//    fdatasync(2), rename(2), fsync(2) of the directory); it runs on Commit(),
//    every commit_interval_ms on a committer thread, on destruction of the
//    Subscription, and right after new streams are added (so a start "at end"
//    is remembered). On restart a stream resumes at its committed position
//    (clamped to the partition's end): everything at or above it is delivered
//    again, nothing below. A stream without a position starts at the first
//    retained offset, or, with from_beginning = false, at the end, but only
//    for topics that existed when the subscription was opened: records of a
//    topic created later are all newer than the subscription, so it is read
//    from its beginning. SubscriptionOptions::start_positions override that
//    start per partition.
//  * Filters. A record older than start_time_us / max_age_ms, or without a
//    wanted ce_type header, is acknowledged as it is fetched and never
//    delivered (like a retention gap); the filters are pure functions of the
//    record, so a restart filters the same records again.
//
// Lifetimes: the Log must outlive its Subscriptions. Consumers keep the shared
// state alive, so destroying a Subscription before its Consumers is safe (their
// calls then return Aborted).
//
// Thread safety: Subscription is safe for concurrent use; each Consumer is
// used by one thread at a time. One mutex guards the dispatch state; no
// partition or file-system call is made while holding it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "log/ack_tracker.h"
#include "log/key_shared_dispatcher.h"
#include "log/log_impl.h"
#include "log/position_store.h"
#include "tandem/env.h"
#include "tandem/log.h"

namespace tandem {

// Opens subscription `options.name` on `log` (which must outlive it).
// InvalidArgument for a bad name or topic name, FailedPrecondition when a
// subscription of that name is already open on this Log, Corruption when its
// .pos file is damaged.
Result<std::unique_ptr<Subscription>> OpenSubscription(LogImpl& log,
                                                       const SubscriptionOptions& options);

class SubscriptionCore final : public LogListener {
 public:
  using ConsumerId = KeySharedDispatcher::ConsumerId;

  SubscriptionCore(LogImpl& log, const SubscriptionOptions& options);
  ~SubscriptionCore() override;
  SubscriptionCore(const SubscriptionCore&) = delete;
  SubscriptionCore& operator=(const SubscriptionCore&) = delete;

  // Loads positions, discovers topics, registers with the log, starts committing.
  Status Start();
  // Stops the committer, commits, unregisters; consumers get Aborted afterwards.
  void Shutdown();

  Result<ConsumerId> AddConsumer(std::string_view name);
  void RemoveConsumer(ConsumerId id);
  Status Commit();
  std::vector<PartitionLag> Lag();

  Result<std::vector<Message>> Poll(ConsumerId id, size_t max, int64_t timeout_us);
  Status Ack(ConsumerId id, const MessageId& m);
  Status Nack(ConsumerId id, const MessageId& m, std::string_view reason);
  Status DeadLetter(ConsumerId id, const MessageId& m, std::string_view reason);

  void OnLogChange() override;

 private:
  struct Stream {
    std::string topic;
    uint32_t partition = 0;
    Partition* source = nullptr;
    uint64_t cursor = 0;  // next offset to fetch
    AckTracker tracker{0};
  };
  struct FetchResult;
  using SteadyTime = std::chrono::steady_clock::time_point;

  int64_t NowUs() const { return clock_.MonotonicNanos() / 1000; }
  Status RefreshTopics(bool initial);
  bool Wanted(const std::string& topic) const;
  // False for a record the options filter out (start time, CloudEvents type).
  bool Deliverable(const Record& rec) const;
  Result<uint32_t> StreamOf(const MessageId& m) const;  // REQUIRES(mu_)
  bool HasReadAheadBudget() const;                      // REQUIRES(mu_)
  bool ShouldFetch() const;                             // REQUIRES(mu_)
  Status Fetch(std::unique_lock<std::mutex>& l);        // REQUIRES(mu_), unlocks meanwhile
  static Status ReadPlan(std::vector<FetchResult>& plan, uint64_t budget,
                         std::vector<FetchResult>* results, uint32_t* failed);
  std::unique_ptr<Stream> NewStream(Topic& t, uint32_t p, bool initial,
                                    bool* unpositioned);  // REQUIRES(commit_mu_)
  void ApplyFetch(FetchResult& r);                        // REQUIRES(mu_)
  void WaitLocked(std::unique_lock<std::mutex>& l, SteadyTime deadline, uint64_t seen_seq);
  std::vector<Message> ToMessages(std::vector<Delivery>& d) const;  // REQUIRES(mu_)
  int64_t BackoffUs(uint32_t delivery_count);                       // REQUIRES(mu_)
  Status SendToDeadLetter(ConsumerId id, const MessageId& m, std::string_view reason,
                          std::unique_lock<std::mutex>& l);
  Status AckLocked(ConsumerId id, uint32_t stream, const MessageId& m,
                   bool* handed_over);  // REQUIRES(mu_)
  void CommitterLoop();

  LogImpl& log_;
  Clock& clock_;  // the Log's; outlives it, so consumers may outlive the Log's Subscription
  const SubscriptionOptions options_;
  std::set<std::string> wanted_topics_;  // empty = every topic without '.'
  const int64_t skip_before_us_;         // start_time_us / max_age_ms; 0 = off
  const std::set<std::string> ce_types_;

  std::mutex mu_;
  std::condition_variable cv_;
  KeySharedDispatcher dispatcher_;                                        // GUARDED_BY(mu_)
  std::vector<std::unique_ptr<Stream>> streams_;                          // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::vector<uint32_t>> topic_streams_;  // GUARDED_BY(mu_)
  Random random_;                                                         // GUARDED_BY(mu_)
  bool closed_ = false;                                                   // GUARDED_BY(mu_)
  bool fetching_ = false;                                                 // GUARDED_BY(mu_)
  bool last_fetch_found_data_ = true;                                     // GUARDED_BY(mu_)
  uint64_t idle_seq_ = 0;                                                 // GUARDED_BY(mu_)
  SteadyTime last_fetch_;                                                 // GUARDED_BY(mu_)
  size_t fetch_rotation_ = 0;                                             // GUARDED_BY(mu_)
  std::atomic<uint64_t> data_seq_{1};                                     // bumped by OnLogChange
  std::atomic<int> waiters_{0};

  std::mutex refresh_mu_;               // serialises RefreshTopics
  std::set<std::string> known_topics_;  // GUARDED_BY(refresh_mu_)
  std::atomic<uint64_t> seen_generation_{~0ull};

  std::mutex commit_mu_;  // serialises Commit (file writes)
  PositionStore store_;   // GUARDED_BY(commit_mu_)
  PositionMap loaded_;    // positions read at Start; GUARDED_BY(commit_mu_)

  std::mutex committer_mu_;
  std::condition_variable committer_cv_;
  bool committer_stop_ = false;  // GUARDED_BY(committer_mu_)
  std::thread committer_;
  bool registered_ = false;
  bool claimed_ = false;
};

}  // namespace tandem
