// The Log facade: topics, routing, append paths, LOCK, reopen, verify.
#include "tandem/log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "common/hash.h"
#include "env/fault_injection_fs.h"
#include "log_test_util.h"
#include "tandem/env.h"

namespace tandem {
namespace {

using testing::LogEnv;
using testing::Opts;
using testing::Rec;

std::vector<Record> ReadAll(Log& log, const std::string& topic, uint32_t partition) {
  std::vector<Record> all;
  for (uint64_t from = 0;;) {
    std::vector<Record> batch;
    Status s = log.Read(topic, partition, from, 64 << 10, &batch);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok() || batch.empty()) return all;
    from = batch.back().offset + 1;
    for (Record& r : batch) all.push_back(std::move(r));
  }
}

TEST(LogTopics, AutoCreatedOnFirstAppendWithDefaultPartitions) {
  LogEnv env;
  env.options().default_partitions = 3;
  env.Open();
  EXPECT_TRUE(env.log().ListTopics().empty());
  EXPECT_TRUE(env.log().PartitionFor("person", "k").status().IsNotFound());
  env.Append("person", Rec("person-1", "v1"));
  EXPECT_EQ(env.log().ListTopics(), std::vector<std::string>{"person"});
  Result<TopicStats> st = env.log().Stats("person");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->partitions.size(), 3u);
  EXPECT_EQ(st->records(), 1u);
  EXPECT_TRUE(env.fs().FileExists("/log/topics/person/topic.meta"));
}

TEST(LogTopics, CreateTopicExplicitlyThenAlreadyExists) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("account", TopicOptions{.partitions = 5}).ok());
  Status again = env.log().CreateTopic("account", TopicOptions{.partitions = 5});
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  EXPECT_EQ(env.log().Stats("account")->partitions.size(), 5u);
  // An explicit partition count survives later appends (which would use the default).
  env.Append("account", Rec("a", "v"));
  EXPECT_EQ(env.log().Stats("account")->partitions.size(), 5u);
}

TEST(LogTopics, BadNamesAreRefusedNamingTheRule) {
  LogEnv env;
  env.Open();
  const std::vector<std::string> bad = {
      "",        "Person", "1person", "per-son", "person.",
      ".person", "a..b",   "a.B",     "per son", std::string(65, 'a')};
  for (const std::string& name : bad) {
    Result<AppendResult> a = env.log().Append(name, Rec("k", "v"));
    ASSERT_FALSE(a.ok()) << name;
    EXPECT_TRUE(a.status().IsInvalidArgument()) << a.status().ToString();
    EXPECT_NE(a.status().message().find("\"" + name + "\""), std::string::npos);
    EXPECT_NE(a.status().message().find("[a-z][a-z0-9_]{0,63}"), std::string::npos);
    EXPECT_TRUE(env.log().CreateTopic(name, {}).IsInvalidArgument()) << name;
  }
  EXPECT_TRUE(env.log().ListTopics().empty());
  for (const std::string& good :
       std::vector<std::string>{"p", "person_2", "person.dlq", std::string(64, 'z')}) {
    EXPECT_TRUE(env.log().CreateTopic(good, {}).ok()) << good;
  }
}

TEST(LogTopics, ConcurrentFirstAppendsCreateTheTopicOnce) {
  LogEnv env;
  env.Open();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string topic = "race" + std::to_string(i % 3);
        if (!env.log().Append(topic, Rec("k" + std::to_string(t), "v")).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(env.log().ListTopics(), (std::vector<std::string>{"race0", "race1", "race2"}));
  uint64_t total = 0;
  for (const std::string& t : env.log().ListTopics()) total += env.log().Stats(t)->records();
  EXPECT_EQ(total, 160u);
  env.Reopen();
  total = 0;
  for (const std::string& t : env.log().ListTopics()) total += env.log().Stats(t)->records();
  EXPECT_EQ(total, 160u);
}

TEST(LogRouting, PartitionOfAKeyIsStableAndMatchesAppend) {
  LogEnv env;
  env.options().default_partitions = 8;
  env.Open();
  std::map<std::string, uint32_t> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string key = "entity-" + std::to_string(i % 50);
    AppendResult a = env.Append("person", Rec(key, std::to_string(i)));
    EXPECT_EQ(a.partition, PartitionForKey(key, 8)) << key;
    auto [it, inserted] = seen.emplace(key, a.partition);
    EXPECT_EQ(it->second, a.partition) << key << " moved between appends";
  }
  EXPECT_EQ(env.Append("person", Rec("", "no key")).partition, 0u);
  env.Reopen();
  for (const auto& [key, p] : seen) EXPECT_EQ(*env.log().PartitionFor("person", key), p);
  std::set<uint32_t> used;
  for (const auto& [key, p] : seen) used.insert(p);
  EXPECT_GT(used.size(), 4u) << "50 keys should spread over most of 8 partitions";
}

TEST(LogAppend, PerKeyOrderIsKeptWithinThePartition) {
  LogEnv env;
  env.options().default_partitions = 2;
  env.Open();
  for (int i = 0; i < 300; ++i) {
    env.Append("t", Rec("k" + std::to_string(i % 7), std::to_string(i)));
  }
  std::map<std::string, int> last;
  for (uint32_t p = 0; p < 2; ++p) {
    std::vector<Record> all = ReadAll(env.log(), "t", p);
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(all[i].offset, i);
      const int v = std::stoi(all[i].value);
      auto it = last.find(all[i].key);
      if (it != last.end()) {
        EXPECT_LT(it->second, v) << all[i].key;
      }
      last[all[i].key] = v;
    }
  }
  EXPECT_EQ(last.size(), 7u);
}

TEST(LogAppend, BatchResultsComeBackInInputOrder) {
  LogEnv env;
  env.options().default_partitions = 4;
  env.Open();
  std::vector<ProduceRecord> batch;
  for (int i = 0; i < 200; ++i) {
    batch.push_back(Rec("key" + std::to_string(i * 7919 % 61), "value-" + std::to_string(i)));
  }
  std::vector<AppendResult> results;
  ASSERT_TRUE(env.log().AppendBatch("batch", batch, &results).ok());
  ASSERT_EQ(results.size(), batch.size());
  std::set<std::pair<uint32_t, uint64_t>> positions;
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_EQ(results[i].partition, *env.log().PartitionFor("batch", batch[i].key));
    std::vector<Record> one;
    ASSERT_TRUE(env.log().Read("batch", results[i].partition, results[i].offset, 1, &one).ok());
    ASSERT_FALSE(one.empty());
    EXPECT_EQ(one[0].offset, results[i].offset);
    EXPECT_EQ(one[0].value, batch[i].value) << "result " << i << " belongs to another record";
    EXPECT_TRUE(positions.insert({results[i].partition, results[i].offset}).second);
  }
}

TEST(LogAppend, AsyncAppendCallsBackOnceDurable) {
  LogEnv env;
  env.Open();
  std::vector<ProduceRecord> records = {Rec("a", "1"), Rec("b", "2"), Rec("a", "3")};
  std::promise<std::pair<Status, std::vector<AppendResult>>> done;
  env.log().AppendAsync("async", records, [&](Status s, std::vector<AppendResult> r) {
    done.set_value({s, std::move(r)});
  });
  auto [status, results] = done.get_future().get();
  ASSERT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].partition, results[2].partition);
  EXPECT_LT(results[0].offset, results[2].offset);
  std::vector<Record> read;
  ASSERT_TRUE(env.log().Read("async", results[1].partition, results[1].offset, 1, &read).ok());
  EXPECT_EQ(read.at(0).value, "2");
}

TEST(LogAppend, TooLargeRecordIsRefusedBeforeAnythingIsQueued) {
  LogEnv env;
  env.options().max_record_bytes = 1000;
  env.Open();
  Result<AppendResult> a = env.log().Append("big", Rec("k", std::string(1001, 'x')));
  ASSERT_EQ(a.status().code(), StatusCode::kTooLarge);
  EXPECT_NE(a.status().message().find("1002 bytes"), std::string::npos) << a.status().ToString();
  EXPECT_NE(a.status().message().find("1000"), std::string::npos);
  EXPECT_TRUE(env.log().ListTopics().empty()) << "nothing may be created for a refused record";
  env.Append("big", Rec("k", "small"));
  std::vector<ProduceRecord> batch = {Rec("a", "ok"), Rec("b", std::string(2000, 'y'))};
  std::vector<AppendResult> results;
  EXPECT_EQ(env.log().AppendBatch("big", batch, &results).code(), StatusCode::kTooLarge);
  EXPECT_EQ(env.log().Stats("big")->records(), 1u) << "the good half must not be appended";
}

TEST(LogOpen, LockRefusesASecondOpenOfTheSameDirectory) {
  LogEnv env;
  env.Open();
  Result<std::unique_ptr<Log>> second = Log::Open(env.options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("/log/LOCK"), std::string::npos)
      << second.status().ToString();
  env.Close();
  Result<std::unique_ptr<Log>> third = Log::Open(env.options());
  EXPECT_TRUE(third.ok()) << "the lock is released with the Log: " << third.status().ToString();
}

TEST(LogOpen, ReopenKeepsTopicsPartitionCountsAndData) {
  LogEnv env;
  env.Open();
  ASSERT_TRUE(env.log().CreateTopic("three", TopicOptions{.partitions = 3}).ok());
  std::map<std::pair<uint32_t, uint64_t>, std::string> written;
  for (int i = 0; i < 50; ++i) {
    const std::string v = "v" + std::to_string(i);
    AppendResult a = env.Append(i % 2 ? "three" : "person", Rec("k" + std::to_string(i), v));
    if (i % 2) written[{a.partition, a.offset}] = v;
  }
  env.Reopen();
  EXPECT_EQ(env.log().ListTopics(), (std::vector<std::string>{"person", "three"}));
  EXPECT_EQ(env.log().Stats("three")->partitions.size(), 3u);
  EXPECT_EQ(env.log().Stats("person")->records(), 25u);
  for (const auto& [pos, v] : written) {
    std::vector<Record> r;
    ASSERT_TRUE(env.log().Read("three", pos.first, pos.second, 1, &r).ok());
    EXPECT_EQ(r.at(0).value, v);
  }
  const uint32_t p = *env.log().PartitionFor("three", "k1");
  const uint64_t end = env.log().Stats("three")->partitions[p].end_offset;
  EXPECT_EQ(env.Append("three", Rec("k1", "after")).offset, end) << "offsets continue";
}

TEST(LogOpen, DamagedTopicMetaFailsOpenNamingTheFile) {
  LogEnv env;
  env.Open();
  env.Append("person", Rec("k", "v"));
  env.Close();
  std::string meta;
  ASSERT_TRUE(ReadFileToString(env.fs(), "/log/topics/person/topic.meta", &meta).ok());
  meta[8] ^= 0x01;  // the partition count
  ASSERT_TRUE(WriteFileAtomically(env.fs(), "/log/topics/person/topic.meta", meta).ok());
  Result<std::unique_ptr<Log>> log = Log::Open(env.options());
  ASSERT_FALSE(log.ok());
  EXPECT_TRUE(log.status().IsCorruption()) << log.status().ToString();
  EXPECT_NE(log.status().message().find("topics/person/topic.meta"), std::string::npos);
  VerifyReport report;
  ASSERT_TRUE(VerifyLogDir(env.fs(), "/log", &report).ok());
  ASSERT_EQ(report.issues.size(), 1u);
  EXPECT_NE(report.issues[0].file.find("topic.meta"), std::string::npos);
}

TEST(LogOpen, TopicDirectoryWithoutMetaIsCreatedAgainOnUse) {
  LogEnv env;
  ASSERT_TRUE(env.fs().CreateDirs("/log/topics/half/0").ok());  // a crash mid-creation
  env.Open();
  EXPECT_TRUE(env.log().ListTopics().empty());
  env.Append("half", Rec("k", "v"));
  env.Reopen();
  EXPECT_EQ(env.log().Stats("half")->records(), 1u);
}

TEST(LogVerify, HealthyLogHasNoIssuesAndCountsRecords) {
  LogEnv env;
  env.Open();
  for (int i = 0; i < 40; ++i) env.Append("person", Rec("k" + std::to_string(i), "v"));
  VerifyReport open_report;
  ASSERT_TRUE(env.log().Verify(&open_report).ok());
  EXPECT_TRUE(open_report.issues.empty());
  EXPECT_EQ(open_report.records, 40u);
  env.Close();
  VerifyReport dir_report;
  ASSERT_TRUE(VerifyLogDir(env.fs(), "/log", &dir_report).ok());
  EXPECT_TRUE(dir_report.issues.empty());
  EXPECT_EQ(dir_report.records, 40u);
  EXPECT_TRUE(VerifyLogDir(env.fs(), "/nothing", &dir_report).IsNotFound());
}

TEST(LogVerify, DamagedPositionFileIsReported) {
  LogEnv env;
  env.Open();
  env.Append("person", Rec("k", "v"));
  env.Subscribe(Opts("graph")).reset();  // writes graph.pos
  env.Close();
  std::string pos;
  ASSERT_TRUE(ReadFileToString(env.fs(), "/log/subscriptions/graph.pos", &pos).ok());
  pos[pos.size() - 1] ^= 0x20;
  ASSERT_TRUE(WriteFileAtomically(env.fs(), "/log/subscriptions/graph.pos", pos).ok());
  VerifyReport report;
  ASSERT_TRUE(VerifyLogDir(env.fs(), "/log", &report).ok());
  ASSERT_EQ(report.issues.size(), 1u);
  EXPECT_EQ(report.issues[0].file, "/log/subscriptions/graph.pos");
  env.Open();
  Result<std::unique_ptr<Subscription>> sub = env.log().Subscribe(Opts("graph"));
  EXPECT_TRUE(sub.status().IsCorruption()) << sub.status().ToString();
}

TEST(LogClose, OperationsAfterCloseAreAborted) {
  LogEnv env;
  env.Open();
  env.Append("person", Rec("k", "v"));
  ASSERT_TRUE(env.log().Close().ok());
  EXPECT_TRUE(env.log().Close().ok()) << "Close is idempotent";
  EXPECT_EQ(env.log().Append("person", Rec("k", "v")).status().code(), StatusCode::kAborted);
  EXPECT_EQ(env.log().CreateTopic("other", {}).code(), StatusCode::kAborted);
}

TEST(LogBackground, IntervalPolicyIsSyncedByTheBackgroundThread) {
  std::unique_ptr<FileSystem> mem = NewMemFileSystem();
  FaultInjectionFileSystem fs(*mem);
  LogOptions o;
  o.dir = "/log";
  o.fs = &fs;
  o.fsync = FsyncPolicy::kInterval;
  o.fsync_interval_ms = 5;
  {
    Result<std::unique_ptr<Log>> log = Log::Open(o);
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->Append("person", Rec("k", "v0")).ok());
    fs.SetFault(FaultSpec{.op_mask = FileOpBit(FileOp::kSync), .fail_after = 0});
    ASSERT_TRUE((*log)->Append("person", Rec("k", "v1")).ok());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (fs.ops_seen() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_GT(fs.ops_seen(), 0u) << "no fdatasync after an interval append";
    ASSERT_TRUE(fs.DropUnsyncedData().ok());  // power loss right after the background sync
    (void)(*log)->Close();
  }
  Result<std::unique_ptr<Log>> log = Log::Open(o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ((*log)->Stats("person")->records(), 2u);
}

// The one test on the real file system: flock(2) LOCK, fdatasync, rename.
TEST(LogPosix, AppendConsumeReopenAndVerifyOnDisk) {
  char tmpl[] = "/tmp/tandem_log_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/log";
  LogOptions o;
  o.dir = dir;
  o.default_partitions = 2;
  {
    Result<std::unique_ptr<Log>> log = Log::Open(o);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    EXPECT_EQ(Log::Open(o).status().code(), StatusCode::kFailedPrecondition);
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE((*log)->Append("person", Rec("p" + std::to_string(i), "v")).ok());
    }
    auto sub = (*log)->Subscribe(Opts("leg"));
    ASSERT_TRUE(sub.ok());
    auto c = testing::AddConsumer(**sub, "c");
    std::vector<Message> got = testing::PollN(*c, 20);
    EXPECT_EQ(got.size(), 20u);
    for (size_t i = 0; i < 10; ++i) ASSERT_TRUE(c->Ack(got[i].id).ok());
    ASSERT_TRUE((*sub)->Commit().ok());
  }
  Result<std::unique_ptr<Log>> log = Log::Open(o);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ((*log)->Stats("person")->records(), 20u);
  uint64_t lag = 0;
  auto sub = (*log)->Subscribe(Opts("leg"));
  ASSERT_TRUE(sub.ok());
  for (const PartitionLag& l : (*sub)->Lag()) lag += l.lag();
  EXPECT_GE(lag, 10u);
  EXPECT_LE(lag, 20u);
  sub->reset();
  ASSERT_TRUE((*log)->Close().ok());
  VerifyReport report;
  std::unique_ptr<FileSystem> posix = NewPosixFileSystem();
  ASSERT_TRUE(VerifyLogDir(*posix, dir, &report).ok());
  EXPECT_TRUE(report.issues.empty());
  EXPECT_EQ(report.records, 20u);
  log->reset();
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace tandem
