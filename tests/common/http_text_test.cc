// The HTTP client text helpers shared by the http embedder and enricher.
#include "common/http_text.h"

#include <gtest/gtest.h>

namespace tandem {
namespace {

TEST(HttpText, ExcerptCutsAndFlattensLines) {
  EXPECT_EQ(BodyExcerpt("a\nb\rc"), "a b c");
  EXPECT_EQ(BodyExcerpt(std::string(300, 'x')), std::string(200, 'x') + "...");
  EXPECT_EQ(BodyExcerpt("abcdef", 3), "abc...");
}

TEST(HttpText, ServerMessageUnderstandsTheCommonShapes) {
  EXPECT_EQ(ServerErrorMessage(R"({"error":{"message":"model not found"}})"), "model not found");
  EXPECT_EQ(ServerErrorMessage(R"({"error":"overloaded"})"), "overloaded");
  EXPECT_EQ(ServerErrorMessage(R"({"message":"bad input"})"), "bad input");
  EXPECT_EQ(ServerErrorMessage("<html>502\n</html>"), "<html>502 </html>");
}

TEST(HttpText, RetryAfterTakesOnlyDelaySeconds) {
  EXPECT_EQ(RetryAfterSeconds("120"), 120);
  EXPECT_EQ(RetryAfterSeconds("0"), 0);
  EXPECT_EQ(RetryAfterSeconds(""), std::nullopt);
  EXPECT_EQ(RetryAfterSeconds("-1"), std::nullopt);
  EXPECT_EQ(RetryAfterSeconds("1234567890"), std::nullopt);
  EXPECT_EQ(RetryAfterSeconds("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

}  // namespace
}  // namespace tandem
