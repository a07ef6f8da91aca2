// log_stress: the child process of the process-level crash test.
//
//   log_stress <dir> <seed>
//
// Opens the log in <dir> (fsync=always), starts a subscription consumer, and
// appends from several threads until it is killed. It writes two journals next
// to the log with write(2) on O_APPEND descriptors, each line written only
// after the operation it records returned OK, so a SIGKILL can lose only
// operations that were not yet acknowledged:
//   <dir>/../acks.txt      "A <topic> <partition> <offset> <id> <dup>" per acknowledged append
//   <dir>/../consumed.txt  "C <topic> <partition> <offset> <id>" per message, written just
//                          before the consumer acks it
// Roughly one append in eight re-sends an id that was already acknowledged (a
// producer retry); the log must answer with the original offset.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tandem/env.h"
#include "tandem/log.h"

namespace tandem {
namespace {

class Journal {
 public:
  explicit Journal(const std::string& path)
      : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {}
  ~Journal() { ::close(fd_); }
  void Write(const std::string& line) {
    // One write(2) per line: a kill leaves whole lines or none.
    ssize_t n = ::write(fd_, line.data(), line.size());
    if (n != static_cast<ssize_t>(line.size())) std::abort();
  }

 private:
  int fd_;
};

constexpr const char* kTopics[] = {"person", "account"};

void Producer(Log& log, Journal& acks, uint64_t seed, int thread, std::atomic<bool>& stop) {
  Random rnd(seed * 131 + thread);
  std::vector<std::string> sent;  // ids acknowledged by this thread, for retries
  for (uint64_t i = 0; !stop.load(); ++i) {
    ProduceRecord r;
    if (!sent.empty() && rnd.OneIn(8)) {
      r.id = sent[rnd.Uniform(sent.size())];  // a producer retry of an acked event
    } else {
      r.id = "s" + std::to_string(seed) + "-t" + std::to_string(thread) + "-" + std::to_string(i);
    }
    // The key is derived from the id, so a retry lands in the same partition.
    r.key = "k" + std::to_string(std::hash<std::string>{}(r.id) % 97);
    r.value = std::string(200 + rnd.Uniform(500), static_cast<char>('a' + thread % 26));
    const char* topic = kTopics[std::hash<std::string>{}(r.id) % 2];
    Result<AppendResult> a = log.Append(topic, r);
    if (!a.ok()) {
      std::fprintf(stderr, "append failed: %s\n", a.status().ToString().c_str());
      std::abort();
    }
    acks.Write("A " + std::string(topic) + " " + std::to_string(a->partition) + " " +
               std::to_string(a->offset) + " " + r.id + " " + (a->duplicate ? "1" : "0") + "\n");
    if (!a->duplicate) sent.push_back(r.id);
  }
}

void ConsumerLoop(Subscription& sub, Journal& consumed, std::atomic<bool>& stop) {
  Result<std::unique_ptr<Consumer>> c = sub.AddConsumer("c0");
  if (!c.ok()) std::abort();
  while (!stop.load()) {
    Result<std::vector<Message>> msgs = (*c)->Poll(256, 20'000);
    if (!msgs.ok()) std::abort();
    for (const Message& m : *msgs) {
      // Journal first, then ack: every offset the subscription may commit has a line.
      consumed.Write("C " + m.id.topic + " " + std::to_string(m.id.partition) + " " +
                     std::to_string(m.id.offset) + " " + m.record.id + "\n");
      if (!(*c)->Ack(m.id).ok()) std::abort();
    }
    if (!sub.Commit().ok()) std::abort();
  }
}

int Run(const std::string& dir, uint64_t seed) {
  LogOptions o;
  o.dir = dir;
  o.default_partitions = 4;
  o.segment_bytes = 256 << 10;  // small segments: rolls happen under the kill
  o.index_interval_bytes = 1024;
  Result<std::unique_ptr<Log>> log = Log::Open(o);
  if (!log.ok()) {
    std::fprintf(stderr, "open failed: %s\n", log.status().ToString().c_str());
    return 2;
  }
  SubscriptionOptions so;
  so.name = "stress";
  Result<std::unique_ptr<Subscription>> sub = (*log)->Subscribe(so);
  if (!sub.ok()) return 3;
  Journal acks(dir + "/../acks.txt");
  Journal consumed(dir + "/../consumed.txt");
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] { Producer(**log, acks, seed, t, stop); });
  }
  threads.emplace_back([&] { ConsumerLoop(**sub, consumed, stop); });
  // Killed long before this; bounded so a stray child cannot run forever.
  std::this_thread::sleep_for(std::chrono::seconds(60));
  stop = true;
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace
}  // namespace tandem

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: log_stress <dir> <seed>\n");
    return 1;
  }
  return tandem::Run(argv[1], std::strtoull(argv[2], nullptr, 10));
}
