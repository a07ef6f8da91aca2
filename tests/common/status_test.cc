#include "tandem/status.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument("x: must be even, got " + std::to_string(x));
  return x / 2;
}

Status UseHalf(int x, int* out) {
  TANDEM_ASSIGN_OR_RETURN(int h, Half(x));
  *out = h;
  return Status::OK();
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = Status::Corruption("seg.log: bad crc at offset 42");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_EQ(s.ToString(), "corruption: seg.log: bad crc at offset 42");
  EXPECT_EQ(s.WithContext("open").message(), "open: seg.log: bad crc at offset 42");
}

TEST(Result, PropagatesErrorsThroughMacros) {
  int out = 0;
  EXPECT_TRUE(UseHalf(8, &out).ok());
  EXPECT_EQ(out, 4);
  Status s = UseHalf(7, &out);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(), "x: must be even, got 7");
  EXPECT_EQ(out, 4);
}

}  // namespace
}  // namespace tandem
