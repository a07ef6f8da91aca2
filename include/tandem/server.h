// tandem serve: one process running the log, the graph and vector legs and
// the HTTP API over them (DESIGN §6, issue 5).
//
//   TANDEM_ASSIGN_OR_RETURN(Config c, LoadConfigFile("tandem.yaml", EnvironmentOverrides()));
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Server> s, Server::Start(c));
//   std::printf("listening on http://%s:%u\n", c.server.listen.c_str(), s->port());
//   s->WaitForShutdownSignal();   // SIGTERM / SIGINT
//   TANDEM_RETURN_IF_ERROR(s->Stop());
//
// Start opens (or recovers) the log and the stores under Config::data_dir,
// starts the legs, and serves HTTP once everything is open; /readyz answers
// 200 from then on. Stop drains: the listener closes (new requests are
// refused), in-flight requests finish (up to server.shutdown_timeout), the
// legs stop and commit their positions, the stores and the log close.
//
// Routes (JSON bodies; errors are {"error": {"code", "message"}} with the
// field named in the message):
//   POST /v1/events                   ingest: object, array or NDJSON; CloudEvents
//   GET  /v1/entities/{id}            the entity in every store, and whether they agree
//   GET  /v1/search                   kNN + graph context for each hit
//   GET  /v1/graph/{id}/neighbors     edges by direction and label
//   GET  /v1/graph/path               shortest path
//   GET  /v1/admin/topics             topics with per-partition stats
//   GET  /v1/admin/topics/{t}/records peek records
//   GET  /v1/admin/legs               legs: stats, breaker state, lag per partition
//   GET  /v1/admin/dlq                dead-letter topics and their records
//   POST /v1/admin/dlq/{t}/replay     re-publish dead letters to their topic
//   GET  /metrics                     Prometheus text format
//   GET  /livez, /readyz, /healthz    liveness, readiness (and its alias)
// Write and admin routes need "Authorization: Bearer <server.auth_token>"
// when a token is configured (401 otherwise; the token is compared in
// constant time).
//
// Signals: WaitForShutdownSignal unblocks SIGTERM and SIGINT; a caller may
// block them before Start (tandem serve does) so that a signal arriving
// during start-up waits for a clean drain instead of killing the process.
//
// Thread safety: Start/Stop from one thread; the HTTP handlers run on the
// server's worker threads.
#pragma once

#include <cstdint>
#include <memory>

#include "tandem/config.h"
#include "tandem/status.h"

namespace tandem {

class Server {
 public:
  Server() = default;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Stops the server (as Stop) if it runs.
  virtual ~Server() = default;

  // InvalidArgument for a config that cannot run (bad schema file, bad
  // listen address); the log's and stores' errors when they cannot open;
  // IOError naming the address when the port cannot be bound.
  static Result<std::unique_ptr<Server>> Start(const Config& config);

  // The bound port (the configured one, or the one picked for port 0).
  virtual uint16_t port() const = 0;

  // Blocks until SIGTERM or SIGINT arrives (or RequestShutdown is called).
  virtual void WaitForShutdownSignal() = 0;
  // Makes WaitForShutdownSignal return (tests; signal handlers).
  virtual void RequestShutdown() = 0;

  // Drains and closes everything (see the file comment). Idempotent.
  virtual Status Stop() = 0;
};

}  // namespace tandem
