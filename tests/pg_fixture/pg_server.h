// A real PostgreSQL server for tests and benchmarks: initdb into a temp dir,
// pg_ctl start on a free loopback port (unix socket in the temp dir too),
// stopped by the PID in postmaster.pid and removed with its directory.
// initdb and pg_ctl refuse root, so as root they run as the `postgres` user
// through runuser(1) and the directory is chowned to it (../shared/DEPS.md).
//
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<PgServer> pg, PgServer::Start({}));
//   TANDEM_RETURN_IF_ERROR(pg->CreateDatabase("t1"));
//   pqxx::connection c(pg->Url("t1"));
//
// A watchdog child stops the server and removes the directory if this
// process dies without calling Stop (a SIGKILLed or aborted test binary).
//
// Binaries: $TANDEM_PG_BINDIR, else the highest /usr/lib/postgresql/*/bin.
// A server costs about 1 s (initdb about 2 s the first time; later servers
// of the same user copy a cached initdb template from $TMPDIR).
//
// Thread safety: one PgServer per thread of control; CreateDatabase may be
// called from any thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "tandem/status.h"

namespace tandem::pg_test {

struct PgServerOptions {
  // fsync off (default) is enough for tests that kill clients, not the
  // server; benchmarks should measure with fsync on.
  bool fsync = false;
  // Extra `-c name=value` settings for postgres.
  std::vector<std::string> settings;
};

class PgServer {
 public:
  static Result<std::unique_ptr<PgServer>> Start(const PgServerOptions& options) {
    std::string bin = BinDir();
    if (bin.empty()) return Status::Unavailable("pg_server: no PostgreSQL binaries found");
    std::string tmpl = TempRoot() + "/tandem-pg-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return Status::IOError("pg_server: mkdtemp failed");
    std::unique_ptr<PgServer> s(new PgServer(bin, tmpl));
    TANDEM_RETURN_IF_ERROR(s->Init());
    Status last;
    for (int attempt = 0; attempt < 5; ++attempt) {  // a free port can be taken meanwhile
      s->port_ = FreePort();
      last = s->Launch(options);
      if (last.ok()) return s;
    }
    return last;
  }

  ~PgServer() { Stop(); }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }

  // libpq connection string for database `db` as the superuser.
  std::string Url(const std::string& db = "postgres") const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + db;
  }

  Status CreateDatabase(const std::string& name) {
    try {
      pqxx::connection c(Url());
      pqxx::nontransaction n(c);
      n.exec("CREATE DATABASE " + c.quote_name(name));
      return Status::OK();
    } catch (const std::exception& e) {
      return Status::IOError(std::string("pg_server: create database: ") + e.what());
    }
  }

  // A new database named <prefix><n>, unique in this server.
  Result<std::string> FreshDatabase(const std::string& prefix = "t") {
    std::string name = prefix + std::to_string(next_db_.fetch_add(1));
    TANDEM_RETURN_IF_ERROR(CreateDatabase(name));
    return name;
  }

  // SIGINT (fast shutdown) to the postmaster, waited for (bounded), then
  // the directory removed. Idempotent.
  void Stop() {
    if (watchdog_ > 0) {
      kill(watchdog_, SIGKILL);
      waitpid(watchdog_, nullptr, 0);
      watchdog_ = 0;
    }
    if (pid_ > 0) {
      kill(pid_, SIGINT);
      for (int i = 0; i < 300 && Alive(pid_); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (Alive(pid_)) kill(pid_, SIGKILL);
      pid_ = 0;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
  }

  // Kills the postmaster with SIGKILL (a server crash); the directory stays
  // until Stop. Its children exit once they notice.
  void Kill() {
    if (pid_ > 0) kill(pid_, SIGKILL);
  }

 private:
  PgServer(std::string bin, std::string dir) : bin_(std::move(bin)), dir_(std::move(dir)) {}

  static std::string TempRoot() {
    const char* t = std::getenv("TMPDIR");
    return t != nullptr && *t != '\0' ? t : "/tmp";
  }

  static std::string BinDir() {
    if (const char* b = std::getenv("TANDEM_PG_BINDIR"); b != nullptr && *b != '\0') return b;
    std::vector<std::string> found;
    std::error_code ec;
    for (const auto& d : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      if (std::filesystem::exists(d.path() / "bin" / "pg_ctl")) found.push_back(d.path() / "bin");
    }
    if (found.empty()) return "";
    // Highest major version: compare numerically ("9.6" < "15").
    return *std::max_element(found.begin(), found.end(), [](const auto& a, const auto& b) {
      auto major = [](const std::string& p) {
        return std::atoi(std::filesystem::path(p).parent_path().filename().c_str());
      };
      return major(a) < major(b);
    });
  }

  static bool Root() { return geteuid() == 0; }

  // `cmd` as the postgres user when we are root.
  static std::string AsPostgres(const std::string& cmd) {
    return Root() ? "runuser -u postgres -- " + cmd : cmd;
  }

  static Status Run(const std::string& cmd, const std::string& what) {
    int rc = std::system(cmd.c_str());
    if (rc != 0) return Status::IOError("pg_server: " + what + " failed (" + cmd + ")");
    return Status::OK();
  }

  static int FreePort() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = 0;
    if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
      port = ntohs(a.sin_port);
    }
    if (fd >= 0) close(fd);
    return port;
  }

  static bool Alive(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    if (!status) return false;
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("State:", 0) == 0) return line.find('Z') == std::string::npos;
    }
    return false;
  }

  // The data directory: a copy of this user's cached initdb template,
  // created (atomically, by rename) on first use.
  Status Init() {
    const std::string owner = Root() ? "chown -R postgres " : "true ";
    const std::string cache = TempRoot() + "/tandem-pg-template-" + std::to_string(geteuid()) +
                              "-" + std::filesystem::path(bin_).parent_path().filename().string();
    if (!std::filesystem::exists(cache + "/PG_VERSION")) {
      const std::string build = dir_ + "/template";
      TANDEM_RETURN_IF_ERROR(Run(owner + dir_, "chown"));
      TANDEM_RETURN_IF_ERROR(Run(AsPostgres(bin_ + "/initdb -D " + build +
                                            " -U postgres -A trust -E UTF8 --locale=C.UTF-8"
                                            " --no-sync > " +
                                            dir_ + "/initdb.log 2>&1"),
                                 "initdb"));
      std::error_code ec;
      std::filesystem::rename(build, cache, ec);  // loses harmlessly to a concurrent winner
      if (ec) std::filesystem::remove_all(build, ec);
    }
    TANDEM_RETURN_IF_ERROR(Run("cp -a " + cache + " " + dir_ + "/data", "copy template"));
    return Run(owner + dir_, "chown");
  }

  Status Launch(const PgServerOptions& o) {
    std::string settings = "-c listen_addresses=127.0.0.1 -p " + std::to_string(port_) + " -k " +
                           dir_ + " -c fsync=" + (o.fsync ? "on" : "off");
    for (const std::string& s : o.settings) settings += " -c " + s;
    TANDEM_RETURN_IF_ERROR(
        Run(AsPostgres(bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ +
                       "/server.log -w -t 30 -o \"" + settings + "\" start > /dev/null 2>&1"),
            "pg_ctl start (see " + dir_ + "/server.log)"));
    std::ifstream pidfile(dir_ + "/data/postmaster.pid");
    long pid = 0;
    if (!(pidfile >> pid) || pid <= 0) return Status::IOError("pg_server: no postmaster.pid");
    pid_ = static_cast<pid_t>(pid);
    StartWatchdog();
    return Status::OK();
  }

  // A child that polls (every 200 ms) whether its parent is still this
  // process; once orphaned it stops the server (SIGINT, bounded wait) and
  // removes the directory. Only async-signal-safe calls after fork.
  void StartWatchdog() {
    const pid_t parent = getpid();
    const pid_t server = pid_;
    const std::string dir = dir_;
    const pid_t w = fork();
    if (w != 0) {
      watchdog_ = w > 0 ? w : 0;
      return;
    }
    const timespec tick{0, 200'000'000};
    while (getppid() == parent) nanosleep(&tick, nullptr);
    kill(server, SIGINT);
    for (int i = 0; i < 100 && kill(server, 0) == 0; ++i) nanosleep(&tick, nullptr);
    execl("/bin/rm", "rm", "-rf", dir.c_str(), static_cast<char*>(nullptr));
    _exit(0);
  }

  std::string bin_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = 0;
  pid_t watchdog_ = 0;
  std::atomic<int> next_db_{1};
};

}  // namespace tandem::pg_test
