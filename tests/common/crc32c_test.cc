#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem {
namespace {

// RFC 3720 (iSCSI) appendix B.4 test vectors.
TEST(Crc32c, MatchesRfc3720Vectors) {
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c::Value(zeros), 0x8A9136AAu);
  std::string ones(32, '\xff');
  EXPECT_EQ(crc32c::Value(ones), 0x62A8AB43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(crc32c::Value(inc), 0x46DD794Eu);
  std::string dec(32, '\0');
  for (int i = 0; i < 32; ++i) dec[i] = static_cast<char>(31 - i);
  EXPECT_EQ(crc32c::Value(dec), 0x113FDB5Cu);
}

TEST(Crc32c, CheckValue) { EXPECT_EQ(crc32c::Value("123456789"), 0xE3069283u); }

TEST(Crc32c, ExtendEqualsWholeForEverySplit) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 31 + 7));
  uint32_t whole = crc32c::Value(data);
  for (size_t split = 0; split <= data.size(); split += 37) {
    uint32_t c = crc32c::Value(data.data(), split);
    c = crc32c::Extend(c, data.data() + split, data.size() - split);
    EXPECT_EQ(c, whole) << "split at " << split;
  }
}

TEST(Crc32c, DetectsSingleBitFlip) {
  std::string data(4096, 'x');
  uint32_t before = crc32c::Value(data);
  data[1234] ^= 0x04;
  EXPECT_NE(crc32c::Value(data), before);
}

}  // namespace
}  // namespace tandem
