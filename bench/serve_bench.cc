// serve_bench: what `tandem serve`'s HTTP layer costs, against the in-process
// API measured in the same run (issue 5 §6). Two parts, one table each.
//
// (A) Ingest. The same --events banking events (src/gen, scaled to about that
// many and cut there), as NDJSON batches of --batch lines:
//  (h) POSTed to an in-process Server (127.0.0.1, port 0, a fresh temp data
//      dir, the `tandem serve` defaults: log fsync=always, 8 partitions, graph
//      and vector legs on) by each of --threads client threads, each an
//      httplib::Client with keep-alive taking the next batch in turn;
//  (p) baseline: Producer::PublishBatch of the same batches, parsed before the
//      clock starts, on a fresh log with the same LogOptions (fsync=always),
//      by as many threads; no HTTP, no parsing, no legs;
//  (h0) as (h) with both stores disabled: the HTTP path alone, no legs
//      competing for the cores.
// Columns: events/s up to the last acknowledgement, request (call) latency
// p50/p99, ratio to (p) at the same thread count, and for (h) the time from the
// last acknowledgement until both legs had acknowledged every event (ingest →
// both stores applied and indexed, the end-to-end delay). The legs run while
// (h) ingests and compete for the same cores; (p) has none.
//
// (B) Search. A banking workload scaled so that persons + companies +
// accounts ≈ --entities, plus their transactions, communications, updates and
// the sanctions list, ingested through the server (4 client threads); then a
// bounded wait until both legs caught up, and the process RSS (the bench's
// own copy of the workload freed first). Then --queries screening queries,
// misspelled names each meaning one customer: the generator's sanctions-list
// queries first (SanctionedName::query), then gen::Misspell() of random
// generated persons and companies. Each query is
//   GET /v1/search?q=<name>&k=<k>&type=person&type=company&enrich=<E>
// for E = 0, 1, 2, one client thread, one request at a time, after 200
// warm-up queries: QPS, latency p50/p95/p99, recall@k of the intended entity
// and the mean response size. Baseline: once the server stopped, its vector
// store is opened in this process and VectorStore::Search runs the same
// queries (same k and types; no HTTP, no graph); ratio of the p50s.
//
//   serve_bench [--events N] [--batch B] [--threads 1,4] [--entities E]
//               [--queries Q] [--k K] [--seed S] [--part a|b|ab]
//               [--catchup-timeout SECONDS]
//
// Every wait is bounded: a leg that has not caught up within
// --catchup-timeout (default 300 s) ends the run with exit code 1 and says
// which leg and how far behind it was. Temp dirs are removed at exit (TMPDIR).
// Prints Markdown tables on stdout, progress on stderr.
#include <httplib.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "gen/banking.h"
#include "gen/names.h"
#include "tandem/config.h"
#include "tandem/embed.h"
#include "tandem/log.h"
#include "tandem/producer.h"
#include "tandem/server.h"
#include "tandem/vector.h"

namespace tandem::bench {
namespace {

using Json = nlohmann::json;

struct Options {
  uint64_t events = 100'000;
  uint64_t batch = 1000;
  std::vector<uint64_t> threads = {1, 4};
  uint64_t entities = 100'000;
  uint64_t queries = 2000;
  uint64_t k = 10;
  uint64_t seed = 1;
  std::string part = "ab";
  double catchup_timeout_s = 300;
};

Result<Options> ParseOptions(int argc, char** argv) {
  TANDEM_ASSIGN_OR_RETURN(Flags f, Flags::Parse(argc, argv,
                                                {"events", "batch", "threads", "entities",
                                                 "queries", "k", "seed", "part",
                                                 "catchup-timeout"}));
  Options o;
  TANDEM_ASSIGN_OR_RETURN(o.events, f.Uint("events", o.events, 1, 100'000'000));
  TANDEM_ASSIGN_OR_RETURN(o.batch, f.Uint("batch", o.batch, 1, 10'000));
  TANDEM_ASSIGN_OR_RETURN(o.threads, f.UintList("threads", o.threads, 1, 64));
  TANDEM_ASSIGN_OR_RETURN(o.entities, f.Uint("entities", o.entities, 100, 100'000'000));
  TANDEM_ASSIGN_OR_RETURN(o.queries, f.Uint("queries", o.queries, 1, 1'000'000));
  TANDEM_ASSIGN_OR_RETURN(o.k, f.Uint("k", o.k, 1, 1000));
  TANDEM_ASSIGN_OR_RETURN(o.seed, f.Uint("seed", o.seed, 0, UINT64_MAX));
  TANDEM_ASSIGN_OR_RETURN(uint64_t t, f.Uint("catchup-timeout", 300, 1, 86'400));
  o.catchup_timeout_s = static_cast<double>(t);
  o.part = f.String("part", o.part);
  if (o.part != "a" && o.part != "b" && o.part != "ab") {
    return Status::InvalidArgument("--part: must be a, b or ab, got \"" + o.part + "\"");
  }
  return o;
}

// `tandem serve`'s defaults on a fresh data dir, port 0 on loopback;
// `legs` false disables both stores (and so their legs).
Result<Config> ServeConfig(const std::string& data_dir, bool legs = true) {
  return ParseConfig("data_dir: " + data_dir + "\nserver: {listen: 127.0.0.1, port: 0}\n" +
                         (legs ? "" : "graph: {enabled: false}\nvector: {enabled: false}\n"),
                     {}, "serve_bench");
}

// NDJSON request bodies of `batch` lines each.
struct Bodies {
  std::vector<std::string> bodies;
  std::vector<size_t> lines;  // lines[i]: events in bodies[i]
  void Add(const EntityEvent& e, size_t batch) {
    if (bodies.empty() || lines.back() == batch) {
      bodies.emplace_back();
      lines.push_back(0);
    }
    bodies.back() += Serialize(e);
    bodies.back() += '\n';
    ++lines.back();
  }
};

struct Timed {
  double seconds = 0;
  std::vector<double> latency_ms;  // one per request or call
  uint64_t appended = 0;           // records the log acknowledged as new
};

// Runs fn(i) for i in [0, n) on `threads` threads, each taking the next i;
// returns the first error and stops handing out work after it.
template <typename Fn>
Status ForEachOnThreads(size_t n, size_t threads, Fn fn) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;
  std::vector<std::thread> pool;
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      while (true) {
        const size_t i = next.fetch_add(1);
        if (i >= n) return;
        Status s = fn(t, i);
        if (!s.ok()) {
          std::lock_guard l(mu);
          if (first.ok()) first = s;
          next.store(n);
          return;
        }
      }
    });
  }
  for (std::thread& th : pool) th.join();
  return first;
}

std::unique_ptr<httplib::Client> NewClient(uint16_t port) {
  auto c = std::make_unique<httplib::Client>("127.0.0.1", port);
  c->set_keep_alive(true);
  // As curl does: without it a POST's body (a second write) waits for the
  // server's delayed ACK of the headers, 40 ms on Linux.
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(10, 0);
  c->set_read_timeout(120, 0);
  c->set_write_timeout(120, 0);
  return c;
}

Status HttpError(const std::string& what, const httplib::Result& res) {
  if (!res) return Status::IOError(what + ": " + httplib::to_string(res.error()));
  return Status::IOError(what + ": HTTP " + std::to_string(res->status) + ": " +
                         res->body.substr(0, 300));
}

// (h): every body POSTed to /v1/events; each must be wholly accepted.
Result<Timed> PostAll(uint16_t port, const Bodies& b, size_t threads) {
  std::vector<std::unique_ptr<httplib::Client>> clients;
  for (size_t t = 0; t < threads; ++t) clients.push_back(NewClient(port));
  std::vector<std::vector<double>> ms(threads);
  std::atomic<uint64_t> appended{0};
  Timed out;
  const auto start = Steady::now();
  TANDEM_RETURN_IF_ERROR(ForEachOnThreads(b.bodies.size(), threads, [&](size_t t, size_t i) {
    const auto t0 = Steady::now();
    httplib::Result res = clients[t]->Post("/v1/events", b.bodies[i], "application/x-ndjson");
    ms[t].push_back(SecondsSince(t0) * 1e3);
    if (!res || res->status != 200) return HttpError("POST /v1/events", res);
    const Json j = Json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("accepted")) {
      return Status::Corruption("POST /v1/events: unexpected body " + res->body.substr(0, 300));
    }
    const uint64_t accepted = j.value("accepted", uint64_t{0});
    if (accepted + j.value("duplicates", uint64_t{0}) != b.lines[i]) {
      return Status::Corruption("POST /v1/events: batch " + std::to_string(i) + " of " +
                                std::to_string(b.lines[i]) + " lines: " +
                                res->body.substr(0, 300));
    }
    appended += accepted;
    return Status::OK();
  }));
  out.seconds = SecondsSince(start);
  for (auto& v : ms) out.latency_ms.insert(out.latency_ms.end(), v.begin(), v.end());
  out.appended = appended.load();
  return out;
}

// (p): the same batches through Producer::PublishBatch.
Result<Timed> PublishAll(Log& log, const std::vector<EntityEvent>& events, size_t batch,
                         size_t threads) {
  Producer producer(log);
  const size_t batches = (events.size() + batch - 1) / batch;
  std::vector<std::vector<double>> ms(threads);
  std::atomic<uint64_t> appended{0};
  Timed out;
  const auto start = Steady::now();
  TANDEM_RETURN_IF_ERROR(ForEachOnThreads(batches, threads, [&](size_t t, size_t i) {
    const size_t from = i * batch, n = std::min(batch, events.size() - from);
    std::vector<AppendResult> results;
    const auto t0 = Steady::now();
    Status s = producer.PublishBatch(std::span<const EntityEvent>(events).subspan(from, n),
                                     &results);
    ms[t].push_back(SecondsSince(t0) * 1e3);
    TANDEM_RETURN_IF_ERROR(s);
    for (const AppendResult& r : results) appended += r.duplicate ? 0 : 1;
    return Status::OK();
  }));
  out.seconds = SecondsSince(start);
  for (auto& v : ms) out.latency_ms.insert(out.latency_ms.end(), v.begin(), v.end());
  out.appended = appended.load();
  return out;
}

// Polls GET /v1/admin/legs until both legs report no lag and have
// acknowledged at least `expected` events each, for at most `timeout_s`.
// Returns the seconds waited; Busy naming the laggard on timeout.
Result<double> WaitForLegs(uint16_t port, uint64_t expected, double timeout_s) {
  std::unique_ptr<httplib::Client> c = NewClient(port);
  const auto start = Steady::now();
  std::string behind = "no answer from /v1/admin/legs";
  while (SecondsSince(start) < timeout_s) {
    httplib::Result res = c->Get("/v1/admin/legs");
    if (!res || res->status != 200) return HttpError("GET /v1/admin/legs", res);
    const Json j = Json::parse(res->body, nullptr, false);
    if (j.is_discarded() || !j.contains("legs")) {
      return Status::Corruption("GET /v1/admin/legs: unexpected body " + res->body.substr(0, 300));
    }
    bool done = j["legs"].size() == 2;
    behind.clear();
    for (const Json& leg : j["legs"]) {
      const uint64_t lag = leg.value("total_lag", uint64_t{0});
      const uint64_t acked = leg.contains("stats") ? leg["stats"].value("acknowledged", uint64_t{0}) : 0;
      if (lag > 0 || acked < expected) {
        done = false;
        behind += " " + leg.value("name", std::string("?")) + ": lag " + std::to_string(lag) +
                  ", acknowledged " + std::to_string(acked) + " of " + std::to_string(expected) +
                  ";";
      }
    }
    if (done) return SecondsSince(start);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Busy("legs did not catch up within " + Fixed(timeout_s, 0) +
                      " s (--catchup-timeout):" + behind);
}

// ---- (A) ingest ----------------------------------------------------------------

struct IngestRow {
  std::string name;
  size_t threads = 0;
  Timed t;
  double catchup_s = -1;  // (h) only
};

Result<IngestRow> HttpIngestRow(const TempDir& base, const Options& o, const Bodies& b,
                                size_t threads, bool legs) {
  const std::string dir = base.Sub((legs ? "h" : "h0-") + std::to_string(threads));
  TANDEM_ASSIGN_OR_RETURN(Config c, ServeConfig(dir, legs));
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Start(c));
  IngestRow row;
  row.name = legs ? "(h) HTTP POST /v1/events → Server" : "(h0) the same, legs disabled";
  row.threads = threads;
  TANDEM_ASSIGN_OR_RETURN(row.t, PostAll(server->port(), b, threads));
  if (legs) {
    TANDEM_ASSIGN_OR_RETURN(row.catchup_s,
                            WaitForLegs(server->port(), row.t.appended, o.catchup_timeout_s));
  }
  TANDEM_RETURN_IF_ERROR(server->Stop());
  server.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return row;
}

Result<IngestRow> ProducerIngestRow(const TempDir& base, const std::vector<EntityEvent>& events,
                                    size_t batch, size_t threads) {
  const std::string dir = base.Sub("p" + std::to_string(threads));
  TANDEM_ASSIGN_OR_RETURN(Config c, ServeConfig(dir));
  LogOptions lo = c.log;  // the server's log options (fsync=always), another dir
  lo.dir = dir + "/log";
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, Log::Open(lo));
  IngestRow row;
  row.name = "(p) Producer::PublishBatch, in process";
  row.threads = threads;
  TANDEM_ASSIGN_OR_RETURN(row.t, PublishAll(*log, events, batch, threads));
  TANDEM_RETURN_IF_ERROR(log->Close());
  log.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return row;
}

Status PartA(const TempDir& base, const Options& o) {
  std::fprintf(stderr, "serve_bench A: generating %llu banking events\n",
               static_cast<unsigned long long>(o.events));
  TANDEM_ASSIGN_OR_RETURN(std::vector<EntityEvent> events, BankingEvents(o.events, o.seed));
  Bodies b;
  for (const EntityEvent& e : events) b.Add(e, o.batch);
  const std::string load_before = LoadAverage();
  std::vector<IngestRow> rows;
  for (uint64_t threads : o.threads) {
    std::fprintf(stderr, "serve_bench A: HTTP ingest, %llu client threads\n",
                 static_cast<unsigned long long>(threads));
    TANDEM_ASSIGN_OR_RETURN(IngestRow h, HttpIngestRow(base, o, b, threads, /*legs=*/true));
    TANDEM_ASSIGN_OR_RETURN(IngestRow h0, HttpIngestRow(base, o, b, threads, /*legs=*/false));
    std::fprintf(stderr, "serve_bench A: Producer::PublishBatch, %llu threads\n",
                 static_cast<unsigned long long>(threads));
    TANDEM_ASSIGN_OR_RETURN(IngestRow p, ProducerIngestRow(base, events, o.batch, threads));
    rows.push_back(std::move(h));
    rows.push_back(std::move(h0));
    rows.push_back(std::move(p));
  }
  std::printf(
      "### Ingest: HTTP vs in-process append\n\n"
      "%zu banking events (seed %llu), NDJSON batches of %llu lines (%.0f bytes/event), "
      "log fsync=always, 8 partitions; (h) with the graph and vector legs running, (h0) without. "
      "Load average before/after: %s / %s.\n\n",
      events.size(), static_cast<unsigned long long>(o.seed),
      static_cast<unsigned long long>(o.batch),
      [&] {
        double bytes = 0;
        for (const std::string& s : b.bodies) bytes += static_cast<double>(s.size());
        return bytes / static_cast<double>(events.size());
      }(),
      load_before.c_str(), LoadAverage().c_str());
  Table t({"path", "client threads", "events/s", "request p50 ms", "request p99 ms",
           "ratio to (p)", "legs caught up after last ack, s"},
          "lrrrrrr");
  for (size_t i = 0; i < rows.size(); ++i) {
    const IngestRow& r = rows[i];
    const double rate = static_cast<double>(r.t.appended) / r.t.seconds;
    const IngestRow& p = rows[i - i % 3 + 2];  // (h), (h0), (p) per thread count
    const std::string ratio =
        &r == &p ? "" : Fixed(rate / (static_cast<double>(p.t.appended) / p.t.seconds), 2);
    t.Row({r.name, std::to_string(r.threads), Fixed(rate, 0),
           Fixed(Percentile(r.t.latency_ms, 0.5), 2), Fixed(Percentile(r.t.latency_ms, 0.99), 2),
           ratio, r.catchup_s >= 0 ? Fixed(r.catchup_s, 2) : ""});
  }
  t.Print();
  std::printf("\n");
  std::fflush(stdout);
  return Status::OK();
}

// ---- (B) search ---------------------------------------------------------------

struct Query {
  std::string text;
  std::string entity_id;  // the entity the misspelled name means
};

struct SearchWorkload {
  Bodies bodies;
  uint64_t events = 0;
  uint64_t entities = 0;  // persons + companies + accounts created
  std::vector<Query> queries;
  size_t sanctioned = 0;  // queries[0, sanctioned): the sanctions-list queries
};

Result<SearchWorkload> MakeSearchWorkload(const Options& o) {
  auto entities = [](const gen::BankingCounts& c) {
    auto n = [&c](const char* t) { return c.creates.contains(t) ? c.creates.at(t) : 0; };
    return n("person") + n("company") + n("account");
  };
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<gen::BankingGenerator> g,
                          ScaledBankingGenerator(o.entities, o.seed, entities));
  SearchWorkload w;
  w.entities = entities(g->counts());
  std::vector<Query> names;  // every person and company: its name and id
  TANDEM_RETURN_IF_ERROR(g->Generate([&](const EntityEvent& e) {
    w.bodies.Add(e, o.batch);
    ++w.events;
    if (e.event_type == EventType::kCreate &&
        (e.entity_type == "person" || e.entity_type == "company")) {
      const Json p = Json::parse(e.payload, nullptr, false);
      if (!p.is_discarded() && p.contains("name") && p["name"].is_string()) {
        names.push_back({p["name"].get<std::string>(), e.entity_id});
      }
    }
    return Status::OK();
  }));
  for (const gen::SanctionedName& s : g->SanctionedNames()) {
    if (w.queries.size() >= o.queries) break;
    w.queries.push_back({s.query, s.entity_id});
  }
  w.sanctioned = w.queries.size();
  if (names.empty()) return Status::InvalidArgument("--entities: too small for any person");
  Random rnd(o.seed + 1);
  while (w.queries.size() < o.queries) {
    const Query& n = names[rnd.Uniform(names.size())];
    w.queries.push_back({gen::Misspell(n.text, rnd), n.entity_id});
  }
  return w;
}

struct SearchRow {
  std::string name;
  double seconds = 0;
  std::vector<double> ms;
  uint64_t found = 0;  // queries whose intended entity was among the hits
  double bytes = 0;    // response bytes, summed
};

Result<SearchRow> HttpSearch(httplib::Client& c, std::span<const Query> queries, uint32_t enrich,
                             uint64_t k) {
  SearchRow row;
  row.name = "(s) HTTP GET /v1/search, enrich=" + std::to_string(enrich);
  const auto start = Steady::now();
  for (const Query& q : queries) {
    const httplib::Params params = {{"q", q.text},
                                    {"k", std::to_string(k)},
                                    {"enrich", std::to_string(enrich)},
                                    {"type", "person"},
                                    {"type", "company"}};
    const auto t0 = Steady::now();
    httplib::Result res = c.Get("/v1/search", params, httplib::Headers{});
    row.ms.push_back(SecondsSince(t0) * 1e3);
    if (!res || res->status != 200) return HttpError("GET /v1/search", res);
    row.bytes += static_cast<double>(res->body.size());
    const Json j = Json::parse(res->body, nullptr, false);
    if (j.is_discarded() || !j.contains("hits")) {
      return Status::Corruption("GET /v1/search: unexpected body " + res->body.substr(0, 300));
    }
    for (const Json& h : j["hits"]) {
      if (h.value("entity_id", std::string()) == q.entity_id) {
        ++row.found;
        break;
      }
    }
  }
  row.seconds = SecondsSince(start);
  return row;
}

Result<SearchRow> StoreSearch(VectorStore& store, std::span<const Query> queries, uint64_t k) {
  SearchRow row;
  row.name = "(v) VectorStore::Search, in process";
  const auto start = Steady::now();
  for (const Query& q : queries) {
    VectorQuery vq;
    vq.text = q.text;
    vq.k = k;
    vq.entity_types = {"person", "company"};
    const auto t0 = Steady::now();
    Result<std::vector<VectorHit>> hits = store.Search(vq);
    row.ms.push_back(SecondsSince(t0) * 1e3);
    TANDEM_RETURN_IF_ERROR(hits.status());
    for (const VectorHit& h : *hits) {
      if (h.entity_id == q.entity_id) {
        ++row.found;
        break;
      }
    }
  }
  row.seconds = SecondsSince(start);
  return row;
}

constexpr size_t kWarmUpQueries = 200;

// The vector store the server wrote, opened in this process (server stopped).
Result<SearchRow> BaselineSearch(const Config& c, const std::vector<Query>& queries, uint64_t k) {
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Embedder> embedder,
                          NewHashEmbedder(c.vector.embedder.hash));
  VectorStoreOptions vo = c.vector.store;
  vo.embedder = embedder.get();
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<VectorStore> store, OpenVectorStore(vo));
  const size_t warm = std::min(kWarmUpQueries, queries.size());
  TANDEM_RETURN_IF_ERROR(
      StoreSearch(*store, std::span<const Query>(queries).first(warm), k).status());
  return StoreSearch(*store, queries, k);
}

void PrintSearch(const Options& o, const SearchWorkload& w, double ingest_s, double catchup_s,
                 uint64_t rss_kb, const std::string& load_before,
                 const std::vector<SearchRow>& rows) {
  std::printf(
      "### Search and enrich latency\n\n"
      "%llu entities (persons + companies + accounts), %llu events in all (seed %llu), "
      "ingested over HTTP in %.1f s (4 client threads); both legs caught up %.1f s after the "
      "last ack. RSS after ingest: %.0f MiB (VmRSS, the bench's copy of the workload freed). "
      "%zu queries (misspelled names: %zu sanctions-list queries, the rest gen::Misspell of "
      "random persons and companies), k=%llu, type=person,company, 1 client thread, after %zu "
      "warm-up queries. Load average before/after: %s / %s.\n\n",
      static_cast<unsigned long long>(w.entities), static_cast<unsigned long long>(w.events),
      static_cast<unsigned long long>(o.seed), ingest_s, catchup_s,
      static_cast<double>(rss_kb) / 1024, w.queries.size(),
      w.sanctioned,
      static_cast<unsigned long long>(o.k), std::min(kWarmUpQueries, w.queries.size()),
      load_before.c_str(), LoadAverage().c_str());
  Table t({"path", "QPS", "p50 ms", "p95 ms", "p99 ms", "recall@" + std::to_string(o.k),
           "mean response KiB", "p50 ratio to (v)"},
          "lrrrrrrr");
  const double base = Percentile(rows.back().ms, 0.5);
  for (const SearchRow& r : rows) {
    const double n = static_cast<double>(r.ms.size());
    t.Row({r.name, Fixed(n / r.seconds, 0), Fixed(Percentile(r.ms, 0.5), 3),
           Fixed(Percentile(r.ms, 0.95), 3), Fixed(Percentile(r.ms, 0.99), 3),
           Fixed(static_cast<double>(r.found) / n, 3),
           r.bytes > 0 ? Fixed(r.bytes / n / 1024, 1) : "",
           Fixed(Percentile(r.ms, 0.5) / base, 2)});
  }
  t.Print();
  std::printf("\n");
  std::fflush(stdout);
}

Status PartB(const TempDir& base, const Options& o) {
  std::fprintf(stderr, "serve_bench B: generating about %llu entities\n",
               static_cast<unsigned long long>(o.entities));
  TANDEM_ASSIGN_OR_RETURN(SearchWorkload w, MakeSearchWorkload(o));
  const std::string load_before = LoadAverage();
  TANDEM_ASSIGN_OR_RETURN(Config c, ServeConfig(base.Sub("search")));
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Server> server, Server::Start(c));
  std::fprintf(stderr, "serve_bench B: ingesting %llu events\n",
               static_cast<unsigned long long>(w.events));
  TANDEM_ASSIGN_OR_RETURN(Timed ingest, PostAll(server->port(), w.bodies, 4));
  TANDEM_ASSIGN_OR_RETURN(double catchup,
                          WaitForLegs(server->port(), ingest.appended, o.catchup_timeout_s));
  w.bodies = Bodies{};
  TrimHeap();
  const uint64_t rss_kb = ProcStatusKb("VmRSS");

  std::vector<SearchRow> rows;
  std::unique_ptr<httplib::Client> client = NewClient(server->port());
  const size_t warm = std::min(kWarmUpQueries, w.queries.size());
  TANDEM_RETURN_IF_ERROR(
      HttpSearch(*client, std::span<const Query>(w.queries).first(warm), 1, o.k).status());
  for (uint32_t enrich : {0u, 1u, 2u}) {
    std::fprintf(stderr, "serve_bench B: %zu searches over HTTP, enrich=%u\n", w.queries.size(),
                 enrich);
    TANDEM_ASSIGN_OR_RETURN(SearchRow r, HttpSearch(*client, w.queries, enrich, o.k));
    rows.push_back(std::move(r));
  }
  client.reset();
  TANDEM_RETURN_IF_ERROR(server->Stop());
  server.reset();
  std::fprintf(stderr, "serve_bench B: %zu searches in process\n", w.queries.size());
  TANDEM_ASSIGN_OR_RETURN(SearchRow v, BaselineSearch(c, w.queries, o.k));
  rows.push_back(std::move(v));
  PrintSearch(o, w, ingest.seconds, catchup, rss_kb, load_before, rows);
  return Status::OK();
}

int Main(int argc, char** argv) {
  Result<Options> o = ParseOptions(argc, argv);
  if (!o.ok()) {
    std::fprintf(stderr, "serve_bench: %s\n", o.status().ToString().c_str());
    return 2;
  }
  Result<TempDir> base = TempDir::Create("tandem-servebench");
  Status s = base.status();
  if (s.ok() && o->part.find('a') != std::string::npos) s = PartA(*base, *o);
  if (s.ok() && o->part.find('b') != std::string::npos) s = PartB(*base, *o);
  if (!s.ok()) {
    std::fprintf(stderr, "serve_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tandem::bench

int main(int argc, char** argv) { return tandem::bench::Main(argc, argv); }
