// The HTTP side of the `tandem` client commands (produce, search, entity,
// topics, subscriptions, dlq, generate --send): URL parsing, bearer auth,
// timeouts, turning a server's error body into a Status, the exit code each
// failure means, and the NDJSON batch sender shared by `produce` and
// `generate --send`.
//
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> c, HttpClient::Create(options));
//   NdjsonSender sender(*c, SenderOptions{}, SystemClock(), on_reject, nullptr);
//   for (each line) TANDEM_RETURN_IF_ERROR(sender.Add(line));
//   TANDEM_RETURN_IF_ERROR(sender.Finish());
//   sender.summary().accepted ...
//
// Only plain http:// is spoken (tandem serve has no TLS; put a proxy in
// front). httplib.h and nlohmann/json stay inside client.cc.
//
// Thread safety: an HttpClient and an NdjsonSender are used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "tandem/env.h"
#include "tandem/status.h"

namespace CLI {
class App;
}

namespace tandem::cli {

class ProgressLine;

// The exit code an HTTP status means when a request failed with it.
int ExitCodeForHttpStatus(int http_status);

// The default server URL: $TANDEM_URL, else http://127.0.0.1:7400.
std::string DefaultUrl();

// http://host[:port][/base]. The port defaults to 80; IPv6 hosts go in
// brackets. `base` is prefixed to every request path (a proxy mount point).
struct Endpoint {
  std::string host;
  int port = 80;
  std::string base_path;  // "" or "/prefix" without a trailing slash
};

// InvalidArgument naming `--url` and the reason (not http://, https, no host,
// bad port, a query or fragment).
Result<Endpoint> ParseUrl(std::string_view url);

// "30", "30s", "500ms", "2m" → seconds. InvalidArgument naming --timeout
// unless 0 < t <= 3600 s.
Result<double> ParseTimeout(std::string_view text);

// Percent-encodes a query value or path segment (RFC 3986 unreserved kept).
std::string UrlEncode(std::string_view s);

struct ClientOptions {
  std::string url;    // empty: DefaultUrl()
  std::string token;  // sent as "Authorization: Bearer <token>" when not empty
  // Connect, read and write timeout of each request, seconds. A request
  // timing out fails with Unavailable (exit 3); the server may still have
  // done it (produce: re-running is safe, events are deduplicated by id).
  double timeout_seconds = 30;
};

// One reply; `status` is the HTTP status.
struct HttpReply {
  int status = 0;
  std::string body;
  std::string retry_after;  // the Retry-After header, "" when absent
  bool ok() const { return status >= 200 && status < 300; }
};

// A keep-alive HTTP/1.1 connection to one tandem server.
class HttpClient {
 public:
  // InvalidArgument (naming --url) for a bad URL. Does not connect yet.
  static Result<std::unique_ptr<HttpClient>> Create(const ClientOptions& options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `target` is the path and query ("/v1/search?q=..."), already encoded.
  // Any HTTP status is a reply; only a transport failure (refused, timed
  // out, reset) is an error: Unavailable naming the URL, and exit code 3.
  Result<HttpReply> Get(const std::string& target);
  Result<HttpReply> Post(const std::string& target, std::string_view body,
                         const std::string& content_type);

  // The Status for a failed reply: the code from the server's error body
  // {"error":{"code","message"}} (else from the HTTP status), message
  // "<what>: <server message> (HTTP <status>)". Records the exit code the
  // HTTP status means (see failure_exit_code).
  Status Fail(const HttpReply& reply, std::string_view what);

  // The exit code of the last failure this client reported (Fail or a
  // transport error); 0 when there was none. Commands hand it to main().
  int failure_exit_code() const { return failure_exit_code_; }

  // "http://127.0.0.1:7400" as given.
  const std::string& url() const { return url_; }

 private:
  struct Impl;
  HttpClient(std::string url, std::unique_ptr<Impl> impl);
  Result<HttpReply> Transport(Result<HttpReply> r);
  std::string url_;
  std::unique_ptr<Impl> impl_;
  int failure_exit_code_ = 0;
};

struct SenderOptions {
  // Lines per POST (1..100,000). The server's events.max_batch_items
  // (default 10,000) must not be lower.
  size_t batch_lines = 1000;
  // Bytes per POST at most (a single longer line goes alone). Keep below the
  // server's server.max_body (16 MiB by default); a 413 reply splits the
  // batch in halves, and a single line the server refuses as too large is
  // reported as rejected.
  size_t max_batch_bytes = size_t{4} << 20;
  // Re-posts of one batch after 429/503 (each waits Retry-After, default 1 s,
  // capped by max_retry_wait_seconds). Safe: the server deduplicates by
  // event_id, so a re-posted event is answered as a duplicate with its
  // original offset. After the last retry: Unavailable, exit 3.
  uint32_t retries = 10;
  double max_retry_wait_seconds = 30;
};

// What was sent. `accepted` + `duplicates` + `rejected` = lines that were not blank.
struct SendSummary {
  uint64_t lines = 0;       // lines read, blank ones included
  uint64_t accepted = 0;    // appended to the log
  uint64_t duplicates = 0;  // already in the log (same event_id inside the dedup window)
  uint64_t rejected = 0;    // refused with field errors (each reported to on_reject)
  uint64_t batches = 0;     // POSTs answered 200/400 (a split batch counts each half)
  uint64_t retries = 0;     // re-posts after 429/503
  double seconds = 0;
  double events_per_second() const;
  // {"lines":..,"accepted":..,"duplicates":..,"rejected":..,"batches":..,
  //  "retries":..,"seconds":..,"events_per_second":..}
  std::string ToJson() const;
  // "57 accepted, 2 duplicates, 0 rejected; 59 lines in 1 batch, 0.01 s, 5,900 events/s"
  std::string ToText() const;
};

// Streams NDJSON lines to POST /v1/events in batches. Rejected lines are
// reported with their 1-based line number in the whole input (the server's
// per-batch `line` mapped back); the rest goes on.
class NdjsonSender {
 public:
  // Called once per rejected line: its number in the whole input and the
  // server's errors joined by "; ".
  using RejectFn = std::function<void(uint64_t line, const std::string& errors)>;

  // `client`, `clock` and `progress` (may be null) must outlive the sender.
  NdjsonSender(HttpClient& client, SenderOptions options, Clock& clock, RejectFn on_reject,
               ProgressLine* progress);

  // Adds the next input line (with or without its '\n'); blank lines count
  // but are not sent. Sends a batch when one is full. `consumed` is the
  // input's bytes consumed so far, for the progress line's percentage.
  // Fails (and should not be called again) on a transport error, a reply
  // that is neither per-item results nor retryable, or retries exhausted.
  Status Add(std::string_view line, uint64_t consumed = 0);
  // Sends what is left. summary() is final afterwards.
  Status Finish();
  const SendSummary& summary() const { return summary_; }

 private:
  Status Flush();
  Status SendRange(size_t begin, size_t end);
  Status Post(size_t begin, size_t end, HttpReply* reply);
  Status Account(const HttpReply& reply, size_t begin, size_t end);
  Status AccountResults(const HttpReply& reply, size_t begin, size_t end);
  void Tick();

  HttpClient& client_;
  const SenderOptions options_;
  Clock& clock_;
  RejectFn on_reject_;
  ProgressLine* progress_;
  const int64_t started_ns_;
  uint64_t consumed_ = 0;
  std::vector<std::string> pending_;    // lines of the batch being filled
  std::vector<uint64_t> line_numbers_;  // their numbers in the whole input
  size_t pending_bytes_ = 0;
  SendSummary summary_;
};

// --- Flags shared by the client commands (defined in client_commands.cc) ---

// --url, --token, --timeout, --json on a client command.
struct ClientFlags {
  std::string url;    // empty: $TANDEM_URL, else http://127.0.0.1:7400
  std::string token;  // empty: $TANDEM_TOKEN
  std::string timeout = "30s";
  bool json = false;
};

// --batch, --max-batch-bytes, --retries, --no-progress on produce and generate --send.
struct SenderFlags {
  size_t batch = SenderOptions{}.batch_lines;
  size_t max_batch_bytes = SenderOptions{}.max_batch_bytes;
  uint32_t retries = SenderOptions{}.retries;
  bool no_progress = false;
  SenderOptions ToOptions() const;
};

// Adds the options; `json_help` describes --json for this command (null: no --json).
void AddClientOptions(CLI::App* cmd, ClientFlags* flags, const char* json_help);
void AddSenderOptions(CLI::App* cmd, SenderFlags* flags);

// A client for the flags: the URL validated (InvalidArgument naming --url),
// the token from --token or $TANDEM_TOKEN, --timeout parsed.
Result<std::unique_ptr<HttpClient>> Connect(const ClientFlags& flags);

// Prints "line N: <errors>" on stderr: the RejectFn of produce and generate --send.
void PrintRejectedLine(uint64_t line, const std::string& errors);

// The exit code main() should use for a client command that returned `s`:
// the client's failure code when it reported one, else `fallback` (set for
// a partial success), else 0 (main maps the Status itself).
int ClientExitCode(const Status& s, const HttpClient* client, int fallback);

}  // namespace tandem::cli
