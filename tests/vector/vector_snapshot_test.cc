// Index snapshots: reopening loads them and replays the journal; a corrupt
// or missing snapshot is rebuilt from the documents with the same search
// results; a periodic snapshot trims the journal.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "env/fault_injection_fs.h"
#include "vector_test_util.h"

namespace tandem::vector_test {
namespace {

using store_test::Ev;
using ET = EventType;

std::vector<StoreEvent> Batch(size_t first, size_t n) {
  std::vector<StoreEvent> out;
  for (size_t i = first; i < first + n; ++i) {
    out.push_back(Ev(
        ET::kUpsert, "widget", "w" + std::to_string(i), i,
        "{\"name\":\"name " + std::to_string(i * 7919 % 1000) + " x" + std::to_string(i) + "\"}"));
  }
  return out;
}

class VectorSnapshotTest : public ::testing::Test {
 protected:
  VectorSnapshotTest() : posix_(NewPosixFileSystem()), fault_(*posix_) {}

  VectorStoreOptions Options() {
    VectorStoreOptions o = StoreOptions(dir_.path() + "/v", embedder_.get());
    o.fs = &fault_;
    o.snapshot_every_changes = 0;  // only when asked and on close
    return o;
  }
  // Top-5 ids and scores of a few queries, exact and HNSW.
  std::vector<std::string> Results(VectorStore& s) {
    std::vector<std::string> out;
    for (const char* text : {"name 12 x3", "name 500", "x44", "name 9"}) {
      for (bool exact : {false, true}) {
        VectorQuery q;
        q.text = text;
        q.exact = exact;
        Result<std::vector<VectorHit>> hits = s.Search(q);
        EXPECT_TRUE(hits.ok()) << hits.status().ToString();
        if (!hits.ok()) continue;
        for (const VectorHit& h : *hits) out.push_back(h.entity_id + "@" + std::to_string(h.score));
      }
    }
    return out;
  }
  std::string SnapshotFile() { return dir_.path() + "/v/index/widget.tvix"; }

  TempDir dir_;
  std::unique_ptr<Embedder> embedder_ = HashEmbedder();
  std::unique_ptr<FileSystem> posix_;
  FaultInjectionFileSystem fault_;
};

TEST_F(VectorSnapshotTest, ReopenLoadsTheSnapshotAndReplaysTheJournalAfterIt) {
  std::vector<std::string> want;
  {
    std::unique_ptr<VectorStore> s = Open(Options());
    ASSERT_NE(s, nullptr);
    STORE_ASSERT_OK(s->ApplyBatch(Batch(0, 60)));
    STORE_ASSERT_OK(s->SaveSnapshots());
    EXPECT_EQ(s->vector_counters().snapshots_written, 1u);
    // Three more batches, one of them a delete and a text change.
    STORE_ASSERT_OK(s->ApplyBatch(Batch(60, 20)));
    STORE_ASSERT_OK(s->ApplyBatch(std::vector<StoreEvent>{Ev(ET::kDelete, "widget", "w3", 100)}));
    STORE_ASSERT_OK(s->ApplyBatch(
        std::vector<StoreEvent>{Ev(ET::kUpdate, "widget", "w5", 101, R"({"name":"renamed"})")}));
    want = Results(*s);
    // The process "dies": the snapshot on close cannot be written.
    FaultSpec spec;
    spec.op_mask = FileOpBit(FileOp::kRename);
    spec.fail_after = 1;
    spec.persistent = true;
    fault_.SetFault(spec);
  }
  fault_.ClearFaults();
  std::unique_ptr<VectorStore> s = Open(Options());
  ASSERT_NE(s, nullptr);
  const VectorCounters c = s->vector_counters();
  EXPECT_EQ(c.index_rebuilds, 0u);
  EXPECT_EQ(c.journal_entries_replayed, 3u);
  EXPECT_EQ(Results(*s), want);
  EXPECT_EQ(s->IndexSizes().at("widget"), 79u);
  STORE_EXPECT_OK(s->CheckInvariants());
}

TEST_F(VectorSnapshotTest, CorruptSnapshotIsRebuiltWithIdenticalResults) {
  std::vector<std::string> want;
  {
    std::unique_ptr<VectorStore> s = Open(Options());
    ASSERT_NE(s, nullptr);
    STORE_ASSERT_OK(s->ApplyBatch(Batch(0, 80)));
    want = Results(*s);
  }  // closing writes the snapshot
  ASSERT_TRUE(std::filesystem::exists(SnapshotFile()));
  {
    std::fstream f(SnapshotFile(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(std::filesystem::file_size(SnapshotFile()) / 2));
    f.write("\xde\xad\xbe\xef", 4);
  }
  std::unique_ptr<VectorStore> s = Open(Options());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->vector_counters().index_rebuilds, 1u);
  EXPECT_EQ(Results(*s), want);
  STORE_EXPECT_OK(s->CheckInvariants());
}

TEST_F(VectorSnapshotTest, MissingSnapshotIsRebuilt) {
  std::vector<std::string> want;
  {
    std::unique_ptr<VectorStore> s = Open(Options());
    ASSERT_NE(s, nullptr);
    STORE_ASSERT_OK(s->ApplyBatch(Batch(0, 50)));
    want = Results(*s);
  }
  STORE_ASSERT_OK(fault_.DeleteFile(SnapshotFile()));
  std::unique_ptr<VectorStore> s = Open(Options());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->vector_counters().index_rebuilds, 1u);
  EXPECT_EQ(Results(*s), want);
  STORE_EXPECT_OK(s->CheckInvariants());
  // A clean reopen after that needs neither a rebuild nor a replay.
  s.reset();
  s = Open(Options());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->vector_counters().index_rebuilds, 0u);
  EXPECT_EQ(s->vector_counters().journal_entries_replayed, 0u);
  EXPECT_EQ(Results(*s), want);
}

TEST_F(VectorSnapshotTest, PeriodicSnapshotsTrimTheJournalAndAnOldSnapshotIsNotTrusted) {
  VectorStoreOptions o = Options();
  o.snapshot_every_changes = 25;
  std::vector<std::string> want;
  {
    std::unique_ptr<VectorStore> s = Open(o);
    ASSERT_NE(s, nullptr);
    for (size_t b = 0; b < 6; ++b) STORE_ASSERT_OK(s->ApplyBatch(Batch(b * 10, 10)));
    EXPECT_EQ(s->vector_counters().snapshots_written, 2u);  // after 30 and 60 changes
    std::filesystem::copy_file(SnapshotFile(), dir_.path() + "/old.tvix");
    for (size_t b = 6; b < 9; ++b) STORE_ASSERT_OK(s->ApplyBatch(Batch(b * 10, 10)));
    EXPECT_EQ(s->vector_counters().snapshots_written, 3u);
    want = Results(*s);
  }
  // The journal was trimmed behind the newer snapshots: the old one can no
  // longer be caught up and is rebuilt instead.
  std::filesystem::copy_file(dir_.path() + "/old.tvix", SnapshotFile(),
                             std::filesystem::copy_options::overwrite_existing);
  std::unique_ptr<VectorStore> s = Open(o);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->vector_counters().index_rebuilds, 1u);
  EXPECT_EQ(Results(*s), want);
  STORE_EXPECT_OK(s->CheckInvariants());
}

}  // namespace
}  // namespace tandem::vector_test
