// PgliteServer: npm install into the cache, spawn node, wait for the
// "listening" line, stop by PID.

#include "pglite_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include "pgvector/pg_session.h"

namespace tandem::pgvector_test {
namespace {

// Exactly the packages and versions of ../shared/DEPS.md.
constexpr const char* kPackages =
    "@electric-sql/pglite@0.5.14 @electric-sql/pglite-socket@0.2.17 "
    "@electric-sql/pglite-pgvector@0.0.15 @electric-sql/pglite-age@0.0.15";

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Tail(const std::string& s, size_t n = 2000) {
  return s.size() <= n ? s : s.substr(s.size() - n);
}

void StopChild(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 200; ++i) {  // 10 s
    if (waitpid(pid, nullptr, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

}  // namespace

Status EnsurePgliteInstalled(const std::string& cache_dir) {
  const std::string marker =
      cache_dir + "/installed-pglite-0.5.14-socket-0.2.17-pgvector-0.0.15-age-0.0.15";
  if (Exists(marker)) return Status::OK();
  if (std::system(("mkdir -p " + Quote(cache_dir)).c_str()) != 0) {
    return Status::IOError("mkdir " + cache_dir);
  }
  const std::string lock_path = cache_dir + "/install.lock";
  int fd = open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("open " + lock_path);
  flock(fd, LOCK_EX);  // another test process may be installing
  Status result;
  if (!Exists(marker)) {
    const std::string package_json = cache_dir + "/package.json";
    if (!Exists(package_json)) {
      std::ofstream(package_json) << R"({"name":"tandem-pglite-cache","private":true})"
                                  << "\n";
    }
    const std::string log = cache_dir + "/npm-install.log";
    const std::string cmd = "cd " + Quote(cache_dir) +
                            " && npm install --save-exact --no-audit --no-fund " +
                            std::string(kPackages) + " > " + Quote(log) + " 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      result = Status::IOError("npm install of the PGlite packages failed; see " + log + ":\n" +
                               Tail(ReadFile(log)));
    } else {
      std::ofstream(marker) << kPackages << "\n";
    }
  }
  flock(fd, LOCK_UN);
  close(fd);
  return result;
}

Result<std::unique_ptr<PgliteServer>> PgliteServer::Start(const std::string& cache_dir) {
  TANDEM_RETURN_IF_ERROR(EnsurePgliteInstalled(cache_dir));
  const std::string script =
      cache_dir + "/node_modules/@electric-sql/pglite-socket/dist/scripts/server.js";
  const std::string log = cache_dir + "/server-" + std::to_string(getpid()) + ".log";
  pid_t pid = fork();
  if (pid < 0) return Status::IOError("fork");
  if (pid == 0) {
    int out = open(log.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    if (chdir(cache_dir.c_str()) != 0) _exit(126);
    execlp("node", "node", script.c_str(), "--db=memory://", "--host=127.0.0.1", "--port=0", "-e",
           "@electric-sql/pglite-pgvector:vector", "-m", "8", static_cast<char*>(nullptr));
    _exit(127);
  }
  static const std::regex kListening(R"re(listening on \{"port":(\d+))re");
  // Ready in 3-4 s here; 120 s bounds a slow machine.
  for (int i = 0; i < 1200; ++i) {
    std::smatch m;
    const std::string text = ReadFile(log);
    if (std::regex_search(text, m, kListening)) {
      std::string url = "postgresql://postgres@127.0.0.1:" + m[1].str() +
                        "/postgres?sslmode=disable&connect_timeout=10";
      return std::unique_ptr<PgliteServer>(new PgliteServer(pid, std::move(url), log));
    }
    if (waitpid(pid, nullptr, WNOHANG) == pid) {
      return Status::Unavailable("the PGlite server exited at start:\n" + Tail(text));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  StopChild(pid);
  return Status::Unavailable("the PGlite server did not listen within 120 s:\n" +
                             Tail(ReadFile(log)));
}

PgliteServer::~PgliteServer() {
  StopChild(pid_);
  unlink(log_.c_str());
}

const std::string& TestDatabaseUrl() {
  static std::unique_ptr<PgliteServer> server;
  static const std::string url = [] {
    if (const char* env = std::getenv("TANDEM_PGVECTOR_URL"); env != nullptr && *env != '\0') {
      return std::string(env);
    }
    Result<std::unique_ptr<PgliteServer>> s = PgliteServer::Start(TANDEM_PGLITE_DIR);
    if (!s.ok()) {
      std::cerr << "pgvector tests: " << s.status().ToString() << "\n";
      return std::string();
    }
    server = std::move(s).value();
    // Stopped at exit (static destruction), after every store is gone.
    return server->url();
  }();
  return url;
}

std::string UniqueTablePrefix() {
  static std::atomic<int> n{0};
  return "t" + std::to_string(getpid()) + "_" + std::to_string(n++);
}

void DropTables(const std::string& url, const std::string& prefix) {
  auto session = pgvector_internal::PgSession::Connect(url, 30'000);
  if (!session.ok()) return;
  Status s = (*session)->ExecScript("DROP TABLE IF EXISTS " + prefix + "_documents, " + prefix +
                                    "_positions, " + prefix + "_meta");
  (void)s;  // best effort: the in-memory database dies with the server anyway
}

}  // namespace tandem::pgvector_test
