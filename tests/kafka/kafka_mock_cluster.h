// MockCluster: librdkafka's mock Kafka cluster run as a separate process
// (kafka_mock, tests/kafka/kafka_mock_main.cc), started by a test or a
// benchmark and stopped by PID. No gtest dependency, so bench/ uses it too.
//
//   kafka_test::MockCluster cluster;             // spawns TANDEM_KAFKA_MOCK
//   KafkaOptions o = cluster.Options();          // topics created via CreateTopic
//
// Thread safety: CreateTopic may be called from any thread; the rest from one.
#pragma once

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "tandem/kafka.h"
#include "tandem/status.h"

#ifndef TANDEM_KAFKA_MOCK
#error "TANDEM_KAFKA_MOCK must name the kafka_mock binary"
#endif

extern char** environ;

namespace tandem::kafka_test {

// The mock cluster process: started in the constructor, SIGTERMed and reaped
// in the destructor. Its stdin/stdout carry topic creation (kafka_mock_main.cc).
class MockCluster {
 public:
  // `nodelay`: TCP_NODELAY on the mock brokers' sockets (kafka_mock_main.cc).
  explicit MockCluster(int brokers = 3, bool nodelay = false) {
    int out[2];
    int in[2];
    if (pipe(out) != 0) return;
    if (pipe(in) != 0) {
      close(out[0]);
      close(out[1]);
      return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    std::string bin = TANDEM_KAFKA_MOCK;
    std::string n = std::to_string(brokers);
    std::string flag = nodelay ? "nodelay" : "";
    char* argv[] = {bin.data(), n.data(), nodelay ? flag.data() : nullptr, nullptr};
    if (posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(in[0]);
    from_mock_ = out[0];
    to_mock_ = in[1];
    if (pid_ > 0) bootstrap_ = ReadLine();
  }
  ~MockCluster() {
    if (to_mock_ >= 0) close(to_mock_);
    if (from_mock_ >= 0) close(from_mock_);
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }

  // Creates `topic` with `partitions` in the mock (KafkaOptions::create_topic_fn).
  Status CreateTopic(const std::string& topic, uint32_t partitions) {
    std::lock_guard lock(mu_);
    const std::string cmd = "create " + topic + " " + std::to_string(partitions) + "\n";
    if (write(to_mock_, cmd.data(), cmd.size()) != static_cast<ssize_t>(cmd.size())) {
      return Status::Unavailable("kafka_mock: write failed");
    }
    const std::string reply = ReadLine();
    if (reply == "ok") return Status::OK();
    return Status::Unavailable("kafka_mock: " + reply);
  }

  // Options for a Log on this cluster: topics created through CreateTopic.
  KafkaOptions Options() {
    KafkaOptions o;
    o.bootstrap_servers = bootstrap_;
    o.client_id = "tandem-test";
    o.default_partitions = 4;
    o.replication_factor = 1;
    o.linger_ms = 0;
    o.session_timeout_ms = 6'000;
    o.metadata_refresh_ms = 1'000;
    o.create_topic_fn = [this](const std::string& topic, uint32_t partitions, int32_t) {
      return CreateTopic(topic, partitions);
    };
    return o;
  }

 private:
  // One line from the mock's stdout (bounded wait: 10 s).
  std::string ReadLine() {
    pollfd p{from_mock_, POLLIN, 0};
    while (buffer_.find('\n') == std::string::npos && ::poll(&p, 1, 10'000) > 0) {
      char buf[512];
      const ssize_t got = read(from_mock_, buf, sizeof(buf));
      if (got <= 0) break;
      buffer_.append(buf, static_cast<size_t>(got));
    }
    const size_t nl = buffer_.find('\n');
    std::string line = buffer_.substr(0, nl);
    buffer_.erase(0, nl == std::string::npos ? buffer_.size() : nl + 1);
    return line;
  }

  pid_t pid_ = -1;
  int to_mock_ = -1;
  int from_mock_ = -1;
  std::string buffer_;
  std::mutex mu_;
  std::string bootstrap_;
};

}  // namespace tandem::kafka_test
