// The tandem command tree. Each family registers its subcommands on the root
// CLI11 app and records which one runs; main() runs it and maps the Status to
// an exit code.
//
// Thread safety: single-threaded setup.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "tandem/status.h"

namespace CLI {
class App;
}

namespace tandem {
class Log;
class GraphStore;
class Embedder;
class VectorStore;
struct Config;
struct GraphSchema;
}  // namespace tandem

namespace tandem::cli {

// Exit codes of every tandem command (README.md; the footer of `tandem --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,           // ran and failed: server error 5xx other than 503, corrupt data
  kExitUsage = 2,            // bad usage or configuration (flags, --url, a 400 from the server)
  kExitUnavailable = 3,      // server unreachable, timed out, 503/429 after retries: retry later
  kExitNotFound = 4,         // entity, topic or file not found
  kExitPartial = 5,          // partly done: some items rejected, the rest accepted
  kExitUnauthenticated = 6,  // 401/403: token missing or wrong
};

// The table above as text, for `tandem --help`.
const char* ExitCodeTable();

// Exit code for a command's Status: 0 OK, 2 InvalidArgument, 3 Unavailable,
// 4 NotFound, 1 otherwise. Client commands set 5 and 6 (and the HTTP-derived
// codes) themselves through the `exit_code` of their Register function.
int ExitCodeFor(const Status& s);

// The action chosen by the parsed command line.
using Action = std::function<Status()>;

// `tandem log append|read|stats|verify`.
void RegisterLogCommands(CLI::App& app, Action* action);

// `tandem init`.
void RegisterInitCommand(CLI::App& app, Action* action);

// `tandem generate` (synthetic banking data, src/gen/banking.h); with --send
// it is a client command and sets *exit_code like RegisterClientCommands.
void RegisterGenerateCommand(CLI::App& app, Action* action, int* exit_code);

// `tandem produce|search|entity|topics|subscriptions|dlq` (client_commands.cc):
// HTTP to a running `tandem serve`. A failed run sets *exit_code (3..6, see
// ExitCode) when the HTTP outcome has no StatusCode of its own; main() uses it
// instead of ExitCodeFor when it is not 0.
void RegisterClientCommands(CLI::App& app, Action* action, int* exit_code);

// `tandem enrich backfill` (enrich_command.cc): a client command like
// RegisterClientCommands, driving POST /v1/enrich/backfill page by page.
void RegisterEnrichCommand(CLI::App& app, Action* action, int* exit_code);

// `tandem serve` (built when src/server is: TANDEM_HAVE_SERVER).
void RegisterServeCommand(CLI::App& app, Action* action);

// `tandem audit` (audit_command.cc): over HTTP (--url) or --offline; sets
// *exit_code 0 clean, 1 divergent, 3 server unreachable.
void RegisterAuditCommand(CLI::App& app, Action* action, int* exit_code);

// `tandem replay --leg graph|vector --from beginning|<offset>` (replay_command.cc):
// rebuilds a store from the log into a fresh directory and swaps it in.
// *exit_code 1 when the digests differ and the live store is kept.
void RegisterReplayCommand(CLI::App& app, Action* action, int* exit_code);

// The data dir opened by an offline command (audit --offline, replay) when no
// server runs (audit_command.cc). Open: the stores first, then the log;
// a RocksDB or log LOCK held by a running server becomes FailedPrecondition
// "data dir in use by a running tandem serve; use --url". `graph_dir` /
// `vector_dir` replace the configured store directories when not empty.
struct OfflineData {
  ~OfflineData();
  Status Open(const Config& config, bool graph_store, bool vector_store);
  // The stores only (enabled ones among those asked), no log.
  Status OpenStores(const Config& config, bool graph_store, bool vector_store,
                    const std::string& graph_dir, const std::string& vector_dir);
  std::unique_ptr<Log> log;
  std::unique_ptr<GraphStore> graph;
  std::unique_ptr<Embedder> embedder;
  std::unique_ptr<VectorStore> vector;
};
// The config of an offline command: the file, or defaults + TANDEM_* (empty path).
Result<Config> LoadOfflineConfig(const std::string& path);
// `s` turned into the "data dir in use" error when it is a lock conflict.
Status DataDirInUse(const Status& s);

}  // namespace tandem::cli
