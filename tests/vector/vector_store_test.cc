// The vector store beyond the contract: update semantics (what is embedded,
// re-embedded, skipped, removed), search (text, vector, entity types,
// payload filters, exact vs HNSW), embedder failures inside ApplyBatch,
// options and model checks.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "vector_test_util.h"

namespace tandem::vector_test {
namespace {

using store_test::Ev;
using ET = EventType;
using AC = ApplyCode;

class VectorStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    VectorStoreOptions o = StoreOptions(dir_.path() + "/v", &embedder_, &clock_);
    store_ = Open(o);
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    if (store_ != nullptr) STORE_EXPECT_OK(store_->CheckInvariants());
  }
  BatchResult Apply(const std::vector<StoreEvent>& events) {
    Result<BatchResult> r = store_->ApplyBatch(events);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : BatchResult{};
  }
  AC ApplyOne(const StoreEvent& e) {
    BatchResult r = Apply({e});
    return r.outcomes.empty() ? AC::kTransientError : r.outcomes[0].code;
  }
  std::vector<VectorHit> SearchText(const std::string& text, size_t k = 5,
                                    std::vector<std::string> types = {},
                                    std::vector<FieldFilter> filters = {}) {
    VectorQuery q;
    q.text = text;
    q.k = k;
    q.entity_types = std::move(types);
    q.filters = std::move(filters);
    Result<std::vector<VectorHit>> r = store_->Search(q);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : std::vector<VectorHit>{};
  }
  std::vector<float> EmbedOne(const std::string& text) {
    std::vector<float> out;
    std::string_view t = text;
    EXPECT_TRUE(embedder_.Embed({&t, 1}, &out).ok());
    return out;
  }
  static StoreEvent WithText(StoreEvent e, std::string text) {
    e.event.text_for_embedding = std::move(text);
    return e;
  }

  TempDir dir_;
  ManualClock clock_;
  TestEmbedder embedder_{HashEmbedder()};
  std::unique_ptr<VectorStore> store_;
};

TEST_F(VectorStoreTest, UnchangedTextIsAMetadataOnlyUpdateWithoutAnEmbedderCall) {
  ASSERT_EQ(ApplyOne(Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith","n":1})")),
            AC::kApplied);
  EXPECT_EQ(embedder_.calls(), 1);
  EXPECT_EQ(store_->vector_counters().embeddings_computed, 1u);
  ASSERT_EQ(ApplyOne(Ev(ET::kUpdate, "widget", "w1", 1, R"({"n":2})")), AC::kApplied);
  ASSERT_EQ(ApplyOne(Ev(ET::kUpsert, "widget", "w1", 2, R"({"name":"John Smith","n":3})")),
            AC::kApplied);
  EXPECT_EQ(embedder_.calls(), 1);  // the text never changed
  const VectorCounters c = store_->vector_counters();
  EXPECT_EQ(c.embeddings_skipped, 2u);
  EXPECT_EQ(c.embeddings_computed, 1u);
  std::vector<VectorHit> hits = SearchText("John Smith", 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].entity_id, "w1");
  EXPECT_EQ(hits[0].payload, R"({"n":3,"name":"John Smith"})");  // the metadata did change
  EXPECT_EQ(hits[0].text, "John Smith");
  EXPECT_NEAR(hits[0].score, 1.0, 1e-4);
}

TEST_F(VectorStoreTest, ChangedTextIsReembeddedAndReplacesTheVector) {
  Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith"})"),
         Ev(ET::kCreate, "widget", "w2", 1, R"({"name":"Maria Garcia"})")});
  EXPECT_EQ(embedder_.calls(), 1);  // one call for the batch
  ASSERT_EQ(ApplyOne(Ev(ET::kUpdate, "widget", "w1", 2, R"({"name":"Aiko Tanaka"})")),
            AC::kApplied);
  EXPECT_EQ(embedder_.seen().back(), "Aiko Tanaka");
  Result<VectorDocument> d = store_->GetDocument("w1");
  STORE_ASSERT_OK(d);
  EXPECT_EQ(d->text, "Aiko Tanaka");
  EXPECT_EQ(d->vector, EmbedOne("Aiko Tanaka"));
  EXPECT_TRUE(d->indexed);
  EXPECT_EQ(SearchText("Aiko Tanaka", 1)[0].entity_id, "w1");
  for (const VectorHit& h : SearchText("John Smith", 2)) {
    EXPECT_LT(h.score, 0.9) << h.entity_id << " still looks like John Smith";
  }
  EXPECT_EQ(store_->IndexSizes(), (std::map<std::string, uint64_t>{{"widget", 2}}));
}

TEST_F(VectorStoreTest, RemovedTextLeavesTheIndexButTheDocumentStays) {
  Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith","city":"Leeds"})")});
  ASSERT_EQ(ApplyOne(Ev(ET::kUpdate, "widget", "w1", 1, R"({"name":null})")), AC::kApplied);
  EXPECT_TRUE(SearchText("John Smith").empty());
  EXPECT_EQ(store_->IndexSizes().at("widget"), 0u);
  Result<VectorDocument> d = store_->GetDocument("w1");
  STORE_ASSERT_OK(d);
  EXPECT_FALSE(d->text.has_value());
  EXPECT_TRUE(d->vector.empty());
  EXPECT_FALSE(d->indexed);
  EXPECT_EQ(d->state.payload, R"({"city":"Leeds"})");
  EXPECT_EQ(store_->vector_counters().documents_without_text, 1u);
  // The text comes back: indexed again under the same entity.
  ASSERT_EQ(ApplyOne(Ev(ET::kUpdate, "widget", "w1", 2, R"({"name":"John Smith"})")), AC::kApplied);
  EXPECT_EQ(Ids(SearchText("John Smith", 1)), std::vector<std::string>{"w1"});
}

TEST_F(VectorStoreTest, DeleteRemovesFromSearchAndTheTombstoneBlocksAStaleResurrection) {
  Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith"})", 1),
         Ev(ET::kCreate, "widget", "w2", 1, R"({"name":"Johan Smit"})", 1)});
  ASSERT_EQ(ApplyOne(Ev(ET::kDelete, "widget", "w1", 2, "{}", 2)), AC::kApplied);
  EXPECT_EQ(Ids(SearchText("John Smith", 5)), std::vector<std::string>{"w2"});
  EXPECT_EQ(ApplyOne(Ev(ET::kUpsert, "widget", "w1", 1, R"({"name":"John Smith"})", 1)),
            AC::kSkippedStale);
  EXPECT_EQ(Ids(SearchText("John Smith", 5)), std::vector<std::string>{"w2"});
  Result<VectorDocument> d = store_->GetDocument("w1");
  STORE_ASSERT_OK(d);
  EXPECT_TRUE(d->state.deleted());
  EXPECT_FALSE(d->indexed);
  // A newer create brings it back, re-embedded.
  ASSERT_EQ(ApplyOne(Ev(ET::kCreate, "widget", "w1", 3, R"({"name":"John Smith"})", 3)),
            AC::kApplied);
  EXPECT_EQ(SearchText("John Smith", 1)[0].entity_id, "w1");
}

TEST_F(VectorStoreTest, EntitiesWithoutTextAreAppliedButNotIndexed) {
  // "thing" has no configured text field; the events carry no text.
  ASSERT_EQ(ApplyOne(Ev(ET::kCreate, "thing", "t1", 0, R"({"name":"John Smith"})")), AC::kApplied);
  EXPECT_EQ(embedder_.calls(), 0);
  EXPECT_EQ(store_->vector_counters().documents_without_text, 1u);
  EXPECT_TRUE(SearchText("John Smith").empty());
  EXPECT_EQ(store_->Get("t1")->payload, R"({"name":"John Smith"})");
  // text_for_embedding wins over fields; an update without text keeps it.
  ASSERT_EQ(ApplyOne(WithText(Ev(ET::kUpdate, "thing", "t1", 1, R"({"a":1})"), "Blue Harbor")),
            AC::kApplied);
  ASSERT_EQ(ApplyOne(Ev(ET::kUpdate, "thing", "t1", 2, R"({"a":2})")), AC::kApplied);
  EXPECT_EQ(store_->GetDocument("t1")->text, "Blue Harbor");
  EXPECT_EQ(store_->vector_counters().embeddings_skipped, 1u);
  // An upsert without text replaces everything: no text any more.
  ASSERT_EQ(ApplyOne(Ev(ET::kUpsert, "thing", "t1", 3, R"({"a":3})")), AC::kApplied);
  EXPECT_FALSE(store_->GetDocument("t1")->text.has_value());
  // "" means no text, even for a type with text fields.
  ASSERT_EQ(ApplyOne(WithText(Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"X Y"})"), "")),
            AC::kApplied);
  EXPECT_FALSE(store_->GetDocument("w1")->indexed);
  EXPECT_EQ(store_->IndexSizes()["thing"], 0u);
}

TEST_F(VectorStoreTest, TextFieldsJoinStringsAndArraysInTheConfiguredOrder) {
  ASSERT_EQ(ApplyOne(Ev(ET::kCreate, "gadget", "g1", 0,
                        R"({"tags":["Nordic",7,"Timber"],"name":"Acme","x":"y"})")),
            AC::kApplied);
  EXPECT_EQ(store_->GetDocument("g1")->text, "Acme Nordic Timber");
}

TEST_F(VectorStoreTest, SearchByVectorTypesAndPayloadFilters) {
  Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith","country":"GB","age":40})"),
         Ev(ET::kCreate, "widget", "w2", 1, R"({"name":"Jon Smyth","country":"US","age":25})"),
         Ev(ET::kCreate, "widget", "w3", 2, R"({"name":"John Smit","country":"GB","age":"old"})"),
         Ev(ET::kCreate, "gadget", "g1", 0, R"({"name":"John Smith","country":"GB","age":9})")});
  // By vector: the exact vector of a name scores 1.
  VectorQuery q;
  q.vector = EmbedOne("John Smith");
  q.k = 4;
  Result<std::vector<VectorHit>> hits = store_->Search(q);
  STORE_ASSERT_OK(hits);
  ASSERT_EQ(hits->size(), 4u);
  EXPECT_NEAR((*hits)[0].score, 1.0, 1e-4);
  EXPECT_NEAR((*hits)[1].score, 1.0, 1e-4);  // w1 and g1 share the text
  for (size_t i = 1; i < hits->size(); ++i) EXPECT_LE((*hits)[i].score, (*hits)[i - 1].score);
  // Entity types.
  std::vector<VectorHit> gadgets = SearchText("John Smith", 5, {"gadget"});
  EXPECT_EQ(Ids(gadgets), std::vector<std::string>{"g1"});
  EXPECT_EQ(gadgets[0].entity_type, "gadget");
  // Equality: strings bytewise.
  using Op = FieldFilter::Op;
  std::vector<std::string> gb =
      Ids(SearchText("John Smith", 5, {"widget"}, {{"country", Op::kEq, "\"GB\""}}));
  std::sort(gb.begin(), gb.end());
  EXPECT_EQ(gb, (std::vector<std::string>{"w1", "w3"}));
  // Ranges: numbers numerically; "old" is a string and never matches a number.
  EXPECT_EQ(Ids(SearchText("John Smith", 5, {}, {{"age", Op::kGe, "26"}})),
            std::vector<std::string>{"w1"});
  const std::vector<std::string> in_range = Ids(
      SearchText("John Smith", 5, {"widget"}, {{"age", Op::kLt, "100"}, {"age", Op::kGt, "1e1"}}));
  EXPECT_EQ(in_range, (std::vector<std::string>{"w1", "w2"}));
  // A missing member never matches, not even "not equal".
  EXPECT_TRUE(SearchText("John Smith", 5, {}, {{"nope", Op::kNe, "1"}}).empty());
  EXPECT_EQ(Ids(SearchText("John Smith", 5, {"widget"}, {{"country", Op::kNe, "\"GB\""}})),
            std::vector<std::string>{"w2"});
  EXPECT_TRUE(SearchText("John Smith", 5, {"nothing"}).empty());
}

TEST_F(VectorStoreTest, BadQueriesAreRefusedNamingTheField) {
  auto code_and_message = [&](VectorQuery q) {
    Result<std::vector<VectorHit>> r = store_->Search(q);
    return r.ok() ? std::string("ok") : r.status().ToString();
  };
  VectorQuery both;
  both.text = "a";
  both.vector = std::vector<float>(kDim, 0.1f);
  EXPECT_NE(code_and_message(both).find("text"), std::string::npos);
  VectorQuery none;
  EXPECT_NE(code_and_message(none).find("exactly one"), std::string::npos);
  VectorQuery k0;
  k0.text = "a";
  k0.k = 0;
  EXPECT_NE(code_and_message(k0).find("k:"), std::string::npos);
  k0.k = 10'001;
  EXPECT_NE(code_and_message(k0).find("k:"), std::string::npos);
  VectorQuery dim;
  dim.vector = std::vector<float>(kDim + 1, 0.1f);
  EXPECT_NE(code_and_message(dim).find("vector: has 33 values"), std::string::npos);
  VectorQuery f;
  f.text = "a";
  f.filters = {{"age", FieldFilter::Op::kLt, "[1]"}};
  EXPECT_NE(code_and_message(f).find("filters[0].value"), std::string::npos);
  f.filters = {{"age", FieldFilter::Op::kLt, "true"}};
  EXPECT_NE(code_and_message(f).find("filters[0].value"), std::string::npos);
  f.filters = {{"", FieldFilter::Op::kEq, "1"}};
  EXPECT_NE(code_and_message(f).find("filters[0].field"), std::string::npos);
  f.filters = {{"a", FieldFilter::Op::kEq, "nope"}};
  EXPECT_EQ(store_->Search(f).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(VectorStoreTest, ExactAndHnswSearchAgreeOnASmallSet) {
  std::vector<StoreEvent> batch;
  const char* first[] = {"John",  "Maria", "Aiko", "Viktor", "Ali",
                         "Sofia", "Lukas", "Chen", "James",  "Fatima"};
  const char* last[] = {"Smith", "Garcia", "Tanaka", "Petrov",  "Hassan",
                        "Rossi", "Novak",  "Wei",    "OConnor", "Khan"};
  uint64_t off = 0;
  for (const char* f : first) {
    for (const char* l : last) {
      batch.push_back(Ev(ET::kCreate, "widget", std::string(f) + "-" + l, off++,
                         "{\"name\":\"" + std::string(f) + " " + l + "\"}"));
    }
  }
  Apply(batch);
  for (const std::string q : {"Jon Smyth", "Marja Garsia", "Victor Petroff", "Sophia Rosi"}) {
    VectorQuery hq;
    hq.text = q;
    hq.k = 5;
    VectorQuery eq = hq;
    eq.exact = true;
    Result<std::vector<VectorHit>> h = store_->Search(hq), e = store_->Search(eq);
    STORE_ASSERT_OK(h);
    STORE_ASSERT_OK(e);
    EXPECT_EQ(Ids(*h), Ids(*e)) << q;  // 100 vectors: HNSW with ef 64 is exact here
    ASSERT_EQ(h->size(), 5u);
  }
  EXPECT_EQ(Ids(SearchText("John Smith", 1)), std::vector<std::string>{"John-Smith"});
}

TEST_F(VectorStoreTest, EmbedderOutageFailsTheBatchAndAppliesNothing) {
  Apply({Ev(ET::kCreate, "widget", "w0", 0, R"({"name":"Old One"})")});
  const StoreDigest before = *store_->Digest();
  const PositionMap positions = *store_->Positions();
  embedder_.FailNext(1);
  Result<BatchResult> r = store_->ApplyBatch(
      std::vector<StoreEvent>{Ev(ET::kCreate, "widget", "w1", 1, R"({"name":"A B"})"),
                              Ev(ET::kCreate, "thing", "t1", 2, R"({})")});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_EQ(*store_->Digest(), before);
  EXPECT_EQ(*store_->Positions(), positions);
  EXPECT_EQ(store_->vector_counters().embedder_failures, 1u);
  // The retry succeeds.
  EXPECT_EQ(Apply({Ev(ET::kCreate, "widget", "w1", 1, R"({"name":"A B"})")}).counts.applied, 1u);
}

TEST_F(VectorStoreTest, PermanentEmbedderErrorsAreIsolatedToTheirEvents) {
  embedder_.Refuse("Bad Name");
  embedder_.WrongDimensionFor("Odd Name");
  Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"Good Name","v":0})")});
  BatchResult r = Apply({
      Ev(ET::kCreate, "widget", "w2", 1, R"({"name":"Fine Name"})"),
      Ev(ET::kUpdate, "widget", "w1", 2, R"({"name":"Bad Name","v":1})"),
      Ev(ET::kUpdate, "widget", "w1", 3, R"({"v":2})"),  // keeps the text it finds
      Ev(ET::kCreate, "widget", "w3", 4, R"({"name":"Odd Name"})"),
      Ev(ET::kCreate, "widget", "w4", 5, R"({"name":"Bad Name"})"),
      Ev(ET::kCreate, "widget", "w5", 6, R"({"name":"Other Fine"})"),
  });
  EXPECT_EQ(store_test::Codes(r),
            (std::vector<AC>{AC::kApplied, AC::kPermanentError, AC::kApplied, AC::kPermanentError,
                             AC::kPermanentError, AC::kApplied}));
  EXPECT_NE(r.outcomes[1].reason.find("text refused: Bad Name"), std::string::npos)
      << r.outcomes[1].reason;
  EXPECT_NE(r.outcomes[3].reason.find("dimension: expected 32"), std::string::npos)
      << r.outcomes[3].reason;
  // The later update of w1 applied over the state before the refused event.
  Result<VectorDocument> w1 = store_->GetDocument("w1");
  STORE_ASSERT_OK(w1);
  EXPECT_EQ(w1->state.payload, R"({"name":"Good Name","v":2})");
  EXPECT_EQ(w1->text, "Good Name");
  EXPECT_EQ(w1->state.marker.position.offset, 3u);
  EXPECT_FALSE(store_->Get("w3").ok());
  EXPECT_FALSE(store_->Get("w4").ok());
  EXPECT_EQ(store_->IndexSizes().at("widget"), 3u);
  EXPECT_EQ((*store_->Positions())[(TopicPartition{"widget", 0})], 6u);
}

TEST_F(VectorStoreTest, ReopeningWithAnotherModelIsRefused) {
  Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith"})")});
  store_.reset();
  std::unique_ptr<Embedder> other = HashEmbedder(64);
  Result<std::unique_ptr<VectorStore>> s =
      OpenVectorStore(StoreOptions(dir_.path() + "/v", other.get()));
  ASSERT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find(embedder_.model_id()), std::string::npos);
  EXPECT_NE(s.status().message().find(other->model_id()), std::string::npos);
  Reopen();
}

TEST_F(VectorStoreTest, BadOptionsAreRefused) {
  VectorStoreOptions o = StoreOptions("", &embedder_);
  EXPECT_EQ(OpenVectorStore(o).status().code(), StatusCode::kInvalidArgument);
  o = StoreOptions(dir_.path() + "/x", nullptr);
  EXPECT_NE(OpenVectorStore(o).status().message().find("embedder"), std::string::npos);
  o = StoreOptions(dir_.path() + "/x", &embedder_);
  o.hnsw_m = 0;
  EXPECT_NE(OpenVectorStore(o).status().message().find("hnsw_m"), std::string::npos);
}

}  // namespace
}  // namespace tandem::vector_test
