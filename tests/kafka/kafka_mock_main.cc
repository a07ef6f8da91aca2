// kafka_mock: librdkafka's built-in mock Kafka cluster as a standalone process.
//
// Starts rd_kafka_mock_cluster_new with N brokers (default 3) on 127.0.0.1,
// prints its bootstrap list as one line on stdout ("127.0.0.1:p1,..."), then
// runs until SIGTERM or SIGINT. Tests start it as a separate process and stop
// it by PID, the way they start redis-server. The mock speaks the real Kafka
// protocol (produce, fetch, consumer groups, offset commits, idempotent
// producer); it keeps everything in memory. librdkafka 2.0.2's mock has no
// CreateTopics (it auto-creates topics with 4 partitions), so topics with
// another partition count are created through stdin:
//
//   create <topic> <partitions>     answers "ok" or "error <reason>" on stdout
//
//   kafka_mock [brokers [nodelay]]     nodelay: TCP_NODELAY on the brokers' sockets
#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <poll.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

volatile std::sig_atomic_t g_stop = 0;

void OnSignal(int) { g_stop = 1; }

// Runs one stdin command line; answers on stdout.
void RunCommand(rd_kafka_mock_cluster_t* cluster, int brokers, const std::string& line) {
  char topic[256];
  int partitions = 0;
  if (std::sscanf(line.c_str(), "create %255s %d", topic, &partitions) != 2 || partitions < 1) {
    std::printf("error bad command: %s\n", line.c_str());
  } else {
    const int replication = brokers < 3 ? brokers : 3;
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, topic, partitions, replication);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::printf("ok\n");
    } else {
      std::printf("error %s\n", rd_kafka_err2str(err));
    }
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int brokers = argc > 1 ? std::atoi(argv[1]) : 3;
  const bool nodelay = argc > 2 && std::strcmp(argv[2], "nodelay") == 0;
  if (brokers < 1 || brokers > 16) {
    std::fprintf(stderr, "kafka_mock: brokers must be 1..16, got %s\n", argv[1]);
    return 2;
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // Quiet the host client's notice that it has no bootstrap.servers of its own.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  // The mock brokers' accepted sockets take their options from this host
  // client (rd_kafka_transport_post_connect_setup): without TCP_NODELAY each
  // small response waits for the client's delayed ACK, ~44 ms per
  // multi-partition ProduceRequest round. Opt-in (bench/bus_bench.cc): the
  // tests keep the slower default until the Kafka nack test's failure under
  // the faster timing is understood (see src/kafka/README.md).
  if (nodelay) rd_kafka_conf_set(conf, "socket.nagle.disable", "true", err, sizeof(err));
  // The mock cluster needs a host client instance; a producer that never produces.
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {
    std::fprintf(stderr, "kafka_mock: rd_kafka_new: %s\n", err);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) {
    std::fprintf(stderr, "kafka_mock: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  std::printf("%s\n", rd_kafka_mock_cluster_bootstraps(cluster));
  std::fflush(stdout);
  std::string pending;
  bool stdin_open = true;
  while (g_stop == 0) {
    if (!stdin_open) {
      usleep(50'000);
      continue;
    }
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char buf[512];
    const ssize_t got = read(STDIN_FILENO, buf, sizeof(buf));
    if (got <= 0) {
      stdin_open = false;  // no controller: keep serving until SIGTERM
      continue;
    }
    pending.append(buf, static_cast<size_t>(got));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      RunCommand(cluster, brokers, pending.substr(0, nl));
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
