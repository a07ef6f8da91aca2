// The real `tandem serve` binary: fork/exec with a generated config on port
// 0, read the port from the first stdout line, talk HTTP, SIGTERM, restart.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>

#include "serve_child.h"

namespace tandem {
namespace {

using testing::Child;
using testing::Http;
using testing::Json;
using testing::Reply;
using testing::StartServe;
using testing::TempDir;
using testing::WriteConfig;

TEST(ServeBinary, IngestStopRestartKeepsDataAndReappliesNothing) {
  TempDir dir;
  const std::string config = WriteConfig(dir, "server: {port: 0}\n");
  {
    Child serve({TANDEM_BINARY, "serve", "--config", config});
    const int port = StartServe(serve);
    ASSERT_GT(port, 0) << serve.Stderr();
    Http http(port);
    Reply r =
        http.Post("/v1/events", testing::ReadFile(TANDEM_BANKING_EVENTS), "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["accepted"], 57);
    testing::WaitForLegs(http);
    EXPECT_EQ(http.Get("/v1/entities/p-1004").json()["agree"], true);
    serve.Signal(SIGTERM);
    std::optional<int> code = serve.Wait();
    ASSERT_TRUE(code.has_value()) << "did not exit within 30 s of SIGTERM";
    EXPECT_EQ(*code, 0) << serve.Stderr();
  }
  Child again({TANDEM_BINARY, "serve", "--config", config});
  const int port = StartServe(again);
  ASSERT_GT(port, 0) << again.Stderr();
  Http http(port);
  Json legs = testing::WaitForLegs(http);
  Reply e = http.Get("/v1/entities/p-1004");
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.json()["agree"], true);
  EXPECT_EQ(e.json()["graph"]["properties"]["risk_rating"], "high");
  ASSERT_EQ(legs["legs"].size(), 2u);
  for (const Json& leg : legs["legs"]) {
    // Positions were committed on the clean stop: nothing is applied again.
    EXPECT_EQ(leg["stats"]["applied"], 0) << leg.dump();
    EXPECT_EQ(leg["stats"]["dead_lettered_permanent"], 0) << leg.dump();
  }
  // The data is still searchable after the restart (the index was reloaded).
  Reply s = http.Get("/v1/search?q=Viktor%20Petrof&type=person&k=1");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.json()["hits"][0]["entity_id"], "p-1004");
  again.Signal(SIGINT);
  std::optional<int> code = again.Wait();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << again.Stderr();
}

TEST(ServeBinary, BadConfigExitsTwoNamingEveryKey) {
  TempDir dir;
  const std::string config = WriteConfig(dir, "server: {port: 0, prot: 1, threads: 0}\n");
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  std::optional<int> code = serve.Wait();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  const std::string err = serve.Stderr();
  EXPECT_NE(err.find("server.prot"), std::string::npos) << err;
  EXPECT_NE(err.find("server.threads"), std::string::npos) << err;

  Child missing({TANDEM_BINARY, "serve", "--config", dir.path() + "/nope.yaml"});
  EXPECT_EQ(missing.Wait(), 2);
  EXPECT_NE(missing.Stderr().find("nope.yaml"), std::string::npos);
}

TEST(ServeBinary, PortInUseExitsOneNamingTheAddress) {
  // Hold a port: bind and listen on an ephemeral loopback port.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  // SO_REUSEPORT on the holder too: a server that also set it would share
  // the port silently instead of failing.
  const int yes = 1;
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof yes), 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const int port = ntohs(a.sin_port);
  TempDir dir;
  const std::string config = WriteConfig(dir, "server: {port: " + std::to_string(port) + "}\n");
  Child serve({TANDEM_BINARY, "serve", "--config", config});
  std::optional<int> code = serve.Wait();
  close(fd);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  const std::string err = serve.Stderr();
  EXPECT_NE(err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << err;
}

}  // namespace
}  // namespace tandem
