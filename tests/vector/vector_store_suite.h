// The vector store behaviour every VectorStore shares beyond the store
// contract: update semantics (what is embedded, re-embedded, skipped,
// removed), search (text, vector, entity types, payload filters, exact vs
// HNSW), embedder failures inside ApplyBatch and the model check. A typed
// suite: a backend registers with a factory type
//
//   struct MyFactory {
//     MyFactory();  // a fresh, empty location
//     // Opens the store at that location (again after the previous object
//     // was destroyed) with `embedder` and `clock`, text fields
//     // widget: name; gadget: name, tags.
//     Result<std::unique_ptr<VectorStore>> Open(Embedder* embedder, Clock* clock);
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, VectorStoreSuite, ::testing::Types<MyFactory>);
//
// Include it in one translation unit per test binary.
//
// Thread safety: GoogleTest fixtures; single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vector_test_util.h"

namespace tandem::vector_test {

using store_test::Ev;
using ET = EventType;
using AC = ApplyCode;

template <typename Factory>
class VectorStoreSuite : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    Result<std::unique_ptr<VectorStore>> s = factory_.Open(&embedder_, &clock_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
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

  Factory factory_;
  ManualClock clock_;
  TestEmbedder embedder_{HashEmbedder()};
  std::unique_ptr<VectorStore> store_;
};

TYPED_TEST_SUITE_P(VectorStoreSuite);

TYPED_TEST_P(VectorStoreSuite, UnchangedTextIsAMetadataOnlyUpdateWithoutAnEmbedderCall) {
  ASSERT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith","n":1})")),
            AC::kApplied);
  EXPECT_EQ(this->embedder_.calls(), 1);
  EXPECT_EQ(this->store_->vector_counters().embeddings_computed, 1u);
  ASSERT_EQ(this->ApplyOne(Ev(ET::kUpdate, "widget", "w1", 1, R"({"n":2})")), AC::kApplied);
  ASSERT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 2, R"({"name":"John Smith","n":3})")),
            AC::kApplied);
  EXPECT_EQ(this->embedder_.calls(), 1);  // the text never changed
  const VectorCounters c = this->store_->vector_counters();
  EXPECT_EQ(c.embeddings_skipped, 2u);
  EXPECT_EQ(c.embeddings_computed, 1u);
  std::vector<VectorHit> hits = this->SearchText("John Smith", 1);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].entity_id, "w1");
  EXPECT_EQ(hits[0].payload, R"({"n":3,"name":"John Smith"})");  // the metadata did change
  EXPECT_EQ(hits[0].text, "John Smith");
  EXPECT_NEAR(hits[0].score, 1.0, 1e-4);
}

TYPED_TEST_P(VectorStoreSuite, ChangedTextIsReembeddedAndReplacesTheVector) {
  this->Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith"})"),
               Ev(ET::kCreate, "widget", "w2", 1, R"({"name":"Maria Garcia"})")});
  EXPECT_EQ(this->embedder_.calls(), 1);  // one call for the batch
  ASSERT_EQ(this->ApplyOne(Ev(ET::kUpdate, "widget", "w1", 2, R"({"name":"Aiko Tanaka"})")),
            AC::kApplied);
  EXPECT_EQ(this->embedder_.seen().back(), "Aiko Tanaka");
  Result<VectorDocument> d = this->store_->GetDocument("w1");
  STORE_ASSERT_OK(d);
  EXPECT_EQ(d->text, "Aiko Tanaka");
  EXPECT_EQ(d->vector, this->EmbedOne("Aiko Tanaka"));
  EXPECT_TRUE(d->indexed);
  EXPECT_EQ(this->SearchText("Aiko Tanaka", 1)[0].entity_id, "w1");
  for (const VectorHit& h : this->SearchText("John Smith", 2)) {
    EXPECT_LT(h.score, 0.9) << h.entity_id << " still looks like John Smith";
  }
  EXPECT_EQ(this->store_->IndexSizes(), (std::map<std::string, uint64_t>{{"widget", 2}}));
}

TYPED_TEST_P(VectorStoreSuite, RemovedTextLeavesTheIndexButTheDocumentStays) {
  this->Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith","city":"Leeds"})")});
  ASSERT_EQ(this->ApplyOne(Ev(ET::kUpdate, "widget", "w1", 1, R"({"name":null})")), AC::kApplied);
  EXPECT_TRUE(this->SearchText("John Smith").empty());
  EXPECT_EQ(this->store_->IndexSizes().at("widget"), 0u);
  Result<VectorDocument> d = this->store_->GetDocument("w1");
  STORE_ASSERT_OK(d);
  EXPECT_FALSE(d->text.has_value());
  EXPECT_TRUE(d->vector.empty());
  EXPECT_FALSE(d->indexed);
  EXPECT_EQ(d->state.payload, R"({"city":"Leeds"})");
  EXPECT_EQ(this->store_->vector_counters().documents_without_text, 1u);
  // The text comes back: indexed again under the same entity.
  ASSERT_EQ(this->ApplyOne(Ev(ET::kUpdate, "widget", "w1", 2, R"({"name":"John Smith"})")),
            AC::kApplied);
  EXPECT_EQ(Ids(this->SearchText("John Smith", 1)), std::vector<std::string>{"w1"});
}

TYPED_TEST_P(VectorStoreSuite, DeleteRemovesFromSearchAndTheTombstoneBlocksAStaleResurrection) {
  this->Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith"})", 1),
               Ev(ET::kCreate, "widget", "w2", 1, R"({"name":"Johan Smit"})", 1)});
  ASSERT_EQ(this->ApplyOne(Ev(ET::kDelete, "widget", "w1", 2, "{}", 2)), AC::kApplied);
  EXPECT_EQ(Ids(this->SearchText("John Smith", 5)), std::vector<std::string>{"w2"});
  EXPECT_EQ(this->ApplyOne(Ev(ET::kUpsert, "widget", "w1", 1, R"({"name":"John Smith"})", 1)),
            AC::kSkippedStale);
  EXPECT_EQ(Ids(this->SearchText("John Smith", 5)), std::vector<std::string>{"w2"});
  Result<VectorDocument> d = this->store_->GetDocument("w1");
  STORE_ASSERT_OK(d);
  EXPECT_TRUE(d->state.deleted());
  EXPECT_FALSE(d->indexed);
  // A newer create brings it back, re-embedded.
  ASSERT_EQ(this->ApplyOne(Ev(ET::kCreate, "widget", "w1", 3, R"({"name":"John Smith"})", 3)),
            AC::kApplied);
  EXPECT_EQ(this->SearchText("John Smith", 1)[0].entity_id, "w1");
}

TYPED_TEST_P(VectorStoreSuite, EntitiesWithoutTextAreAppliedButNotIndexed) {
  // "thing" has no configured text field; the events carry no text.
  ASSERT_EQ(this->ApplyOne(Ev(ET::kCreate, "thing", "t1", 0, R"({"name":"John Smith"})")),
            AC::kApplied);
  EXPECT_EQ(this->embedder_.calls(), 0);
  EXPECT_EQ(this->store_->vector_counters().documents_without_text, 1u);
  EXPECT_TRUE(this->SearchText("John Smith").empty());
  EXPECT_EQ(this->store_->Get("t1")->payload, R"({"name":"John Smith"})");
  // text_for_embedding wins over fields; an update without text keeps it.
  ASSERT_EQ(this->ApplyOne(
                this->WithText(Ev(ET::kUpdate, "thing", "t1", 1, R"({"a":1})"), "Blue Harbor")),
            AC::kApplied);
  ASSERT_EQ(this->ApplyOne(Ev(ET::kUpdate, "thing", "t1", 2, R"({"a":2})")), AC::kApplied);
  EXPECT_EQ(this->store_->GetDocument("t1")->text, "Blue Harbor");
  EXPECT_EQ(this->store_->vector_counters().embeddings_skipped, 1u);
  // An upsert without text replaces everything: no text any more.
  ASSERT_EQ(this->ApplyOne(Ev(ET::kUpsert, "thing", "t1", 3, R"({"a":3})")), AC::kApplied);
  EXPECT_FALSE(this->store_->GetDocument("t1")->text.has_value());
  // "" means no text, even for a type with text fields.
  ASSERT_EQ(
      this->ApplyOne(this->WithText(Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"X Y"})"), "")),
      AC::kApplied);
  EXPECT_FALSE(this->store_->GetDocument("w1")->indexed);
  EXPECT_EQ(this->store_->IndexSizes()["thing"], 0u);
}

TYPED_TEST_P(VectorStoreSuite, TextFieldsJoinStringsAndArraysInTheConfiguredOrder) {
  ASSERT_EQ(this->ApplyOne(Ev(ET::kCreate, "gadget", "g1", 0,
                              R"({"tags":["Nordic",7,"Timber"],"name":"Acme","x":"y"})")),
            AC::kApplied);
  EXPECT_EQ(this->store_->GetDocument("g1")->text, "Acme Nordic Timber");
}

TYPED_TEST_P(VectorStoreSuite, SearchByVectorTypesAndPayloadFilters) {
  this->Apply(
      {Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith","country":"GB","age":40})"),
       Ev(ET::kCreate, "widget", "w2", 1, R"({"name":"Jon Smyth","country":"US","age":25})"),
       Ev(ET::kCreate, "widget", "w3", 2, R"({"name":"John Smit","country":"GB","age":"old"})"),
       Ev(ET::kCreate, "gadget", "g1", 0, R"({"name":"John Smith","country":"GB","age":9})")});
  // By vector: the exact vector of a name scores 1.
  VectorQuery q;
  q.vector = this->EmbedOne("John Smith");
  q.k = 4;
  Result<std::vector<VectorHit>> hits = this->store_->Search(q);
  STORE_ASSERT_OK(hits);
  ASSERT_EQ(hits->size(), 4u);
  EXPECT_NEAR((*hits)[0].score, 1.0, 1e-4);
  EXPECT_NEAR((*hits)[1].score, 1.0, 1e-4);  // w1 and g1 share the text
  for (size_t i = 1; i < hits->size(); ++i) EXPECT_LE((*hits)[i].score, (*hits)[i - 1].score);
  // Entity types.
  std::vector<VectorHit> gadgets = this->SearchText("John Smith", 5, {"gadget"});
  EXPECT_EQ(Ids(gadgets), std::vector<std::string>{"g1"});
  EXPECT_EQ(gadgets[0].entity_type, "gadget");
  // Equality: strings bytewise.
  using Op = FieldFilter::Op;
  std::vector<std::string> gb =
      Ids(this->SearchText("John Smith", 5, {"widget"}, {{"country", Op::kEq, "\"GB\""}}));
  std::sort(gb.begin(), gb.end());
  EXPECT_EQ(gb, (std::vector<std::string>{"w1", "w3"}));
  // Ranges: numbers numerically; "old" is a string and never matches a number.
  EXPECT_EQ(Ids(this->SearchText("John Smith", 5, {}, {{"age", Op::kGe, "26"}})),
            std::vector<std::string>{"w1"});
  const std::vector<std::string> in_range = Ids(this->SearchText(
      "John Smith", 5, {"widget"}, {{"age", Op::kLt, "100"}, {"age", Op::kGt, "1e1"}}));
  EXPECT_EQ(in_range, (std::vector<std::string>{"w1", "w2"}));
  // A missing member never matches, not even "not equal".
  EXPECT_TRUE(this->SearchText("John Smith", 5, {}, {{"nope", Op::kNe, "1"}}).empty());
  EXPECT_EQ(Ids(this->SearchText("John Smith", 5, {"widget"}, {{"country", Op::kNe, "\"GB\""}})),
            std::vector<std::string>{"w2"});
  EXPECT_TRUE(this->SearchText("John Smith", 5, {"nothing"}).empty());
}

TYPED_TEST_P(VectorStoreSuite, BadQueriesAreRefusedNamingTheField) {
  auto code_and_message = [&](VectorQuery q) {
    Result<std::vector<VectorHit>> r = this->store_->Search(q);
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
  EXPECT_EQ(this->store_->Search(f).status().code(), StatusCode::kInvalidArgument);
}

TYPED_TEST_P(VectorStoreSuite, ExactAndHnswSearchAgreeOnASmallSet) {
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
  this->Apply(batch);
  for (const std::string q : {"Jon Smyth", "Marja Garsia", "Victor Petroff", "Sophia Rosi"}) {
    VectorQuery hq;
    hq.text = q;
    hq.k = 5;
    VectorQuery eq = hq;
    eq.exact = true;
    Result<std::vector<VectorHit>> h = this->store_->Search(hq), e = this->store_->Search(eq);
    STORE_ASSERT_OK(h);
    STORE_ASSERT_OK(e);
    EXPECT_EQ(Ids(*h), Ids(*e)) << q;  // 100 vectors: HNSW with ef 64 is exact here
    ASSERT_EQ(h->size(), 5u);
  }
  EXPECT_EQ(Ids(this->SearchText("John Smith", 1)), std::vector<std::string>{"John-Smith"});
}

TYPED_TEST_P(VectorStoreSuite, EmbedderOutageFailsTheBatchAndAppliesNothing) {
  this->Apply({Ev(ET::kCreate, "widget", "w0", 0, R"({"name":"Old One"})")});
  const StoreDigest before = *this->store_->Digest();
  const PositionMap positions = *this->store_->Positions();
  this->embedder_.FailNext(1);
  Result<BatchResult> r = this->store_->ApplyBatch(
      std::vector<StoreEvent>{Ev(ET::kCreate, "widget", "w1", 1, R"({"name":"A B"})"),
                              Ev(ET::kCreate, "thing", "t1", 2, R"({})")});
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_EQ(*this->store_->Digest(), before);
  EXPECT_EQ(*this->store_->Positions(), positions);
  EXPECT_EQ(this->store_->vector_counters().embedder_failures, 1u);
  // The retry succeeds.
  EXPECT_EQ(this->Apply({Ev(ET::kCreate, "widget", "w1", 1, R"({"name":"A B"})")}).counts.applied,
            1u);
}

TYPED_TEST_P(VectorStoreSuite, PermanentEmbedderErrorsAreIsolatedToTheirEvents) {
  this->embedder_.Refuse("Bad Name");
  this->embedder_.WrongDimensionFor("Odd Name");
  this->Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"Good Name","v":0})")});
  BatchResult r = this->Apply({
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
  Result<VectorDocument> w1 = this->store_->GetDocument("w1");
  STORE_ASSERT_OK(w1);
  EXPECT_EQ(w1->state.payload, R"({"name":"Good Name","v":2})");
  EXPECT_EQ(w1->text, "Good Name");
  EXPECT_EQ(w1->state.marker.position.offset, 3u);
  EXPECT_FALSE(this->store_->Get("w3").ok());
  EXPECT_FALSE(this->store_->Get("w4").ok());
  EXPECT_EQ(this->store_->IndexSizes().at("widget"), 3u);
  EXPECT_EQ((*this->store_->Positions())[(TopicPartition{"widget", 0})], 6u);
}

TYPED_TEST_P(VectorStoreSuite, ReopeningWithAnotherModelIsRefused) {
  this->Apply({Ev(ET::kCreate, "widget", "w1", 0, R"({"name":"John Smith"})")});
  this->store_.reset();
  std::unique_ptr<Embedder> other = HashEmbedder(64);
  Result<std::unique_ptr<VectorStore>> s = this->factory_.Open(other.get(), nullptr);
  ASSERT_EQ(s.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find(this->embedder_.model_id()), std::string::npos);
  EXPECT_NE(s.status().message().find(other->model_id()), std::string::npos);
  this->Reopen();
}

REGISTER_TYPED_TEST_SUITE_P(
    VectorStoreSuite, UnchangedTextIsAMetadataOnlyUpdateWithoutAnEmbedderCall,
    ChangedTextIsReembeddedAndReplacesTheVector, RemovedTextLeavesTheIndexButTheDocumentStays,
    DeleteRemovesFromSearchAndTheTombstoneBlocksAStaleResurrection,
    EntitiesWithoutTextAreAppliedButNotIndexed, TextFieldsJoinStringsAndArraysInTheConfiguredOrder,
    SearchByVectorTypesAndPayloadFilters, BadQueriesAreRefusedNamingTheField,
    ExactAndHnswSearchAgreeOnASmallSet, EmbedderOutageFailsTheBatchAndAppliesNothing,
    PermanentEmbedderErrorsAreIsolatedToTheirEvents, ReopeningWithAnotherModelIsRefused);

}  // namespace tandem::vector_test
