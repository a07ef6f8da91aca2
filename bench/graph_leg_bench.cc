// graph_leg_bench: what the leg runtime costs on top of the graph store.
// One banking-shaped workload (persons, accounts owned by persons,
// transactions between accounts; creates, updates and upserts; 90% of the
// events carry two references), measured three ways in one run:
//
//  (a) direct   GraphStore::ApplyBatch in batches of --batch events;
//  (b) backlog  the graph leg draining the workload already in the log;
//  (c) full     a producer publishing (Producer::PublishBatch, --batch events
//               per call) while the graph leg consumes: Producer → log → leg
//               → graph store, timed from the first publish until the leg
//               has caught up;
//  (r) raw      the floor: RocksDB WriteBatch puts of the keys the graph
//               store must write at least — per event one put of the vertex
//               key with the event's payload and, per reference, the out- and
//               the in-edge key (the graph store's key layout), --batch events
//               per WriteBatch, the same WAL sync setting, no reads.
//
// Each row reports events/s, the sink's batch-apply latency p50/p99 (one
// ApplyBatch call), the mean batch size the store saw, the ratios of its
// events/s to (a) and to (r), and the process CPU time per event (all
// threads; (c) includes the producer and the log). The log runs with fsync=always on --dir; the
// store syncs its WAL per batch unless --store-sync 0.
//
//   graph_leg_bench [--dir D] [--events N] [--batch B] [--workers W] [--store-sync 0|1]
//                   [--write-buffer-mb M] [--only-direct 0|1]
//
// Prints a Markdown table.
#include <rocksdb/db.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/hash.h"
#include "tandem/env.h"
#include "tandem/event.h"
#include "tandem/graph.h"
#include "tandem/leg.h"
#include "tandem/log.h"
#include "tandem/producer.h"

namespace tandem::bench {
namespace {

using Steady = std::chrono::steady_clock;

struct Flags {
  std::string dir;
  size_t events = 100'000;
  size_t batch = 500;
  uint32_t workers = 2;
  bool store_sync = true;
  size_t write_buffer_mb = 0;  // 0: GraphStoreOptions' default
  bool only_direct = false;    // (a) and (r) only: for profiling the store
  bool remove_dir = false;     // the directory was made here (mkdtemp)
};

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--dir") {
      f.dir = v;
    } else if (k == "--events") {
      f.events = std::strtoul(v, nullptr, 10);
    } else if (k == "--batch") {
      f.batch = std::max<size_t>(1, std::strtoul(v, nullptr, 10));
    } else if (k == "--workers") {
      f.workers = std::max<uint32_t>(1, static_cast<uint32_t>(std::strtoul(v, nullptr, 10)));
    } else if (k == "--write-buffer-mb") {
      f.write_buffer_mb = std::strtoul(v, nullptr, 10);
    } else if (k == "--only-direct") {
      f.only_direct = std::atoi(v) != 0;
    } else if (k == "--store-sync") {
      f.store_sync = std::atoi(v) != 0;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      std::exit(2);
    }
  }
  if (f.dir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tandem-legbench-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    f.dir = tmpl;
    f.remove_dir = true;
  }
  return f;
}

// The workload of the former GraphThroughput test, as events a producer sends.
std::vector<EntityEvent> Workload(size_t n) {
  Random rnd(7);
  std::vector<EntityEvent> out;
  out.reserve(n);
  const size_t persons = std::max<size_t>(1, n / 20), accounts = std::max<size_t>(1, n / 10);
  for (size_t i = 0; i < n; ++i) {
    EntityEvent e;
    e.event_id = "evt-" + std::to_string(i);
    e.timestamp = "2024-03-01T00:00:00Z";
    e.timestamp_us = 1'709'251'200'000'000;
    const uint64_t kind = rnd.Uniform(10);
    if (kind == 0) {
      e.event_type = EventType::kUpsert;
      e.entity_type = "person";
      e.entity_id = "p" + std::to_string(rnd.Uniform(persons));
      e.payload = R"({"name":"Person )" + std::to_string(i) + R"(","city":"Berlin","kyc":"ok"})";
    } else if (kind == 1) {
      e.event_type = EventType::kUpdate;
      e.entity_type = "account";
      e.entity_id = "a" + std::to_string(rnd.Uniform(accounts));
      e.payload = R"({"owner_id":"p)" + std::to_string(rnd.Uniform(persons)) +
                  R"(","currency":"EUR","status":"open"})";
    } else {
      e.event_type = EventType::kCreate;
      e.entity_type = "transaction";
      e.entity_id = "t" + std::to_string(i);
      e.payload = R"({"from_account":"a)" + std::to_string(rnd.Uniform(accounts)) +
                  R"(","to_account":"a)" + std::to_string(rnd.Uniform(accounts)) +
                  R"(","amount":125.5,"currency":"EUR","memo":"invoice"})";
    }
    out.push_back(std::move(e));
  }
  return out;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

// CPU seconds of the whole process (every thread, RocksDB's flushes
// included): unlike events/s, barely moved by other work on the machine.
double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

struct Row {
  std::string name;
  double seconds = 0;
  double cpu_seconds = 0;
  uint64_t applied = 0;
  std::vector<double> batch_us;  // one entry per ApplyBatch call
  uint64_t batched_events = 0;
};

// A StoreSink that times every Apply.
class TimingSink final : public Sink {
 public:
  explicit TimingSink(Store& store) : inner_(NewStoreSink(store)) {}
  Result<std::vector<ApplyOutcome>> Apply(std::span<const StoreEvent> events) override {
    const auto start = Steady::now();
    Result<std::vector<ApplyOutcome>> r = inner_->Apply(events);
    const double us = std::chrono::duration<double, std::micro>(Steady::now() - start).count();
    std::lock_guard l(mu_);
    batch_us_.push_back(us);
    events_ += events.size();
    return r;
  }
  Result<PositionMap> Positions() override { return inner_->Positions(); }
  void Into(Row* row) {
    std::lock_guard l(mu_);
    row->batch_us = batch_us_;
    row->batched_events = events_;
  }

 private:
  std::unique_ptr<Sink> inner_;
  std::mutex mu_;
  std::vector<double> batch_us_;  // GUARDED_BY(mu_)
  uint64_t events_ = 0;           // GUARDED_BY(mu_)
};

void Die(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

std::unique_ptr<GraphStore> OpenGraph(const Flags& f, const std::string& name) {
  GraphStoreOptions o;
  o.dir = f.dir + "/" + name;
  o.sync = f.store_sync;
  if (f.write_buffer_mb > 0) o.write_buffer_bytes = f.write_buffer_mb << 20;
  Result<std::unique_ptr<GraphStore>> g = OpenGraphStore(o);
  Die(g.status(), "open graph store");
  return std::move(g).value();
}

std::unique_ptr<Log> OpenLog(const Flags& f, const std::string& name) {
  LogOptions o;
  o.dir = f.dir + "/" + name;
  Result<std::unique_ptr<Log>> log = Log::Open(o);
  Die(log.status(), "open log");
  return std::move(log).value();
}

// (a): the events with the positions the log would give them (8 partitions).
Row Direct(const Flags& f, const std::vector<EntityEvent>& events) {
  std::vector<StoreEvent> batch;
  std::map<std::pair<std::string, uint32_t>, uint64_t> next;
  for (const EntityEvent& e : events) {
    const uint32_t p = PartitionForKey(e.entity_id, 8);
    batch.push_back(StoreEvent{e, LogPosition{e.entity_type, p, next[{e.entity_type, p}]++}});
  }
  std::unique_ptr<GraphStore> graph = OpenGraph(f, "direct");
  Row row;
  row.name = "(a) direct GraphStore::ApplyBatch";
  const auto start = Steady::now();
  const double cpu_start = ProcessCpuSeconds();
  for (size_t i = 0; i < batch.size(); i += f.batch) {
    const size_t n = std::min(f.batch, batch.size() - i);
    const auto t = Steady::now();
    Result<BatchResult> r = graph->ApplyBatch(std::span<const StoreEvent>(batch).subspan(i, n));
    row.batch_us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t).count());
    Die(r.status(), "ApplyBatch");
    row.applied += r->counts.applied;
    row.batched_events += n;
  }
  row.seconds = std::chrono::duration<double>(Steady::now() - start).count();
  row.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  return row;
}

// The edge keys of the graph store (src/graph/codec.h): kind, u16be(|owner|)
// owner, u8(|label|) label, other.
std::string EdgeKey(char kind, std::string_view owner, std::string_view label,
                    std::string_view other) {
  std::string k(1, kind);
  k.push_back(static_cast<char>(owner.size() >> 8));
  k.push_back(static_cast<char>(owner.size() & 0xff));
  k.append(owner);
  k.push_back(static_cast<char>(label.size()));
  k.append(label);
  k.append(other);
  return k;
}

// The JSON string value of `field` in the workload's flat payloads.
std::string_view Field(std::string_view payload, std::string_view field) {
  const std::string needle = "\"" + std::string(field) + "\":\"";
  const size_t at = payload.find(needle);
  if (at == std::string_view::npos) return {};
  const size_t begin = at + needle.size();
  return payload.substr(begin, payload.find('"', begin) - begin);
}

// Adds the raw puts of one event (see (r) above) to `batch`.
void AddRawPuts(const EntityEvent& e, std::vector<std::pair<std::string, std::string>>* batch) {
  struct Ref {
    const char* type;
    const char* field;
    const char* label;
    bool out;  // edge from the entity to the target
  };
  static constexpr Ref kRefs[] = {{"account", "owner_id", "owns", false},
                                  {"transaction", "from_account", "sent", false},
                                  {"transaction", "to_account", "received_by", true}};
  batch->emplace_back("v" + e.entity_id, e.payload);
  for (const Ref& r : kRefs) {
    if (e.entity_type != r.type) continue;
    const std::string_view target = Field(e.payload, r.field);
    const std::string_view from = r.out ? std::string_view(e.entity_id) : target;
    const std::string_view to = r.out ? target : std::string_view(e.entity_id);
    batch->emplace_back(EdgeKey('o', from, r.label, to), std::string("\x01\0\0\0", 4));
    batch->emplace_back(EdgeKey('i', to, r.label, from), std::string("\x01\0\0\0", 4));
  }
}

// (r): RocksDB alone, opened with the RocksDB defaults plus the graph
// store's memtable size and memtable bloom filter. `tuned` (r2): also the
// graph store's write tuning, each batch sorted by key and memtable insert
// hints per first key byte, i.e. the best this baseline can do with what
// the store does.
Row Raw(const Flags& f, const std::vector<EntityEvent>& events, bool tuned) {
  rocksdb::Options o;
  o.create_if_missing = true;
  o.write_buffer_size =
      f.write_buffer_mb > 0 ? f.write_buffer_mb << 20 : GraphStoreOptions().write_buffer_bytes;
  o.memtable_prefix_bloom_size_ratio = 0.05;
  o.memtable_whole_key_filtering = true;
  if (tuned) {
    o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1));
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(o, f.dir + (tuned ? "/raw-tuned" : "/raw"), &raw);
  if (!s.ok()) Die(Status::IOError(s.ToString()), "open raw rocksdb");
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::WriteOptions wo;
  wo.sync = f.store_sync;
  Row row;
  row.name = tuned ? "(r2) raw RocksDB, sorted batches + insert hints" : "(r) raw RocksDB WriteBatch puts";
  const auto start = Steady::now();
  const double cpu_start = ProcessCpuSeconds();
  for (size_t i = 0; i < events.size(); i += f.batch) {
    const size_t n = std::min(f.batch, events.size() - i);
    const auto t = Steady::now();
    std::vector<std::pair<std::string, std::string>> puts;
    for (size_t j = i; j < i + n; ++j) AddRawPuts(events[j], &puts);
    if (tuned) std::sort(puts.begin(), puts.end());
    rocksdb::WriteBatch batch;
    for (const auto& [k, v] : puts) {
      s = batch.Put(k, v);
      if (!s.ok()) Die(Status::IOError(s.ToString()), "raw batch");
    }
    s = db->Write(wo, &batch);
    if (!s.ok()) Die(Status::IOError(s.ToString()), "raw write");
    row.batch_us.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t).count());
    row.applied += n;
    row.batched_events += n;
  }
  row.seconds = std::chrono::duration<double>(Steady::now() - start).count();
  row.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  s = db->Close();
  return row;
}

Status Publish(Log& log, const std::vector<EntityEvent>& events, size_t batch) {
  Producer producer(log);
  std::vector<AppendResult> results;
  for (size_t i = 0; i < events.size(); i += batch) {
    const size_t n = std::min(batch, events.size() - i);
    TANDEM_RETURN_IF_ERROR(
        producer.PublishBatch(std::span<const EntityEvent>(events).subspan(i, n), &results));
  }
  return Status::OK();
}

// (b) and (c): a graph leg; `concurrent` publishes while the leg runs.
Row ThroughLeg(const Flags& f, const std::vector<EntityEvent>& events, bool concurrent) {
  const std::string name = concurrent ? "full" : "backlog";
  std::unique_ptr<Log> log = OpenLog(f, "log-" + name);
  std::unique_ptr<GraphStore> graph = OpenGraph(f, name);
  if (!concurrent) Die(Publish(*log, events, f.batch), "publish");
  TimingSink sink(*graph);
  LegOptions o;
  o.name = "graph";
  o.max_batch_events = f.batch;
  o.workers = f.workers;
  Result<std::unique_ptr<Leg>> leg = NewLeg(*log, sink, o);
  Die(leg.status(), "leg");
  Row row;
  row.name =
      concurrent ? "(c) Producer → log → graph leg → store" : "(b) log backlog → graph leg → store";
  const auto start = Steady::now();
  const double cpu_start = ProcessCpuSeconds();
  Die((*leg)->Start(), "leg start");
  Status published;
  if (concurrent) published = Publish(*log, events, f.batch);
  Die(published, "publish");
  Die((*leg)->WaitForCaughtUp(int64_t{3600} * 1'000'000), "wait for the leg");
  row.seconds = std::chrono::duration<double>(Steady::now() - start).count();
  row.cpu_seconds = ProcessCpuSeconds() - cpu_start;
  Die((*leg)->Stop(), "leg stop");
  const LegStats s = (*leg)->stats();
  row.applied = s.applied;
  sink.Into(&row);
  leg->reset();
  Die(log->Close(), "log close");
  return row;
}

void Print(const Flags& f, const std::vector<Row>& rows) {
  std::printf(
      "%zu events (banking workload), batches of %zu, %u leg workers, "
      "store WAL sync %s, log fsync=always\n\n",
      f.events, f.batch, f.workers, f.store_sync ? "on" : "off");
  std::printf(
      "| path | events/s | batch apply p50 (ms) | batch apply p99 (ms) | "
      "mean batch | ratio to (a) | ratio to (r) | CPU µs/event |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|\n");
  const double base = static_cast<double>(rows[0].applied) / rows[0].seconds;
  const double raw = static_cast<double>(rows.back().applied) / rows.back().seconds;
  for (const Row& r : rows) {
    const double rate = static_cast<double>(r.applied) / r.seconds;
    const double mean = r.batch_us.empty() ? 0
                                           : static_cast<double>(r.batched_events) /
                                                 static_cast<double>(r.batch_us.size());
    std::printf("| %s | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %.1f |\n", r.name.c_str(), rate,
                Percentile(r.batch_us, 0.5) / 1000, Percentile(r.batch_us, 0.99) / 1000, mean,
                rate / base, rate / raw, r.cpu_seconds * 1e6 / static_cast<double>(r.applied));
  }
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) {
  using namespace tandem::bench;
  const Flags f = ParseFlags(argc, argv);
  const std::vector<tandem::EntityEvent> events = Workload(f.events);
  std::vector<Row> rows;
  rows.push_back(Direct(f, events));
  if (!f.only_direct) {
    rows.push_back(ThroughLeg(f, events, /*concurrent=*/false));
    rows.push_back(ThroughLeg(f, events, /*concurrent=*/true));
  }
  for (const Row& r : rows) {
    if (r.applied != rows[0].applied) {
      std::fprintf(stderr, "%s applied %llu events, (a) %llu\n", r.name.c_str(),
                   static_cast<unsigned long long>(r.applied),
                   static_cast<unsigned long long>(rows[0].applied));
      return 1;
    }
  }
  rows.push_back(Raw(f, events, /*tuned=*/true));
  rows.push_back(Raw(f, events, /*tuned=*/false));  // last: Print divides by it
  Print(f, rows);
  std::error_code ec;
  if (f.remove_dir) std::filesystem::remove_all(f.dir, ec);
  return 0;
}
