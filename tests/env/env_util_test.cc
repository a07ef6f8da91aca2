// Path helpers of env_util.
#include <gtest/gtest.h>

#include "tandem/env.h"

namespace tandem {
namespace {

TEST(EnvUtil, DirNameDropsTheLastComponent) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("/data/x.log"), "/data");
  EXPECT_EQ(DirName("/x.log"), "/");
  EXPECT_EQ(DirName("x.log"), "");
  EXPECT_EQ(DirName("a/b/"), "a");
  EXPECT_EQ(DirName("a//b"), "a");
  EXPECT_EQ(DirName(""), "");
}

TEST(EnvUtil, JoinPathPutsOneSlashBetween) {
  EXPECT_EQ(JoinPath("/data", "x.log"), "/data/x.log");
  EXPECT_EQ(JoinPath("/data/", "x.log"), "/data/x.log");
  EXPECT_EQ(JoinPath("/data", "/x.log"), "/data/x.log");
  EXPECT_EQ(JoinPath("", "x.log"), "x.log");
  EXPECT_EQ(JoinPath("/", "x"), "/x");
}

}  // namespace
}  // namespace tandem
