// The real `tandem serve` binary: fork/exec with a generated config on port
// 0, read the port from the first stdout line, talk HTTP, SIGTERM, restart.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server_test_util.h"

namespace tandem {
namespace {

using testing::Http;
using testing::Json;
using testing::Reply;
using testing::TempDir;

// A child process with its stdout and stderr on pipes.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !exit_code_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
  }

  // The first line of stdout, waiting at most `timeout_ms`.
  std::optional<std::string> FirstLine(int timeout_ms = 30'000) {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      if (read(out_, &c, 1) != 1) return std::nullopt;  // closed: the child exited
      if (c == '\n') return line;
      line += c;
    }
    return std::nullopt;
  }

  // The exit code (128 + signal when killed), waiting at most `timeout_ms`.
  std::optional<int> Wait(int timeout_ms = 30'000) {
    for (int waited = 0; waited < timeout_ms && !exit_code_; waited += 10) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
  }

  // Everything written to stderr (call after Wait).
  std::string Stderr() {
    std::string s;
    char buf[4096];
    ssize_t n;
    while ((n = read(err_, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
    return s;
  }

  void Signal(int sig) { kill(pid_, sig); }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  std::optional<int> exit_code_;
};

std::string WriteConfig(const TempDir& dir, const std::string& extra) {
  const std::string path = dir.path() + "/tandem.yaml";
  std::ofstream(path) << "data_dir: " << dir.path() << "/data\n"
                      << "log: {fsync: never}\ngraph: {sync: false}\nvector: {sync: false}\n"
                      << extra;
  return path;
}

// Starts `tandem serve` and returns the port it printed (0 on failure).
int StartServe(Child& child) {
  std::optional<std::string> line = child.FirstLine();
  if (!line) return 0;
  const std::string prefix = "listening on http://127.0.0.1:";
  if (line->rfind(prefix, 0) != 0) {
    ADD_FAILURE() << "first line: " << *line;
    return 0;
  }
  return std::stoi(line->substr(prefix.size()));
}

TEST(ServeBinary, IngestStopRestartKeepsDataAndReappliesNothing) {
  TempDir dir;
  const std::string config = WriteConfig(dir, "server: {port: 0}\n");
  {
    Child serve({TANDEM_BINARY, "serve", "--config", config});
    const int port = StartServe(serve);
    ASSERT_GT(port, 0) << serve.Stderr();
    Http http(port);
    Reply r =
        http.Post("/v1/events", testing::ReadFile(TANDEM_BANKING_EVENTS), "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["accepted"], 57);
    testing::WaitForLegs(http);
    EXPECT_EQ(http.Get("/v1/entities/p-1004").json()["agree"], true);
    serve.Signal(SIGTERM);
    std::optional<int> code = serve.Wait();
    ASSERT_TRUE(code.has_value()) << "did not exit within 30 s of SIGTERM";
    EXPECT_EQ(*code, 0) << serve.Stderr();
  }
  Child again({TANDEM_BINARY, "serve", "--config", config});
  const int port = StartServe(again);
  ASSERT_GT(port, 0) << again.Stderr();
  Http http(port);
  Json legs = testing::WaitForLegs(http);
  Reply e = http.Get("/v1/entities/p-1004");
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.json()["agree"], true);
  EXPECT_EQ(e.json()["graph"]["properties"]["risk_rating"], "high");
  ASSERT_EQ(legs["legs"].size(), 2u);
  for (const Json& leg : legs["legs"]) {
    // Positions were committed on the clean stop: nothing is applied again.
    EXPECT_EQ(leg["stats"]["applied"], 0) << leg.dump();
    EXPECT_EQ(leg["stats"]["dead_lettered_permanent"], 0) << leg.dump();
  }
  // The data is still searchable after the restart (the index was reloaded).
  Reply s = http.Get("/v1/search?q=Viktor%20Petrof&type=person&k=1");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.json()["hits"][0]["entity_id"], "p-1004");
  again.Signal(SIGINT);
  std::optional<int> code = again.Wait();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << again.Stderr();
}

TEST(ServeBinary, BadConfigExitsTwoNamingEveryKey) {
  TempDir dir;
  const std::string config = WriteConfig(dir, "server: {port: 0, prot: 1, threads: 0}\n");
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  std::optional<int> code = serve.Wait();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  const std::string err = serve.Stderr();
  EXPECT_NE(err.find("server.prot"), std::string::npos) << err;
  EXPECT_NE(err.find("server.threads"), std::string::npos) << err;

  Child missing({TANDEM_BINARY, "serve", "--config", dir.path() + "/nope.yaml"});
  EXPECT_EQ(missing.Wait(), 2);
  EXPECT_NE(missing.Stderr().find("nope.yaml"), std::string::npos);
}

TEST(ServeBinary, PortInUseExitsOneNamingTheAddress) {
  // Hold a port: bind and listen on an ephemeral loopback port.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  // SO_REUSEPORT on the holder too: a server that also set it would share
  // the port silently instead of failing.
  const int yes = 1;
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  TempDir dir;
  const std::string config = WriteConfig(dir, "server: {port: " + std::to_string(port) + "}\n");
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  std::optional<int> code = serve.Wait();
  close(fd);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  const std::string err = serve.Stderr();
  EXPECT_NE(err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << err;
}

}  // namespace
}  // namespace tandem
