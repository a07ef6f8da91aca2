// libFuzzer target for HTTP request handling: every route of `tandem serve`
// (server::InstallRoutes, the same function the real server calls) on an
// httplib::Server driven through process_request over an in-memory stream,
// so no socket is opened. Behind the routes: a real log, graph store and
// vector store in a temporary directory, seeded with a few linked banking
// entities so that entity, search and graph routes have something to find.
// The legs are not started: POSTed events are appended to the log (and can
// be read back by the admin routes) but never applied, which keeps one
// input's effect independent of thread timing.
//
// Input: the request in a simplified form the harness turns into valid
// HTTP/1.1 (it computes Content-Length, so mutations of the body never
// desynchronise the framing):
//
//   POST /v1/events?x=1            first line: method and target ("GET" when
//   Content-Type: application/json   the line has no space)
//   ce-specversion: 1.0            header lines, "name: value"
//                                  a blank line
//   {"entity_id": ...}             the body (the rest of the input)
//
// Oracles beyond "no crash, no sanitizer report": no exception escapes a
// handler (Route turns one into 500 "internal": a bug to fix, not an answer),
// and every response but /metrics is a JSON document, with an "error" object
// when the status is 4xx/5xx (or, for POST /v1/events rejecting every item,
// 400 with the per-item results).
//
// State: the log and the stores persist across inputs; after kResetEvery
// inputs the whole context is torn down and rebuilt in a fresh directory, so
// disk and memory stay bounded during long runs. POST /v1/audit is not
// driven (each call builds a scratch RocksDB: tens of ms, which would
// dominate the run); its parameters use the same parsers as the other
// routes, and tests/audit covers it.
//
// Thread safety: libFuzzer calls the entry point from one thread.

#include <httplib.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "server/context.h"
#include "tandem/config.h"

namespace {

using tandem::server::Context;

constexpr uint64_t kResetEvery = 20'000;
constexpr size_t kMaxBody = size_t{1} << 20;

// Linked banking entities: a person owning an account that sent a
// transaction to another account, and a company the person directs.
constexpr const char* kSeed[] = {
    R"({"entity_id":"p-1","entity_type":"person","event_type":"create","event_id":"s1","version":1,
        "payload":{"name":"Viktor Petrov","city":"Limassol"},"text_for_embedding":"Viktor Petrov"})",
    R"({"entity_id":"c-1","entity_type":"company","event_type":"create","event_id":"s2",
        "payload":{"name":"Petrov Holdings","director_id":"p-1"}})",
    R"({"entity_id":"a-1","entity_type":"account","event_type":"create","event_id":"s3",
        "payload":{"owner_id":"p-1","iban":"CY17002001280000001200527600"}})",
    R"({"entity_id":"a-2","entity_type":"account","event_type":"create","event_id":"s4",
        "payload":{"owner_id":"c-1","iban":"DE89370400440532013000"}})",
    R"({"entity_id":"t-1","entity_type":"transaction","event_type":"create","event_id":"s5",
        "payload":{"from_account":"a-1","to_account":"a-2","amount":9900.5}})",
    R"({"entity_id":"p-2","entity_type":"person","event_type":"delete","event_id":"s6"})",
};

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "oracle failed: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void Check(const tandem::Status& s, const char* what) {
  if (!s.ok()) Fail(what, s.ToString());
}

// An httplib::Stream over one request's bytes; what the server writes is kept.
class MemoryStream final : public httplib::Stream {
 public:
  explicit MemoryStream(std::string_view in) : in_(in) {}
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, in_.size());
    std::copy_n(in_.data(), n, ptr);
    in_.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 7400;
  }
  socket_t socket() const override { return INVALID_SOCKET; }
  const std::string& out() const { return out_; }

 private:
  std::string_view in_;
  std::string out_;
};

class FuzzServer final : public httplib::Server {
 public:
  // The raw response bytes (empty when httplib refused the request before
  // writing anything).
  std::string Process(std::string_view request) {
    MemoryStream stream(request);
    bool closed = false;
    process_request(stream, /*close_connection=*/true, closed, {});
    return stream.out();
  }
};

// One log and two stores in a fresh temporary directory, routes installed.
class Harness {
 public:
  Harness() {
    std::string t = (std::filesystem::temp_directory_path() / "tandem-http-fuzz-XXXXXX").string();
    if (mkdtemp(t.data()) == nullptr) Fail("mkdtemp", t);
    dir_ = t;
    auto config = tandem::ParseConfig(
        "data_dir: " + dir_ + "\nlog: {fsync: never, partitions: 2}\n"
        "graph: {sync: false}\nvector: {sync: false, embedder: {dimension: 32}}\n",
        {});
    Check(config.status(), "config");
    ctx_ = std::make_unique<Context>(*config);
    Open(*config);
    http_.set_payload_max_length(kMaxBody);
    tandem::server::InstallRoutes(*ctx_, http_);
    ctx_->ready.store(true);
  }
  ~Harness() {
    ctx_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  FuzzServer& http() { return http_; }

 private:
  void Open(const tandem::Config& c) {
    Context& ctx = *ctx_;
    auto log = tandem::Log::Open(c.log);
    Check(log.status(), "log");
    ctx.log = std::move(*log);
    ctx.producer = std::make_unique<tandem::Producer>(*ctx.log);
    auto graph = tandem::OpenGraphStore(c.graph.store);
    Check(graph.status(), "graph store");
    ctx.graph = std::move(*graph);
    auto embedder = tandem::NewHashEmbedder(c.vector.embedder.hash);
    Check(embedder.status(), "embedder");
    ctx.embedder = std::move(*embedder);
    tandem::VectorStoreOptions vo = c.vector.store;
    vo.embedder = ctx.embedder.get();
    auto vector = tandem::OpenVectorStore(vo);
    Check(vector.status(), "vector store");
    ctx.vector = std::move(*vector);
    tandem::server::SetUpMetrics(ctx);
    Seed();
  }

  // Publishes the seed entities and applies them to both stores directly.
  void Seed() {
    Context& ctx = *ctx_;
    std::unique_ptr<tandem::EventParser> parser = ctx.parsers.Acquire();
    std::vector<tandem::StoreEvent> events;
    for (const char* json : kSeed) {
      auto e = parser->Parse(json);
      Check(e.status(), json);
      auto r = ctx.producer->Publish(*e);
      Check(r.status(), "publish seed");
      events.push_back({*e, {e->entity_type, r->partition, r->offset}});
    }
    ctx.parsers.Release(std::move(parser));
    Check(ctx.graph->ApplyBatch(events).status(), "seed graph");
    Check(ctx.vector->ApplyBatch(events).status(), "seed vector");
  }

  std::string dir_;
  std::unique_ptr<Context> ctx_;
  FuzzServer http_;
};

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return std::string(s);
}

std::string_view NextLine(std::string_view& in) {
  const size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return line;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct Request {
  std::string method;
  std::string target;
  std::string wire;  // the HTTP/1.1 request
};

Request Build(std::string_view in) {
  Request r;
  const std::string first = Trim(NextLine(in));
  const size_t space = first.find(' ');
  r.method = space == std::string::npos ? "GET" : first.substr(0, space);
  r.target = space == std::string::npos ? first : Trim(first.substr(space + 1));
  if (r.target.empty() || r.target.front() != '/') r.target.insert(0, "/");
  r.wire = r.method + " " + r.target + " HTTP/1.1\r\nHost: fuzz\r\n";
  while (!in.empty()) {
    const std::string line = Trim(NextLine(in));
    if (line.empty()) break;
    const size_t colon = line.find(':');
    const std::string_view name = std::string_view(line).substr(0, colon);
    // The harness frames the body itself.
    if (IEquals(name, "content-length") || IEquals(name, "transfer-encoding")) continue;
    r.wire += line + "\r\n";
  }
  r.wire += "Content-Length: " + std::to_string(in.size()) + "\r\n\r\n";
  r.wire.append(in.data(), in.size());
  return r;
}

// "/v1/a%75dit" → "/v1/audit": httplib decodes the path before routing.
std::string DecodedPath(const std::string& target) {
  const std::string path = target.substr(0, target.find('?'));
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && std::isxdigit(path[i + 1]) &&
        std::isxdigit(path[i + 2])) {
      out += static_cast<char>(std::stoi(path.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += path[i];
    }
  }
  return out;
}

void CheckResponse(const Request& req, std::string raw) {
  // "Expect: 100-continue" gets an interim response first.
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  if (raw.rfind(interim, 0) == 0) raw.erase(0, interim.size());
  if (raw.empty()) return;  // httplib refused the request line or headers
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) Fail("malformed response", raw);
  const int status = std::atoi(raw.c_str() + 9);
  const std::string body = raw.substr(end + 4);
  if (DecodedPath(req.target) == "/metrics" && status == 200) return;
  if (req.method == "HEAD" || body.empty()) return;
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) Fail("response body is not JSON", raw);
  // POST /v1/events answers 400 with its per-item results when every item
  // was rejected (src/server/README.md); every other error is {"error": ...}.
  const bool all_rejected = status == 400 && j.is_object() && j.contains("results");
  if (status >= 400 && !all_rejected && !(j.is_object() && j.contains("error"))) {
    Fail("an error response without an \"error\" object", raw);
  }
  if (status == 500 && j["error"].value("code", "") == "internal") {
    Fail("an exception escaped a handler", req.wire + "\n---\n" + raw);
  }
}


// Not a static unique_ptr: its destructor would run after RocksDB's own
// statics are gone ("pthread lock: Invalid argument" at exit). An atexit
// handler registered after they were constructed (some lazily, at the first
// DB open) runs before they die.
Harness* g_harness = nullptr;

void DestroyHarness() {
  delete g_harness;
  g_harness = nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t runs = 0;
  if (g_harness == nullptr) {
    g_harness = new Harness();
    // After the first open: RocksDB creates some statics lazily then.
    std::atexit(DestroyHarness);
  } else if (++runs % kResetEvery == 0) {
    DestroyHarness();
    g_harness = new Harness();
  }
  Harness* harness = g_harness;
  const Request req = Build(std::string_view(reinterpret_cast<const char*>(data), size));
  if (DecodedPath(req.target).rfind("/v1/audit", 0) == 0) return 0;
  CheckResponse(req, harness->http().Process(req.wire));
  return 0;
}
