// Vector index snapshots: round trips through the memory and the POSIX file
// systems, damaged files (truncation, bit flips, garbage, inconsistent
// structure under a valid checksum), and I/O errors and power loss through
// the fault-injecting file system.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>

#include "common/crc32c.h"
#include "env/fault_injection_fs.h"
#include "vindex/vector_index.h"
#include "vindex_test_util.h"

namespace tandem {
namespace {

using vindex_test::Build;
using vindex_test::Options;
using vindex_test::RandomUnits;

constexpr size_t kDim = 32;
const std::string kPath = "/snap/index";

// Every query answers the same on both indexes (approximate and exact).
void ExpectSameAnswers(const VectorIndex& a, const VectorIndex& b, uint64_t seed) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& q : RandomUnits(seed, 100, a.options().dimension)) {
    EXPECT_EQ(a.Search(q, 10, {}).value(), b.Search(q, 10, {}).value());
    EXPECT_EQ(a.SearchExact(q, 10, {}).value(), b.SearchExact(q, 10, {}).value());
  }
}

class Snapshot : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = NewMemFileSystem();
    VINDEX_ASSERT_OK(fs_->CreateDirs("/snap"));
    vectors_ = RandomUnits(60, 1500, kDim);
    index_ = Build(Options(kDim, 64), vectors_);
    for (uint64_t l = 0; l < vectors_.size(); l += 7) VINDEX_ASSERT_OK(index_->Remove(l));
  }

  std::string SavedBytes() {
    EXPECT_TRUE(index_->SaveSnapshot(*fs_, kPath, 77).ok());
    std::string data;
    EXPECT_TRUE(ReadFileToString(*fs_, kPath, &data).ok());
    return data;
  }

  // LoadSnapshot of `bytes` written to kPath must be Corruption naming the file.
  void ExpectCorruption(const std::string& bytes, const std::string& what) {
    auto file = fs_->NewWritableFile(kPath);
    ASSERT_TRUE(file.ok());
    VINDEX_ASSERT_OK((*file)->Append(bytes));
    VINDEX_ASSERT_OK((*file)->Close());
    uint64_t seq = 0;
    auto r = VectorIndex::LoadSnapshot(*fs_, kPath, &seq);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_TRUE(r.status().IsCorruption()) << what << ": " << r.status().ToString();
    EXPECT_EQ(r.status().message().rfind(kPath + ": ", 0), 0u) << r.status().ToString();
  }

  std::unique_ptr<FileSystem> fs_;
  std::vector<std::vector<float>> vectors_;
  std::unique_ptr<VectorIndex> index_;
};

TEST_F(Snapshot, RoundTripThroughMemoryFileSystemAnswersIdentically) {
  VINDEX_ASSERT_OK(index_->SaveSnapshot(*fs_, kPath, 12345));
  EXPECT_FALSE(fs_->FileExists(kPath + ".tmp"));
  uint64_t seq = 0;
  auto loaded = VectorIndex::LoadSnapshot(*fs_, kPath, &seq);
  VINDEX_ASSERT_OK(loaded);
  EXPECT_EQ(seq, 12345u);
  const VectorIndex& copy = **loaded;
  EXPECT_EQ(copy.options().dimension, kDim);
  EXPECT_EQ(copy.options().m, index_->options().m);
  EXPECT_EQ(copy.options().ef_construction, index_->options().ef_construction);
  EXPECT_EQ(copy.options().seed, index_->options().seed);
  for (uint64_t l = 0; l < vectors_.size(); ++l) {
    ASSERT_EQ(copy.Contains(l), l % 7 != 0) << l;
  }
  ExpectSameAnswers(*index_, copy, 61);
}

TEST_F(Snapshot, LoadedIndexKeepsGrowingLikeTheOriginal) {
  VINDEX_ASSERT_OK(index_->SaveSnapshot(*fs_, kPath, 1));
  auto loaded = std::move(VectorIndex::LoadSnapshot(*fs_, kPath, nullptr)).value();
  // The same further writes on both: the level generator state was saved, so
  // the graphs stay identical and so do the answers.
  const auto more = RandomUnits(62, 300, kDim);
  for (uint64_t i = 0; i < more.size(); ++i) {
    VINDEX_ASSERT_OK(index_->Upsert(10'000 + i, more[i]));
    VINDEX_ASSERT_OK(loaded->Upsert(10'000 + i, more[i]));
  }
  VINDEX_ASSERT_OK(index_->Upsert(7, more[0]));  // re-add a removed label
  VINDEX_ASSERT_OK(loaded->Upsert(7, more[0]));
  ExpectSameAnswers(*index_, *loaded, 63);
}

TEST_F(Snapshot, EmptyIndexRoundTrips) {
  auto empty = VectorIndex::Create(Options(kDim)).value();
  VINDEX_ASSERT_OK(empty->SaveSnapshot(*fs_, kPath, 5));
  uint64_t seq = 0;
  auto loaded = std::move(VectorIndex::LoadSnapshot(*fs_, kPath, &seq)).value();
  EXPECT_EQ(seq, 5u);
  EXPECT_EQ(loaded->size(), 0u);
  EXPECT_TRUE(loaded->Search(vectors_[0], 3, {}).value().empty());
  VINDEX_ASSERT_OK(loaded->Upsert(1, vectors_[1]));
  EXPECT_EQ(loaded->Search(vectors_[1], 3, {}).value()[0].label, 1u);
}

TEST_F(Snapshot, MissingFileIsNotFound) {
  auto r = VectorIndex::LoadSnapshot(*fs_, "/snap/nothing", nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
}

TEST_F(Snapshot, RoundTripThroughPosixFileSystem) {
  char tmpl[] = "/tmp/vindex_test_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  auto posix = NewPosixFileSystem();
  VINDEX_ASSERT_OK(index_->SaveSnapshot(*posix, dir + "/index", 9));
  uint64_t seq = 0;
  auto loaded = VectorIndex::LoadSnapshot(*posix, dir + "/index", &seq);
  VINDEX_ASSERT_OK(loaded);
  EXPECT_EQ(seq, 9u);
  ExpectSameAnswers(*index_, **loaded, 64);
  std::filesystem::remove_all(dir);
}

TEST_F(Snapshot, EveryTruncationIsCorruption) {
  const std::string bytes = SavedBytes();
  for (size_t i = 0; i < 16; ++i) {
    ExpectCorruption(bytes.substr(0, bytes.size() * i / 16), "cut at " + std::to_string(i) + "/16");
  }
  ExpectCorruption(bytes.substr(0, bytes.size() - 1), "one byte short");
  ExpectCorruption(bytes + "x", "one byte too many");
}

TEST_F(Snapshot, BitFlipsAreCorruption) {
  const std::string bytes = SavedBytes();
  Random rng(65);
  std::vector<size_t> positions = {0, 4, 8, 12, 20, 32, 40, 48, 56, 60, 64, 72,
                                   bytes.size() - 1};
  for (int i = 0; i < 48; ++i) positions.push_back(rng.Uniform(bytes.size()));
  for (size_t pos : positions) {
    std::string damaged = bytes;
    damaged[pos] = static_cast<char>(damaged[pos] ^ (1 << rng.Uniform(8)));
    ExpectCorruption(damaged, "bit flip at " + std::to_string(pos));
  }
}

TEST_F(Snapshot, GarbageIsCorruption) {
  Random rng(66);
  for (size_t size : {0, 1, 75, 76, 100, 4096, 100'000}) {
    std::string junk(size, '\0');
    for (auto& c : junk) c = static_cast<char>(rng.Uniform(256));
    ExpectCorruption(junk, "random " + std::to_string(size) + " bytes");
    if (size >= 4) {
      std::memcpy(junk.data(), "TVIX", 4);
      ExpectCorruption(junk, "magic + random " + std::to_string(size) + " bytes");
    }
  }
}

// Rewrites the CRC so only the structural checks can catch the damage.
std::string Reseal(std::string bytes) {
  const uint32_t crc = crc32c::Value(bytes.data(), bytes.size() - 4);
  std::memcpy(bytes.data() + bytes.size() - 4, &crc, 4);
  return bytes;
}

template <typename T>
void Poke(std::string* bytes, size_t offset, T value) {
  std::memcpy(bytes->data() + offset, &value, sizeof(T));
}

TEST_F(Snapshot, InconsistentStructureUnderAValidChecksumIsCorruption) {
  const std::string bytes = SavedBytes();
  {
    std::string b = bytes;
    Poke<uint64_t>(&b, 32, 1'000'000);  // element count
    ExpectCorruption(Reseal(b), "element count");
  }
  {
    std::string b = bytes;
    Poke<uint64_t>(&b, 40, 1500);  // live count (some are removed)
    ExpectCorruption(Reseal(b), "live count");
  }
  {
    std::string b = bytes;
    Poke<uint32_t>(&b, 8, 33);  // dimension: the element size no longer matches
    ExpectCorruption(Reseal(b), "dimension");
  }
  {
    std::string b = bytes;
    Poke<uint32_t>(&b, 12, 1);  // m out of range
    ExpectCorruption(Reseal(b), "m");
  }
  {
    std::string b = bytes;
    Poke<uint32_t>(&b, 56, 1499);  // entry point not at the top level
    ExpectCorruption(Reseal(b), "entry point");
  }
  // The first element's first level-0 link (body: two length-prefixed
  // generator states, then the level-0 block).
  uint32_t rng1 = 0, rng2 = 0;
  std::memcpy(&rng1, bytes.data() + 72, 4);
  std::memcpy(&rng2, bytes.data() + 76 + rng1, 4);
  const size_t level0 = 80 + rng1 + rng2;
  {
    std::string b = bytes;
    Poke<uint32_t>(&b, level0 + 4, 0xFFFFFF);
    ExpectCorruption(Reseal(b), "link out of range");
  }
  {
    std::string b = bytes;
    Poke<uint16_t>(&b, level0, 1000);
    ExpectCorruption(Reseal(b), "link count");
  }
  {
    // Element 1 takes element 0's label.
    std::string b = bytes;
    const size_t element = 2 * 16 * 4 + 4 + kDim * 4 + 8;
    std::memcpy(b.data() + level0 + element + element - 8, b.data() + level0 + element - 8, 8);
    ExpectCorruption(Reseal(b), "duplicate label");
  }
  {
    std::string b = bytes;
    Poke<uint32_t>(&b, 72, 1'000'000);  // generator state length
    ExpectCorruption(Reseal(b), "generator state");
  }
}

// A FaultInjectionFileSystem over memory, holding a durable snapshot with
// sequence 1 of the fixture's index.
class SnapshotFaults : public Snapshot {
 protected:
  void SetUp() override {
    Snapshot::SetUp();
    base_ = NewMemFileSystem();
    VINDEX_ASSERT_OK(base_->CreateDirs("/snap"));
    faulty_ = std::make_unique<FaultInjectionFileSystem>(*base_);
    VINDEX_ASSERT_OK(index_->SaveSnapshot(*faulty_, kPath, 1));
    more_ = RandomUnits(67, 50, kDim);
    for (uint64_t i = 0; i < more_.size(); ++i) VINDEX_ASSERT_OK(index_->Upsert(5000 + i, more_[i]));
  }

  // The snapshot at kPath loads, and holds sequence 1 (with 1500 - 215
  // labels) or 2 (50 more).
  uint64_t LoadedSequence() {
    uint64_t seq = 0;
    auto r = VectorIndex::LoadSnapshot(*faulty_, kPath, &seq);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return 0;
    EXPECT_EQ((*r)->size(), seq == 1 ? 1285u : 1335u);
    EXPECT_EQ((*r)->Contains(5000), seq == 2);
    return seq;
  }

  std::unique_ptr<FileSystem> base_;
  std::unique_ptr<FaultInjectionFileSystem> faulty_;
  std::vector<std::vector<float>> more_;
};

TEST_F(SnapshotFaults, FailedWriteSyncOrRenameKeepsThePreviousSnapshot) {
  for (FileOp op : {FileOp::kCreate, FileOp::kWrite, FileOp::kSync, FileOp::kRename}) {
    FaultSpec spec;
    spec.op_mask = FileOpBit(op);
    spec.fail_after = 1;
    spec.partial_write_fraction = 0.5;
    faulty_->SetFault(spec);
    EXPECT_FALSE(index_->SaveSnapshot(*faulty_, kPath, 2).ok()) << static_cast<int>(op);
    faulty_->ClearFaults();
    EXPECT_EQ(LoadedSequence(), 1u) << static_cast<int>(op);
    VINDEX_ASSERT_OK(faulty_->DropUnsyncedData());
    EXPECT_EQ(LoadedSequence(), 1u) << static_cast<int>(op);
  }
}

// SQLite-style sweep: fail the n-th mutating operation, once, for n = 1, 2, ...
// until the save succeeds; after every failure (and a power loss) a complete
// snapshot loads.
TEST_F(SnapshotFaults, FailingTheNthOperationNeverLeavesAnUnloadableSnapshot) {
  bool succeeded = false;
  for (uint64_t n = 1; n <= 20 && !succeeded; ++n) {
    FaultSpec spec;
    spec.op_mask = kMutatingOps;
    spec.fail_after = n;
    spec.error = n % 2 ? InjectedError::kIO : InjectedError::kNoSpace;
    faulty_->SetFault(spec);
    succeeded = index_->SaveSnapshot(*faulty_, kPath, 2).ok();
    faulty_->ClearFaults();
    const uint64_t seq = LoadedSequence();
    EXPECT_TRUE(seq == 1 || seq == 2) << n;
    if (succeeded) {
      EXPECT_EQ(seq, 2u);
    }
    VINDEX_ASSERT_OK(faulty_->DropUnsyncedData());
    const uint64_t after_power_loss = LoadedSequence();
    EXPECT_TRUE(after_power_loss == 1 || after_power_loss == 2) << n;
    if (succeeded) {
      EXPECT_EQ(after_power_loss, 2u);
    }
  }
  EXPECT_TRUE(succeeded);
}

TEST_F(SnapshotFaults, PowerLossAfterASaveReturnedKeepsTheNewSnapshot) {
  VINDEX_ASSERT_OK(index_->SaveSnapshot(*faulty_, kPath, 2));
  VINDEX_ASSERT_OK(faulty_->DropUnsyncedData());
  EXPECT_EQ(LoadedSequence(), 2u);
  EXPECT_FALSE(faulty_->FileExists(kPath + ".tmp"));
}

}  // namespace
}  // namespace tandem
