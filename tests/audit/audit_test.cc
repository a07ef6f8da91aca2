// tandem audit on real stores fed by their legs: a clean audit after catch-up,
// writes that bypassed the log (stale, extra, missing) found by id and
// repaired idempotently, dead letters explained, unconsumed events pending,
// and the same result under a tiny memory budget.

#include <algorithm>
#include <filesystem>
#include <set>

#include "audit_test_util.h"

namespace tandem::audit_test {
namespace {

using leg_test::SampleEvents;

const StoreAuditReport& Of(const AuditReport& r, const std::string& name) {
  for (const StoreAuditReport& s : r.stores) {
    if (s.name == name) return s;
  }
  ADD_FAILURE() << "no store " << name;
  static const StoreAuditReport kNone;
  return kNone;
}

// The first live person of the sample, as the graph store holds it.
std::string FirstPerson(GraphStore& g) {
  Result<std::vector<std::string>> ids = g.VerticesWithLabel("person", 1);
  EXPECT_TRUE(ids.ok() && !ids->empty());
  return ids.ok() && !ids->empty() ? ids->front() : std::string("?");
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_.env().Publish(SampleEvents());
    w_.StartLegs();
    w_.CatchUp();
  }
  AuditWorld w_;
};

TEST_F(AuditTest, CleanAfterCatchUpWithTheIdentityHolding) {
  AuditReport r = w_.Audit();
  EXPECT_TRUE(r.clean()) << AuditReportText(r);
  EXPECT_EQ(r.records_read, leg_test::kSampleRecords);
  EXPECT_EQ(r.undecodable, 0u);
  ASSERT_EQ(r.stores.size(), 2u);
  for (const StoreAuditReport& s : r.stores) {
    EXPECT_EQ(s.divergent(), 0u) << s.name;
    EXPECT_EQ(s.pending, 0u) << s.name;
    EXPECT_GE(s.checked, r.truth_entities) << s.name;
    EXPECT_GT(s.ranges, 1u) << s.name;  // range_entities 8: several ranges ...
    EXPECT_EQ(s.ranges_equal, s.ranges) << s.name;  // ... all equal by digest
    ASSERT_TRUE(s.identity.has_value()) << s.name;
    EXPECT_TRUE(s.identity->holds()) << s.name;
    EXPECT_GT(s.identity->applied, 0u) << s.name;
  }
  // The graph store's live entities are the truth's live ones.
  EXPECT_EQ(w_.graph().Digest()->entities, w_.vector().Digest()->entities);
  const std::string json = AuditReportJson(r);
  EXPECT_NE(json.find("\"clean\":true"), std::string::npos) << json;
}

TEST_F(AuditTest, WritesThatBypassedTheLogAreFoundAndRepaired) {
  const StoreDigest before = *w_.graph().Digest();
  const std::string person = FirstPerson(w_.graph());
  // A changed payload of a real entity, and an entity the log never saw.
  std::vector<StoreEvent> bypass = {
      Fake(EventType::kUpdate, "person", person, R"({"name":"Mallory"})", 1'000'000),
      Fake(EventType::kCreate, "person", "ghost-1", R"({"name":"Ghost"})", 1'000'001)};
  STORE_ASSERT_OK(w_.graph().ApplyBatch(bypass));
  // And a delete straight into the vector store.
  STORE_ASSERT_OK(
      w_.vector().ApplyBatch(std::vector<StoreEvent>{Fake(EventType::kDelete, "person", person,
                                                           "{}", 1'000'000)}));

  AuditReport r = w_.Audit();
  EXPECT_FALSE(r.clean());
  const StoreAuditReport& g = Of(r, "graph");
  EXPECT_EQ(g.stale, 1u);
  EXPECT_EQ(g.stale_ids, std::vector<std::string>{person});
  EXPECT_EQ(g.extra, 1u);
  EXPECT_EQ(g.extra_ids, std::vector<std::string>{"ghost-1"});
  EXPECT_EQ(g.missing + g.unindexed, 0u);
  const StoreAuditReport& v = Of(r, "vector");
  EXPECT_EQ(v.missing, 1u);
  EXPECT_EQ(v.missing_ids, std::vector<std::string>{person});
  EXPECT_EQ(v.extra + v.stale + v.unindexed, 0u);

  AuditReport repaired = w_.Audit(/*repair=*/true);
  EXPECT_EQ(Of(repaired, "graph").repaired, 2u);
  EXPECT_EQ(Of(repaired, "vector").repaired, 1u);
  EXPECT_EQ(Of(repaired, "graph").repair_skipped_changed, 0u);

  AuditReport after = w_.Audit();
  EXPECT_TRUE(after.clean()) << AuditReportText(after);
  // The repaired state is the truth: the digest of the log rebuilt.
  EXPECT_EQ(*w_.graph().Digest(), before);
  EXPECT_EQ(*w_.graph().Digest(), leg_test::ReferenceDigest(SampleEvents()));
  EXPECT_EQ(*w_.vector().Digest(), before);
  STORE_EXPECT_OK(w_.graph().CheckInvariants());
  STORE_EXPECT_OK(w_.vector().CheckInvariants());
  // The repaired vector document is searchable again.
  Result<VectorDocument> doc = w_.vector().GetDocument(person);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_FALSE(doc->state.deleted());
  EXPECT_TRUE(doc->text.has_value());
  EXPECT_TRUE(doc->indexed);
  EXPECT_FALSE(w_.graph().GetVertex("ghost-1").ok());

  // A second repair finds nothing to do.
  AuditReport again = w_.Audit(/*repair=*/true);
  EXPECT_TRUE(again.clean());
  EXPECT_EQ(Of(again, "graph").repaired + Of(again, "vector").repaired, 0u);
}

TEST_F(AuditTest, ChangedPayloadTextIsStaleInTheVectorStore) {
  const std::string person = FirstPerson(w_.graph());
  Result<EntityState> s = w_.vector().Get(person);
  ASSERT_TRUE(s.ok());
  // Same payload and marker, but another text embedded: only the content differs.
  StoreEvent e = Fake(EventType::kUpsert, "person", person, s->payload, 1'000'000);
  e.event.text_for_embedding = "someone else entirely";
  STORE_ASSERT_OK(w_.vector().ApplyBatch(std::vector<StoreEvent>{e}));
  AuditReport r = w_.Audit(/*repair=*/true);
  EXPECT_EQ(Of(r, "vector").stale_ids, std::vector<std::string>{person});
  EXPECT_EQ(Of(r, "vector").repaired, 1u);
  EXPECT_TRUE(w_.Audit().clean());
  EXPECT_NE(w_.vector().GetDocument(person)->text, "someone else entirely");
}

TEST_F(AuditTest, RepairSkipsAnEntityThatChangedSinceTheScan) {
  const std::string person = FirstPerson(w_.graph());
  STORE_ASSERT_OK(w_.graph().ApplyBatch(std::vector<StoreEvent>{
      Fake(EventType::kUpdate, "person", person, R"({"name":"Mallory"})", 1'000'000)}));
  const AppliedMarker seen = w_.graph().Get(person)->marker;
  // A leg applies something newer between the audit's scan and its repair.
  STORE_ASSERT_OK(w_.graph().ApplyBatch(std::vector<StoreEvent>{
      Fake(EventType::kUpdate, "person", person, R"({"name":"Trent"})", 1'000'001)}));
  Result<EntityState> truth = w_.vector().Get(person);  // the vector store agrees with the log
  ASSERT_TRUE(truth.ok());
  Result<bool> done = w_.graph().RestoreEntity(person, seen, *truth);
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
  EXPECT_NE(w_.graph().Get(person)->payload.find("Trent"), std::string::npos);
}

TEST_F(AuditTest, DeadLetteredEventsAreExplainedNotDivergent) {
  // The graph store refuses a reference that is not an entity id; the vector
  // store applies the event.
  EntityEvent bad;
  bad.event_id = "bad-owner";
  bad.event_type = EventType::kUpsert;
  bad.entity_type = "account";
  bad.entity_id = "acct-bad";
  bad.payload = R"({"owner_id":42})";
  bad.timestamp = "2026-01-01T00:00:00Z";
  w_.env().Publish({bad});
  w_.CatchUp();
  AuditReport r = w_.Audit();
  EXPECT_TRUE(r.clean()) << AuditReportText(r);
  EXPECT_EQ(r.dead_letters, 1u) << AuditReportText(r);
  EXPECT_EQ(Of(r, "graph").dead_lettered, 1u) << AuditReportText(r);
  EXPECT_EQ(Of(r, "graph").dead_lettered_ids, std::vector<std::string>{"acct-bad"});
  EXPECT_EQ(Of(r, "vector").dead_lettered, 0u);
  EXPECT_TRUE(Of(r, "graph").identity->holds());
}

TEST_F(AuditTest, EventsNotYetConsumedArePending) {
  w_.StopLegs();
  const std::string person = FirstPerson(w_.graph());
  EntityEvent later;
  later.event_id = "later-1";
  later.event_type = EventType::kUpdate;
  later.entity_type = "person";
  later.entity_id = person;
  later.payload = R"({"name":"Renamed"})";
  later.timestamp = "2026-01-01T00:00:00Z";
  EntityEvent fresh = later;
  fresh.event_id = "later-2";
  fresh.entity_id = "p-new";
  fresh.event_type = EventType::kCreate;
  w_.env().Publish({later, fresh});
  AuditReport r = w_.Audit();
  EXPECT_TRUE(r.clean()) << AuditReportText(r);
  for (const StoreAuditReport& s : r.stores) {
    EXPECT_EQ(s.pending, 2u) << s.name;
    std::vector<std::string> want = {person, "p-new"};
    std::sort(want.begin(), want.end());
    EXPECT_EQ(s.pending_ids, want) << s.name;
  }
  // Audited up to the log's end, the same two are divergent.
  AuditOptions o = w_.Options();
  o.up_to = AuditBound::kLogEnd;
  AuditReport strict = w_.Audit(o);
  EXPECT_FALSE(strict.clean());
  EXPECT_EQ(Of(strict, "graph").stale + Of(strict, "graph").missing, 2u);
}

// Replay: both stores rebuilt from the log have the live digests; a graph
// store rebuilt while the leg was behind is swapped in, the leg resumes from
// its subscription's committed positions, and the events the rebuilt store
// already holds come back as duplicates: nothing lost, nothing applied twice.
TEST_F(AuditTest, ReplayRebuildsBothStoresAndTheLegResumesWithoutReapplying) {
  TempDir fresh;
  GraphStoreOptions go;
  go.dir = fresh.path() + "/graph";
  std::unique_ptr<GraphStore> g = *OpenGraphStore(go);
  Result<ReplayStats> st = ReplayLogInto(w_.env().log(), *g, ReplayOptions{});
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->records, leg_test::kSampleRecords);
  EXPECT_EQ(*g->Digest(), *w_.graph().Digest());
  std::unique_ptr<Embedder> e = SmallHashEmbedder();
  VectorStoreOptions vo;
  vo.dir = fresh.path() + "/vector";
  vo.embedder = e.get();
  vo.sync = false;
  std::unique_ptr<VectorStore> v = *OpenVectorStore(vo);
  ASSERT_TRUE(ReplayLogInto(w_.env().log(), *v, ReplayOptions{}).ok());
  EXPECT_EQ(*v->Digest(), *w_.vector().Digest());
  STORE_EXPECT_OK(v->CheckInvariants());
  // A replay from an offset holds only the suffix.
  TempDir partial;
  go.dir = partial.path() + "/graph";
  std::unique_ptr<GraphStore> p = *OpenGraphStore(go);
  ReplayOptions from;
  from.from_beginning = false;
  from.from_offset = 3;
  ASSERT_TRUE(ReplayLogInto(w_.env().log(), *p, from).ok());
  EXPECT_LT(p->Digest()->entities, g->Digest()->entities);

  // The leg falls behind by two events; the rebuilt store has them.
  w_.StopLegs();
  const std::string person = FirstPerson(w_.graph());
  EntityEvent later;
  later.event_id = "later-1";
  later.event_type = EventType::kUpdate;
  later.entity_type = "person";
  later.entity_id = person;
  later.payload = R"({"name":"Renamed"})";
  later.timestamp = "2026-01-01T00:00:00Z";
  EntityEvent fresh_person = later;
  fresh_person.event_id = "later-2";
  fresh_person.entity_id = "p-new";
  fresh_person.event_type = EventType::kCreate;
  w_.env().Publish({later, fresh_person});
  TempDir rebuilt;
  go.dir = rebuilt.path() + "/graph";
  {
    std::unique_ptr<GraphStore> r = *OpenGraphStore(go);
    ASSERT_TRUE(ReplayLogInto(w_.env().log(), *r, ReplayOptions{}).ok());
  }
  const std::string live = w_.dir() + "/live-graph";
  std::filesystem::create_directories(live);
  w_.CloseGraph();
  STORE_ASSERT_OK(SwapStoreDirs(live + "/g", go.dir, live + "/g.old"));
  w_.ReopenGraph(live + "/g");
  w_.StartLegs();
  w_.CatchUp();
  w_.StopLegs();
  const LegStats s = w_.graph_leg().stats();
  EXPECT_EQ(s.applied, 0u);  // the two redelivered events are already in the rebuilt store
  EXPECT_EQ(s.skipped(), 2u);
  leg_test::ExpectBalanced(s);
  EXPECT_TRUE(w_.graph().Get("p-new").ok());
  AuditReport r = w_.Audit();
  EXPECT_TRUE(r.clean()) << AuditReportText(r);
}

TEST(AuditOptionsTest, BadOptionsAreRefusedByName) {
  AuditWorld w;
  AuditOptions o;
  Result<AuditReport> r = RunAudit(w.env().log(), {}, o);
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("temp_dir"), std::string::npos);
  o.temp_dir = w.dir() + "/tmp";
  o.memory_budget_bytes = 1000;
  r = RunAudit(w.env().log(), {}, o);
  EXPECT_NE(r.status().message().find("memory_budget_bytes"), std::string::npos);
}

// Many entities in MemStores (fed by a leg), a few corrupted: a 1 MiB budget
// with tiny ranges reports exactly what a large budget with one range does.
TEST(AuditMemoryTest, TinyBudgetGivesTheSameResult) {
  LegEnv env;
  env.OpenLog();
  std::vector<EntityEvent> events;
  const std::string filler(180, 'x');
  for (int i = 0; i < 12000; ++i) {
    EntityEvent e;
    e.event_id = "e" + std::to_string(i);
    e.event_type = i % 7 == 6 ? EventType::kUpdate : EventType::kUpsert;
    e.entity_type = "widget";
    e.entity_id = "w" + std::to_string(i % 9000);
    e.timestamp = "2026-01-01T00:00:00Z";
    e.payload = R"({"n":)" + std::to_string(i) + R"(,"f":")" + filler + "\"}";
    events.push_back(std::move(e));
  }
  env.Publish(events);
  MemStoreData data;
  std::unique_ptr<Store> store = NewMemStore(data);
  LegOptions lo = leg_test::TestLegOptions("mem");
  lo.max_batch_events = 500;
  Result<std::unique_ptr<Leg>> leg = NewLeg(env.log(), NewStoreSink(*store), lo);
  ASSERT_TRUE(leg.ok());
  STORE_ASSERT_OK((*leg)->Start());
  STORE_ASSERT_OK((*leg)->WaitForCaughtUp(leg_test::kWaitUs));
  STORE_ASSERT_OK((*leg)->Stop());
  // Corrupt: one erased, one changed, one invented.
  data.entities.erase("w17");
  data.entities.at("w4242").payload = R"({"n":0})";
  EntityState ghost = data.entities.at("w1");
  ghost.entity_id = "w99999";
  data.entities["w99999"] = ghost;

  TempDir dir;
  AuditTarget target{"mem", store.get(), "mem", nullptr};
  AuditOptions small;
  small.temp_dir = dir.path();
  small.memory_budget_bytes = size_t{1} << 20;
  small.range_entities = 7;
  small.read_bytes = 64 << 10;
  AuditOptions big = small;
  big.memory_budget_bytes = size_t{256} << 20;
  big.range_entities = 1'000'000;
  big.read_bytes = 8 << 20;
  Result<AuditReport> a = RunAudit(env.log(), {&target, 1}, small);
  Result<AuditReport> b = RunAudit(env.log(), {&target, 1}, big);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const StoreAuditReport& sa = a->stores[0];
  const StoreAuditReport& sb = b->stores[0];
  EXPECT_EQ(a->truth_entities, 9000u);
  EXPECT_EQ(sa.missing_ids, std::vector<std::string>{"w17"});
  EXPECT_EQ(sa.stale_ids, std::vector<std::string>{"w4242"});
  EXPECT_EQ(sa.extra_ids, std::vector<std::string>{"w99999"});
  EXPECT_EQ(sa.checked, sb.checked);
  EXPECT_EQ(sa.missing_ids, sb.missing_ids);
  EXPECT_EQ(sa.stale_ids, sb.stale_ids);
  EXPECT_EQ(sa.extra_ids, sb.extra_ids);
  EXPECT_GT(sa.ranges, 1000u);
  EXPECT_EQ(sa.ranges - sa.ranges_equal, 3u);  // only the three ranges with a difference
  EXPECT_EQ(sb.ranges, 1u);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));  // the scratch database is gone
}

}  // namespace
}  // namespace tandem::audit_test
