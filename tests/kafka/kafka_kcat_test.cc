// kcat, an independent Kafka client, and tandem on one mock cluster: kcat
// produces the banking sample (key = entity_id, Kafka's murmur2 partitioner)
// and tandem's graph leg applies it; tandem appends and kcat reads the same
// records, partitions, offsets and id headers back.

#include <cstdio>
#include <fstream>
#include <set>

#include "../leg/leg_test_util.h"
#include "kafka_test_util.h"

#ifndef TANDEM_KCAT
#error "TANDEM_KCAT must name the kcat binary"
#endif

namespace tandem::kafka_test {
namespace {

using leg_test::SampleEvents;
using leg_test::TempDir;
using leg_test::TestLegOptions;

// Runs `cmd` with /bin/sh; returns its stdout, or nullopt when it failed.
std::optional<std::string> RunShell(const std::string& cmd) {
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), f)) > 0;) out.append(buf, n);
  if (pclose(f) != 0) return std::nullopt;
  return out;
}

bool HasEdge(GraphStore& g, const std::string& from, const std::string& label,
             const std::string& to) {
  Result<std::vector<Edge>> edges = g.Neighbors(from, Direction::kOut, label, 1000);
  if (!edges.ok()) return false;
  for (const Edge& e : *edges) {
    if (e.to == to) return true;
  }
  return false;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i; (i = s.find(sep, start)) != std::string::npos; start = i + 1) {
    out.push_back(s.substr(start, i - start));
  }
  out.push_back(s.substr(start));
  return out;
}

TEST(KafkaKcat, KcatProducesAndTheGraphLegApplies) {
  MockCluster cluster;
  ASSERT_FALSE(cluster.bootstrap().empty());
  Result<std::unique_ptr<Log>> log = OpenKafkaLog(cluster.Options());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  TempDir dir;
  const std::vector<EntityEvent> sample = SampleEvents();  // 59 events, 2 re-sent ids
  std::map<std::string, std::vector<const EntityEvent*>> by_topic;
  for (const EntityEvent& e : sample) by_topic[e.entity_type].push_back(&e);
  for (const auto& [topic, events] : by_topic) {
    ASSERT_TRUE((*log)->CreateTopic(topic, TopicOptions{4}).ok());
    const std::string file = dir.path() + "/" + topic + ".txt";
    {
      std::ofstream out(file);
      for (const EntityEvent* e : events) out << e->entity_id << '\t' << Serialize(*e) << '\n';
    }
    // -K: key and value per line; murmur2: the Java client's partitioner, as tandem's.
    ASSERT_TRUE(RunShell(std::string(TANDEM_KCAT) + " -b " + cluster.bootstrap() + " -P -t " + topic +
                    " -K '\t' -X partitioner=murmur2_random -l " + file + " 2>&1")
                    .has_value());
  }
  // Every record kcat produced sits where tandem's PartitionFor puts its key.
  size_t records = 0;
  for (const auto& [topic, events] : by_topic) {
    Result<TopicStats> st = (*log)->Stats(topic);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    for (const PartitionStats& p : st->partitions) {
      std::vector<Record> recs;
      if (p.end_offset == 0) continue;
      ASSERT_TRUE((*log)->Read(topic, p.partition, 0, 1 << 20, &recs).ok());
      for (const Record& r : recs) {
        Result<uint32_t> want = (*log)->PartitionFor(topic, r.key);
        ASSERT_TRUE(want.ok());
        EXPECT_EQ(*want, p.partition) << topic << " key " << r.key;
        ++records;
      }
    }
  }
  EXPECT_EQ(records, sample.size());

  GraphStoreOptions go;
  go.dir = dir.path() + "/graph";
  Result<std::unique_ptr<GraphStore>> graph = OpenGraphStore(go);
  ASSERT_TRUE(graph.ok()) << graph.status().ToString();
  Result<std::unique_ptr<Leg>> leg = MakeGraphLeg(**log, **graph, TestLegOptions());
  ASSERT_TRUE(leg.ok()) << leg.status().ToString();
  ASSERT_TRUE((*leg)->Start().ok());
  Status caught_up = (*leg)->WaitForCaughtUp(leg_test::kWaitUs);
  EXPECT_TRUE(caught_up.ok()) << caught_up.ToString();
  ASSERT_TRUE((*leg)->Stop().ok());
  const LegStats s = (*leg)->stats();
  // kcat has no dedup: the two re-sent events are in Kafka twice, and the
  // store skips the second copy by its applied marker.
  EXPECT_EQ(s.consumed, sample.size());
  EXPECT_EQ(s.applied, leg_test::kSampleRecords);
  EXPECT_EQ(s.skipped(), sample.size() - leg_test::kSampleRecords);
  EXPECT_EQ(s.dead_lettered(), 0u);
  GraphStore& g = **graph;
  EXPECT_TRUE(HasEdge(g, "p-1001", "owns", "a-3001"));
  EXPECT_TRUE(HasEdge(g, "a-3005", "sent", "t-4001"));
  EXPECT_TRUE(HasEdge(g, "p-1005", "beneficial_owner_of", "c-2002"));
  EXPECT_FALSE(HasEdge(g, "p-1003", "owns", "a-3008"));  // a-3008 was deleted
  Result<Vertex> p1001 = g.GetVertex("p-1001");
  ASSERT_TRUE(p1001.ok());
  EXPECT_EQ(p1001->version, 2);  // the v2 update came after the create
  Result<std::map<std::string, uint64_t>> counts = g.CountByLabel();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, (std::map<std::string, uint64_t>{{"_placeholder", 1},
                                                      {"account", 8},
                                                      {"communication", 5},
                                                      {"company", 3},
                                                      {"person", 7},
                                                      {"transaction", 14}}));
  EXPECT_TRUE(g.CheckInvariants().ok());
  leg->reset();
  EXPECT_TRUE((*log)->Close().ok());
}

TEST(KafkaKcat, KcatReadsWhatTandemAppended) {
  MockCluster cluster;
  ASSERT_FALSE(cluster.bootstrap().empty());
  Result<std::unique_ptr<Log>> log = OpenKafkaLog(cluster.Options());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::map<std::string, AppendResult> appended;  // value → where tandem put it
  for (int i = 0; i < 20; ++i) {
    const std::string value = R"({"n":)" + std::to_string(i) + "}";
    Result<AppendResult> a = (*log)->Append(
        "company", ProduceRecord{"c-" + std::to_string(i % 7), value, "evt-" + std::to_string(i), {}, 0});
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    appended[value] = *a;
  }
  std::optional<std::string> out =
      RunShell(std::string(TANDEM_KCAT) + " -b " + cluster.bootstrap() +
          " -C -t company -o beginning -e -q -f '%k\\t%p\\t%o\\t%s\\t%h\\n' 2>/dev/null");
  ASSERT_TRUE(out.has_value());
  size_t lines = 0;
  for (const std::string& line : Split(*out, '\n')) {
    if (line.empty()) continue;
    const std::vector<std::string> f = Split(line, '\t');
    ASSERT_EQ(f.size(), 5u) << line;
    auto it = appended.find(f[3]);
    ASSERT_NE(it, appended.end()) << line;
    EXPECT_EQ(std::stoul(f[1]), it->second.partition) << line;
    EXPECT_EQ(std::stoull(f[2]), it->second.offset) << line;
    EXPECT_EQ(KafkaPartitionForKey(f[0], 4), it->second.partition) << line;
    const std::string n = f[3].substr(5, f[3].size() - 6);
    EXPECT_EQ(f[4], "tandem.id=evt-" + n) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 20u);
  EXPECT_TRUE((*log)->Close().ok());
}

}  // namespace
}  // namespace tandem::kafka_test
