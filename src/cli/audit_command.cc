// `tandem audit`: proves that every store agrees with the log (tandem/audit.h).
//
//   tandem audit [--url URL] [--token T] [--repair] [--json] [--max-ids N]
//       asks a running `tandem serve` (POST /v1/audit), through the client of
//       cli/client.h;
//   tandem audit --offline [--config tandem.yaml] [--repair] [--json] ...
//       opens the data dir itself when no server runs.
//
// With --repair a second audit runs after the repair and decides the exit
// code. Exit codes: 0 clean, 1 divergent (or failed), 2 usage, 3 server
// unreachable. The offline stores' RocksDB LOCK refuses a second opener: that
// becomes "data dir in use by a running tandem serve; use --url".
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "backend/backend.h"
#include "cli/client.h"
#include "cli/commands.h"
#include "tandem/audit.h"
#include "tandem/config.h"

namespace tandem::cli {

Status DataDirInUse(const Status& s) {
  if (s.ok()) return s;
  const std::string& m = s.message();
  if (m.find("LOCK") != std::string::npos || m.find("lock") != std::string::npos) {
    return Status::FailedPrecondition("data dir in use by a running tandem serve; use --url (" +
                                      m + ")");
  }
  return s;
}

Result<Config> LoadOfflineConfig(const std::string& path) {
  if (path.empty()) return ParseConfig("", EnvironmentOverrides(), "defaults");
  Result<Config> c = LoadConfigFile(path, EnvironmentOverrides());
  if (!c.ok() && c.status().IsNotFound()) return Status::InvalidArgument(c.status().message());
  return c;
}

Status OfflineData::Open(const Config& config, bool graph_store, bool vector_store) {
  // The stores first: their RocksDB LOCK is what tells a running server apart.
  TANDEM_RETURN_IF_ERROR(OpenStores(config, graph_store, vector_store, "", ""));
  Result<std::unique_ptr<Log>> l = OpenBus(config.bus, config.log);  // the embedded log or Redis
  if (!l.ok()) return DataDirInUse(l.status().WithContext("log " + config.log.dir));
  log = std::move(l).value();
  return Status::OK();
}

Status OfflineData::OpenStores(const Config& config, bool graph_store, bool vector_store,
                               const std::string& graph_dir, const std::string& vector_dir) {
  // graph.backend / vector.backend pick the stores (src/backend).
  if (graph_store && config.graph.enabled) {
    TANDEM_ASSIGN_OR_RETURN(GraphSchema schema, LoadGraphSchema(config.graph.schema_file));
    Result<std::unique_ptr<GraphStore>> g = OpenGraphBackend(config, schema, graph_dir);
    if (!g.ok()) return DataDirInUse(g.status());
    graph = std::move(g).value();
  }
  if (vector_store && config.vector.enabled) {
    TANDEM_ASSIGN_OR_RETURN(embedder, OpenEmbedder(config.vector.embedder));
    Result<std::unique_ptr<VectorStore>> v = OpenVectorBackend(config, embedder.get(), vector_dir);
    if (!v.ok()) return DataDirInUse(v.status());
    vector = std::move(v).value();
  }
  return Status::OK();
}

OfflineData::~OfflineData() {
  vector.reset();
  embedder.reset();
  graph.reset();
  if (log != nullptr) (void)log->Close();
}

namespace {

using Json = nlohmann::json;

struct AuditFlags {
  std::string url;
  std::string token;
  std::string timeout = "600s";
  bool offline = false;
  std::string config;
  bool repair = false;
  bool json = false;
  size_t max_ids = 100;
};

// The text of a report received as JSON (the fields of AuditReportJson).
std::string TextOfJson(const Json& r) {
  std::string out;
  const auto stores = r.find("stores");
  if (stores == r.end() || !stores->is_array()) return out;
  for (const Json& s : *stores) {
    out += s.value("name", "?") + ": " + (s.value("clean", false) ? "clean" : "DIVERGENT");
    for (const char* k : {"checked", "missing", "extra", "stale", "unindexed", "dead_lettered",
                          "pending"}) {
      out += std::string(", ") + k + " " + std::to_string(s.value(k, uint64_t{0}));
    }
    out += "\n";
    const auto ids = s.find("ids");
    if (ids != s.end() && ids->is_object()) {
      for (auto kind = ids->begin(); kind != ids->end(); ++kind) {
        if (!kind->is_array() || kind->empty()) continue;
        std::string list;
        for (const Json& id : *kind) {
          if (id.is_string()) list += (list.empty() ? "" : ", ") + id.get<std::string>();
        }
        out += "  " + kind.key() + ": " + list + "\n";
      }
    }
    if (r.value("repair", false)) {
      out += "  repaired " + std::to_string(s.value("repaired", uint64_t{0})) +
             ", skipped (changed meanwhile) " +
             std::to_string(s.value("repair_skipped_changed", uint64_t{0})) + ", refused " +
             std::to_string(s.value("repair_failed", uint64_t{0})) + "\n";
    }
    if (s.contains("identity")) {
      const Json& i = s["identity"];
      out += "  leg: acknowledged " + std::to_string(i.value("acknowledged", uint64_t{0})) +
             " = applied " + std::to_string(i.value("applied", uint64_t{0})) + " + skipped " +
             std::to_string(i.value("skipped", uint64_t{0})) + " + dead-lettered " +
             std::to_string(i.value("dead_lettered", uint64_t{0})) + ": " +
             (i.value("holds", false) ? "holds" : "DOES NOT HOLD") + "\n";
    }
  }
  return out;
}

// One audit over HTTP; *clean receives the report's verdict.
Status AuditOverHttp(HttpClient& client, const AuditFlags& f, bool repair, bool* clean) {
  const std::string target = std::string("/v1/audit?repair=") + (repair ? "true" : "false") +
                             "&max_ids=" + std::to_string(f.max_ids);
  TANDEM_ASSIGN_OR_RETURN(HttpReply reply, client.Post(target, "", "application/json"));
  if (!reply.ok()) return client.Fail(reply, "audit");
  Json r = Json::parse(reply.body, nullptr, false);
  if (r.is_discarded() || !r.is_object()) {
    return Status::Corruption("audit: the server's reply is not a JSON object");
  }
  *clean = r.value("clean", false);
  std::fputs(f.json ? (reply.body + "\n").c_str() : TextOfJson(r).c_str(), stdout);
  return Status::OK();
}

Status AuditOffline(OfflineData& d, const Config& config, const AuditFlags& f, bool repair,
                    bool* clean) {
  std::vector<AuditTarget> targets;
  if (d.graph != nullptr) {
    targets.push_back({"graph", d.graph.get(),
                       config.graph.leg.name.empty() ? "graph" : config.graph.leg.name, nullptr});
  }
  if (d.vector != nullptr) {
    targets.push_back({"vector", d.vector.get(),
                       config.vector.leg.name.empty() ? "vector" : config.vector.leg.name,
                       nullptr});
  }
  AuditOptions o;
  o.temp_dir = config.data_dir + "/audit-tmp";
  o.repair = repair;
  o.max_ids = f.max_ids;
  o.parser = config.graph.leg.parser;
  TANDEM_ASSIGN_OR_RETURN(AuditReport r, RunAudit(*d.log, targets, o));
  *clean = r.clean();
  std::fputs(f.json ? (AuditReportJson(r) + "\n").c_str() : AuditReportText(r).c_str(), stdout);
  return Status::OK();
}

Status RunAuditCommand(const AuditFlags& f, int* exit_code) {
  bool clean = false;
  if (f.offline) {
    TANDEM_ASSIGN_OR_RETURN(Config config, LoadOfflineConfig(f.config));
    OfflineData d;
    TANDEM_RETURN_IF_ERROR(d.Open(config, true, true));
    TANDEM_RETURN_IF_ERROR(AuditOffline(d, config, f, f.repair, &clean));
    if (f.repair) TANDEM_RETURN_IF_ERROR(AuditOffline(d, config, f, false, &clean));
  } else {
    ClientOptions o;
    o.url = f.url;
    o.token = f.token;
    if (o.token.empty()) {
      const char* env = std::getenv("TANDEM_TOKEN");
      if (env != nullptr) o.token = env;
    }
    TANDEM_ASSIGN_OR_RETURN(o.timeout_seconds, ParseTimeout(f.timeout));
    TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> client, HttpClient::Create(o));
    Status s = AuditOverHttp(*client, f, f.repair, &clean);
    if (s.ok() && f.repair) s = AuditOverHttp(*client, f, false, &clean);
    if (!s.ok()) {
      *exit_code = client->failure_exit_code();
      return s;
    }
  }
  *exit_code = clean ? kExitOk : kExitFailed;
  return Status::OK();
}

}  // namespace

void RegisterAuditCommand(CLI::App& app, Action* action, int* exit_code) {
  auto f = std::make_shared<AuditFlags>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "Prove that every store agrees with the log (exit 0 clean, 1 divergent)");
  cmd->add_option("--url", f->url, "Server URL (default $TANDEM_URL or http://127.0.0.1:7400)");
  cmd->add_option("--token", f->token, "Bearer token (default $TANDEM_TOKEN)");
  cmd->add_option("--timeout", f->timeout, "Per request (default 600s)");
  cmd->add_flag("--offline", f->offline, "Open the data dir directly (no server may run)");
  cmd->add_option("--config", f->config, "Config file for --offline (default: defaults + env)");
  cmd->add_flag("--repair", f->repair, "Re-apply the truth to divergent entities, then re-audit");
  cmd->add_flag("--json", f->json, "Print the report as JSON");
  cmd->add_option("--max-ids", f->max_ids, "Ids listed per kind (default 100)")
      ->check(CLI::Range(0, 1'000'000));
  cmd->callback([f, action, exit_code] {
    *action = [f, exit_code] {
      if (!f->offline && !f->config.empty()) {
        return Status::InvalidArgument("--config: only with --offline (the server has its own)");
      }
      return RunAuditCommand(*f, exit_code);
    };
  });
}

}  // namespace tandem::cli
