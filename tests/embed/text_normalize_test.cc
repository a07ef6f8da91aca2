#include "embed/text_normalize.h"

#include <gtest/gtest.h>

#include <string>

namespace tandem::embed {
namespace {

std::string Norm(std::string_view s) {
  std::string out;
  NormalizeText(s, &out);
  return out;
}

TEST(TextNormalize, LowerCasesAndFoldsLatinAccents) {
  EXPECT_EQ(Norm("JOSÉ  Müller"), "jose muller");
  EXPECT_EQ(Norm("Ærøskøbing Straße"), "aeroskobing strasse");
  EXPECT_EQ(Norm("Łukasz Wiśniewski"), "lukasz wisniewski");
  EXPECT_EQ(Norm("Dvořák Œuvre Ĳssel"), "dvorak oeuvre ijssel");
  EXPECT_EQ(Norm("Ștefan Țărnă"), "stefan tarna");
  EXPECT_EQ(Norm("ÀÉÎÕÜ àéîõü Çç Ññ Ýÿ Þþ"), "aeiou aeiou cc nn yy thth");
}

TEST(TextNormalize, CombiningMarksFoldLikePrecomposedLetters) {
  EXPECT_EQ(Norm("Jose\xCC\x81"), "jose");  // e + U+0301
  EXPECT_EQ(Norm("Jose\xCC\x81"), Norm("José"));
}

TEST(TextNormalize, GreekAndCyrillicLowerCase) {
  EXPECT_EQ(Norm("ΑΘΗΝΑ Ἀ"), Norm("αθηνα Ἀ"));
  EXPECT_EQ(Norm("Άννα"), "αννα");
  EXPECT_EQ(Norm("ΟΔΥΣΣΕΑΣ"), "οδυσσεασ");
  EXPECT_EQ(Norm("ИВАН Петров"), "иван петров");
  EXPECT_EQ(Norm("Фёдор ЁЛКИН"), "федор елкин");
  EXPECT_EQ(Norm("ЂОРЂЕ"), "ђорђе");
}

TEST(TextNormalize, PunctuationSeparatesApostrophesJoin) {
  EXPECT_EQ(Norm("  Smith,John;  (Ltd.)  "), "smith john ltd");
  EXPECT_EQ(Norm("O'Brien O’Brien"), "obrien obrien");
  EXPECT_EQ(Norm("Jean-Luc\u2014Picard"), "jean luc picard");
  EXPECT_EQ(Norm("A\u00A0B\u3000C"), "a b c");
  EXPECT_EQ(Norm("!!! ... ---"), "");
  EXPECT_EQ(Norm(""), "");
}

TEST(TextNormalize, OtherScriptsAndDigitsAreKept) {
  EXPECT_EQ(Norm("王伟 محمد 12b"), "王伟 محمد 12b");
  EXPECT_EQ(Norm("ＡＢＣ１"), "abc1");  // fullwidth
}

TEST(TextNormalize, InvalidUtf8BecomesReplacementCharacters) {
  // Latin-1 "Müller" (0xFC is not UTF-8), a truncated sequence, an overlong
  // slash, a surrogate, bytes above U+10FFFF.
  EXPECT_EQ(Norm("M\xFCller"), "m\xEF\xBF\xBDller");
  EXPECT_EQ(Norm("ab\xC3"), "ab\xEF\xBF\xBD");
  EXPECT_EQ(Norm("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(Norm("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(Norm("\xF5\x80\x80\x80x"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx");
}

TEST(TextNormalize, DecodeUtf8AdvancesBySequence) {
  const std::string s = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  size_t i = 0;
  EXPECT_EQ(DecodeUtf8(s, &i), 0x61u);
  EXPECT_EQ(DecodeUtf8(s, &i), 0xE9u);
  EXPECT_EQ(DecodeUtf8(s, &i), 0x20ACu);
  EXPECT_EQ(DecodeUtf8(s, &i), 0x1F600u);
  EXPECT_EQ(i, s.size());
}

TEST(TextNormalize, CodePointsCarryWordSentinels) {
  std::vector<uint32_t> cps;
  NormalizeToCodePoints("Jo, X", &cps);
  EXPECT_EQ(cps, (std::vector<uint32_t>{kWordBegin, 'j', 'o', kWordEnd, kWordBegin, 'x', kWordEnd}));
}

}  // namespace
}  // namespace tandem::embed
