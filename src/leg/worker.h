// Worker: one Key_Shared consumer of a leg's subscription and the thread that
// drives it. The per-batch state machine lives here (src/leg/README.md has it
// as a diagram):
//
//   wait for a breaker permit ─► poll a batch (size/time) ─► decode
//     undecodable ─► DeadLetter("undecodable: ...")
//   ┌─► Sink::Apply(pending)                      (one breaker permit per call)
//   │     applied / stale / duplicate ─► Ack
//   │     permanent                   ─► DeadLetter("permanent_error: ...")
//   │     transient                   ─► pending; later events of its entity
//   │                                    in the call are held back with it
//   │   pending empty ─► next batch
//   │   attempts < RetryPolicy::max_attempts ─► backoff, permit ─┐
//   └──────────────────────────────────────────────────────────────┘
//     otherwise give back, entity by entity, first pending event (head) first:
//       head delivered < max_deliveries times ─► Nack head and its held-back
//                                                  followers (the log redelivers
//                                                  them in order, after its backoff)
//       else ─► DeadLetter(head, "retries_exhausted: ...") and keep its followers
//               pending with a fresh budget (nothing orders them any more)
//
// Stop interrupts waits (backoff, breaker, poll) but never a sink call: the
// call in progress finishes and its outcomes are settled; what is still
// pending is left unacknowledged ("released") and redelivered after a restart.
//
// Thread safety: a Worker's state is touched only by its own thread; the
// shared parts (sink, breaker, counters, stop) are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "leg/backoff.h"
#include "leg/circuit_breaker.h"
#include "leg/flow_control.h"
#include "leg/leg_counters.h"
#include "tandem/event.h"
#include "tandem/leg.h"
#include "tandem/log.h"

namespace tandem::leg {

// What the workers of one leg share. Everything outlives the workers.
struct WorkerContext {
  const LegOptions& options;  // validated and normalised (clock set)
  size_t max_batch;           // events one worker holds at most (its in-flight share)
  Sink& sink;
  Clock& clock;
  CircuitBreaker& breaker;
  LegCounters& counters;
  StopSignal& stop;
};

class Worker {
 public:
  Worker(const WorkerContext& context, std::unique_ptr<Consumer> consumer, uint64_t seed);
  ~Worker();  // joins the thread; destroys the consumer (its unacked messages go back)
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  // Returns once the thread has left its loop (after StopSignal::Request).
  void Join();

 private:
  using PermitKind = CircuitBreaker::PermitKind;
  struct Pending;
  enum class Settled { kDone, kAbandoned };
  enum class DeadLetterClass { kUndecodable, kPermanent, kExhausted };

  void Run();
  bool AcquirePermit(PermitKind* permit);
  bool RevalidatePermit(PermitKind* permit);
  Status PollBatch(size_t max, std::vector<Message>* out);
  void Process(std::vector<Message> messages, PermitKind permit);
  Pending Decode(std::vector<Message>& messages);
  void CallSink(Pending& pending, PermitKind permit);
  Pending GiveBack(Pending& pending);

  void Ack(const MessageId& id, ApplyCode code);
  void Nack(const MessageId& id, const std::string& reason);
  Settled DeadLetter(const MessageId& id, DeadLetterClass cls, const std::string& reason);

  const WorkerContext ctx_;
  std::unique_ptr<Consumer> consumer_;
  EventParser parser_;
  Backoff backoff_;
  std::thread thread_;
};

}  // namespace tandem::leg
