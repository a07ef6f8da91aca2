// `tandem serve` on a real, small file system that fills up (issue 6 §3):
// a tmpfs of a few MiB mounted for the test (root only: CI runs as root; a
// non-root run fails with the reason rather than passing silently, unless
// TANDEM_SKIP_MOUNT_TESTS=1 says the machine cannot mount).
//
// A ballast file takes most of the space; ingest runs until the server
// answers 503 with Retry-After and a "disk full" message; the server stays
// up and keeps answering reads; the ballast is removed; ingest resumes; after
// the legs caught up every acknowledged event is in the log at the position
// the server gave, both stores agree with the log (audit clean), and a clean
// restart finds an intact log.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "../server/serve_child.h"

namespace tandem {
namespace {

using testing::Child;
using testing::Http;
using testing::Json;
using testing::Reply;
using testing::StartServe;
using testing::TempDir;

// A tmpfs of `mib` MiB on `dir`, unmounted on destruction.
class SmallFs {
 public:
  SmallFs(const std::string& dir, int mib) : dir_(dir) {
    const std::string opts = "size=" + std::to_string(mib) + "m";
    if (mount("tandem-test", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~SmallFs() {
    if (mounted_) umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

std::string Batch(int batch, int n) {
  std::string body;
  for (int i = 0; i < n; ++i) {
    const int k = batch * n + i;
    Json e = {{"event_id", "df-" + std::to_string(k)},
              {"event_type", "upsert"},
              {"entity_type", "person"},
              {"entity_id", "p-" + std::to_string(k % 500)},
              {"version", k + 1},
              {"text_for_embedding", "Person number " + std::to_string(k)},
              {"payload", {{"name", "Person " + std::to_string(k)},
                           {"note", std::string(400, static_cast<char>('a' + k % 26))}}}};
    body += e.dump() + "\n";
  }
  return body;
}

struct Ack {
  std::string topic;
  uint32_t partition;
  uint64_t offset;
};

void Record(const Json& reply, std::map<std::string, Ack>* acks) {
  ASSERT_TRUE(reply.contains("results")) << reply.dump();
  for (const Json& item : reply["results"]) {
    const std::string status = item.value("status", "");
    if (status == "appended" || status == "duplicate") {
      (*acks)[item["event_id"].get<std::string>()] =
          Ack{item["topic"].get<std::string>(), item["partition"].get<uint32_t>(),
              item["offset"].get<uint64_t>()};
    }
  }
}

TEST(DiskFull, IngestAnswers503AndResumesWhenSpaceReturnsWithNothingLost) {
  TempDir dir;
  const std::string mnt = dir.path() + "/fs";
  std::filesystem::create_directories(mnt);
  SmallFs fs(mnt, 48);
  if (!fs.mounted()) {
    if (const char* skip = std::getenv("TANDEM_SKIP_MOUNT_TESTS"); skip && *skip == '1') {
      GTEST_SKIP() << "TANDEM_SKIP_MOUNT_TESTS=1: cannot mount a tmpfs (" << fs.error() << ")";
    }
    FAIL() << "mounting a 48 MiB tmpfs on " << mnt << " failed: " << fs.error()
           << " (run as root, or set TANDEM_SKIP_MOUNT_TESTS=1 on machines that cannot mount)";
  }
  const std::string config = dir.path() + "/tandem.yaml";
  // Only the log (what ingest writes) lives on the small file system. The
  // stores stay on the big disk: RocksDB 7.8 cannot recover from ENOSPC in its
  // WAL without a reopen (src/graph/README.md; FaultStoreOutage covers a store
  // failing, with the embedder as the fault).
  std::ofstream(config) << "data_dir: " << mnt << "/data\nserver: {port: 0}\n"
                        << "log: {segment_size: 1MiB}\n"
                        << "graph: {dir: " << dir.path() << "/graph, write_buffer: 1MiB, "
                        << "block_cache: 1MiB}\n"
                        << "vector: {dir: " << dir.path() << "/vector}\n";
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  const int port = StartServe(serve);
  ASSERT_GT(port, 0) << serve.Stderr();
  Http http(port);

  // Ballast: leave about 6 MiB free.
  const std::string ballast = mnt + "/ballast";
  {
    const std::filesystem::space_info space = std::filesystem::space(mnt);
    ASSERT_GT(space.available, uint64_t{8} << 20);
    std::ofstream b(ballast, std::ios::binary);
    const std::string chunk(1 << 20, 'x');
    for (uint64_t left = space.available - (uint64_t{6} << 20); left >= chunk.size();
         left -= chunk.size()) {
      b.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    }
    ASSERT_TRUE(b.good());
  }

  std::map<std::string, Ack> acks;
  int batch = 0;
  Reply full;
  for (; batch < 2000; ++batch) {
    Reply r = http.Post("/v1/events", Batch(batch, 50), "application/x-ndjson");
    if (r.status == 200) {
      Record(r.json(), &acks);
      continue;
    }
    full = r;
    break;
  }
  ASSERT_EQ(full.status, 503) << "no disk-full answer after " << batch
                              << " batches; last: " << full.status << " " << full.body;
  EXPECT_FALSE(full.header("Retry-After").empty());
  EXPECT_NE(full.body.find("disk full"), std::string::npos) << full.body;
  // A refused request acknowledges nothing (some of its items may be in the
  // log: re-posting it is safe, duplicates keep their offsets).
  EXPECT_FALSE(full.json().contains("results")) << full.body;
  EXPECT_GT(acks.size(), 0u);

  // Still up: reads answer, and more writes keep answering 503 (not 500).
  EXPECT_EQ(http.Get("/livez").status, 200);
  EXPECT_EQ(http.Get("/v1/admin/topics").status, 200);
  Reply again = http.Post("/v1/events", Batch(batch + 1, 50), "application/x-ndjson");
  EXPECT_TRUE(again.status == 503 || again.status == 200) << again.status << " " << again.body;
  if (again.status == 200) Record(again.json(), &acks);

  // Space returns: the client re-posts the refused batch, as Retry-After says
  // (bounded), and ingest resumes.
  std::filesystem::remove(ballast);
  bool resumed = false;
  for (int attempt = 0; attempt < 100 && !resumed; ++attempt) {
    Reply r = http.Post("/v1/events", Batch(batch, 50), "application/x-ndjson");
    if (r.status == 200) {
      Record(r.json(), &acks);
      resumed = true;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_TRUE(resumed) << "ingest did not resume after the space returned";

  // Nothing lost, stores in step with the log.
  testing::WaitForLegs(http);
  for (const auto& [event_id, ack] : acks) {
    Reply r = http.Get("/v1/admin/topics/" + ack.topic + "/records?partition=" +
                       std::to_string(ack.partition) + "&offset=" + std::to_string(ack.offset) +
                       "&limit=1");
    ASSERT_EQ(r.status, 200) << r.body;
    Json recs = r.json()["records"];
    ASSERT_EQ(recs.size(), 1u) << event_id << " missing at " << ack.offset;
    EXPECT_EQ(recs[0]["id"], event_id);
  }
  Reply audit = http.Post("/v1/audit", "", "application/json");
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_TRUE(audit.json()["clean"].get<bool>()) << audit.body;

  serve.Signal(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0) << serve.Stderr();
  Child verify({TANDEM_BINARY, "log", "verify", "--dir", mnt + "/data/log"});
  EXPECT_EQ(verify.Wait(), 0) << verify.Stderr();
}

}  // namespace
}  // namespace tandem
