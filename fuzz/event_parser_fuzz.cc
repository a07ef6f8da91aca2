// libFuzzer target for the event parser. The first input byte picks the entry
// point (native, CloudEvent structured, batch, CloudEvent binary); the rest is
// the input. Beyond "no crash, no sanitizer report", it checks two oracles on
// every accepted event: Parse(Serialize(e)) == e, and simdjson's DOM parser
// (a full validator) accepts Serialize(e), so the On Demand walker never lets
// invalid JSON into a payload.
//
// Thread safety: libFuzzer calls the entry point from one thread.

#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/env.h"
#include "tandem/event.h"

namespace {

class FixedClock final : public tandem::Clock {
 public:
  int64_t NowMicros() override { return 1'700'000'000'000'000; }
  int64_t MonotonicNanos() override { return 0; }
  void SleepForMicros(int64_t) override {}
};

[[noreturn]] void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "oracle failed: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void CheckAccepted(tandem::EventParser& parser, const tandem::EntityEvent& e) {
  std::string line = tandem::Serialize(e);
  auto again = parser.Parse(line);
  if (!again.ok()) Fail(again.status().message().c_str(), line);
  if (!(*again == e)) Fail("Parse(Serialize(e)) != e", line);
  static simdjson::dom::parser dom;
  simdjson::dom::element root;
  auto error = dom.parse(line).get(root);
  // The DOM parser rejects numbers beyond double range that JSON allows.
  if (error && error != simdjson::NUMBER_ERROR) {
    Fail(simdjson::error_message(error), line);
  }
}

// "name: value" lines, a blank line, then the body.
void ParseBinary(tandem::EventParser& parser, std::string_view in) {
  std::vector<tandem::HttpHeader> headers;
  while (!in.empty()) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  auto r = parser.ParseCloudEventBinary(headers, in);
  if (r.ok()) CheckAccepted(parser, *r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FixedClock clock;
  static tandem::EventParser parser(clock, [] {
    tandem::EventParserOptions o;
    o.uuid_seed = 1;
    o.limits.max_depth = 16;  // reachable by the fuzzer
    return o;
  }());
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto r = parser.Parse(in);
      if (r.ok()) CheckAccepted(parser, *r);
      break;
    }
    case 1: {
      auto r = parser.ParseCloudEvent(in);
      if (r.ok()) CheckAccepted(parser, *r);
      break;
    }
    case 2: {
      auto r = parser.ParseBatch(
          in, data[0] & 4 ? tandem::EventFormat::kCloudEvent : tandem::EventFormat::kNative);
      if (!r.ok()) break;
      for (const auto& item : *r) {
        if (item.event.ok()) CheckAccepted(parser, *item.event);
      }
      break;
    }
    default:
      ParseBinary(parser, in);
      break;
  }
  return 0;
}
