// examples/banking/events.ndjson end to end: every line parsed by
// EventParser, given a synthetic log position (topic = entity_type,
// partition = hash(entity_id) mod 4, offsets counted per partition), applied
// to the graph store with the default banking schema.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "common/hash.h"
#include "graph_test_util.h"
#include "tandem/event.h"

#ifndef TANDEM_BANKING_EVENTS
#error "TANDEM_BANKING_EVENTS must name examples/banking/events.ndjson"
#endif

namespace tandem::graph_test {
namespace {

constexpr uint32_t kPartitions = 4;

std::vector<StoreEvent> LoadSample(Clock& clock) {
  std::ifstream in(TANDEM_BANKING_EVENTS, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EventParser parser(clock);
  std::map<std::pair<std::string, uint32_t>, uint64_t> next;
  std::vector<StoreEvent> out;
  std::string line;
  size_t number = 0;
  while (std::getline(ss, line)) {
    ++number;
    if (line.empty()) continue;
    Result<EntityEvent> e = parser.Parse(line);
    EXPECT_TRUE(e.ok()) << "line " << number << ": " << e.status().ToString();
    if (!e.ok()) continue;
    StoreEvent se;
    se.event = std::move(e).value();
    uint32_t partition = PartitionForKey(se.event.entity_id, kPartitions);
    uint64_t& offset = next[{se.event.entity_type, partition}];
    se.position = LogPosition{se.event.entity_type, partition, offset++};
    out.push_back(std::move(se));
  }
  return out;
}

class BankingGraph : public GraphFixture {
 protected:
  void SetUp() override {
    GraphFixture::SetUp();
    sample_ = LoadSample(clock_);
    ASSERT_GE(sample_.size(), 55u);
    auto r = store_->ApplyBatch(sample_);
    STORE_ASSERT_OK(r);
    result_ = std::move(r).value();
  }
  bool HasEdge(const std::string& from, const std::string& label, const std::string& to) {
    return Edges(from, Direction::kOut, label).contains({from, label, to});
  }

  std::vector<StoreEvent> sample_;
  BatchResult result_;
};

TEST_F(BankingGraph, EveryEventIsAppliedOrADuplicate) {
  // evt-0021 (t-4003) and evt-0037 (p-1004) are delivered twice in the sample.
  EXPECT_EQ(result_.counts.duplicate, 2u);
  EXPECT_EQ(result_.counts.applied, sample_.size() - 2);
  EXPECT_EQ(result_.counts.stale + result_.counts.permanent + result_.counts.transient, 0u);
  for (size_t i = 0; i < sample_.size(); ++i) {
    if (result_.outcomes[i].code == ApplyCode::kSkippedDuplicate) {
      const std::string& id = sample_[i].event.event_id;
      EXPECT_TRUE(id == "evt-0021" || id == "evt-0037") << id;
    }
  }
  // Replaying the whole sample changes nothing.
  auto digest = store_->Digest();
  STORE_ASSERT_OK(digest);
  auto again = store_->ApplyBatch(sample_);
  STORE_ASSERT_OK(again);
  EXPECT_EQ(again->counts.applied, 0u);
  EXPECT_EQ(*store_->Digest(), *digest);
}

TEST_F(BankingGraph, KnownEdgesExist) {
  EXPECT_TRUE(HasEdge("p-1001", "owns", "a-3001"));
  EXPECT_TRUE(HasEdge("c-2002", "owns", "a-3003"));  // a company owns an account
  EXPECT_TRUE(HasEdge("a-3005", "sent", "t-4001"));
  EXPECT_TRUE(HasEdge("t-4001", "received_by", "a-3001"));
  EXPECT_TRUE(HasEdge("p-1004", "sent", "m-5001"));
  EXPECT_TRUE(HasEdge("m-5001", "received_by", "p-1005"));
  EXPECT_TRUE(HasEdge("p-1005", "beneficial_owner_of", "c-2002"));
  EXPECT_TRUE(HasEdge("p-1006", "signatory_of", "c-2002"));
  EXPECT_TRUE(HasEdge("p-1004", "director_of", "c-2003"));
  EXPECT_TRUE(HasEdge("p-1007", "owns", "a-3009"));
  EXPECT_EQ(Edges("a-3007", Direction::kOut, "sent").size(), 3u);  // the structuring
}

TEST_F(BankingGraph, DeletesAndMergesAreReflected) {
  // a-3008 was deleted, but t-4009 still sends money to it: a deleted placeholder.
  auto a3008 = V("a-3008");
  ASSERT_TRUE(a3008.has_value());
  EXPECT_TRUE(a3008->placeholder);
  EXPECT_TRUE(a3008->deleted);
  EXPECT_FALSE(HasEdge("p-1003", "owns", "a-3008"));
  EXPECT_TRUE(HasEdge("t-4009", "received_by", "a-3008"));
  // m-5005 and p-1008 were deleted and nothing references them.
  EXPECT_FALSE(V("m-5005").has_value());
  EXPECT_FALSE(V("p-1008").has_value());
  EXPECT_FALSE(HasEdge("p-1001", "sent", "m-5005"));
  auto p1001 = V("p-1001");
  ASSERT_TRUE(p1001.has_value());
  EXPECT_NE(p1001->properties.find(R"("city":"Hamburg")"), std::string::npos);
  EXPECT_NE(p1001->properties.find(R"("name":"Maria Schneider")"), std::string::npos);
  EXPECT_EQ(p1001->version, 2);
  auto counts = store_->CountByLabel();
  STORE_ASSERT_OK(counts);
  EXPECT_EQ(*counts, (std::map<std::string, uint64_t>{{"_placeholder", 1},
                                                      {"account", 8},
                                                      {"communication", 5},
                                                      {"company", 3},
                                                      {"person", 7},
                                                      {"transaction", 14}}));
  EXPECT_EQ(store_->Digest()->entities, 37u);
}

TEST_F(BankingGraph, MoneyTrailIsAShortestPath) {
  PathOptions o;
  o.direction = Direction::kOut;
  o.edge_labels = {"sent", "received_by"};
  o.max_depth = 6;
  auto p = store_->ShortestPath("a-3003", "a-3006", o);
  STORE_ASSERT_OK(p);
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->vertices.front(), "a-3003");
  EXPECT_EQ((*p)->vertices[2], "a-3004");  // the consulting fee to Petrov's account
  EXPECT_EQ((*p)->vertices[4], "a-3007");  // on to Sunrise Ventures
  EXPECT_EQ((*p)->edges.size(), 6u);
  o.max_depth = 5;
  p = store_->ShortestPath("a-3003", "a-3006", o);
  STORE_ASSERT_OK(p);
  EXPECT_FALSE(p->has_value());
  // Who is two hops from Petrov through communications?
  ExpandOptions x;
  x.edge_labels = {"sent", "received_by"};
  x.max_depth = 2;
  auto g = store_->Expand("p-1004", x);
  STORE_ASSERT_OK(g);
  std::set<std::string> reached;
  for (const auto& e : g->vertices) reached.insert(e.vertex.id);
  EXPECT_TRUE(reached.contains("p-1005"));
  EXPECT_TRUE(reached.contains("p-1006"));
}

TEST_F(BankingGraph, PositionsAreTheLastOffsetOfEveryPartition) {
  PositionMap want;
  for (const StoreEvent& e : sample_) {
    uint64_t& o = want[{e.position.topic, e.position.partition}];
    o = std::max(o, e.position.offset);
  }
  EXPECT_EQ(*store_->Positions(), want);
}

}  // namespace
}  // namespace tandem::graph_test
