// Text normalisation of the hash embedder: UTF-8 text → lower-case,
// accent-free words, so that "JOSÉ  Müller" and "jose muller" give the same
// features.
//
//  * decoding: UTF-8; an invalid or truncated sequence becomes U+FFFD (one
//    per offending byte), which counts as a letter. Never fails.
//  * lower-casing by table: ASCII, Latin-1, Latin Extended-A, Greek (basic
//    and tonos forms), Cyrillic (U+0400–U+042F), fullwidth ASCII.
//  * accent folding for Latin: é→e, ü→u, ß→ss, æ→ae, œ→oe, þ→th, ø→o, ł→l,
//    ș→s, ...; combining marks (U+0300–U+036F) are dropped, so decomposed
//    "e\u0301" folds like "é". Greek tonos/dialytika fold too; ё→е.
//  * separators: ASCII punctuation and whitespace, Latin-1 symbols, General
//    Punctuation (U+2000–U+206F), CJK punctuation (U+3000–U+303F).
//    Apostrophes (', ’, ʼ) and the soft hyphen are dropped instead, so
//    "O'Brien" == "OBrien". Everything else (digits, other scripts) is a
//    letter, kept as is.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::embed {

// Sentinels around each word in the code-point form (the "^" and "$" of the
// n-grams). Control characters are separators, so no letter equals them.
inline constexpr uint32_t kWordBegin = 0x02;
inline constexpr uint32_t kWordEnd = 0x03;

// Decodes the code point at s[*i] and advances *i past it; U+FFFD and one
// byte for invalid input (bad lead byte, bad continuation, overlong form,
// surrogate, above U+10FFFF, truncated at the end). *i < s.size().
uint32_t DecodeUtf8(std::string_view s, size_t* i);

// Appends the normalised words of `text` to `out`, each as
// kWordBegin, letters..., kWordEnd. Does not clear `out`.
void NormalizeToCodePoints(std::string_view text, std::vector<uint32_t>* out);

// The same words as UTF-8, separated by single spaces (replaces `out`).
// "  JOSÉ  Müller!" → "jose muller".
void NormalizeText(std::string_view text, std::string* out);

}  // namespace tandem::embed
