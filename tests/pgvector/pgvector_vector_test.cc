// The pgvector store beyond the contract: the behaviour suite every
// VectorStore shares (tests/vector/vector_store_suite.h), and what is its
// own — options, two stores on the same tables,
// text PostgreSQL cannot hold, every distance, scans across pages.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "../vector/vector_store_suite.h"
#include "pgvector_test_util.h"

namespace tandem::pgvector_test {
namespace {

using store_test::Ev;
using ET = EventType;
using AC = ApplyCode;

class PgVectorStoreFactory {
 public:
  Result<std::unique_ptr<VectorStore>> Open(Embedder* embedder, Clock* clock) {
    return OpenPgVectorStore(PgStoreOptions(location_.prefix(), embedder, clock));
  }

 private:
  PgLocation location_;
};

}  // namespace
}  // namespace tandem::pgvector_test

namespace tandem::vector_test {
INSTANTIATE_TYPED_TEST_SUITE_P(PgVector, VectorStoreSuite,
                               ::testing::Types<pgvector_test::PgVectorStoreFactory>);
}  // namespace tandem::vector_test

namespace tandem::pgvector_test {
namespace {

class PgVectorStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<VectorStore> Open(PgVectorStoreOptions o) {
    Result<std::unique_ptr<VectorStore>> s = OpenPgVectorStore(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  PgVectorStoreOptions Options() { return PgStoreOptions(location_.prefix(), &embedder_, &clock_); }

  PgLocation location_;
  ManualClock clock_;
  vector_test::TestEmbedder embedder_{vector_test::HashEmbedder()};
};

TEST_F(PgVectorStoreTest, BadOptionsAreRefusedNamingTheField) {
  auto message = [&](const PgVectorStoreOptions& o) {
    return OpenPgVectorStore(o).status().ToString();
  };
  PgVectorStoreOptions o = Options();
  o.url.clear();
  EXPECT_NE(message(o).find("url"), std::string::npos);
  o = Options();
  o.table_prefix = "Bad-Prefix; DROP TABLE x";
  EXPECT_NE(message(o).find("table_prefix"), std::string::npos);
  o = Options();
  o.hnsw_m = 8;
  o.hnsw_ef_construction = 10;  // < 2 * m
  EXPECT_NE(message(o).find("hnsw_ef_construction"), std::string::npos);
  o = Options();
  o.hnsw_ef_search = 1001;
  EXPECT_NE(message(o).find("hnsw_ef_search"), std::string::npos);
  o = Options();
  o.embedder = nullptr;
  EXPECT_NE(message(o).find("embedder"), std::string::npos);
  EXPECT_TRUE(ParsePgVectorDistance("dot").status().IsInvalidArgument());
  o = Options();
  o.url = "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=2";
  EXPECT_EQ(OpenPgVectorStore(o).status().code(), StatusCode::kUnavailable);
}

// Two processes share the tables, each applying behind the other's back:
// every batch is decided against the row as it is in the database now (read
// FOR UPDATE, written by compare-and-set on its marker), never against a
// stale copy, so a late event never overwrites a newer one.
TEST_F(PgVectorStoreTest, TwoWritersDecideAgainstTheCurrentRow) {
  std::unique_ptr<VectorStore> a = Open(Options());
  std::unique_ptr<VectorStore> b = Open(Options());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(a->ApplyBatch(std::vector<StoreEvent>{
                                Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"A","v":1})", 1)})
                  .ok());
  Result<BatchResult> r = b->ApplyBatch(
      std::vector<StoreEvent>{Ev(ET::kUpsert, "widget", "w1", 1, R"({"name":"B","v":2})", 2)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcomes[0].code, AC::kApplied);
  // a's late, stale event: decided against the row as it is now.
  r = a->ApplyBatch(
      std::vector<StoreEvent>{Ev(ET::kUpsert, "widget", "w1", 2, R"({"name":"C","v":1})", 1)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->outcomes[0].code, AC::kSkippedStale);
  EXPECT_EQ(a->Get("w1")->payload, R"({"name":"B","v":2})");
  EXPECT_EQ(*a->Digest(), *b->Digest());
  STORE_EXPECT_OK(a->CheckInvariants());
}

TEST_F(PgVectorStoreTest, TextPostgresCannotHoldIsAPermanentErrorOfThatEventOnly) {
  std::unique_ptr<VectorStore> s = Open(Options());
  ASSERT_NE(s, nullptr);
  StoreEvent nul_text = Ev(ET::kCreate, "thing", "t1", 0, R"({})");
  nul_text.event.text_for_embedding = std::string("a\0b", 3);
  StoreEvent bad_id = Ev(ET::kCreate, "thing", std::string("t\xff", 2), 1, R"({})");
  // jsonb cannot hold U+0000: kept, but no filter ever matches it.
  StoreEvent nul_payload = Ev(ET::kCreate, "widget", "w1", 2, R"({"name":"Nul","z":"\u0000"})");
  Result<BatchResult> r = s->ApplyBatch(std::vector<StoreEvent>{nul_text, bad_id, nul_payload});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(store_test::Codes(*r),
            (std::vector<AC>{AC::kPermanentError, AC::kPermanentError, AC::kApplied}));
  EXPECT_NE(r->outcomes[0].reason.find("text_for_embedding"), std::string::npos);
  EXPECT_NE(r->outcomes[1].reason.find("entity_id: invalid UTF-8"), std::string::npos);
  EXPECT_EQ(s->Get("w1")->payload, R"({"name":"Nul","z":"\u0000"})");
  VectorQuery q;
  q.text = "Nul";
  EXPECT_EQ(s->Search(q)->size(), 1u);
  q.filters = {{"name", FieldFilter::Op::kEq, "\"Nul\""}};
  EXPECT_TRUE(s->Search(q)->empty());
  STORE_EXPECT_OK(s->CheckInvariants());
}

TEST_F(PgVectorStoreTest, EveryDistanceRanksAndScoresAlike) {
  std::vector<StoreEvent> batch;
  for (const char* name : {"John Smith", "Jon Smyth", "Maria Garcia", "Aiko Tanaka"}) {
    batch.push_back(
        Ev(ET::kCreate, "widget", name, batch.size(), std::string(R"({"name":")") + name + "\"}"));
  }
  std::vector<std::vector<VectorHit>> results;
  for (PgVectorDistance d :
       {PgVectorDistance::kCosine, PgVectorDistance::kL2, PgVectorDistance::kInnerProduct}) {
    PgLocation location;
    PgVectorStoreOptions o = PgStoreOptions(location.prefix(), &embedder_, &clock_);
    o.distance = d;
    std::unique_ptr<VectorStore> s = Open(o);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->ApplyBatch(batch).ok());
    VectorQuery q;
    q.text = "John Smith";
    q.k = 4;
    results.push_back(*s->Search(q));
    ASSERT_EQ(results.back().size(), 4u) << PgVectorDistanceName(d);
    EXPECT_NEAR(results.back()[0].score, 1.0, 1e-4) << PgVectorDistanceName(d);
    s.reset();
    // Reopening the tables with another distance is refused (the index's
    // operator class would not serve the queries).
    o.distance = d == PgVectorDistance::kL2 ? PgVectorDistance::kCosine : PgVectorDistance::kL2;
    EXPECT_EQ(OpenPgVectorStore(o).status().code(), StatusCode::kFailedPrecondition);
  }
  for (size_t i = 1; i < results.size(); ++i) {
    for (size_t j = 0; j < 4; ++j) {
      EXPECT_EQ(results[i][j].entity_id, results[0][j].entity_id);
      EXPECT_NEAR(results[i][j].score, results[0][j].score, 1e-4);
    }
  }
}

}  // namespace
}  // namespace tandem::pgvector_test
