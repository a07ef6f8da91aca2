// The blackbox kill loop (TESTING.md §2, RocksDB's db_crashtest.py): a child
// process (log_stress) appends under fsync=always and consumes a subscription
// while this test SIGKILLs it after a random delay, reopens the log and checks
// the journals the child wrote after each acknowledged operation:
//  * every acknowledged append is in the log at its offset with its id;
//  * a retried id was answered with its original offset and appears once;
//  * offsets are contiguous in every partition (no hole, no offset with two values);
//  * everything below the subscription's committed position was handed to the
//    consumer (it never skips an unacknowledged event) and after the restart it
//    resumes exactly at that position.
// Rounds: TANDEM_CRASH_ROUNDS (default 50); seed: TANDEM_CRASH_SEED.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include "tandem/env.h"
#include "tandem/log.h"

namespace tandem {
namespace {

using PartKey = std::pair<std::string, uint32_t>;  // (topic, partition)

struct Journals {
  // (topic, partition, offset) -> id, from acknowledged appends.
  std::map<std::tuple<std::string, uint32_t, uint64_t>, std::string> acked;
  std::map<std::string, std::tuple<std::string, uint32_t, uint64_t>> first_offset_of_id;
  std::map<PartKey, std::set<uint64_t>> consumed;
};

int EnvInt(const char* name, int def) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : def;
}

// Lines are written with one write(2) each; a partial last line cannot occur
// on a process kill, but a line without '\n' is ignored anyway.
Journals ReadJournals(const std::string& root) {
  Journals j;
  std::ifstream acks(root + "/acks.txt");
  std::string line;
  while (std::getline(acks, line)) {
    std::istringstream in(line);
    std::string tag, topic, id;
    uint32_t p = 0;
    uint64_t off = 0;
    int dup = 0;
    if (!(in >> tag >> topic >> p >> off >> id >> dup)) continue;
    auto key = std::make_tuple(topic, p, off);
    auto [it, inserted] = j.acked.emplace(key, id);
    EXPECT_EQ(it->second, id) << "offset " << topic << "/" << p << "@" << off
                              << " acknowledged for two ids";
    auto [f, first] = j.first_offset_of_id.emplace(id, key);
    EXPECT_EQ(f->second, key) << "id " << id << " acknowledged at two offsets";
  }
  std::ifstream cons(root + "/consumed.txt");
  while (std::getline(cons, line)) {
    std::istringstream in(line);
    std::string tag, topic, id;
    uint32_t p = 0;
    uint64_t off = 0;
    if (!(in >> tag >> topic >> p >> off >> id)) continue;
    j.consumed[{topic, p}].insert(off);
  }
  return j;
}

LogOptions StressOptions(const std::string& dir) {
  LogOptions o;
  o.dir = dir;
  o.default_partitions = 4;
  o.segment_bytes = 256 << 10;
  o.index_interval_bytes = 1024;
  return o;
}

// Reads every partition fully: checks contiguity and returns offset -> id.
std::map<std::tuple<std::string, uint32_t, uint64_t>, std::string> ScanLog(Log& log) {
  std::map<std::tuple<std::string, uint32_t, uint64_t>, std::string> all;
  std::set<std::string> ids;
  for (const std::string& topic : log.ListTopics()) {
    Result<TopicStats> st = log.Stats(topic);
    EXPECT_TRUE(st.ok());
    if (!st.ok()) continue;
    for (const PartitionStats& ps : st->partitions) {
      uint64_t next = ps.start_offset;
      while (next < ps.end_offset) {
        std::vector<Record> recs;
        Status s = log.Read(topic, ps.partition, next, 1 << 20, &recs);
        EXPECT_TRUE(s.ok()) << s.ToString();
        if (!s.ok() || recs.empty()) break;
        for (const Record& r : recs) {
          EXPECT_EQ(r.offset, next) << topic << "/" << ps.partition << ": hole or reorder";
          next = r.offset + 1;
          EXPECT_TRUE(ids.insert(r.id).second) << "id " << r.id << " appended twice";
          all[{topic, ps.partition, r.offset}] = r.id;
        }
      }
      EXPECT_EQ(next, ps.end_offset);
    }
  }
  return all;
}

void VerifySubscription(Log& log, const Journals& j) {
  SubscriptionOptions so;
  so.name = "stress";
  Result<std::unique_ptr<Subscription>> sub = log.Subscribe(so);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  std::map<PartKey, uint64_t> committed;
  for (const PartitionLag& l : (*sub)->Lag()) {
    committed[{l.topic, l.partition}] = l.committed;
    auto it = j.consumed.find({l.topic, l.partition});
    Result<TopicStats> st = log.Stats(l.topic);
    ASSERT_TRUE(st.ok());
    uint64_t start = st->partitions[l.partition].start_offset;
    for (uint64_t off = start; off < l.committed; ++off) {
      ASSERT_TRUE(it != j.consumed.end() && it->second.count(off))
          << l.topic << "/" << l.partition << "@" << off
          << " is below the committed position but was never handed to the consumer";
    }
  }
  // After the restart the first delivery of each partition is its committed position.
  Result<std::unique_ptr<Consumer>> c = (*sub)->AddConsumer("verify");
  ASSERT_TRUE(c.ok());
  std::map<PartKey, uint64_t> first;
  for (int i = 0; i < 50; ++i) {
    Result<std::vector<Message>> msgs = (*c)->Poll(4096, 10'000);
    ASSERT_TRUE(msgs.ok());
    if (msgs->empty()) break;
    for (const Message& m : *msgs) first.emplace(PartKey{m.id.topic, m.id.partition}, m.id.offset);
  }
  for (const auto& [pk, off] : first) {
    EXPECT_EQ(off, committed[pk]) << pk.first << "/" << pk.second
                                  << ": resumed at the wrong position";
  }
}

void VerifyRound(const std::string& root, int round) {
  SCOPED_TRACE("round " + std::to_string(round));
  Journals j = ReadJournals(root);
  Result<std::unique_ptr<Log>> log = Log::Open(StressOptions(root + "/log"));
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  auto all = ScanLog(**log);
  for (const auto& [key, id] : j.acked) {
    auto it = all.find(key);
    ASSERT_TRUE(it != all.end()) << "acknowledged " << std::get<0>(key) << "/" << std::get<1>(key)
                                 << "@" << std::get<2>(key) << " (" << id << ") lost";
    ASSERT_EQ(it->second, id) << "offset holds a different id";
  }
  VerifySubscription(**log, j);
  ASSERT_TRUE((*log)->Close().ok());
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LogCrash, KillLoopLosesNothingAcknowledged) {
  const int rounds = EnvInt("TANDEM_CRASH_ROUNDS", 50);
  const uint64_t seed = EnvInt("TANDEM_CRASH_SEED", static_cast<int>(::time(nullptr) % 100000));
  std::printf("TANDEM_CRASH_SEED=%llu rounds=%d\n", static_cast<unsigned long long>(seed), rounds);
  char tmpl[] = "/tmp/tandem-crash-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  Random rnd(seed);
  size_t acked_total = 0;
  for (int round = 0; round < rounds; ++round) {
    const std::string err = root + "/stderr.txt";
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      FILE* f = std::freopen(err.c_str(), "w", stderr);
      (void)f;
      std::string s = std::to_string(seed * 1000 + round);
      ::execl(TANDEM_LOG_STRESS_BIN, "log_stress", (root + "/log").c_str(), s.c_str(), nullptr);
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rnd.Uniform(700)));
    ::kill(pid, SIGKILL);
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "child exited on its own: status " << wstatus
                                      << ", stderr: " << ReadAll(err);
    ASSERT_EQ(ReadAll(err), "") << "unexpected stderr from the child";
    VerifyRound(root, round);
    if (HasFatalFailure()) break;
    acked_total = ReadJournals(root).acked.size();
  }
  std::printf("acknowledged appends checked: %zu over %d kills\n", acked_total, rounds);
  EXPECT_GT(acked_total, static_cast<size_t>(rounds)) << "the child made almost no progress";
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace tandem
