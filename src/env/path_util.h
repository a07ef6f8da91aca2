// Path spelling helpers shared by the env implementations. The memory and
// fault-injecting file systems key their maps by path, so "/a//b/" and "/a/b"
// must become the same key before any lookup.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace tandem::env_internal {

// Collapses repeated slashes and drops a trailing slash ("/a//b/" → "/a/b";
// "/" stays "/"). Does not resolve "." or "..".
std::string NormalizePath(std::string_view path);

// True when `path` lies strictly below `dir` ("/a/b" is below "/a"; "/ab" is not).
bool IsBelow(std::string_view path, std::string_view dir);

}  // namespace tandem::env_internal
