// Helpers of the fault and soak tests that drive the real `tandem serve`
// (tests/crash/fault_*_test.cc, soak_test.cc): a tmpfs mounted for a test,
// a versioned event generator that remembers what the server acknowledged,
// reading one sample of the Prometheus text, and the end-of-test check that
// every store holds the latest acknowledged event of every entity.
#pragma once

#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>

#include "../server/serve_child.h"

namespace tandem::testing {

// A tmpfs of `mib` MiB mounted on an existing directory for the lifetime of
// the object (needs root; detached on destruction).
class TmpfsMount {
 public:
  TmpfsMount(const std::string& dir, int mib) : dir_(dir) {
    const std::string opts = "size=" + std::to_string(mib) + "m,mode=0755";
    if (mount("tandem-fault", dir.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      error_ = std::string("mount tmpfs on ") + dir + ": " + std::strerror(errno);
    }
  }
  ~TmpfsMount() {
    if (error_.empty()) umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  // Empty when mounted.
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  std::string error_;
};

// <dir>/tandem.yaml with data_dir <dir>/data and `yaml` (whole sections;
// everything else at its default: the log fsyncs before acknowledging).
inline std::string WriteServeConfig(const TempDir& dir, const std::string& yaml) {
  const std::string path = dir.path() + "/tandem.yaml";
  std::ofstream(path) << "data_dir: " << dir.path() << "/data\n" << yaml;
  return path;
}

// True when the test should be skipped because mounting is impossible here
// and TANDEM_SKIP_MOUNT_TESTS=1 says so; otherwise a failed mount fails.
inline bool SkipMountTests() {
  const char* v = std::getenv("TANDEM_SKIP_MOUNT_TESTS");
  return v != nullptr && std::string(v) == "1";
}

// Versioned upserts of persons p-0..p-<entities-1>, with a payload of
// `padding` bytes; remembers the latest acknowledged event per entity.
class PersonEvents {
 public:
  PersonEvents(std::string prefix, int entities, size_t padding)
      : prefix_(std::move(prefix)), entities_(entities), padding_(padding) {}

  // `n` NDJSON lines.
  std::string Batch(int n) {
    std::string body;
    for (int i = 0; i < n; ++i) {
      const uint64_t k = seq_++;
      const std::string id = "p-" + std::to_string(k % static_cast<uint64_t>(entities_));
      Json e = {{"event_id", prefix_ + std::to_string(k)},
                {"event_type", "upsert"},
                {"entity_type", "person"},
                {"entity_id", id},
                {"version", ++versions_[id]},
                {"text_for_embedding", "Person " + id + " v" + std::to_string(versions_[id])},
                {"payload", {{"name", "Person " + id}, {"pad", std::string(padding_, 'x')}}}};
      body += e.dump() + "\n";
    }
    return body;
  }

  // Records the acknowledged items of a POST /v1/events reply. The events of
  // one entity are posted in version order by one thread, so the last one
  // acknowledged is the latest.
  void Record(const Json& reply) {
    if (!reply.contains("results")) return;
    for (const Json& item : reply["results"]) {
      const std::string status = item.value("status", "");
      if (status != "appended" && status != "duplicate") continue;
      latest_[item["entity_id"].get<std::string>()] = item["event_id"].get<std::string>();
      ++acked_;
    }
  }

  // Posts a batch of `n`; true when the server acknowledged it (200).
  bool Post(Http& http, int n) {
    Reply r = http.Post("/v1/events", Batch(n), "application/x-ndjson");
    if (r.status != 200) return false;
    Record(r.json());
    return true;
  }

  const std::map<std::string, std::string>& latest() const { return latest_; }
  uint64_t acked() const { return acked_; }

 private:
  std::string prefix_;
  int entities_;
  size_t padding_;
  uint64_t seq_ = 0;
  std::map<std::string, int64_t> versions_;
  std::map<std::string, std::string> latest_;  // entity → event_id
  uint64_t acked_ = 0;
};

// The value of the sample `name{labels}` (labels as rendered, e.g.
// `leg="graph"`) in Prometheus text; nullopt when absent.
inline std::optional<double> MetricSample(const std::string& text, const std::string& name,
                                          const std::string& labels) {
  const std::string key = labels.empty() ? name + " " : name + "{" + labels + "} ";
  for (size_t at = 0; at < text.size();) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    if (text.compare(at, key.size(), key) == 0) {
      return std::strtod(text.c_str() + at + key.size(), nullptr);
    }
    at = nl + 1;
  }
  return std::nullopt;
}

// After the legs caught up: every entity's graph vertex and vector document
// carry the marker of its latest acknowledged event and agree, the DLQ holds
// `expected_dead_letters` records (dead letters stay after a replay: the log
// is append-only), and POST /v1/audit is clean.
inline void ExpectEverythingApplied(Http& http, const std::map<std::string, std::string>& latest,
                                    uint64_t expected_dead_letters = 0) {
  WaitForLegs(http);
  for (const auto& [id, event_id] : latest) {
    Reply r = http.Get("/v1/entities/" + id);
    ASSERT_EQ(r.status, 200) << id << ": " << r.body;
    Json doc = r.json();
    for (const char* store : {"graph", "vector"}) {
      const Json& m = doc["positions"][store];
      ASSERT_TRUE(m.is_object()) << id << " has no " << store << " marker: " << r.body;
      EXPECT_EQ(m["event_id"], event_id) << id << " in the " << store << " store";
    }
    EXPECT_TRUE(doc["agree"].get<bool>()) << r.body;
  }
  Reply dlq = http.Get("/v1/admin/dlq");
  ASSERT_EQ(dlq.status, 200) << dlq.body;
  const Json topics = dlq.json()["dlq"];
  ASSERT_TRUE(topics.is_array()) << dlq.body;
  uint64_t dead_letters = 0;
  for (const Json& t : topics) dead_letters += t["records"].get<uint64_t>();
  EXPECT_EQ(dead_letters, expected_dead_letters) << dlq.body;
  Reply audit = http.Post("/v1/audit", "", "application/json");
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_TRUE(audit.json()["clean"].get<bool>()) << audit.body;
}

}  // namespace tandem::testing
