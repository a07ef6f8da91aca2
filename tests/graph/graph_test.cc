// Graph-specific behaviour: placeholders, edges following references,
// deletes, traversals, schema handling and reopening.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "graph_test_util.h"

namespace tandem::graph_test {
namespace {

using ET = EventType;
using AC = ApplyCode;

class Graph : public GraphFixture {
 protected:
  // a0 -sent-> t0 -received_by-> a1 -sent-> t1 ... (transactions only, so the
  // accounts are placeholders), plus accounts s0.. owned by a0.
  void MoneyChain(int accounts, int owners) {
    std::vector<StoreEvent> events;
    for (int i = 0; i + 1 < accounts; ++i) {
      events.push_back(Ev(ET::kCreate, "transaction", "t" + std::to_string(i), i,
                          R"({"from_account":"a)" + std::to_string(i) + R"(","to_account":"a)" +
                              std::to_string(i + 1) + R"("})"));
    }
    for (int k = 0; k < owners; ++k) {
      events.push_back(
          Ev(ET::kCreate, "account", "s" + std::to_string(k), k, R"({"owner_id":"a0"})"));
    }
    Apply(events);
  }
};

TEST_F(Graph, EdgeBeforeItsTargetMakesAPlaceholderThatIsFilledLater) {
  Apply({Ev(ET::kCreate, "transaction", "t1", 0,
            R"({"from_account":"a1","to_account":"a2","amount":5})")});
  auto a1 = V("a1");
  ASSERT_TRUE(a1.has_value());
  EXPECT_TRUE(a1->placeholder);
  EXPECT_FALSE(a1->deleted);
  EXPECT_EQ(a1->label, "");
  EXPECT_EQ(a1->properties, "{}");
  EXPECT_EQ(a1->references, 1u);
  EXPECT_TRUE(store_->Get("a1").status().IsNotFound());  // never applied
  EXPECT_EQ(Edges("a1", Direction::kOut), (EdgeSet{{"a1", "sent", "t1"}}));
  EXPECT_EQ(Edges("t1", Direction::kBoth),
            (EdgeSet{{"a1", "sent", "t1"}, {"t1", "received_by", "a2"}}));
  auto counts = store_->CountByLabel();
  STORE_ASSERT_OK(counts);
  EXPECT_EQ(*counts, (std::map<std::string, uint64_t>{{"_placeholder", 2}, {"transaction", 1}}));

  Apply({Ev(ET::kCreate, "account", "a1", 0, R"({"owner_id":"p1","currency":"EUR"})")});
  a1 = V("a1");
  ASSERT_TRUE(a1.has_value());
  EXPECT_FALSE(a1->placeholder);
  EXPECT_EQ(a1->label, "account");
  EXPECT_EQ(a1->properties, R"({"currency":"EUR","owner_id":"p1"})");
  EXPECT_EQ(a1->references, 1u);
  EXPECT_EQ(Edges("a1", Direction::kBoth), (EdgeSet{{"a1", "sent", "t1"}, {"p1", "owns", "a1"}}));
  EXPECT_TRUE(V("p1")->placeholder);
  EXPECT_EQ(*store_->CountByLabel(), (std::map<std::string, uint64_t>{
                                         {"_placeholder", 2}, {"account", 1}, {"transaction", 1}}));
  EXPECT_EQ(*store_->VerticesWithLabel("_placeholder", 10), (std::vector<std::string>{"a2", "p1"}));
}

TEST_F(Graph, ReferenceChangeMovesTheEdgeAndDropsUnreferencedPlaceholders) {
  Apply({Ev(ET::kCreate, "person", "p1", 0, R"({"name":"Ada"})"),
         Ev(ET::kCreate, "account", "a1", 0, R"({"owner_id":"p1"})")});
  EXPECT_EQ(Edges("p1", Direction::kOut, "owns"), (EdgeSet{{"p1", "owns", "a1"}}));
  Apply({Ev(ET::kUpdate, "account", "a1", 1, R"({"owner_id":"p2"})")});
  EXPECT_TRUE(Edges("p1", Direction::kBoth).empty());
  EXPECT_EQ(Edges("a1", Direction::kIn), (EdgeSet{{"p2", "owns", "a1"}}));
  EXPECT_TRUE(V("p2")->placeholder);
  EXPECT_FALSE(V("p1")->placeholder);  // still a live person
  Apply({Ev(ET::kUpdate, "account", "a1", 2, R"({"owner_id":null})")});
  EXPECT_FALSE(V("p2").has_value());  // nobody references it any more
  EXPECT_TRUE(Edges("a1", Direction::kBoth).empty());
  EXPECT_EQ(store_->CountByLabel()->count("_placeholder"), 0u);
  // A stale update that would restore the old owner is skipped.
  EXPECT_EQ(Apply({Ev(ET::kUpdate, "account", "a1", 1, R"({"owner_id":"p2"})")}),
            (std::vector<AC>{AC::kSkippedStale}));
  EXPECT_FALSE(V("p2").has_value());
  // An upsert replaces the payload, so references it omits disappear.
  Apply({Ev(ET::kUpdate, "account", "a1", 3, R"({"owner_id":"p1"})"),
         Ev(ET::kUpsert, "account", "a1", 4, R"({"currency":"USD"})")});
  EXPECT_TRUE(Edges("a1", Direction::kBoth).empty());
}

// The store remembers which vertices exist so that references to them cost
// no read; each step below is its own batch, so a stale memory of a vertex
// that went away would leave a dangling edge (CheckInvariants in TearDown
// and the asserts here would catch it).
TEST_F(Graph, ReferencesAcrossBatchesFollowVerticesThatWentAway) {
  Apply({Ev(ET::kCreate, "account", "a1", 0, R"({"owner_id":"p9"})")});  // p9: placeholder
  Apply({Ev(ET::kUpdate, "account", "a1", 1, R"({"owner_id":"p8"})")});  // p9 unreferenced
  EXPECT_FALSE(V("p9").has_value());
  Apply({Ev(ET::kCreate, "account", "a2", 0, R"({"owner_id":"p9"})")});  // p9 again
  ASSERT_TRUE(V("p9").has_value());
  EXPECT_TRUE(V("p9")->placeholder);
  EXPECT_EQ(V("p9")->references, 1u);

  Apply({Ev(ET::kCreate, "transaction", "t1", 0, R"({"from_account":"a1"})")});  // a1 live
  Apply({Ev(ET::kDelete, "account", "a1", 2)});  // still referenced by t1
  EXPECT_TRUE(V("a1")->placeholder);
  EXPECT_TRUE(V("a1")->deleted);
  Apply({Ev(ET::kDelete, "transaction", "t1", 1)});  // a1: an unreferenced tombstone
  EXPECT_FALSE(V("a1").has_value());
  Apply({Ev(ET::kCreate, "transaction", "t2", 0, R"({"to_account":"a1"})")});
  ASSERT_TRUE(V("a1").has_value());
  EXPECT_TRUE(V("a1")->placeholder);
  EXPECT_TRUE(V("a1")->deleted);
  EXPECT_EQ(store_->CountByLabel()->at("_placeholder"), 2u);  // p9, a1 (p8 left with a1)
  STORE_EXPECT_OK(store_->CheckInvariants());
}

TEST_F(Graph, DeleteRemovesTheEntitysEdgesAndLeavesReferencedOnesAsPlaceholders) {
  Apply({Ev(ET::kCreate, "account", "a1", 0, R"({"owner_id":"p1"})"),
         Ev(ET::kCreate, "account", "a2", 1, R"({"owner_id":"p1"})"),
         Ev(ET::kCreate, "transaction", "t1", 0, R"({"from_account":"a1","to_account":"a2"})")});
  EXPECT_EQ(V("p1")->references, 2u);
  Apply({Ev(ET::kDelete, "transaction", "t1", 1)});
  EXPECT_FALSE(V("t1").has_value());  // a tombstone nobody references is not a vertex
  EXPECT_TRUE(Edges("a1", Direction::kOut).empty());
  EXPECT_TRUE(Edges("a2", Direction::kIn, "received_by").empty());
  EXPECT_TRUE(store_->Get("t1")->deleted());
  Apply({Ev(ET::kCreate, "transaction", "t1", 2, R"({"from_account":"a1","to_account":"a2"})")});
  // Deleting a referenced account removes its own edge (owns) but not the
  // transaction's edge to it: the account stays as a deleted placeholder.
  Apply({Ev(ET::kDelete, "account", "a1", 2)});
  auto a1 = V("a1");
  ASSERT_TRUE(a1.has_value());
  EXPECT_TRUE(a1->placeholder);
  EXPECT_TRUE(a1->deleted);
  EXPECT_EQ(Edges("a1", Direction::kBoth), (EdgeSet{{"a1", "sent", "t1"}}));
  EXPECT_EQ(Edges("p1", Direction::kOut), (EdgeSet{{"p1", "owns", "a2"}}));
  // A stale create cannot resurrect it; a newer one fills it again.
  EXPECT_EQ(Apply({Ev(ET::kCreate, "account", "a1", 1, R"({"owner_id":"p9"})")}),
            (std::vector<AC>{AC::kSkippedStale}));
  EXPECT_FALSE(V("p9").has_value());
  Apply({Ev(ET::kCreate, "account", "a1", 3, R"({"owner_id":"p9"})")});
  EXPECT_EQ(V("a1")->label, "account");
  EXPECT_FALSE(V("a1")->placeholder);
  EXPECT_EQ(Edges("a1", Direction::kBoth), (EdgeSet{{"a1", "sent", "t1"}, {"p9", "owns", "a1"}}));
  // Deleting the last account of p1 removes the p1 placeholder.
  Apply({Ev(ET::kDelete, "account", "a2", 4)});
  EXPECT_FALSE(V("p1").has_value());
}

TEST_F(Graph, ArrayAndSelfReferences) {
  Apply({Ev(ET::kCreate, "company", "c1", 0,
            R"({"directors":["p1","p2","p1"],"beneficial_owners":["p2"],"signatories":[]})"),
         Ev(ET::kCreate, "person", "p1", 0, R"({"employer_id":"c1"})")});
  EXPECT_EQ(Edges("c1", Direction::kIn), (EdgeSet{{"p1", "director_of", "c1"},
                                                  {"p2", "director_of", "c1"},
                                                  {"p2", "beneficial_owner_of", "c1"},
                                                  {"p1", "employed_by", "c1"}}));
  EXPECT_EQ(V("p2")->references, 2u);
  EXPECT_EQ(V("c1")->references, 1u);  // p1's employer_id
  Apply({Ev(ET::kUpdate, "company", "c1", 1, R"({"directors":["p2"]})")});
  EXPECT_EQ(Edges("p1", Direction::kOut), (EdgeSet{{"p1", "employed_by", "c1"}}));
  // An account that owns itself: a self-loop, reported once.
  Apply({Ev(ET::kCreate, "account", "a1", 0, R"({"owner_id":"a1"})")});
  EXPECT_EQ(Edges("a1", Direction::kBoth), (EdgeSet{{"a1", "owns", "a1"}}));
  EXPECT_EQ(store_->Neighbors("a1", Direction::kBoth, "", 10)->size(), 1u);
  EXPECT_EQ(V("a1")->references, 1u);
  Apply({Ev(ET::kDelete, "account", "a1", 1)});
  EXPECT_FALSE(V("a1").has_value());
}

TEST_F(Graph, AnEdgeDeclaredFromBothEndsIsCountedTwice) {
  GraphSchema linked;
  linked.references = {{"node", "next", "link", ReferenceSpec::Orientation::kOut},
                       {"node", "prev", "link", ReferenceSpec::Orientation::kIn}};
  Open(linked, "linked");
  Apply({Ev(ET::kCreate, "node", "n1", 0, R"({"next":"n2"})"),
         Ev(ET::kCreate, "node", "n2", 1, R"({"prev":"n1"})")});
  auto out = store_->Neighbors("n1", Direction::kOut, "link", 10);
  STORE_ASSERT_OK(out);
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0], (Edge{"n1", "link", "n2", 2}));
  Apply({Ev(ET::kDelete, "node", "n1", 2)});
  out = store_->Neighbors("n2", Direction::kIn, "link", 10);
  STORE_ASSERT_OK(out);
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0], (Edge{"n1", "link", "n2", 1}));
  EXPECT_TRUE(V("n1")->placeholder);
}

TEST_F(Graph, NeighborsByDirectionLabelAndLimit) {
  Apply({Ev(ET::kCreate, "account", "a1", 0, R"({"owner_id":"p1"})"),
         Ev(ET::kCreate, "transaction", "t1", 0, R"({"from_account":"a1","to_account":"a2"})"),
         Ev(ET::kCreate, "transaction", "t2", 1, R"({"from_account":"a1","to_account":"a3"})"),
         Ev(ET::kCreate, "transaction", "t3", 2, R"({"from_account":"a2","to_account":"a1"})")});
  EXPECT_EQ(Edges("a1", Direction::kOut), (EdgeSet{{"a1", "sent", "t1"}, {"a1", "sent", "t2"}}));
  EXPECT_EQ(Edges("a1", Direction::kIn),
            (EdgeSet{{"p1", "owns", "a1"}, {"t3", "received_by", "a1"}}));
  EXPECT_EQ(Edges("a1", Direction::kIn, "owns"), (EdgeSet{{"p1", "owns", "a1"}}));
  EXPECT_EQ(Edges("a1", Direction::kBoth, "received_by"), (EdgeSet{{"t3", "received_by", "a1"}}));
  EXPECT_TRUE(Edges("a1", Direction::kOut, "owns").empty());
  EXPECT_TRUE(Edges("a1", Direction::kOut, "own").empty());  // no prefix matching of labels
  auto limited = store_->Neighbors("a1", Direction::kBoth, "", 3);
  STORE_ASSERT_OK(limited);
  EXPECT_EQ(limited->size(), 3u);
  EXPECT_EQ(ToSet(*limited).size(), 3u);
  EXPECT_TRUE(store_->Neighbors("zz", Direction::kOut, "", 10).status().IsNotFound());
  EXPECT_TRUE(store_->Neighbors("a1", Direction::kOut, "", 0)->empty());
}

TEST_F(Graph, ExpandRespectsDepthAndVertexLimits) {
  MoneyChain(6, 5);
  ExpandOptions o;
  o.direction = Direction::kOut;
  o.max_depth = 2;
  auto g = store_->Expand("a0", o);
  STORE_ASSERT_OK(g);
  std::vector<std::pair<std::string, uint32_t>> got;
  for (const auto& e : g->vertices) got.emplace_back(e.vertex.id, e.depth);
  // a0's out-edges: sent t0 and owns s0..s4; depth 2: t0 -> a1.
  EXPECT_EQ(got.size(), 8u);
  EXPECT_EQ(got.front(), (std::pair<std::string, uint32_t>{"a0", 0}));
  EXPECT_FALSE(g->truncated);
  EXPECT_EQ(std::count(got.begin(), got.end(), std::pair<std::string, uint32_t>{"a1", 2}), 1);
  EXPECT_EQ(g->edges.size(), 7u);

  o.edge_labels = {"sent", "received_by"};
  o.max_depth = 4;
  g = store_->Expand("a0", o);
  STORE_ASSERT_OK(g);
  ASSERT_EQ(g->vertices.size(), 5u);  // a0 t0 a1 t1 a2
  EXPECT_EQ(g->vertices.back().vertex.id, "a2");
  EXPECT_EQ(g->vertices.back().depth, 4u);
  EXPECT_TRUE(g->vertices.back().vertex.placeholder);

  o.max_vertices = 3;
  g = store_->Expand("a0", o);
  STORE_ASSERT_OK(g);
  EXPECT_EQ(g->vertices.size(), 3u);
  EXPECT_TRUE(g->truncated);
  for (const Edge& e : g->edges) {
    bool from_in = false, to_in = false;
    for (const auto& v : g->vertices) {
      from_in |= v.vertex.id == e.from;
      to_in |= v.vertex.id == e.to;
    }
    EXPECT_TRUE(from_in && to_in) << e.from << " -> " << e.to;
  }

  ExpandOptions both;
  both.max_depth = 1;
  g = store_->Expand("a1", both);
  STORE_ASSERT_OK(g);
  EXPECT_EQ(g->vertices.size(), 3u);  // a1, t0 (in), t1 (out)
  both.max_depth = 0;
  EXPECT_EQ(store_->Expand("a1", both)->vertices.size(), 1u);
  EXPECT_TRUE(store_->Expand("nope", both).status().IsNotFound());
}

TEST_F(Graph, ShortestPathRespectsDirectionAndDepthBound) {
  MoneyChain(5, 2);  // a0 -> ... -> a4 is 8 edges
  PathOptions o;
  o.direction = Direction::kOut;
  o.max_depth = 8;
  auto p = store_->ShortestPath("a0", "a4", o);
  STORE_ASSERT_OK(p);
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->vertices,
            (std::vector<std::string>{"a0", "t0", "a1", "t1", "a2", "t2", "a3", "t3", "a4"}));
  ASSERT_EQ((*p)->edges.size(), 8u);
  for (size_t i = 0; i < (*p)->edges.size(); ++i) {
    EXPECT_EQ((*p)->edges[i].from, (*p)->vertices[i]);
    EXPECT_EQ((*p)->edges[i].to, (*p)->vertices[i + 1]);
  }
  o.max_depth = 7;
  p = store_->ShortestPath("a0", "a4", o);
  STORE_ASSERT_OK(p);
  EXPECT_FALSE(p->has_value());
  o.max_depth = 8;
  p = store_->ShortestPath("a4", "a0", o);  // against the edges
  STORE_ASSERT_OK(p);
  EXPECT_FALSE(p->has_value());
  o.direction = Direction::kBoth;
  p = store_->ShortestPath("a4", "a0", o);
  STORE_ASSERT_OK(p);
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->vertices.size(), 9u);
  // Through the owner star: s0 -owns<- a0 ... both directions, 2 hops to s1.
  p = store_->ShortestPath("s0", "s1", o);
  STORE_ASSERT_OK(p);
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->vertices, (std::vector<std::string>{"s0", "a0", "s1"}));
  p = store_->ShortestPath("a2", "a2", o);
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->vertices, (std::vector<std::string>{"a2"}));
  o.max_visited = 3;
  EXPECT_EQ(store_->ShortestPath("a0", "a4", o).status().code(), StatusCode::kTooLarge);
  EXPECT_TRUE(store_->ShortestPath("a0", "zz", o).status().IsNotFound());
  o.edge_labels = {"owns"};
  o.max_visited = 1000;
  p = store_->ShortestPath("a0", "a4", o);
  STORE_ASSERT_OK(p);
  EXPECT_FALSE(p->has_value());
}

// Shortest paths agree with a plain breadth-first search over a random graph.
TEST_F(Graph, ShortestPathLengthMatchesPlainBfs) {
  Random rnd(42);
  std::vector<StoreEvent> events;
  for (int i = 0; i < 60; ++i) {
    events.push_back(Ev(ET::kCreate, "transaction", "t" + std::to_string(i), i,
                        R"({"from_account":"a)" + std::to_string(rnd.Uniform(25)) +
                            R"(","to_account":"a)" + std::to_string(rnd.Uniform(25)) + R"("})"));
  }
  Apply(events);
  std::map<std::string, std::vector<std::string>> adj;  // out-edges
  for (const StoreEvent& e : events) {
    std::string from = e.event.payload.substr(17, e.event.payload.find('"', 17) - 17);
    size_t to_at = e.event.payload.find("to_account\":\"") + 13;
    std::string to = e.event.payload.substr(to_at, e.event.payload.find('"', to_at) - to_at);
    adj[from].push_back(e.event.entity_id);
    adj[e.event.entity_id].push_back(to);
  }
  auto bfs = [&](const std::string& s, const std::string& t) -> int {
    std::map<std::string, int> dist{{s, 0}};
    std::vector<std::string> q{s};
    for (size_t i = 0; i < q.size(); ++i) {
      if (q[i] == t) return dist[q[i]];
      for (const std::string& n : adj[q[i]]) {
        if (dist.emplace(n, dist[q[i]] + 1).second) q.push_back(n);
      }
    }
    return -1;
  };
  PathOptions o;
  o.direction = Direction::kOut;
  o.max_depth = 12;
  int found = 0;
  for (int i = 0; i < 40; ++i) {
    std::string s = "a" + std::to_string(rnd.Uniform(25));
    std::string t = "a" + std::to_string(rnd.Uniform(25));
    if (!V(s) || !V(t)) continue;
    auto p = store_->ShortestPath(s, t, o);
    STORE_ASSERT_OK(p);
    int want = bfs(s, t);
    if (want < 0 || want > 12) {
      EXPECT_FALSE(p->has_value()) << s << "->" << t;
    } else {
      ASSERT_TRUE(p->has_value()) << s << "->" << t;
      EXPECT_EQ(static_cast<int>((*p)->edges.size()), want) << s << "->" << t;
      ++found;
    }
  }
  EXPECT_GT(found, 5);
}

TEST_F(Graph, TombstoneExpiryKeepsAReferencedPlaceholder) {
  Apply({Ev(ET::kCreate, "account", "a1", 0, R"({"owner_id":"p1"})"),
         Ev(ET::kCreate, "transaction", "t1", 0, R"({"from_account":"a1"})")});
  Apply({Ev(ET::kDelete, "account", "a1", 1)});
  EXPECT_TRUE(V("a1")->deleted);
  clock_.Advance(store_test::kRetentionUs + 1);
  auto n = store_->ExpireTombstones();
  STORE_ASSERT_OK(n);
  EXPECT_EQ(*n, 1u);
  STORE_EXPECT_OK(store_->CheckInvariants());
  auto a1 = V("a1");
  ASSERT_TRUE(a1.has_value());
  EXPECT_TRUE(a1->placeholder);
  EXPECT_FALSE(a1->deleted);
  EXPECT_TRUE(store_->Get("a1").status().IsNotFound());
  EXPECT_EQ(Edges("a1", Direction::kOut), (EdgeSet{{"a1", "sent", "t1"}}));
  EXPECT_EQ(*store_->ExpireTombstones(), 0u);
}

TEST_F(Graph, EverythingSurvivesReopen) {
  MoneyChain(4, 2);
  Apply({Ev(ET::kDelete, "transaction", "t1", 10)});
  auto before = Dump(*store_);
  STORE_ASSERT_OK(before);
  auto digest = store_->Digest();
  STORE_ASSERT_OK(digest);
  Open(BankingSchema());
  auto after = Dump(*store_);
  STORE_ASSERT_OK(after);
  EXPECT_TRUE(*after == *before);
  EXPECT_EQ(*store_->Digest(), *digest);
  EXPECT_FALSE(after->edges.empty());
}

TEST_F(Graph, OpeningWithAnotherSchemaOrTwiceFails) {
  Apply({Ev(ET::kCreate, "account", "a1", 0, R"({"owner_id":"p1"})")});
  GraphStoreOptions o;
  o.dir = dir_.path() + "/graph";
  o.clock = &clock_;
  auto twice = OpenGraphStore(o);
  EXPECT_FALSE(twice.ok());  // RocksDB's LOCK file
  store_.reset();
  GraphSchema other = BankingSchema();
  other.references.pop_back();
  o.schema = other;
  auto s = OpenGraphStore(o);
  EXPECT_EQ(s.status().code(), StatusCode::kFailedPrecondition) << s.status().ToString();
  o.schema = BankingSchema();
  o.schema.references.push_back(o.schema.references.front());
  EXPECT_TRUE(OpenGraphStore(o).status().IsInvalidArgument());
  o.dir.clear();
  EXPECT_TRUE(OpenGraphStore(o).status().IsInvalidArgument());
  Open(BankingSchema());
  EXPECT_EQ(Edges("a1", Direction::kIn), (EdgeSet{{"p1", "owns", "a1"}}));
}

TEST_F(Graph, PositionsOfAllTopicsAreKept) {
  Apply({Ev(ET::kCreate, "account", "a1", 3, "{}", {}, 2),
         Ev(ET::kCreate, "transaction", "t1", 8, R"({"from_account":"a1"})", {}, 0)});
  PositionMap want = {{{"account", 2}, 3}, {{"transaction", 0}, 8}};
  EXPECT_EQ(*store_->Positions(), want);
}

}  // namespace
}  // namespace tandem::graph_test
