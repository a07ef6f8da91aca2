// The client commands end to end: the real `tandem serve` (fork/exec, port 0,
// a config in a temp dir) and the real `tandem produce|generate --send|search|
// entity|topics|subscriptions|dlq` run as child processes, their stdout,
// stderr and exit code checked. The NdjsonSender's retry and split paths are
// checked in process against a stub HTTP server (a real server never answers
// 429/413 on demand).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/client.h"

extern char** environ;

namespace tandem::cli {
namespace {

using Json = nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "tandem-client-XXXXXX").string();
    path_ = mkdtemp(t.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The environment of a child: ours without TANDEM_*, plus `extra`.
std::vector<std::string> ChildEnv(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind("TANDEM_", 0) != 0) env.emplace_back(*e);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

// fork/exec of `argv` with stdin from `stdin_path` (or /dev/null) and stdout/
// stderr into the given fds; returns the pid (-1 on failure).
pid_t Spawn(std::vector<std::string> argv, const std::vector<std::string>& env,
            const std::string& stdin_path, int out_fd, int err_fd) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const int in = open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY);
  if (in < 0) _exit(126);
  dup2(in, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  std::vector<char*> args, envp;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_copy = env;
  for (std::string& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  execve(args[0], args.data(), envp.data());
  _exit(127);
}

// Waits for `pid` at most `timeout_ms`; the exit code (128 + signal), or
// nullopt after killing it when it did not exit in time.
std::optional<int> WaitFor(pid_t pid, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return std::nullopt;
}

struct Outcome {
  int code = -1;  // -1: did not finish in time (killed)
  std::string out, err;
};

// Runs `tandem <args>` to completion (bounded: 60 s).
Outcome Tandem(const std::vector<std::string>& args, const std::string& stdin_path = "",
               const std::map<std::string, std::string>& env = {}) {
  TempDir io;
  const std::string out = io.path() + "/out", err = io.path() + "/err";
  const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::vector<std::string> argv{TANDEM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = Spawn(argv, ChildEnv(env), stdin_path, out_fd, err_fd);
  close(out_fd);
  close(err_fd);
  Outcome o;
  if (pid < 0) return o;
  o.code = WaitFor(pid, 60'000).value_or(-1);
  o.out = ReadAll(out);
  o.err = ReadAll(err);
  return o;
}

std::string Describe(const Outcome& o) {
  return "exit " + std::to_string(o.code) + "\nstdout: " + o.out + "\nstderr: " + o.err;
}

// A running `tandem serve` on a free loopback port; killed (by pid) unless
// Stop() ended it.
class Serve {
 public:
  explicit Serve(const std::string& extra_config = "") {
    const std::string config =
        dir_.Write("tandem.yaml", "data_dir: " + dir_.path() + "/data\nlog: {fsync: never}\n" +
                                      "graph: {sync: false}\nvector: {sync: false}\n" +
                                      "server: {port: 0" + extra_config + "}\n");
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return;
    const std::string err = dir_.path() + "/serve.err";
    const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    pid_ = Spawn({TANDEM_BINARY, "serve", "--config", config}, ChildEnv({}), "", out[1], err_fd);
    close(out[1]);
    close(err_fd);
    out_ = out[0];
    port_ = ReadPort();
  }
  ~Serve() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string stderr_text() const { return ReadAll(dir_.path() + "/serve.err"); }
  const TempDir& dir() const { return dir_; }

  // SIGTERM; the exit code (nullopt: killed after 30 s).
  std::optional<int> Stop() {
    kill(pid_, SIGTERM);
    std::optional<int> code = WaitFor(pid_, 30'000);
    pid_ = -1;
    return code;
  }

 private:
  // The port from the first stdout line "listening on http://127.0.0.1:PORT" (0: none in 30 s).
  int ReadPort() {
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      if (read(out_, &c, 1) != 1) return 0;
      if (c != '\n') {
        line += c;
        continue;
      }
      const std::string prefix = "listening on http://127.0.0.1:";
      return line.rfind(prefix, 0) == 0 ? std::atoi(line.c_str() + prefix.size()) : 0;
    }
    return 0;
  }

  TempDir dir_;
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
};

// Polls `tandem subscriptions --json` until every leg's total_lag is 0 and it
// has consumed something (bounded: 30 s). Returns the last document.
Json WaitForZeroLag(const Serve& serve, const std::vector<std::string>& auth = {}) {
  Json legs;
  for (int i = 0; i < 600; ++i) {
    std::vector<std::string> args{"subscriptions", "--json", "--url", serve.url()};
    args.insert(args.end(), auth.begin(), auth.end());
    Outcome o = Tandem(args);
    if (o.code != 0) {
      ADD_FAILURE() << Describe(o);
      return legs;
    }
    legs = Json::parse(o.out, nullptr, false);
    bool done = legs.is_object() && !legs["legs"].empty();
    for (const Json& leg : legs["legs"]) {
      if (leg["total_lag"] != 0 || leg["stats"]["consumed"] == 0) done = false;
    }
    if (done) return legs;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "lag did not reach 0: " << legs.dump();
  return legs;
}

#define ASSERT_SERVING(serve) ASSERT_GT((serve).port(), 0) << (serve).stderr_text()

TEST(CliProduce, FileThenStdinThenAllDuplicates) {
  Serve serve;
  ASSERT_SERVING(serve);
  Outcome first = Tandem({"produce", TANDEM_BANKING_EVENTS, "--url", serve.url(), "--json"});
  ASSERT_EQ(first.code, 0) << Describe(first);
  Json j = Json::parse(first.out);
  EXPECT_EQ(j["lines"], 59);
  EXPECT_EQ(j["accepted"], 57);
  EXPECT_EQ(j["duplicates"], 2);  // the sample repeats two event ids on purpose
  EXPECT_EQ(j["rejected"], 0);
  EXPECT_EQ(j["batches"], 1);
  EXPECT_EQ(first.err, "");  // no progress line when stderr is not a terminal

  // From stdin, in batches of 10, the human summary: everything is a duplicate now.
  Outcome again =
      Tandem({"produce", "-", "--url", serve.url(), "--batch", "10"}, TANDEM_BANKING_EVENTS);
  ASSERT_EQ(again.code, 0) << Describe(again);
  EXPECT_NE(again.out.find("0 accepted, 59 duplicates, 0 rejected; 59 lines in 6 batches"),
            std::string::npos)
      << again.out;
  EXPECT_EQ(serve.Stop(), 0) << serve.stderr_text();
}

TEST(CliProduce, BadLineIsReportedWithItsLineInTheWholeInputAndTheRestAccepted) {
  Serve serve;
  ASSERT_SERVING(serve);
  std::string text;
  for (int i = 1; i <= 12; ++i) {
    if (i == 5) text += "\n";  // a blank line counts but is not sent
    if (i == 8) {
      text += R"({"event_id":"e-8","event_type":"create","entity_type":"person",)"
              R"("payload":{"name":"No Id"}})"
              "\n";
      continue;
    }
    text += R"({"event_id":"e-)" + std::to_string(i) +
            R"(","event_type":"create","entity_type":"person","entity_id":"p-)" +
            std::to_string(i) + R"(","payload":{"name":"Person )" + std::to_string(i) + "\"}}\n";
  }
  const std::string file = serve.dir().Write("bad.ndjson", text);
  // Batches of 3 non-blank lines: the bad line (input line 9) is the 2nd of the 3rd batch.
  Outcome o = Tandem({"produce", file, "--url", serve.url(), "--batch", "3", "--json"});
  EXPECT_EQ(o.code, 5) << Describe(o);
  EXPECT_NE(o.err.find("line 9: entity_id: required"), std::string::npos) << o.err;
  EXPECT_EQ(o.err.find("line 8:"), std::string::npos) << o.err;
  Json j = Json::parse(o.out);
  EXPECT_EQ(j["lines"], 13);
  EXPECT_EQ(j["accepted"], 11);
  EXPECT_EQ(j["rejected"], 1);
  EXPECT_EQ(j["batches"], 4);
  EXPECT_EQ(serve.Stop(), 0) << serve.stderr_text();
}

TEST(CliGenerateSend, SearchFindsAGeneratedNameWithItsGraphContext) {
  Serve serve;
  ASSERT_SERVING(serve);
  Outcome sent =
      Tandem({"generate", "--seed", "7", "--persons", "50", "--companies", "5", "--transactions",
              "200", "--communications", "20", "--send", serve.url(), "--json"});
  ASSERT_EQ(sent.code, 0) << Describe(sent);
  Json summary = Json::parse(sent.out);
  const uint64_t total = summary["generated"]["counts"]["total"];
  EXPECT_GT(total, 300u);
  EXPECT_EQ(summary["sent"]["accepted"], total);
  EXPECT_EQ(summary["sent"]["rejected"], 0);
  ASSERT_FALSE(summary["generated"]["sanctioned"].empty()) << sent.out;
  const Json& target = summary["generated"]["sanctioned"][0];
  const std::string id = target["entity_id"], query = target["query"];
  WaitForZeroLag(serve);

  Outcome raw = Tandem({"search", query, "-k", "5", "--url", serve.url(), "--json"});
  ASSERT_EQ(raw.code, 0) << Describe(raw);
  Json hits = Json::parse(raw.out)["hits"];
  bool found = false;
  for (const Json& h : hits) found = found || h["entity_id"] == id;
  EXPECT_TRUE(found) << "\"" << query << "\" should find " << id << ": " << raw.out;

  Outcome human = Tandem({"search", query, "-k", "5", "--url", serve.url()});
  ASSERT_EQ(human.code, 0) << Describe(human);
  EXPECT_NE(human.out.find("  " + id + "  "), std::string::npos) << human.out;
  // Every generated customer owns an account: the graph context says so.
  EXPECT_NE(human.out.find("owns "), std::string::npos) << human.out;
  EXPECT_NE(human.out.find(" account"), std::string::npos) << human.out;

  Outcome entity = Tandem({"entity", id, "--url", serve.url()});
  EXPECT_EQ(entity.code, 0) << Describe(entity);
  EXPECT_NE(entity.out.find("stores agree: yes"), std::string::npos) << entity.out;
  Outcome unknown = Tandem({"entity", "no-such-id", "--url", serve.url()});
  EXPECT_EQ(unknown.code, 4) << Describe(unknown);
  EXPECT_NE(unknown.err.find("no-such-id"), std::string::npos) << unknown.err;
  // A bad search parameter is the user's mistake: exit 2 with the server's reason.
  Outcome bad = Tandem({"search", "x", "--filter", "amount__between=3", "--url", serve.url()});
  EXPECT_EQ(bad.code, 2) << Describe(bad);
  EXPECT_NE(bad.err.find("__between"), std::string::npos) << bad.err;
  EXPECT_EQ(serve.Stop(), 0) << serve.stderr_text();
}

TEST(CliAdmin, TopicsPeekSubscriptionsAndAnEmptyDlq) {
  Serve serve;
  ASSERT_SERVING(serve);
  ASSERT_EQ(Tandem({"produce", TANDEM_BANKING_EVENTS, "--url", serve.url()}).code, 0);
  Json legs = WaitForZeroLag(serve);
  ASSERT_EQ(legs["legs"].size(), 2u) << legs.dump();
  for (const Json& leg : legs["legs"]) {
    ASSERT_FALSE(leg["lag"].empty());
    for (const Json& p : leg["lag"]) EXPECT_EQ(p["committed"], p["end"]) << p.dump();
  }

  Outcome topics = Tandem({"topics", "--url", serve.url()});
  ASSERT_EQ(topics.code, 0) << Describe(topics);
  EXPECT_NE(topics.out.find("person"), std::string::npos) << topics.out;
  EXPECT_NE(topics.out.find("transaction"), std::string::npos) << topics.out;
  Outcome one = Tandem({"topics", "person", "--url", serve.url(), "--json"});
  ASSERT_EQ(one.code, 0) << Describe(one);
  EXPECT_EQ(Json::parse(one.out)["name"], "person");
  Outcome peek = Tandem({"topics", "person", "--peek", "--limit", "50", "--url", serve.url()});
  ASSERT_EQ(peek.code, 0) << Describe(peek);
  EXPECT_NE(peek.out.find("person partition 0"), std::string::npos) << peek.out;
  Outcome missing = Tandem({"topics", "nosuch", "--url", serve.url()});
  EXPECT_EQ(missing.code, 4) << Describe(missing);

  Outcome human = Tandem({"subscriptions", "--url", serve.url()});
  ASSERT_EQ(human.code, 0) << Describe(human);
  EXPECT_NE(human.out.find("breaker closed, lag 0"), std::string::npos) << human.out;

  Outcome dlq = Tandem({"dlq", "list", "--json", "--url", serve.url()});
  ASSERT_EQ(dlq.code, 0) << Describe(dlq);
  EXPECT_EQ(Json::parse(dlq.out), Json::parse(R"({"dlq": []})"));
  Outcome dlq_human = Tandem({"dlq", "--url", serve.url()});
  ASSERT_EQ(dlq_human.code, 0) << Describe(dlq_human);
  EXPECT_EQ(dlq_human.out, "no dead letters\n");
  Outcome replay = Tandem({"dlq", "replay", "person", "--url", serve.url()});
  EXPECT_EQ(replay.code, 4) << Describe(replay);  // no person.dlq topic
  EXPECT_EQ(serve.Stop(), 0) << serve.stderr_text();
}

TEST(CliAuth, WrongOrMissingTokenExitsSix) {
  Serve serve(", auth_token: s3cret");
  ASSERT_SERVING(serve);
  Outcome wrong = Tandem({"topics", "--url", serve.url(), "--token", "nope"});
  EXPECT_EQ(wrong.code, 6) << Describe(wrong);
  EXPECT_NE(wrong.err.find("--token"), std::string::npos) << wrong.err;
  Outcome none = Tandem({"produce", TANDEM_BANKING_EVENTS, "--url", serve.url()});
  EXPECT_EQ(none.code, 6) << Describe(none);
  Outcome right = Tandem(
      {"produce", TANDEM_BANKING_EVENTS, "--url", serve.url(), "--token", "s3cret", "--json"});
  EXPECT_EQ(right.code, 0) << Describe(right);
  // $TANDEM_URL and $TANDEM_TOKEN stand in for the flags.
  Outcome env =
      Tandem({"subscriptions"}, "", {{"TANDEM_URL", serve.url()}, {"TANDEM_TOKEN", "s3cret"}});
  EXPECT_EQ(env.code, 0) << Describe(env);
  EXPECT_EQ(serve.Stop(), 0) << serve.stderr_text();
}

// A loopback port with nothing listening: bound, then closed.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

TEST(CliErrors, NothingListeningExitsThree) {
  const int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  Outcome o = Tandem({"entity", "p-1", "--url", url, "--timeout", "5s"});
  EXPECT_EQ(o.code, 3) << Describe(o);
  EXPECT_NE(o.err.find(url), std::string::npos) << o.err;
  Outcome p =
      Tandem({"produce", TANDEM_BANKING_EVENTS, "--timeout", "5s"}, "", {{"TANDEM_URL", url}});
  EXPECT_EQ(p.code, 3) << Describe(p);
}

TEST(CliErrors, BadUsageExitsTwoNamingTheOption) {
  for (const char* url : {"https://127.0.0.1:7400", "127.0.0.1:7400", "http://:7400",
                          "http://127.0.0.1:99999", "http://127.0.0.1:80x"}) {
    Outcome o = Tandem({"topics", "--url", url});
    EXPECT_EQ(o.code, 2) << url << ": " << Describe(o);
    EXPECT_NE(o.err.find("--url"), std::string::npos) << url << ": " << o.err;
  }
  Outcome t = Tandem({"topics", "--timeout", "0"});
  EXPECT_EQ(t.code, 2) << Describe(t);
  EXPECT_NE(t.err.find("--timeout"), std::string::npos) << t.err;
  Outcome k = Tandem({"search", "x", "-k", "0"});
  EXPECT_EQ(k.code, 2) << Describe(k);
  Outcome unknown = Tandem({"topics", "--no-such-flag"});
  EXPECT_EQ(unknown.code, 2) << Describe(unknown);
  Outcome missing = Tandem({"produce", "/nonexistent/events.ndjson"});
  EXPECT_EQ(missing.code, 4) << Describe(missing);
  Outcome help = Tandem({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("6  authentication failed"), std::string::npos) << help.out;
}

// --- NdjsonSender against a stub server --------------------------------------

// An in-process HTTP server on a loopback port answering POST /v1/events
// with `handler`; stopped by the destructor.
class StubServer {
 public:
  explicit StubServer(httplib::Server::Handler handler) {
    server_.Post("/v1/events", std::move(handler));
    port_ = server_.bind_to_any_port("127.0.0.1");
    // Bound and listening already: a request waits in the backlog until the accept loop runs.
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~StubServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// Answers every line appended, or rejected when it contains "bad".
Json Results(const std::string& body) {
  Json results = Json::array();
  std::istringstream in(body);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find("bad") != std::string::npos) {
      results.push_back({{"line", n}, {"status", "rejected"}, {"errors", {"x: bad", "y: worse"}}});
    } else {
      results.push_back({{"line", n}, {"status", "appended"}});
    }
  }
  return Json{{"results", results}};
}

TEST(NdjsonSender, RetriesAfter429And503AndSplitsOn413) {
  int calls = 0;
  std::vector<size_t> batch_lines;
  StubServer stub([&](const httplib::Request& req, httplib::Response& res) {
    ++calls;
    if (calls == 1) {
      res.status = 429;
      res.set_header("Retry-After", "2");
      return;
    }
    if (calls == 2) {
      res.status = 503;  // no Retry-After: the sender waits 1 s by default
      return;
    }
    const size_t lines = static_cast<size_t>(std::count(req.body.begin(), req.body.end(), '\n'));
    if (lines > 2) {
      res.status = 413;
      res.set_content(R"({"error":{"code":"too_large","message":"body: too large"}})",
                      "application/json");
      return;
    }
    batch_lines.push_back(lines);
    res.set_content(Results(req.body).dump(), "application/json");
  });
  ClientOptions o;
  o.url = stub.url();
  Result<std::unique_ptr<HttpClient>> client = HttpClient::Create(o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ManualClock clock;
  const int64_t start = clock.NowMicros();
  std::vector<std::pair<uint64_t, std::string>> rejected;
  SenderOptions so;
  so.batch_lines = 5;
  NdjsonSender sender(
      **client, so, clock,
      [&](uint64_t line, const std::string& e) { rejected.emplace_back(line, e); }, nullptr);
  for (const char* line : {"{1}", "{2}", "", "{bad 4}", "{5}", "{6}"}) {
    ASSERT_TRUE(sender.Add(line).ok());
  }
  ASSERT_TRUE(sender.Finish().ok());
  const SendSummary& s = sender.summary();
  EXPECT_EQ(s.retries, 2u);
  EXPECT_EQ(clock.NowMicros() - start, 3'000'000);  // Retry-After 2 s, then the 1 s default
  EXPECT_EQ(s.lines, 6u);
  EXPECT_EQ(s.accepted, 4u);
  EXPECT_EQ(s.rejected, 1u);
  // 5 non-blank lines in one batch of 5: 413 → 2 + 3 → 2 + (1 + 2).
  EXPECT_EQ(batch_lines, (std::vector<size_t>{2, 1, 2}));
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].first, 4u);
  EXPECT_EQ(rejected[0].second, "x: bad; y: worse");
}

TEST(NdjsonSender, GivesUpAfterTheRetriesWithUnavailable) {
  StubServer stub([](const httplib::Request&, httplib::Response& res) {
    res.status = 503;
    res.set_header("Retry-After", "0");
    res.set_content(R"({"error":{"code":"no_space","message":"disk full: log"}})",
                    "application/json");
  });
  ClientOptions o;
  o.url = stub.url();
  Result<std::unique_ptr<HttpClient>> client = HttpClient::Create(o);
  ASSERT_TRUE(client.ok());
  ManualClock clock;
  SenderOptions so;
  so.retries = 3;
  NdjsonSender sender(**client, so, clock, nullptr, nullptr);
  ASSERT_TRUE(sender.Add("{}").ok());
  Status s = sender.Finish();
  EXPECT_EQ(s.code(), StatusCode::kNoSpace) << s.ToString();
  EXPECT_NE(s.message().find("disk full"), std::string::npos) << s.ToString();
  EXPECT_EQ(sender.summary().retries, 3u);
  EXPECT_EQ((*client)->failure_exit_code(), kExitUnavailable);
}

TEST(ClientUrl, ParsesHostPortAndBaseAndRejectsTheRest) {
  Result<Endpoint> e = ParseUrl("http://[::1]:8080/tandem/");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 8080);
  EXPECT_EQ(e->base_path, "/tandem");
  EXPECT_EQ(ParseUrl("http://example")->port, 80);
  for (const char* bad : {"ftp://x", "http://x?y=1", "http://u:p@x", "http://x:0", "http://[::1"}) {
    Result<Endpoint> r = ParseUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("--url: ", 0), 0u) << r.status().message();
  }
  EXPECT_DOUBLE_EQ(*ParseTimeout("500ms"), 0.5);
  EXPECT_DOUBLE_EQ(*ParseTimeout("2m"), 120);
  EXPECT_FALSE(ParseTimeout("-1").ok());
  EXPECT_EQ(UrlEncode("Viktor Petrof&k=1/ü"), "Viktor%20Petrof%26k%3D1%2F%C3%BC");
}

}  // namespace
}  // namespace tandem::cli
