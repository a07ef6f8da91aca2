#include "embed/text_normalize.h"

#include <array>

namespace tandem::embed {
namespace {

constexpr uint32_t kReplacement = 0xFFFD;

// What one code point becomes.
struct Folded {
  enum Kind : uint8_t { kSeparator, kDrop, kLetters } kind;
  uint8_t n;          // letters in cp (kLetters): 1 or 2
  uint32_t cp[2];
};

constexpr Folded Sep() { return {Folded::kSeparator, 0, {0, 0}}; }
constexpr Folded Drop() { return {Folded::kDrop, 0, {0, 0}}; }
constexpr Folded One(uint32_t a) { return {Folded::kLetters, 1, {a, 0}}; }
constexpr Folded Two(uint32_t a, uint32_t b) { return {Folded::kLetters, 2, {a, b}}; }

// U+00C0..U+00FF → base letter ('*' = special case handled in code).
constexpr std::string_view kLatin1 =
    "aaaaaa*ceeeeiiiidnooooo*ouuuuy**"   // U+00C0..U+00DF (Æ, ×, Þ, ß special)
    "aaaaaa*ceeeeiiiidnooooo*ouuuuy*y";  // U+00E0..U+00FF (æ, ÷, þ special)
// U+0100..U+017F → base letter ('*' = the ligatures Ĳ ĳ Œ œ).
constexpr std::string_view kLatinExtA =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii**jjkkk"
    "llllllllllnnnnnnnnnoooooo**rrrrrrssssssssttttttuuuuuuuuuuuu"
    "wwyyyzzzzzzs";
static_assert(kLatin1.size() == 64);
static_assert(kLatinExtA.size() == 128);

constexpr std::array<Folded, 128> MakeAsciiTable() {
  std::array<Folded, 128> t{};
  for (uint32_t c = 0; c < 128; ++c) {
    if (c >= 'a' && c <= 'z') {
      t[c] = One(c);
    } else if (c >= 'A' && c <= 'Z') {
      t[c] = One(c - 'A' + 'a');
    } else if (c >= '0' && c <= '9') {
      t[c] = One(c);
    } else if (c == '\'' || c == '`') {
      t[c] = Drop();
    } else {
      t[c] = Sep();
    }
  }
  return t;
}
constexpr std::array<Folded, 128> kAscii = MakeAsciiTable();

Folded FoldLatin1(uint32_t cp) {
  if (cp < 0xC0) {
    if (cp == 0xAA) return One('a');  // ª
    if (cp == 0xBA) return One('o');  // º
    if (cp == 0xAD) return Drop();    // soft hyphen
    return Sep();                     // NBSP, ¡, ¢, £, ©, «, », ¿, ...
  }
  switch (cp) {
    case 0xC6: case 0xE6: return Two('a', 'e');  // Æ æ
    case 0xD7: case 0xF7: return Sep();          // × ÷
    case 0xDE: case 0xFE: return Two('t', 'h');  // Þ þ
    case 0xDF: return Two('s', 's');             // ß
    default: return One(static_cast<unsigned char>(kLatin1[cp - 0xC0]));
  }
}

Folded FoldLatinExtA(uint32_t cp) {
  if (cp == 0x132 || cp == 0x133) return Two('i', 'j');
  if (cp == 0x152 || cp == 0x153) return Two('o', 'e');
  return One(static_cast<unsigned char>(kLatinExtA[cp - 0x100]));
}

Folded FoldGreek(uint32_t cp) {
  switch (cp) {
    case 0x386: case 0x3AC: return One(0x3B1);                        // ά → α
    case 0x388: case 0x3AD: return One(0x3B5);                        // έ → ε
    case 0x389: case 0x3AE: return One(0x3B7);                        // ή → η
    case 0x38A: case 0x3AF: case 0x390: case 0x3AA: case 0x3CA: return One(0x3B9);  // ί ΐ ϊ → ι
    case 0x38C: case 0x3CC: return One(0x3BF);                        // ό → ο
    case 0x38E: case 0x3CD: case 0x3B0: case 0x3AB: case 0x3CB: return One(0x3C5);  // ύ ΰ ϋ → υ
    case 0x38F: case 0x3CE: return One(0x3C9);                        // ώ → ω
    case 0x3C2: return One(0x3C3);                                    // final ς → σ
    default: break;
  }
  if (cp >= 0x391 && cp <= 0x3A9) return One(cp + 0x20);
  return One(cp);
}

Folded FoldCyrillic(uint32_t cp) {
  if (cp == 0x401 || cp == 0x451) return One(0x435);  // Ё ё → е
  if (cp == 0x400 || cp == 0x450) return One(0x435);  // Ѐ ѐ → е
  if (cp >= 0x400 && cp <= 0x40F) return One(cp + 0x50);
  if (cp >= 0x410 && cp <= 0x42F) return One(cp + 0x20);
  return One(cp);
}

Folded Fold(uint32_t cp) {
  if (cp < 0x80) return kAscii[cp];
  if (cp < 0x100) return FoldLatin1(cp);
  if (cp < 0x180) return FoldLatinExtA(cp);
  switch (cp) {
    case 0x218: case 0x219: return One('s');  // Ș ș (Romanian comma below)
    case 0x21A: case 0x21B: return One('t');  // Ț ț
    case 0x2BC: case 0x2019: case 0x2018: return Drop();  // ʼ ’ ‘ as apostrophes
    default: break;
  }
  if (cp >= 0x300 && cp <= 0x36F) return Drop();  // combining diacritics
  if (cp >= 0x370 && cp <= 0x3FF) return FoldGreek(cp);
  if (cp >= 0x400 && cp <= 0x45F) return FoldCyrillic(cp);
  if (cp >= 0x2000 && cp <= 0x206F) return Sep();  // General Punctuation
  if (cp >= 0x3000 && cp <= 0x303F) return Sep();  // CJK symbols and punctuation
  if (cp >= 0xFF01 && cp <= 0xFF5E) return Fold(cp - 0xFF01 + 0x21);  // fullwidth ASCII
  return One(cp);
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace

uint32_t DecodeUtf8(std::string_view s, size_t* i) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  size_t len;
  uint32_t cp;
  uint32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    ++*i;
    return kReplacement;
  }
  if (s.size() - *i < len) {
    ++*i;
    return kReplacement;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) {
      ++*i;
      return kReplacement;
    }
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++*i;
    return kReplacement;
  }
  *i += len;
  return cp;
}

void NormalizeToCodePoints(std::string_view text, std::vector<uint32_t>* out) {
  bool in_word = false;
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const Folded f = b < 0x80 ? kAscii[b] : Fold(DecodeUtf8(text, &i));
    if (b < 0x80) ++i;
    if (f.kind == Folded::kDrop) continue;
    if (f.kind == Folded::kSeparator) {
      if (in_word) out->push_back(kWordEnd);
      in_word = false;
      continue;
    }
    if (!in_word) out->push_back(kWordBegin);
    in_word = true;
    out->push_back(f.cp[0]);
    if (f.n == 2) out->push_back(f.cp[1]);
  }
  if (in_word) out->push_back(kWordEnd);
}

void NormalizeText(std::string_view text, std::string* out) {
  out->clear();
  std::vector<uint32_t> cps;
  NormalizeToCodePoints(text, &cps);
  for (uint32_t cp : cps) {
    if (cp == kWordBegin) {
      if (!out->empty()) out->push_back(' ');
    } else if (cp != kWordEnd) {
      AppendUtf8(cp, out);
    }
  }
}

}  // namespace tandem::embed
