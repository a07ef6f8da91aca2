// A real redis-server for tests: started on a free loopback port in a fresh
// directory (no persistence), stopped by its PID. See ../shared/DEPS.md.
//
//   RedisServer server;
//   ASSERT_TRUE(server.Start()) << server.error();
//   options.port = server.port();
//
// Thread safety: one test thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace tandem::testing {

// A port nothing listens on right now (bind to port 0, read it, close).
inline uint16_t FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

inline bool PortAccepts(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

class RedisServer {
 public:
  RedisServer() {
    char tmpl[] = "/tmp/tandem-redis-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) dir_ = tmpl;
  }
  ~RedisServer() {
    Stop();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts redis-server (on the same port again after a Stop) and waits up to
  // 10 s for it to accept connections.
  bool Start() {
    if (dir_.empty()) return Fail("mkdtemp failed");
    if (port_ == 0) port_ = FreeLoopbackPort();
    const std::string cmd = "redis-server --bind 127.0.0.1 --port " + std::to_string(port_) +
                            " --dir " + dir_ + " --save '' --appendonly no --daemonize yes" +
                            " --pidfile " + dir_ + "/redis.pid --logfile " + dir_ + "/redis.log";
    if (std::system(cmd.c_str()) != 0) return Fail("redis-server did not start: " + cmd);
    for (int i = 0; i < 1000; ++i) {
      if (pid_ == 0) {
        std::ifstream in(dir_ + "/redis.pid");
        in >> pid_;
      }
      if (pid_ > 0 && PortAccepts(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return Fail("redis-server not accepting on port " + std::to_string(port_));
  }

  // SIGKILL by PID, then waits (up to 10 s) for the port to close.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    for (int i = 0; i < 1000 && PortAccepts(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = 0;
    std::error_code ec;
    std::filesystem::remove(dir_ + "/redis.pid", ec);
  }

  uint16_t port() const { return port_; }
  const std::string& error() const { return error_; }

 private:
  bool Fail(std::string e) {
    error_ = std::move(e);
    return false;
  }

  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = 0;
  std::string error_;
};

}  // namespace tandem::testing
