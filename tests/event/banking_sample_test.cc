// examples/banking/events.ndjson must stay parseable and realistic: the demo
// and the docs rely on it.

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "test_util.h"

#ifndef TANDEM_BANKING_EVENTS
#error "TANDEM_BANKING_EVENTS must name examples/banking/events.ndjson"
#endif

namespace tandem {
namespace {

using testing::ErrorOf;

std::string ReadSample() {
  std::ifstream in(TANDEM_BANKING_EVENTS, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(BankingSample, EveryLineParses) {
  std::string body = ReadSample();
  ASSERT_FALSE(body.empty()) << "cannot read " << TANDEM_BANKING_EVENTS;
  testing::FixedClock clock;
  EventParser parser(clock, testing::TestOptions());
  auto batch = parser.ParseBatch(body);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_GE(batch->size(), 55u);
  std::map<std::string, int> per_type, per_event_id;
  std::set<EventType> event_types;
  int with_text = 0, with_version = 0;
  for (const BatchItem& item : *batch) {
    ASSERT_TRUE(item.event.ok()) << ErrorOf(item.event);
    const EntityEvent& e = *item.event;
    ++per_type[e.entity_type];
    ++per_event_id[e.event_id];
    event_types.insert(e.event_type);
    with_text += e.text_for_embedding.has_value();
    with_version += e.version.has_value();
  }
  for (const char* type : {"person", "company", "account", "transaction", "communication"}) {
    EXPECT_GT(per_type[type], 0) << type;
  }
  EXPECT_EQ(event_types.size(), 4u);
  EXPECT_GT(with_text, 5);
  EXPECT_GT(with_version, 5);
  int duplicates = 0;
  for (const auto& [id, count] : per_event_id) duplicates += count > 1;
  EXPECT_GE(duplicates, 2) << "the sample should exercise dedup";
}

}  // namespace
}  // namespace tandem
