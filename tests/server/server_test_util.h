// Helpers of the server tests: temp directories, an HTTP client with JSON
// decoding, waiting for the legs, reading the banking sample.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

namespace tandem::testing {

using Json = nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "tandem-server-XXXXXX").string();
    path_ = mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Reply {
  int status = 0;  // 0: no response
  std::string body;
  httplib::Headers headers;
  Json json() const { return Json::parse(body, nullptr, false); }
  std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? "" : it->second;
  }
};

class Http {
 public:
  explicit Http(int port) : client_("127.0.0.1", port) {
    client_.set_connection_timeout(5, 0);
    client_.set_read_timeout(30, 0);
  }
  Reply Get(const std::string& path, const httplib::Headers& h = {}) {
    return From(client_.Get(path, h));
  }
  Reply Post(const std::string& path, const std::string& body, const std::string& type,
             const httplib::Headers& h = {}) {
    return From(client_.Post(path, h, body, type));
  }

 private:
  static Reply From(const httplib::Result& r) {
    Reply out;
    if (r) {
      out.status = r->status;
      out.body = r->body;
      out.headers = r->headers;
    }
    return out;
  }
  httplib::Client client_;
};

// Polls /v1/admin/legs until every leg has acknowledged every record of the
// entity topics (bounded: 30 s). Returns the last legs document.
inline Json WaitForLegs(Http& http, const httplib::Headers& auth = {}) {
  Json legs, topics;
  for (int i = 0; i < 3000; ++i) {
    Reply t = http.Get("/v1/admin/topics", auth);
    Reply l = http.Get("/v1/admin/legs", auth);
    if (t.status != 200 || l.status != 200) break;
    uint64_t records = 0;
    topics = t.json();
    for (const Json& topic : topics["topics"]) {
      if (!topic["dlq"].get<bool>()) records += topic["records"].get<uint64_t>();
    }
    legs = l.json();
    bool done = !legs["legs"].empty();
    for (const Json& leg : legs["legs"]) {
      uint64_t end = 0;
      for (const Json& p : leg["lag"]) end += p["end"].get<uint64_t>();
      if (leg["total_lag"].get<uint64_t>() != 0 || end != records) done = false;
    }
    if (done) return legs;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "legs did not catch up: " << legs.dump() << "\ntopics: " << topics.dump();
  return legs;
}

}  // namespace tandem::testing
