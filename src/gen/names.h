// Names for tests, benchmarks and `tandem generate`: a deterministic, seeded
// generator of realistic person and company names for the banking domain
// (several cultures, UTF-8 with their accents), and a generator of the
// spelling variants that name screening must still match (typos, phonetic
// spellings, nicknames, dropped accents, a dropped middle name).
//
//   NameGenerator g(42);
//   std::string p = g.PersonName();       // "María José Núñez"
//   std::string c = g.CompanyName();      // "Nordic Timber GmbH"
//   Random rnd(7);
//   std::string q = Misspell(p, rnd);     // "Maria Jose Nunez", "Mraía José Núñez", ...
//
// Determinism: every draw goes through tandem::Random (xoshiro256**, whose
// bounded draw is defined by tandem, not by the standard library), so the same
// seed yields the same names and the same variants on every machine and
// compiler. Changing the name tables changes the output: tests that depend on
// exact names should assert properties, not strings.
//
// Thread safety: a NameGenerator is not thread-safe (it owns a Random); use
// one per thread. The free functions are safe to call concurrently with
// distinct Random objects.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/env.h"

namespace tandem::gen {

enum class Culture {
  kAnglo,
  kHispanic,
  kSlavic,
  kArabic,
  kEastAsian,
  kGermanic,  // German and Dutch
  kFrench,
  kItalian,
  kNordic,
  kSouthAsian,
};
inline constexpr size_t kCultureCount = 10;
std::string_view CultureName(Culture c);

struct Person {
  std::string first;
  std::string middle;  // empty for most names
  std::string last;
  Culture culture = Culture::kAnglo;
  // "first [middle] last".
  std::string FullName() const;
};

class NameGenerator {
 public:
  explicit NameGenerator(uint64_t seed) : random_(seed) {}

  // A person of a random culture; about one in five has a middle name.
  Person NextPerson();
  std::string PersonName() { return NextPerson().FullName(); }
  // A company: "Nordic Timber GmbH", "Okafor & Schmidt Holdings Ltd",
  // "Banco Núñez S.A.", "Kowalski Logistics Sp. z o.o.", ...
  std::string CompanyName();

  Random& random() { return random_; }

 private:
  Random random_;
};

// The kinds of variant a query may carry.
enum class Variant {
  kDropLetter,        // "Smith" → "Smth"
  kDoubleLetter,      // "Smith" → "Smmith"
  kTransposeLetters,  // "Smith" → "Smtih"
  kNearbyKey,         // "Smith" → "Smirh" (QWERTY neighbour)
  kPhonetic,          // ph↔f, y↔i, ck↔k, ou↔u, ei↔ey, sch↔sh, ie↔y, th↔t, ...
  kMiddleName,        // a middle name dropped, or first and middle swapped
  kNickname,          // "William" → "Bill", "Jon" → "John"
  kAccent,            // "José" → "Jose", "Müller" → "Mueller"/"Muller", "Jose" → "José"
};
inline constexpr size_t kVariantCount = 8;
std::string_view VariantName(Variant v);

// Applies `v` to `name` at a random applicable place. std::nullopt when the
// variant does not apply (no middle name, no accent, no nickname known, no
// phonetic pattern, ...) or would leave the name unchanged. Letter edits never
// split a UTF-8 sequence and never touch spaces or punctuation.
std::optional<std::string> ApplyVariant(std::string_view name, Variant v, Random& rnd);

// Applies one randomly chosen applicable variant (letter typos are the most
// frequent, then phonetic and accent variants, then nicknames and middle
// names) and returns the result, which differs from `name` whenever any
// variant applies (a name of one letter may come back unchanged). `applied`,
// when given, receives the variant used.
std::string Misspell(std::string_view name, Random& rnd, Variant* applied = nullptr);

// A labelled set for measuring name matching: distinct entity names and
// misspelled queries, each knowing the entity it means.
struct NameQuery {
  std::string text;
  size_t target = 0;  // index into NameMatchingSet::names
  int variants = 0;   // how many variants were applied (1 or 2)
};
struct NameMatchingSet {
  std::vector<std::string> names;  // persons first, then companies
  std::vector<NameQuery> queries;
};

// `persons` + `companies` distinct names (fewer if the tables run out) and
// `queries` queries, each an entity name with one variant (70%) or two
// (30%), differing from every entity name (a variant that happens to produce
// another entity, "Jon Smith" for "John Smith", is redrawn). Deterministic
// for a seed.
NameMatchingSet MakeNameMatchingSet(uint64_t seed, size_t persons, size_t companies,
                                    size_t queries);

}  // namespace tandem::gen
