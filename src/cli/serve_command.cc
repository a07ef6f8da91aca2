// `tandem serve`: runs the log, the legs and the HTTP API until SIGTERM/SIGINT.
//
// Exit codes: 0 after a clean drain; 2 for a bad configuration (every
// problem listed); 1 when something cannot open or the port cannot be bound;
// 130 when a second signal arrives during the drain (the log and the stores
// are crash-safe, so nothing acknowledged is lost; the legs redeliver what
// they had not committed and skip it by their markers).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "cli/commands.h"
#include "tandem/config.h"
#include "tandem/server.h"

namespace tandem::cli {
namespace {

struct ServeFlags {
  std::string config;  // empty: defaults + TANDEM_* environment
};

Result<Config> LoadServeConfig(const ServeFlags& f) {
  if (f.config.empty()) return ParseConfig("", EnvironmentOverrides(), "defaults");
  Result<Config> c = LoadConfigFile(f.config, EnvironmentOverrides());
  // A missing file named on the command line is a usage error, like a bad one.
  if (!c.ok() && c.status().IsNotFound()) return Status::InvalidArgument(c.status().message());
  return c;
}

// Bounds the drain by server.shutdown_timeout: past it the process exits with
// code 1 (crash-safe state; see the file comment).
class DrainWatchdog {
 public:
  explicit DrainWatchdog(int64_t timeout_us)
      : thread_([this, timeout_us] {
          std::unique_lock<std::mutex> l(mu_);
          if (!cv_.wait_for(l, std::chrono::microseconds(timeout_us), [this] { return done_; })) {
            std::fprintf(stderr, "tandem: shutdown_timeout passed during the drain; exiting\n");
            _exit(1);
          }
        }) {}
  ~DrainWatchdog() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

Status RunServe(const ServeFlags& f) {
  TANDEM_ASSIGN_OR_RETURN(Config c, LoadServeConfig(f));
  // Blocked before Start (every thread inherits the mask): a SIGTERM during
  // start-up stays pending until WaitForShutdownSignal installs its handler
  // and unblocks it, so even an early signal drains cleanly.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Server> s, Server::Start(c));
  std::printf("listening on http://%s:%u\n", c.server.listen.c_str(), s->port());
  std::fflush(stdout);
  std::fprintf(stderr, "tandem: data in %s; SIGTERM or Ctrl-C stops (twice: at once)\n",
               c.data_dir.c_str());
  s->WaitForShutdownSignal();
  std::fprintf(stderr, "tandem: draining (requests, legs, stores, log)\n");
  Status stopped;
  {
    DrainWatchdog watchdog(c.server.shutdown_timeout_us);
    stopped = s->Stop();
  }
  if (stopped.ok()) std::fprintf(stderr, "tandem: stopped cleanly\n");
  return stopped;
}

}  // namespace

void RegisterServeCommand(CLI::App& app, Action* action) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve", "Run the log, the graph and vector legs and the HTTP API until SIGTERM");
  serve->add_option("--config", flags->config,
                    "Config file (default: built-in defaults and TANDEM_* variables)");
  serve->callback([flags, action] { *action = [flags] { return RunServe(*flags); }; });
}

}  // namespace tandem::cli
