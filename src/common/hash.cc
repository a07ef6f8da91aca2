#include "common/hash.h"

#include <xxhash.h>

namespace tandem {

uint64_t StableHash64(std::string_view data) { return XXH64(data.data(), data.size(), 0); }

}  // namespace tandem
