// GraphSchema parsing and the graph store's byte formats.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "../store/store_test_util.h"
#include "graph/codec.h"
#include "tandem/graph.h"

#ifndef TANDEM_BANKING_SCHEMA
#error "TANDEM_BANKING_SCHEMA must name config/banking_schema.json"
#endif

namespace tandem {
namespace {

using graph_internal::DecodedEdge;
using graph_internal::OwnRef;
using graph_internal::VertexRecord;

TEST(GraphSchema, ShippedFileIsTheBuiltInDefault) {
  std::ifstream in(TANDEM_BANKING_SCHEMA);
  std::stringstream ss;
  ss << in.rdbuf();
  ASSERT_FALSE(ss.str().empty()) << "cannot read " << TANDEM_BANKING_SCHEMA;
  auto parsed = ParseGraphSchema(ss.str());
  STORE_ASSERT_OK(parsed);
  EXPECT_EQ(SerializeGraphSchema(*parsed), SerializeGraphSchema(BankingSchema()));
  EXPECT_EQ(parsed->references.size(), 10u);
  STORE_EXPECT_OK(ValidateGraphSchema(BankingSchema()));
}

TEST(GraphSchema, SerializeRoundTripsAndIsOrderIndependent) {
  GraphSchema s = BankingSchema();
  auto back = ParseGraphSchema(SerializeGraphSchema(s));
  STORE_ASSERT_OK(back);
  EXPECT_EQ(SerializeGraphSchema(*back), SerializeGraphSchema(s));
  std::reverse(s.references.begin(), s.references.end());
  EXPECT_EQ(SerializeGraphSchema(s), SerializeGraphSchema(BankingSchema()));
  EXPECT_EQ(SerializeGraphSchema(GraphSchema{}), R"({"references":[]})");
}

TEST(GraphSchema, BadConfigsNameTheProblem) {
  struct Case {
    const char* json;
    const char* says;
  } cases[] = {
      {"not json", "invalid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"refs":[]})", "schema.refs: unknown member"},
      {R"({"references":{}})", "must be an array"},
      {R"({"references":[1]})", "references[0]: must be an object"},
      {R"({"references":[{"entity_type":"a","field":"f","edge":"e"}]})", "direction: required"},
      {R"({"references":[{"entity_type":"a","field":"f","edge":"e","direction":"up"}]})",
       "direction: must be"},
      {R"({"references":[{"entity_type":"A","field":"f","edge":"e","direction":"in"}]})",
       "entity_type: must match"},
      {R"({"references":[{"entity_type":"a","field":"","edge":"e","direction":"in"}]})",
       "field: must be"},
      {R"({"references":[{"entity_type":"a","field":"f","edge":"E-1","direction":"in"}]})",
       "edge: must match"},
      {R"({"references":[{"entity_type":"a","field":"f","edge":"e","direction":"in","x":"1"}]})",
       "x: unknown member"},
      {R"({"references":[{"entity_type":"a","field":"f","edge":1,"direction":"in"}]})",
       "edge: must be a string"},
      {R"({"references":[{"entity_type":"a","field":"f","edge":"e","direction":"in"},
                         {"entity_type":"a","field":"f","edge":"g","direction":"out"}]})",
       "declared twice"},
  };
  for (const Case& c : cases) {
    auto r = ParseGraphSchema(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_TRUE(r.status().IsInvalidArgument()) << c.json;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << c.json << " -> " << r.status().message();
  }
}

TEST(GraphCodec, VertexRecordRoundTrips) {
  VertexRecord v;
  v.has_marker = true;
  v.marker.version = 7;
  v.marker.position = {"account", 3, 1234567890123};
  v.marker.event_id = "evt-1";
  v.marker.applied_at_us = -5;
  v.entity_type = "account";
  v.own_refs = {OwnRef{"owns", ReferenceSpec::Orientation::kIn, std::string("p\0x", 3)},
                OwnRef{"z", ReferenceSpec::Orientation::kOut, "c-1"}};
  v.payload = R"({"a":1})";
  std::string bytes = graph_internal::EncodeVertex(v);
  VertexRecord back;
  STORE_ASSERT_OK(graph_internal::DecodeVertex("a1", bytes, &back));
  EXPECT_TRUE(back == v);

  VertexRecord placeholder;
  placeholder.referenced = true;
  STORE_ASSERT_OK(
      graph_internal::DecodeVertex("p", graph_internal::EncodeVertex(placeholder), &back));
  EXPECT_TRUE(back == placeholder);
  EXPECT_TRUE(back.placeholder());
  EXPECT_EQ(back.index_label(), "_placeholder");

  // A deleted entity that others still reference: a tombstone kept as a placeholder.
  VertexRecord tombstone = v;
  tombstone.marker.deleted = true;
  tombstone.own_refs.clear();
  tombstone.payload = "{}";
  tombstone.referenced = true;
  STORE_ASSERT_OK(
      graph_internal::DecodeVertex("t", graph_internal::EncodeVertex(tombstone), &back));
  EXPECT_TRUE(back == tombstone);
  EXPECT_TRUE(back.placeholder());
  EXPECT_TRUE(back.needed());
  tombstone.referenced = false;
  STORE_ASSERT_OK(
      graph_internal::DecodeVertex("t", graph_internal::EncodeVertex(tombstone), &back));
  EXPECT_FALSE(back.placeholder());
  EXPECT_EQ(back.index_label(), "");

  for (size_t cut = 0; cut + 7 < bytes.size(); ++cut) {  // the payload tail is free-form
    Status s = graph_internal::DecodeVertex("a1", bytes.substr(0, cut), &back);
    EXPECT_TRUE(s.IsCorruption()) << cut;
  }
  std::string wrong_format = bytes;
  wrong_format[0] = 9;
  EXPECT_TRUE(graph_internal::DecodeVertex("a1", wrong_format, &back).IsCorruption());
}

TEST(GraphCodec, KeysAreUnambiguousAndOrdered) {
  DecodedEdge d;
  std::string id_with_nul("a\0b", 3);
  STORE_ASSERT_OK(
      graph_internal::DecodeEdgeKey(graph_internal::OutEdgeKey(id_with_nul, "owns", "x\xff"), &d));
  EXPECT_EQ(d.owner, id_with_nul);
  EXPECT_EQ(d.label, "owns");
  EXPECT_EQ(d.other, "x\xff");
  // The prefix of one vertex's edges never covers another vertex's.
  std::string p = graph_internal::OutEdgePrefix("a", "");
  std::string other = graph_internal::OutEdgeKey("ab", "owns", "c");
  EXPECT_NE(other.compare(0, p.size(), p), 0);
  std::string label_prefix = graph_internal::OutEdgePrefix("a", "own");
  EXPECT_NE(
      graph_internal::OutEdgeKey("a", "owns", "c").compare(0, label_prefix.size(), label_prefix),
      0);
  EXPECT_LT(graph_internal::TombstoneKey(-1, "z"), graph_internal::TombstoneKey(0, "a"));
  EXPECT_LT(graph_internal::TombstoneKey(5, "z"), graph_internal::TombstonePrefixBefore(6));
  int64_t at = 0;
  std::string id;
  STORE_ASSERT_OK(
      graph_internal::DecodeTombstoneKey(graph_internal::TombstoneKey(-7, "q"), &at, &id));
  EXPECT_EQ(at, -7);
  EXPECT_EQ(id, "q");
  TopicPartition tp;
  STORE_ASSERT_OK(graph_internal::DecodePositionKey(graph_internal::PositionKey("person", 9), &tp));
  EXPECT_EQ(tp, (TopicPartition{"person", 9}));
  EXPECT_EQ(graph_internal::PrefixEnd("a\xff\xff"), "b");
  EXPECT_EQ(graph_internal::PrefixEnd("\xff"), "");
  EXPECT_TRUE(graph_internal::DecodeEdgeKey("o\x00", &d).IsCorruption());
}

}  // namespace
}  // namespace tandem
