#include "embed/url.h"

#include <algorithm>
#include <cctype>

namespace tandem::embed {
namespace {

Status Bad(std::string_view url, std::string_view why) {
  return Status::InvalidArgument("url: \"" + std::string(url) + "\": " + std::string(why));
}

bool HostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

}  // namespace

Result<ParsedUrl> ParseBaseUrl(std::string_view url) {
  size_t rest;
  if (url.starts_with("http://")) {
    rest = 7;
  } else if (url.starts_with("https://")) {
    rest = 8;
  } else {
    return Bad(url, "must start with http:// or https://");
  }
  if (url.find_first_of("?# \t\r\n") != std::string_view::npos) {
    return Bad(url, "must not contain a query, fragment or whitespace");
  }
  const size_t slash = std::min(url.find('/', rest), url.size());
  const std::string_view authority = url.substr(rest, slash - rest);
  if (authority.find('@') != std::string_view::npos) return Bad(url, "user info is not supported");
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad(url, "unterminated [IPv6] host");
    host = authority.substr(0, close + 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && !after.starts_with(":")) return Bad(url, "junk after [IPv6] host");
    if (!after.empty()) port = after.substr(1);
    if (host.size() <= 2) return Bad(url, "empty host");
  } else {
    const size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (host.empty()) return Bad(url, "empty host");
    if (!std::all_of(host.begin(), host.end(), HostChar)) return Bad(url, "bad character in host");
  }
  if (authority.find(':') != std::string_view::npos && !authority.starts_with("[") &&
      port.empty()) {
    return Bad(url, "empty port");
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) {
      return Bad(url, "port must be a number");
    }
    const int p = std::stoi(std::string(port));
    if (p < 1 || p > 65535) return Bad(url, "port must be in 1..65535");
  }
  ParsedUrl out;
  out.origin = std::string(url.substr(0, slash));
  std::string_view path = url.substr(slash);
  if (path.find("//") != std::string_view::npos) return Bad(url, "empty path segment");
  if (path.ends_with("/")) path.remove_suffix(1);
  if (path.ends_with("/v1")) path.remove_suffix(3);
  out.base_path = std::string(path);
  return out;
}

}  // namespace tandem::embed
