// Server::Start/Stop: opens the log, the stores and the legs, serves HTTP,
// and drains everything in order on shutdown.
#include "tandem/server.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>

#include "backend/backend.h"
#include "server/context.h"
#include "tandem/bus.h"

namespace tandem {
namespace {

using server::Context;
using server::Json;

// The signal handler's only state: where to write the wake-up byte, and how
// many signals arrived. Process-wide by nature (signal dispositions are).
std::atomic<int> g_signal_fd{-1};
std::atomic<int> g_signals{0};

extern "C" void OnShutdownSignal(int) {
  // A second signal while the first one drains: give up at once.
  if (g_signals.fetch_add(1) >= 1) _exit(130);
  const int fd = g_signal_fd.load();
  if (fd >= 0) {
    const char c = 's';
    [[maybe_unused]] ssize_t n = write(fd, &c, 1);
  }
}

// One enrichment leg per configured enricher. Each leg's input hash ignores
// the fields of every other enricher, so two enrichers of one type do not
// re-trigger each other.
Status AddEnrichmentLegs(Context& ctx) {
  const EnrichmentConfig& en = ctx.config.enrichment;
  std::vector<std::string> all_fields;
  std::vector<const EnricherConfig*> enabled;  // a disabled stage does nothing
  for (const EnricherConfig& e : en.enrichers) {
    if (e.enabled) enabled.push_back(&e);
  }
  for (const EnricherConfig* ep : enabled) {
    const EnricherConfig& e = *ep;
    Result<std::unique_ptr<Enricher>> made = Status::InvalidArgument("kind: unknown");
    if (e.kind == "http") {
      made = NewHttpEnricher(e.http);
    } else if (ctx.graph) {
      made = NewNetworkRiskEnricher(*ctx.graph, e.network_risk);
    } else {
      made = Status::FailedPrecondition("network_risk needs graph.enabled");
    }
    if (!made.ok()) return made.status().WithContext("enrichment.enrichers " + e.name);
    all_fields.insert(all_fields.end(), (*made)->fields().begin(), (*made)->fields().end());
    ctx.enrichers.push_back(std::move(*made));
  }
  for (size_t i = 0; i < enabled.size(); ++i) {
    const EnricherConfig& e = *enabled[i];
    EnrichLegOptions o = e.leg;
    const std::vector<std::string>& own = ctx.enrichers[i]->fields();
    for (const std::string& f : all_fields) {
      if (std::find(own.begin(), own.end(), f) == own.end()) o.ignored_fields.push_back(f);
    }
    o.latency = &ctx.metrics.AddHistogram("tandem_enricher_duration_seconds",
                                          "Time of one enricher call, by enricher",
                                          Histogram::LatencyBuckets(), {{"enricher", e.name}});
    Result<std::unique_ptr<EnrichLeg>> leg = NewEnrichLeg(*ctx.log, *ctx.enrichers[i], o);
    if (!leg.ok()) return leg.status().WithContext("enrichment.enrichers " + e.name);
    ctx.enrich_legs.push_back(leg->get());
    ctx.legs.push_back({"enrich-" + e.name, std::move(*leg)});
  }
  return Status::OK();
}

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(const Config& config) : ctx_(config) {
    if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  }
  ~ServerImpl() override {
    (void)Stop();
    for (int fd : wake_) {
      if (fd >= 0) close(fd);
    }
  }

  Status Open();
  uint16_t port() const override { return port_; }
  void WaitForShutdownSignal() override;
  void RequestShutdown() override;
  Status Stop() override;

 private:
  Status Bind();
  Status OpenStores();
  Status StartLegs();
  void SetUpRoutes();
  void RestoreSignals();

  Context ctx_;
  GraphSchema schema_;
  httplib::Server http_;
  std::thread listener_;
  uint16_t port_ = 0;
  int wake_[2] = {-1, -1};
  std::mutex stop_mu_;
  bool stopped_ = false;  // GUARDED_BY(stop_mu_)
  bool signals_installed_ = false;
  struct sigaction old_term_ {};
  struct sigaction old_int_ {};
};

Status ServerImpl::Bind() {
  const ServerConfig& s = ctx_.config.server;
  http_.set_payload_max_length(s.max_body_bytes);
  http_.set_keep_alive_timeout(1);  // bounds how long a drain waits for idle connections
  // httplib's default adds SO_REUSEPORT, which would let a second server
  // share a port in use instead of failing: keep only SO_REUSEADDR.
  http_.set_socket_options([](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // httplib writes a response's headers and body in separate writes: without
  // TCP_NODELAY a small body waits for the client's delayed ACK (40 ms).
  http_.set_tcp_nodelay(true);
  const size_t threads = std::max<uint32_t>(1, s.threads);
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  int port = s.port;
  bool ok = false;
  if (s.port == 0) {
    port = http_.bind_to_any_port(s.listen);
    ok = port > 0;
  } else {
    ok = http_.bind_to_port(s.listen, s.port);
  }
  if (!ok) {
    return Status::IOError("server.listen: cannot listen on " + s.listen + ":" +
                           std::to_string(s.port) +
                           " (address in use, or not an address of this machine)");
  }
  port_ = static_cast<uint16_t>(port);
  return Status::OK();
}

Status ServerImpl::OpenStores() {
  const Config& c = ctx_.config;
  TANDEM_ASSIGN_OR_RETURN(ctx_.log, OpenBus(c.bus, c.log));  // bus.kind picks the Log
  ctx_.producer = std::make_unique<Producer>(*ctx_.log);
  // graph.backend / vector.backend pick the stores (src/backend).
  if (c.graph.enabled) {
    TANDEM_ASSIGN_OR_RETURN(ctx_.graph, OpenGraphBackend(c, schema_, ""));
  }
  if (c.vector.enabled) {
    TANDEM_ASSIGN_OR_RETURN(ctx_.embedder, OpenEmbedder(c.vector.embedder));
    TANDEM_ASSIGN_OR_RETURN(ctx_.vector, OpenVectorBackend(c, ctx_.embedder.get(), ""));
  }
  return Status::OK();
}

Status ServerImpl::StartLegs() {
  const Config& c = ctx_.config;
  if (ctx_.graph) {
    Result<std::unique_ptr<Leg>> leg =
        MakeStageLeg(*ctx_.log, *ctx_.graph, "graph", c.graph.leg, c.stages.graph);
    if (!leg.ok()) return leg.status().WithContext("graph.leg");
    ctx_.legs.push_back({"graph", std::move(*leg)});
  }
  if (ctx_.vector) {
    Result<std::unique_ptr<Leg>> leg =
        MakeStageLeg(*ctx_.log, *ctx_.vector, "vector", c.vector.leg, c.stages.vector);
    if (!leg.ok()) return leg.status().WithContext("vector.leg");
    ctx_.legs.push_back({"vector", std::move(*leg)});
  }
  if (c.enrichment.enabled) TANDEM_RETURN_IF_ERROR(AddEnrichmentLegs(ctx_));
  for (server::LegEntry& e : ctx_.legs) {
    TANDEM_RETURN_IF_ERROR(e.leg->Start().WithContext(e.store + ".leg"));
  }
  return Status::OK();
}

void ServerImpl::SetUpRoutes() { server::InstallRoutes(ctx_, http_); }

Status ServerImpl::Open() {
  // Configuration problems first: once bound, httplib offers no way to close
  // the socket of a server that never listened (it stays open, unused, until
  // the process exits).
  if (ctx_.config.graph.enabled) {
    TANDEM_ASSIGN_OR_RETURN(schema_, LoadGraphSchema(ctx_.config.graph.schema_file));
  }
  TANDEM_RETURN_IF_ERROR(Bind());
  TANDEM_RETURN_IF_ERROR(OpenStores());
  server::SetUpMetrics(ctx_);
  TANDEM_RETURN_IF_ERROR(StartLegs());
  SetUpRoutes();
  listener_ = std::thread([this] { http_.listen_after_bind(); });
  // The socket already accepts (connections queue in its backlog); waiting
  // makes a Stop right after Start race-free. Bounded: 10 s.
  for (int i = 0; i < 10'000 && !http_.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!http_.is_running()) return Status::IOError("server: the HTTP listener did not start");
  ctx_.ready.store(true);
  return Status::OK();
}

void ServerImpl::WaitForShutdownSignal() {
  if (wake_[0] < 0) return;
  g_signals.store(0);
  g_signal_fd.store(wake_[1]);
  struct sigaction sa {};
  sa.sa_handler = OnShutdownSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, &old_term_);
  sigaction(SIGINT, &sa, &old_int_);
  signals_installed_ = true;
  // A caller may block the signals before Start so that one arriving during
  // start-up waits for the handler instead of killing the process (tandem
  // serve does); they are deliverable from here on.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  pollfd p{wake_[0], POLLIN, 0};
  while (true) {
    const int n = poll(&p, 1, -1);
    if (n > 0) break;
    if (n < 0 && errno != EINTR) break;
  }
  ctx_.stopping.store(true);
  ctx_.ready.store(false);
}

void ServerImpl::RequestShutdown() {
  ctx_.stopping.store(true);
  ctx_.ready.store(false);
  if (wake_[1] >= 0) {
    const char c = 'r';
    [[maybe_unused]] ssize_t n = write(wake_[1], &c, 1);
  }
}

void ServerImpl::RestoreSignals() {
  if (!signals_installed_) return;
  g_signal_fd.store(-1);
  sigaction(SIGTERM, &old_term_, nullptr);
  sigaction(SIGINT, &old_int_, nullptr);
  signals_installed_ = false;
}

Status ServerImpl::Stop() {
  std::lock_guard<std::mutex> l(stop_mu_);
  if (stopped_) return Status::OK();
  stopped_ = true;
  ctx_.stopping.store(true);
  ctx_.ready.store(false);
  // 1. No new requests; in-flight ones finish (the pool joins its workers).
  if (listener_.joinable()) {
    http_.stop();
    listener_.join();
  }
  // 2. Legs finish the batch in hand and commit their positions; the
  // enrichment legs first, as they publish into the log the others read.
  Status result;
  for (EnrichLeg* e : ctx_.enrich_legs) {
    Status s = e->Stop();
    if (!s.ok() && result.ok()) result = s.WithContext("enrich-" + e->enrich_options().name + ".leg");
  }
  for (server::LegEntry& e : ctx_.legs) {
    Status s = e.leg->Stop();
    if (!s.ok() && result.ok()) result = s.WithContext(e.store + ".leg");
  }
  ctx_.legs.clear();
  ctx_.enrich_legs.clear();
  ctx_.enrichers.clear();  // after their legs, before the graph store they read
  // 3. Stores (the vector store snapshots its indexes) and the log.
  if (ctx_.vector) {
    Status s = ctx_.vector->SaveSnapshots();
    if (!s.ok() && result.ok()) result = s.WithContext("vector store");
  }
  ctx_.vector.reset();
  ctx_.embedder.reset();
  ctx_.graph.reset();
  ctx_.producer.reset();
  if (ctx_.log) {
    Status s = ctx_.log->Close();
    if (!s.ok() && result.ok()) result = s.WithContext("log");
    ctx_.log.reset();
  }
  RestoreSignals();
  return result;
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const Config& config) {
  if (config.server.listen.empty()) {
    return Status::InvalidArgument("server.listen: must not be empty");
  }
  auto s = std::make_unique<ServerImpl>(config);
  TANDEM_RETURN_IF_ERROR(s->Open());
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace tandem
