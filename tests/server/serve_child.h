// Helpers of the tests that run the real `tandem` binary: a child process
// with its stdout and stderr on pipes, a generated config, and reading the
// port `tandem serve` prints first.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server_test_util.h"

namespace tandem::testing {

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
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  std::optional<int> exit_code_;
};

inline std::string WriteConfig(const TempDir& dir, const std::string& extra) {
  const std::string path = dir.path() + "/tandem.yaml";
  std::ofstream(path) << "data_dir: " << dir.path() << "/data\n"
                      << "log: {fsync: never}\ngraph: {sync: false}\nvector: {sync: false}\n"
                      << extra;
  return path;
}

// Starts `tandem serve` and returns the port it printed (0 on failure).
inline int StartServe(Child& child) {
  std::optional<std::string> line = child.FirstLine();
  if (!line) return 0;
  const std::string prefix = "listening on http://127.0.0.1:";
  if (line->rfind(prefix, 0) != 0) {
    ADD_FAILURE() << "first line: " << *line;
    return 0;
  }
  return std::stoi(line->substr(prefix.size()));
}

}  // namespace tandem::testing
