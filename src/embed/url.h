// Parsing of the HTTP embedder's base url. Accepted form:
//
//   http[s]://host[:port][/base/path][/]
//
// host: a name, IPv4 address or [IPv6] literal; port 1..65535; no user
// info, query or fragment. A trailing "/" and a trailing "/v1" are dropped,
// so "https://api.openai.com", "https://api.openai.com/v1" and
// "http://gateway/openai/" (a proxy prefix) all work: requests go to
// <origin><base_path>/v1/embeddings.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "tandem/status.h"

namespace tandem::embed {

struct ParsedUrl {
  std::string origin;     // "http://127.0.0.1:8080" (scheme, host, port as given)
  std::string base_path;  // "" or "/openai" (no trailing slash, no /v1)
};

// InvalidArgument "url: ..." naming what is wrong.
Result<ParsedUrl> ParseBaseUrl(std::string_view url);

}  // namespace tandem::embed
