// `tandem replay --config tandem.yaml --leg graph|vector --from beginning|<offset>
//  [--force] [--keep-old=true|false]`: rebuilds a store from the log into
// <dir>.replay-<timestamp> (offline: no server may hold the data dir), with
// the leg's batching and parser but no subscription side effects, compares
// its digest with the live store's, and swaps it in (fsync, rename live →
// <dir>.old-<timestamp>, rename new → <dir>, fsync the parent) when they are
// equal or --force is given. The leg resumes from its subscription's
// committed positions; events the rebuilt store already holds come back as
// duplicates or stale and are skipped, so nothing is lost or applied twice.
// Exit codes: 0 swapped (or digests equal), 1 digests differ without
// --force (the live store is kept; the rebuilt one is left for inspection)
// or a failure, 2 usage.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "tandem/audit.h"
#include "tandem/config.h"

namespace tandem::cli {
namespace {

struct ReplayFlags {
  std::string config;
  std::string leg;
  std::string from = "beginning";
  bool force = false;
  bool keep_old = true;
};

std::string Timestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Result<ReplayOptions> OptionsFor(const ReplayFlags& f, const LegOptions& leg) {
  ReplayOptions o;
  if (f.from != "beginning") {
    size_t used = 0;
    unsigned long long v = 0;
    try {
      v = std::stoull(f.from, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != f.from.size() || f.from[0] == '-') {
      return Status::InvalidArgument("--from: must be \"beginning\" or an offset, got \"" + f.from +
                                     "\"");
    }
    o.from_beginning = false;
    o.from_offset = v;
  }
  o.topics = leg.topics;
  o.batch_events = leg.max_batch_events;
  o.parser = leg.parser;
  return o;
}

Status RunReplay(const ReplayFlags& f, int* exit_code) {
  if (f.leg != "graph" && f.leg != "vector") {
    return Status::InvalidArgument("--leg: must be graph or vector, got \"" + f.leg + "\"");
  }
  TANDEM_ASSIGN_OR_RETURN(Config config, LoadOfflineConfig(f.config));
  const bool graph = f.leg == "graph";
  if (graph ? !config.graph.enabled : !config.vector.enabled) {
    return Status::InvalidArgument("--leg: " + f.leg + " is not enabled in the configuration");
  }
  const LegOptions& leg = graph ? config.graph.leg : config.vector.leg;
  TANDEM_ASSIGN_OR_RETURN(ReplayOptions options, OptionsFor(f, leg));
  const std::string live = graph ? config.graph.store.dir : config.vector.store.dir;
  // <time>, or <time>-N when an earlier run of the same second left one.
  std::string stamp = Timestamp();
  for (int n = 1; std::filesystem::exists(live + ".replay-" + stamp) ||
                  std::filesystem::exists(live + ".old-" + stamp);
       ++n) {
    if (n > 1000) return Status::AlreadyExists(live + ".replay-" + stamp + " exists");
    stamp = Timestamp() + "-" + std::to_string(n);
  }
  const std::string fresh = live + ".replay-" + stamp;
  const std::string old = live + ".old-" + stamp;
  StoreDigest live_digest, new_digest;
  {
    OfflineData current;  // the live store and the log, locked against a server
    TANDEM_RETURN_IF_ERROR(current.Open(config, graph, !graph));
    Store& live_store = graph ? static_cast<Store&>(*current.graph) : *current.vector;
    TANDEM_ASSIGN_OR_RETURN(live_digest, live_store.Digest());
    OfflineData rebuilt;  // the new store only (the log is already open)
    TANDEM_RETURN_IF_ERROR(graph ? rebuilt.OpenStores(config, true, false, fresh, "")
                                 : rebuilt.OpenStores(config, false, true, "", fresh));
    Store& new_store = graph ? static_cast<Store&>(*rebuilt.graph) : *rebuilt.vector;
    std::printf("replaying the log into %s ...\n", fresh.c_str());
    std::fflush(stdout);
    TANDEM_ASSIGN_OR_RETURN(ReplayStats st, ReplayLogInto(*current.log, new_store, options));
    TANDEM_RETURN_IF_ERROR(new_store.CheckInvariants().WithContext("rebuilt store"));
    TANDEM_ASSIGN_OR_RETURN(new_digest, new_store.Digest());
    std::printf("records %llu: applied %llu, skipped %llu, refused %llu, undecodable %llu\n",
                static_cast<unsigned long long>(st.records),
                static_cast<unsigned long long>(st.applied),
                static_cast<unsigned long long>(st.skipped),
                static_cast<unsigned long long>(st.refused),
                static_cast<unsigned long long>(st.undecodable));
  }
  std::printf("live digest    %s\nrebuilt digest %s\n", live_digest.ToString().c_str(),
              new_digest.ToString().c_str());
  if (live_digest != new_digest && !f.force) {
    std::printf("digests differ: the live store is kept (--force swaps anyway); the rebuilt "
                "store is left at %s\n",
                fresh.c_str());
    *exit_code = kExitFailed;
    return Status::OK();
  }
  if (live_digest != new_digest) std::printf("digests differ; swapping anyway (--force)\n");
  TANDEM_RETURN_IF_ERROR(SwapStoreDirs(live, fresh, old));
  if (f.keep_old) {
    std::printf("swapped in; the old store is at %s\n", old.c_str());
  } else {
    std::error_code ec;
    std::filesystem::remove_all(old, ec);
    std::printf("swapped in; the old store was removed\n");
  }
  return Status::OK();
}

}  // namespace

void RegisterReplayCommand(CLI::App& app, Action* action, int* exit_code) {
  auto f = std::make_shared<ReplayFlags>();
  CLI::App* cmd = app.add_subcommand(
      "replay", "Rebuild a store from the log into a fresh directory and swap it in (offline)");
  cmd->add_option("--config", f->config, "Config file (default: defaults + TANDEM_* env)");
  cmd->add_option("--leg", f->leg, "graph or vector")->required();
  cmd->add_option("--from", f->from, "beginning (default) or an offset in every partition");
  cmd->add_flag("--force", f->force, "Swap even when the digests differ");
  cmd->add_option("--keep-old", f->keep_old, "Keep the old store as <dir>.old-<time> (default true)");
  cmd->callback([f, action, exit_code] {
    *action = [f, exit_code] { return RunReplay(*f, exit_code); };
  });
}

}  // namespace tandem::cli
