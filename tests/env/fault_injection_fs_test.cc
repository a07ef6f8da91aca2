// FaultInjectionFileSystem: what survives a simulated power loss, and how
// injected errors behave. The base is always a MemFileSystem.
#include "env/fault_injection_fs.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "env_test_util.h"
#include "tandem/env.h"

namespace tandem {
namespace {

using testing_util::Contents;
using testing_util::WriteWhole;

class FaultInjectionFs : public ::testing::Test {
 protected:
  FaultInjectionFs() : mem_(NewMemFileSystem()), fs_(*mem_) {
    EXPECT_TRUE(fs_.CreateDirs("/db").ok());
  }

  // A file whose bytes and directory entry are both durable.
  void WriteDurable(const std::string& path, const std::string& data) {
    TANDEM_ASSERT_OK(WriteWhole(fs_, path, data));
    TANDEM_ASSERT_OK(fs_.SyncDir(DirName(path)));
  }

  void SetFault(FileOp op, uint64_t fail_after, bool persistent,
                InjectedError error = InjectedError::kIO, double partial = 0.0) {
    FaultSpec spec;
    spec.op_mask = FileOpBit(op);
    spec.fail_after = fail_after;
    spec.persistent = persistent;
    spec.error = error;
    spec.partial_write_fraction = partial;
    fs_.SetFault(spec);
  }

  std::unique_ptr<FileSystem> mem_;
  FaultInjectionFileSystem fs_;
};

TEST_F(FaultInjectionFs, SyncedPrefixSurvivesDropAndUnsyncedSuffixIsLost) {
  auto file = fs_.NewWritableFile("/db/a.log");
  TANDEM_ASSERT_OK(file);
  TANDEM_ASSERT_OK(fs_.SyncDir("/db"));
  TANDEM_ASSERT_OK((*file)->Append("acked"));
  TANDEM_ASSERT_OK((*file)->Sync());
  TANDEM_ASSERT_OK((*file)->Append("+unsynced"));
  EXPECT_EQ(Contents(fs_, "/db/a.log"), "acked+unsynced");  // a process crash keeps it
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Contents(fs_, "/db/a.log"), "acked");
}

TEST_F(FaultInjectionFs, SyncCoversBytesAppendedThroughEveryHandle) {
  WriteDurable("/db/a.log", "");
  auto first = fs_.NewAppendableFile("/db/a.log");
  auto second = fs_.NewAppendableFile("/db/a.log");
  TANDEM_ASSERT_OK(first);
  TANDEM_ASSERT_OK(second);
  TANDEM_ASSERT_OK((*first)->Append("one"));
  TANDEM_ASSERT_OK((*second)->Append("two"));
  TANDEM_ASSERT_OK((*first)->Sync());  // fdatasync syncs the file, not the handle
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Contents(fs_, "/db/a.log"), "onetwo");
}

TEST_F(FaultInjectionFs, FileCreatedWithoutSyncDirDisappears) {
  WriteDurable("/db/named", "kept");
  TANDEM_ASSERT_OK(WriteWhole(fs_, "/db/unnamed", "synced bytes, entry never synced"));
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_FALSE(fs_.FileExists("/db/unnamed"));
  EXPECT_EQ(Contents(fs_, "/db/named"), "kept");
}

TEST_F(FaultInjectionFs, DurableEntryWithoutDataSyncComesBackEmpty) {
  auto file = fs_.NewWritableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  TANDEM_ASSERT_OK(fs_.SyncDir("/db"));
  TANDEM_ASSERT_OK((*file)->Append("never synced"));
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Contents(fs_, "/db/a"), "");
}

TEST_F(FaultInjectionFs, SyncDirOfAnotherDirectoryDoesNotSaveTheEntry) {
  TANDEM_ASSERT_OK(fs_.CreateDirs("/db/sub"));
  TANDEM_ASSERT_OK(WriteWhole(fs_, "/db/sub/a", "x"));
  TANDEM_ASSERT_OK(fs_.SyncDir("/db"));
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_FALSE(fs_.FileExists("/db/sub/a"));
  EXPECT_TRUE(fs_.FileExists("/db/sub"));  // directories are durable at once
}

TEST_F(FaultInjectionFs, RenameWithoutSyncDirIsRevertedToOldContents) {
  WriteDurable("/db/META", "old");
  TANDEM_ASSERT_OK(WriteWhole(fs_, "/db/META.tmp", "new"));
  TANDEM_ASSERT_OK(fs_.RenameFile("/db/META.tmp", "/db/META"));
  EXPECT_EQ(Contents(fs_, "/db/META"), "new");
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Contents(fs_, "/db/META"), "old");
  EXPECT_FALSE(fs_.FileExists("/db/META.tmp"));  // its own entry was never synced
}

TEST_F(FaultInjectionFs, RenameOfDurableFileWithoutSyncDirMovesItBack) {
  WriteDurable("/db/a", "data");
  TANDEM_ASSERT_OK(fs_.RenameFile("/db/a", "/db/b"));
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Contents(fs_, "/db/a"), "data");
  EXPECT_FALSE(fs_.FileExists("/db/b"));
}

TEST_F(FaultInjectionFs, RenameFollowedBySyncDirSurvives) {
  WriteDurable("/db/META", "old");
  TANDEM_ASSERT_OK(WriteWhole(fs_, "/db/META.tmp", "new"));
  TANDEM_ASSERT_OK(fs_.RenameFile("/db/META.tmp", "/db/META"));
  TANDEM_ASSERT_OK(fs_.SyncDir("/db"));
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Contents(fs_, "/db/META"), "new");
  EXPECT_FALSE(fs_.FileExists("/db/META.tmp"));
}

TEST_F(FaultInjectionFs, SyncAfterRenameIsCreditedToTheRenamedFile) {
  WriteDurable("/db/a", "");
  auto file = fs_.NewAppendableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  TANDEM_ASSERT_OK(fs_.RenameFile("/db/a", "/db/b"));
  TANDEM_ASSERT_OK(fs_.SyncDir("/db"));
  TANDEM_ASSERT_OK((*file)->Append("through the old handle"));
  TANDEM_ASSERT_OK((*file)->Sync());
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_FALSE(fs_.FileExists("/db/a"));
  EXPECT_EQ(Contents(fs_, "/db/b"), "through the old handle");
}

TEST_F(FaultInjectionFs, TruncateIsDurable) {
  WriteDurable("/db/a", "0123456789");
  TANDEM_ASSERT_OK(fs_.Truncate("/db/a", 4));
  auto file = fs_.NewAppendableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  TANDEM_ASSERT_OK((*file)->Append("zz"));  // unsynced, inside the old synced length
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Contents(fs_, "/db/a"), "0123");
}

TEST_F(FaultInjectionFs, ReopeningForWriteDropsOldContentsEvenUnsynced) {
  WriteDurable("/db/a", "old synced");
  auto file = fs_.NewWritableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  TANDEM_ASSERT_OK((*file)->Append("new unsynced"));
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Contents(fs_, "/db/a"), "");
}

TEST_F(FaultInjectionFs, FilesAlreadyInTheBaseAreDurable) {
  TANDEM_ASSERT_OK(WriteWhole(*mem_, "/db/pre", "before wrapping"));
  auto file = fs_.NewAppendableFile("/db/pre");
  TANDEM_ASSERT_OK(file);
  TANDEM_ASSERT_OK((*file)->Append("+unsynced"));
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Contents(fs_, "/db/pre"), "before wrapping");
}

TEST_F(FaultInjectionFs, DeletionIsNotUndoneByDrop) {
  WriteDurable("/db/a", "x");
  TANDEM_ASSERT_OK(fs_.DeleteFile("/db/a"));
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_FALSE(fs_.FileExists("/db/a"));
}

TEST_F(FaultInjectionFs, OpenWritableFilesAreUnusableAfterDrop) {
  WriteDurable("/db/a", "");
  auto file = fs_.NewAppendableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ((*file)->Append("x").code(), StatusCode::kIOError);
  EXPECT_EQ((*file)->Sync().code(), StatusCode::kIOError);
  TANDEM_EXPECT_OK((*file)->Close());
  EXPECT_EQ(Contents(fs_, "/db/a"), "");
  auto reopened = fs_.NewAppendableFile("/db/a");
  TANDEM_ASSERT_OK(reopened);
  TANDEM_EXPECT_OK((*reopened)->Append("x"));
}

TEST_F(FaultInjectionFs, FailsTheNthWriteOnce) {
  auto file = fs_.NewWritableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  SetFault(FileOp::kWrite, 3, /*persistent=*/false);
  TANDEM_ASSERT_OK((*file)->Append("1"));
  TANDEM_ASSERT_OK((*file)->Append("2"));
  Status third = (*file)->Append("3");
  EXPECT_EQ(third.code(), StatusCode::kIOError);
  EXPECT_NE(third.message().find("injected"), std::string::npos) << third.ToString();
  EXPECT_NE(third.message().find("/db/a"), std::string::npos) << third.ToString();
  TANDEM_EXPECT_OK((*file)->Append("4"));
  TANDEM_EXPECT_OK((*file)->Append("5"));
  EXPECT_EQ(Contents(fs_, "/db/a"), "1245");
  EXPECT_EQ(fs_.faults_injected(), 1u);
}

TEST_F(FaultInjectionFs, FailsPersistentlyFromTheNthWriteUntilCleared) {
  auto file = fs_.NewWritableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  SetFault(FileOp::kWrite, 2, /*persistent=*/true);
  TANDEM_ASSERT_OK((*file)->Append("1"));
  EXPECT_FALSE((*file)->Append("2").ok());
  EXPECT_FALSE((*file)->Append("3").ok());
  EXPECT_FALSE((*file)->Append("4").ok());
  EXPECT_EQ(fs_.faults_injected(), 3u);
  fs_.ClearFaults();
  TANDEM_EXPECT_OK((*file)->Append("5"));
  EXPECT_EQ(Contents(fs_, "/db/a"), "15");
}

TEST_F(FaultInjectionFs, InjectedNoSpaceIsReportedAsNoSpace) {
  auto file = fs_.NewWritableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  SetFault(FileOp::kSync, 1, /*persistent=*/false, InjectedError::kNoSpace);
  Status s = (*file)->Sync();
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_NE(s.message().find("injected"), std::string::npos);
}

TEST_F(FaultInjectionFs, FailedSyncDoesNotMakeDataDurable) {
  WriteDurable("/db/a", "");
  auto file = fs_.NewAppendableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  TANDEM_ASSERT_OK((*file)->Append("data"));
  SetFault(FileOp::kSync, 1, /*persistent=*/false);
  EXPECT_FALSE((*file)->Sync().ok());
  TANDEM_ASSERT_OK(fs_.DropUnsyncedData());
  EXPECT_EQ(Contents(fs_, "/db/a"), "");
}

TEST_F(FaultInjectionFs, PartialWriteLeavesAPrefix) {
  auto file = fs_.NewWritableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  SetFault(FileOp::kWrite, 1, /*persistent=*/false, InjectedError::kIO, 0.5);
  EXPECT_FALSE((*file)->Append("0123456789").ok());
  EXPECT_EQ((*file)->Size(), 5u);
  EXPECT_EQ(Contents(fs_, "/db/a"), "01234");
}

TEST_F(FaultInjectionFs, CountersSeeOnlyMatchingOperations) {
  auto file = fs_.NewWritableFile("/db/a");
  TANDEM_ASSERT_OK(file);
  SetFault(FileOp::kSync, 0, /*persistent=*/false);  // count, never fail
  TANDEM_ASSERT_OK((*file)->Append("x"));
  TANDEM_ASSERT_OK((*file)->Sync());
  TANDEM_ASSERT_OK((*file)->Append("y"));
  TANDEM_ASSERT_OK((*file)->Sync());
  TANDEM_ASSERT_OK(fs_.SyncDir("/db"));
  EXPECT_EQ(fs_.ops_seen(), 2u);
  EXPECT_EQ(fs_.faults_injected(), 0u);
  SetFault(FileOp::kSync, 1, /*persistent=*/false);
  EXPECT_EQ(fs_.ops_seen(), 0u);
  EXPECT_FALSE((*file)->Sync().ok());
  EXPECT_EQ(fs_.ops_seen(), 1u);
  EXPECT_EQ(fs_.faults_injected(), 1u);
}

TEST_F(FaultInjectionFs, EveryOperationKindCanBeFailed) {
  WriteDurable("/db/a", "abc");
  auto reader = fs_.NewRandomAccessFile("/db/a");
  TANDEM_ASSERT_OK(reader);
  std::string out;
  SetFault(FileOp::kCreate, 1, false);
  EXPECT_FALSE(fs_.NewWritableFile("/db/b").ok());
  EXPECT_FALSE(fs_.FileExists("/db/b"));
  SetFault(FileOp::kRename, 1, false);
  EXPECT_FALSE(fs_.RenameFile("/db/a", "/db/c").ok());
  EXPECT_TRUE(fs_.FileExists("/db/a"));
  SetFault(FileOp::kTruncate, 1, false);
  EXPECT_FALSE(fs_.Truncate("/db/a", 1).ok());
  SetFault(FileOp::kSyncDir, 1, false);
  EXPECT_FALSE(fs_.SyncDir("/db").ok());
  SetFault(FileOp::kRead, 1, false);
  EXPECT_FALSE((*reader)->Read(0, 3, &out).ok());
  SetFault(FileOp::kDelete, 1, false);
  EXPECT_FALSE(fs_.DeleteFile("/db/a").ok());
  EXPECT_EQ(Contents(fs_, "/db/a"), "abc");
  EXPECT_EQ(fs_.faults_injected(), 6u);
}

// The crash-test pattern in miniature: fail each step of WriteFileAtomically
// in turn, lose power, and check the file holds the old or the new contents
// (the new ones whenever the call returned OK).
TEST_F(FaultInjectionFs, WriteFileAtomicallyLeavesOldOrNewAfterAnyFailure) {
  for (uint64_t n = 1; n <= 8; ++n) {
    SCOPED_TRACE("failing mutating op #" + std::to_string(n));
    auto mem = NewMemFileSystem();
    FaultInjectionFileSystem fs(*mem);
    TANDEM_ASSERT_OK(fs.CreateDirs("/db"));
    TANDEM_ASSERT_OK(WriteFileAtomically(fs, "/db/META", "old"));
    FaultSpec spec;
    spec.op_mask = kMutatingOps;
    spec.fail_after = n;
    spec.persistent = true;
    spec.partial_write_fraction = 0.5;
    fs.SetFault(spec);
    const Status s = WriteFileAtomically(fs, "/db/META", "new!");
    EXPECT_EQ(s.ok(), n > 5) << s.ToString();  // create, write, sync, rename, syncdir
    fs.ClearFaults();
    TANDEM_ASSERT_OK(fs.DropUnsyncedData());
    const std::string got = Contents(fs, "/db/META");
    if (s.ok()) {
      EXPECT_EQ(got, "new!");
    } else {
      EXPECT_TRUE(got == "old" || got == "new!") << got;
    }
  }
}

}  // namespace
}  // namespace tandem
