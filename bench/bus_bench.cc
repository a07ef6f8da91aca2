// bus_bench: the same workload through every bus in one run (issue 7 §7):
// the embedded log (fsync=always, the default config, and fsync=interval),
// Redis Streams (a redis-server started here on a free loopback port, once
// without persistence and once with appendonly + appendfsync always) and the
// Kafka bus on librdkafka's mock cluster (the kafka_mock process, started
// here). Prints one Markdown table with the ratios to the embedded log.
//
//   bus_bench [--records N] [--record-bytes B] [--batch K] [--producers P]
//             [--consumers C] [--entities E] [--partitions N]
//             [--e2e-batches N] [--e2e-interval-ms MS] [--timeout-s S]
//             [--buses embedded,embedded-interval,redis,redis-aof,kafka]
//
// Per bus, three phases on fresh topics:
//  1. append: P threads call AppendBatch with K records of B bytes, keyed by
//     entity id (E entities, N partitions), until N records; latency per call.
//  2. consume: one subscription from the beginning, C consumer threads polling
//     up to 500 and acking every message, until all N were acked; the rate is
//     from the first delivered message (the subscribe → first message time,
//     e.g. a Kafka group join, is printed below the table).
//  3. end to end: consumers subscribed first, then one producer appends a
//     batch of K every --e2e-interval-ms (light load, no queueing) for
//     --e2e-batches batches; latency = consumer receipt − AppendBatch call,
//     per record (the append's steady-clock time travels in the value).
//
// What the Kafka row is: the mock is not a broker. It keeps everything in
// memory (no disk, no replication I/O), runs in another process on the same
// 2 CPUs, and answers over loopback. Its rates measure tandem's client path
// (librdkafka batching, delivery reports, fetch, commits), not a cluster.
// Three mock traits shape the numbers:
//  * Nagle: tandem's Kafka client sets socket.nagle.disable=true, but the
//    mock brokers' sockets take their options from the mock's host client;
//    `kafka_mock 3 nodelay` sets it there too (TCP_NODELAY; the tests still
//    run the mock without it, see src/kafka/README.md). Without it an AppendBatch
//    over several partitions took ~44 ms (small responses waiting for delayed
//    ACKs): at 5,000 records the append rate went from 39k to 91k/s and the
//    batch p99 from 44 ms to 17 ms.
//  * It keeps 5 MiB per partition and trims the oldest records beyond, so
//    --records × (--record-bytes + ~60) / --partitions must stay under that
//    (checked: the Kafka row is refused otherwise; 40,000 × 700 B fits).
//  * An empty Fetch is answered only after the consumer's fetch.wait.max.ms
//    (librdkafka default 500 ms), even if data arrives meanwhile (a shortcut
//    the mock's source documents; a broker answers when data arrives), so the
//    Kafka end-to-end latency at light load is that wait, not Kafka's.
#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "tandem/bus.h"
#include "tandem/log.h"
#include "tests/redis/redis_server.h"
#ifdef TANDEM_KAFKA_MOCK
#include "tests/kafka/kafka_mock_cluster.h"
#endif

namespace tandem::bench {
namespace {

struct Workload {
  uint64_t records = 0;
  uint64_t record_bytes = 0;
  uint64_t batch = 0;
  uint64_t producers = 0;
  uint64_t consumers = 0;
  uint64_t entities = 0;
  uint64_t partitions = 0;
  uint64_t e2e_batches = 0;
  uint64_t e2e_interval_ms = 0;
  uint64_t timeout_s = 0;  // bound of each consume phase
};

struct Measured {
  double append_per_s = 0;
  std::vector<double> batch_ms;
  double consume_per_s = 0;
  double first_message_ms = 0;  // Subscribe → first delivered message
  std::vector<double> e2e_ms;
};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now().time_since_epoch())
      .count();
}

constexpr size_t kStampBytes = 22;  // 20 digits, a tag ('m' measured, 'w' warm-up, 'b' bulk), ' '

// A record value of `bytes` (at least kStampBytes) carrying the append time.
std::string Value(uint64_t bytes, int64_t stamp_ns, char tag) {
  char head[kStampBytes + 1];
  std::snprintf(head, sizeof head, "%020" PRId64 "%c ", stamp_ns, tag);
  std::string v(std::max<uint64_t>(bytes, kStampBytes), 'x');
  v.replace(0, kStampBytes, head, kStampBytes);
  return v;
}

void FillBatch(const Workload& w, uint64_t first, uint64_t n, char tag,
               std::vector<ProduceRecord>* batch) {
  batch->clear();
  const int64_t now = NowNs();
  for (uint64_t i = first; i < first + n; ++i) {
    batch->push_back(ProduceRecord{"entity-" + std::to_string(i % w.entities),
                                   Value(w.record_bytes, now, tag),
                                   std::string(1, tag) + std::to_string(i),
                                   {},
                                   0});
  }
}

// Keeps the first error of several threads.
class FirstError {
 public:
  void Set(const Status& s) {
    std::lock_guard lock(mu_);
    if (status_.ok()) status_ = s;
    failed_ = true;
  }
  bool failed() const { return failed_; }
  Status status() const {
    std::lock_guard lock(mu_);
    return status_;
  }

 private:
  mutable std::mutex mu_;
  Status status_;
  std::atomic<bool> failed_{false};
};

// Phase 1: P threads append w.records in batches of w.batch.
Status AppendAll(Log& log, const Workload& w, const std::string& topic, Measured* m) {
  std::atomic<uint64_t> next{0};
  FirstError error;
  std::mutex mu;
  const auto start = Steady::now();
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < w.producers; ++t) {
    threads.emplace_back([&] {
      std::vector<ProduceRecord> batch;
      std::vector<AppendResult> results;
      std::vector<double> ms;
      while (!error.failed()) {
        const uint64_t first = next.fetch_add(w.batch);
        if (first >= w.records) break;
        FillBatch(w, first, std::min(w.batch, w.records - first), 'b', &batch);
        const auto t0 = Steady::now();
        Status s = log.AppendBatch(topic, batch, &results);
        if (!s.ok()) error.Set(s);
        ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
      }
      std::lock_guard lock(mu);
      m->batch_ms.insert(m->batch_ms.end(), ms.begin(), ms.end());
    });
  }
  for (std::thread& t : threads) t.join();
  m->append_per_s = static_cast<double>(w.records) / SecondsSince(start);
  return error.status();
}

struct ConsumeResult {
  double seconds_from_first = 0;
  double first_message_ms = 0;
  std::vector<double> e2e_ms;  // of records tagged 'm'
};

// Subscribes `name` to `topic` from the beginning with w.consumers threads
// that ack every message until `*target` messages were acked; runs `during`
// on the calling thread meanwhile (it may lower *target from its initial
// max). Bounded: w.timeout_s.
Result<ConsumeResult> Consume(Log& log, const Workload& w, const std::string& topic,
                              const std::string& name, std::atomic<uint64_t>* target,
                              const std::function<Status(const std::atomic<bool>&)>& during) {
  SubscriptionOptions so;
  so.name = name;
  so.topics = {topic};
  so.from_beginning = true;
  const auto start = Steady::now();
  const int64_t start_ns = NowNs();
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Subscription> sub, log.Subscribe(so));
  std::atomic<uint64_t> acked{0};
  std::atomic<bool> got_first{false};
  std::atomic<int64_t> first_ns{std::numeric_limits<int64_t>::max()};
  FirstError error;
  std::mutex mu;
  ConsumeResult out;
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < w.consumers; ++t) {
    threads.emplace_back([&, t] {
      Result<std::unique_ptr<Consumer>> c = sub->AddConsumer("c" + std::to_string(t));
      if (!c.ok()) return error.Set(c.status());
      std::vector<double> e2e;
      while (acked < *target && !error.failed() && SecondsSince(start) < w.timeout_s) {
        Result<std::vector<Message>> ms = (*c)->Poll(500, 50'000);
        if (!ms.ok()) return error.Set(ms.status());
        const int64_t now = NowNs();
        if (!ms->empty() && !got_first.exchange(true)) first_ns = now;
        for (const Message& x : *ms) {
          const std::string& v = x.record.value;
          if (v.size() >= kStampBytes && v[20] == 'm') {
            e2e.push_back(
                static_cast<double>(now - std::strtoll(v.substr(0, 20).c_str(), nullptr, 10)) /
                1e6);
          }
          Status s = (*c)->Ack(x.id);
          if (!s.ok()) return error.Set(s);
        }
        acked += ms->size();
      }
      std::lock_guard lock(mu);
      out.e2e_ms.insert(out.e2e_ms.end(), e2e.begin(), e2e.end());
    });
  }
  Status during_status = during(got_first);
  if (!during_status.ok()) {
    error.Set(during_status);
  }
  for (std::thread& t : threads) t.join();
  const int64_t end_ns = NowNs();
  TANDEM_RETURN_IF_ERROR(error.status());
  if (acked < *target) {
    return Status::Unavailable(name + ": acked " + std::to_string(acked.load()) + " of " +
                               std::to_string(target->load()) + " within " +
                               std::to_string(w.timeout_s) + " s (--timeout-s)");
  }
  TANDEM_RETURN_IF_ERROR(sub->Commit());
  out.first_message_ms = static_cast<double>(first_ns - start_ns) / 1e6;
  out.seconds_from_first = static_cast<double>(end_ns - first_ns) / 1e9;
  return out;
}

// Phase 3: paced batches tagged 'm' after warm-up batches tagged 'w' (until
// the subscription delivered its first message: group joins, leases).
Status EndToEnd(Log& log, const Workload& w, Measured* m) {
  const std::string topic = "bench_e2e";
  TopicOptions to;
  to.partitions = static_cast<uint32_t>(w.partitions);
  TANDEM_RETURN_IF_ERROR(log.CreateTopic(topic, to));
  std::atomic<uint64_t> target{std::numeric_limits<uint64_t>::max()};
  auto produce = [&](const std::atomic<bool>& got_first) -> Status {
    std::vector<ProduceRecord> batch;
    std::vector<AppendResult> results;
    uint64_t sent = 0;
    uint64_t measured = 0;
    const auto start = Steady::now();
    // Bounded: 60 s of warm-up, then e2e_batches measured batches.
    while (measured < w.e2e_batches && SecondsSince(start) < 660) {
      const bool warm = !got_first;
      if (warm && SecondsSince(start) > 60) break;
      FillBatch(w, sent, w.batch, warm ? 'w' : 'm', &batch);
      Status s = log.AppendBatch(topic, batch, &results);
      if (!s.ok()) {
        target = sent;
        return s;
      }
      sent += w.batch;
      if (!warm) ++measured;
      std::this_thread::sleep_for(std::chrono::milliseconds(w.e2e_interval_ms));
    }
    target = sent;
    return measured == w.e2e_batches ? Status::OK()
                                     : Status::Unavailable("e2e: no message within 60 s");
  };
  TANDEM_ASSIGN_OR_RETURN(ConsumeResult r, Consume(log, w, topic, "bench_e2e", &target, produce));
  m->e2e_ms = std::move(r.e2e_ms);
  return Status::OK();
}

Status MeasureBus(Log& log, const Workload& w, Measured* m) {
  const std::string topic = "bench";
  TopicOptions to;
  to.partitions = static_cast<uint32_t>(w.partitions);
  TANDEM_RETURN_IF_ERROR(log.CreateTopic(topic, to));
  TANDEM_RETURN_IF_ERROR(AppendAll(log, w, topic, m));
  std::atomic<uint64_t> target{w.records};
  TANDEM_ASSIGN_OR_RETURN(ConsumeResult c,
                          Consume(log, w, topic, "bench", &target,
                                  [](const std::atomic<bool>&) { return Status::OK(); }));
  m->consume_per_s = static_cast<double>(w.records) / c.seconds_from_first;
  m->first_message_ms = c.first_message_ms;
  if (w.e2e_batches > 0) TANDEM_RETURN_IF_ERROR(EndToEnd(log, w, m));
  return log.Close();
}

// `redis-cli -p port args...` (redis-tools); InvalidArgument with its output otherwise.
Status RedisCli(uint16_t port, const std::string& args, const std::string& expect) {
  const std::string cmd = "redis-cli -p " + std::to_string(port) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return Status::Unavailable("popen " + cmd);
  std::string out;
  char buf[256];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  const int rc = pclose(p);
  if (rc != 0 || out.find(expect) == std::string::npos) {
    return Status::Unavailable(cmd + ": " + out);
  }
  return Status::OK();
}

struct Row {
  std::string bus;
  Status status;
  Measured m;
};

Status Run(int argc, char** argv) {
  TANDEM_ASSIGN_OR_RETURN(
      Flags f,
      Flags::Parse(argc, argv,
                   {"records", "record-bytes", "batch", "producers", "consumers", "entities",
                    "partitions", "e2e-batches", "e2e-interval-ms", "timeout-s", "buses"}));
  Workload w;
  TANDEM_ASSIGN_OR_RETURN(w.records, f.Uint("records", 40'000, 1, 100'000'000));
  TANDEM_ASSIGN_OR_RETURN(w.record_bytes, f.Uint("record-bytes", 700, kStampBytes, 1 << 20));
  TANDEM_ASSIGN_OR_RETURN(w.batch, f.Uint("batch", 100, 1, 100'000));
  TANDEM_ASSIGN_OR_RETURN(w.producers, f.Uint("producers", 4, 1, 256));
  TANDEM_ASSIGN_OR_RETURN(w.consumers, f.Uint("consumers", 4, 1, 256));
  TANDEM_ASSIGN_OR_RETURN(w.entities, f.Uint("entities", 10'000, 1, 100'000'000));
  TANDEM_ASSIGN_OR_RETURN(w.partitions, f.Uint("partitions", 8, 1, 1024));
  TANDEM_ASSIGN_OR_RETURN(w.e2e_batches, f.Uint("e2e-batches", 200, 0, 1'000'000));
  TANDEM_ASSIGN_OR_RETURN(w.e2e_interval_ms, f.Uint("e2e-interval-ms", 10, 0, 60'000));
  TANDEM_ASSIGN_OR_RETURN(w.timeout_s, f.Uint("timeout-s", 300, 1, 86'400));
  const std::string buses =
      "," + f.String("buses", "embedded,embedded-interval,redis,redis-aof,kafka") + ",";
  auto wanted = [&](const std::string& b) {
    return buses.find("," + b + ",") != std::string::npos;
  };

  std::vector<Row> rows;
  std::vector<std::string> notes;
  auto measure = [&](const std::string& name, Result<std::unique_ptr<Log>> log) {
    Row r{name, Status::OK(), {}};
    r.status = log.ok() ? MeasureBus(**log, w, &r.m) : log.status();
    if (!r.status.ok())
      std::fprintf(stderr, "bus_bench: %s: %s\n", name.c_str(), r.status.ToString().c_str());
    rows.push_back(std::move(r));
  };
  auto embedded = [&](const std::string& name, FsyncPolicy fsync) {
    Result<TempDir> dir = TempDir::Create("bus-bench");
    if (!dir.ok()) return measure(name, dir.status());
    LogOptions lo;
    lo.dir = dir->Sub("log");
    lo.fsync = fsync;
    lo.default_partitions = static_cast<uint32_t>(w.partitions);
    measure(name, Log::Open(lo));
  };
  if (wanted("embedded")) embedded("embedded log (fsync=always)", FsyncPolicy::kAlways);
  if (wanted("embedded-interval")) {
    embedded(
        "embedded log (fsync=interval " + std::to_string(LogOptions{}.fsync_interval_ms) + " ms)",
        FsyncPolicy::kInterval);
  }
  auto redis = [&](const std::string& name, bool aof) {
    testing::RedisServer server;  // stopped by PID when it goes out of scope
    if (!server.Start())
      return measure(name, Status::Unavailable("redis-server: " + server.error()));
    if (aof) {
      // CONFIG SET appendonly yes rewrites the (empty) AOF in the background.
      Status s = RedisCli(server.port(), "CONFIG SET appendfsync always", "OK");
      if (s.ok()) s = RedisCli(server.port(), "CONFIG SET appendonly yes", "OK");
      for (int i = 0; s.ok() && i < 500; ++i) {  // bounded: 5 s
        if (RedisCli(server.port(), "INFO persistence", "aof_rewrite_in_progress:0").ok() &&
            RedisCli(server.port(), "INFO persistence", "aof_rewrite_scheduled:0").ok()) {
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!s.ok()) return measure(name, s);
    }
    RedisBusOptions ro;
    ro.port = server.port();
    ro.prefix = "bus-bench:";
    ro.default_partitions = static_cast<uint32_t>(w.partitions);
    measure(name, OpenRedisBus(ro));
  };
  if (wanted("redis")) redis("redis streams (no persistence)", false);
  if (wanted("redis-aof")) redis("redis streams (AOF, appendfsync always)", true);
  if (wanted("kafka")) {
#ifdef TANDEM_KAFKA_MOCK
    // The mock keeps at most 5 MiB (and 100,000 records) per partition and
    // trims the oldest beyond (rdkafka_mock.c): a larger backlog could never
    // be consumed whole. ~60 bytes of per-record overhead (key, id header).
    const uint64_t per_partition = w.records * (w.record_bytes + 60) / w.partitions;
    // SIGTERMed by PID when it goes out of scope; TCP_NODELAY on its sockets.
    kafka_test::MockCluster cluster(3, /*nodelay=*/true);
    if (per_partition > (9u << 19) || w.records / w.partitions > 100'000) {
      measure("kafka (mock cluster)",
              Status::InvalidArgument(
                  "--records: about " + std::to_string(per_partition >> 10) +
                  " KiB per partition, over the mock's 5 MiB per-partition retention; use fewer "
                  "records or more --partitions"));
    } else if (cluster.bootstrap().empty()) {
      measure("kafka (mock cluster)", Status::Unavailable("kafka_mock did not start"));
    } else {
      KafkaOptions ko = cluster.Options();
      ko.client_id = "tandem-bench";
      ko.default_partitions = static_cast<uint32_t>(w.partitions);
      ko.linger_ms = KafkaOptions{}.linger_ms;  // the production default, not the tests' 0
      ko.session_timeout_ms = KafkaOptions{}.session_timeout_ms;
      measure("kafka (mock cluster, 3 brokers, in memory)", OpenKafkaLog(ko));
    }
#else
    measure(
        "kafka (mock cluster)",
        Status::Unavailable("built without the kafka_mock target (tests off or no librdkafka)"));
#endif
  }

  std::printf(
      "bus_bench: %llu records of %llu bytes keyed by %llu entities, %llu partitions, "
      "AppendBatch of %llu from %llu producers; %llu consumers acking; end to end: "
      "%llu batches every %llu ms; load %s\n\n",
      static_cast<unsigned long long>(w.records), static_cast<unsigned long long>(w.record_bytes),
      static_cast<unsigned long long>(w.entities), static_cast<unsigned long long>(w.partitions),
      static_cast<unsigned long long>(w.batch), static_cast<unsigned long long>(w.producers),
      static_cast<unsigned long long>(w.consumers), static_cast<unsigned long long>(w.e2e_batches),
      static_cast<unsigned long long>(w.e2e_interval_ms), LoadAverage().c_str());
  Table t({"bus", "append events/s", "vs embedded", "batch p50 ms", "batch p99 ms",
           "consume+ack events/s", "vs embedded", "e2e p50 ms", "e2e p99 ms"},
          "lrrrrrrrr");
  const Measured* base = nullptr;
  for (const Row& r : rows) {
    if (r.status.ok() && base == nullptr) base = &r.m;
  }
  for (const Row& r : rows) {
    if (!r.status.ok()) {
      t.Row({r.bus, "failed", "", "", "", "", "", "", ""});
      notes.push_back(r.bus + ": " + r.status.ToString());
      continue;
    }
    const bool e2e = !r.m.e2e_ms.empty();
    t.Row({r.bus, Fixed(r.m.append_per_s, 0), Fixed(r.m.append_per_s / base->append_per_s, 2),
           Fixed(Percentile(r.m.batch_ms, 0.5), 2), Fixed(Percentile(r.m.batch_ms, 0.99), 2),
           Fixed(r.m.consume_per_s, 0), Fixed(r.m.consume_per_s / base->consume_per_s, 2),
           e2e ? Fixed(Percentile(r.m.e2e_ms, 0.5), 2) : "-",
           e2e ? Fixed(Percentile(r.m.e2e_ms, 0.99), 2) : "-"});
    notes.push_back(r.bus + ": subscribe → first message " + Fixed(r.m.first_message_ms, 0) +
                    " ms (not in the consume rate)");
  }
  t.Print();
  std::printf("\n");
  for (const std::string& n : notes) std::printf("- %s\n", n.c_str());
  for (const Row& r : rows) {
    if (!r.status.ok() && &r == &rows.front()) return r.status;  // the baseline must run
  }
  return Status::OK();
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  tandem::Status s = tandem::bench::Run(argc, argv);
  if (!s.ok()) {
    std::fprintf(stderr, "bus_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
