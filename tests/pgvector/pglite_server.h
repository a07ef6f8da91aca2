// A PGlite server (PostgreSQL 18 compiled to WASM, with pgvector) for the
// pgvector store tests, run as a separate node process on a loopback port.
//
// The npm packages (../shared/DEPS.md, exact versions) are installed once
// into a cache directory under the build tree; a later run finds them there
// (a marker file names the installed versions) and skips npm. Concurrent
// test processes serialise the install on a lock file.
//
//   Result<std::unique_ptr<PgliteServer>> s = PgliteServer::Start(TANDEM_PGLITE_DIR);
//   std::string url = (*s)->url();  // postgresql://postgres@127.0.0.1:P/postgres?...
//   ...                             // destroyed: SIGTERM, reaped; SIGKILL after 10 s
//
// The server listens on port 0 (the kernel picks a free one) and the port is
// read from the line it logs when listening. Limits (PGlite): one backend,
// connections multiplexed (-m 8), `COPY ... FROM STDIN` wedges it.
//
// Thread safety: none; one per test process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "tandem/status.h"

namespace tandem::pgvector_test {

class PgliteServer {
 public:
  // Installs the packages when needed and starts the server; waits (bounded,
  // 120 s) until it listens. Unavailable with the log's tail on failure.
  static Result<std::unique_ptr<PgliteServer>> Start(const std::string& cache_dir);
  ~PgliteServer();
  PgliteServer(const PgliteServer&) = delete;
  PgliteServer& operator=(const PgliteServer&) = delete;

  const std::string& url() const { return url_; }
  pid_t pid() const { return pid_; }

 private:
  PgliteServer(pid_t pid, std::string url, std::string log)
      : pid_(pid), url_(std::move(url)), log_(std::move(log)) {}
  pid_t pid_;
  std::string url_;
  std::string log_;  // the server's output; removed after a clean stop
};

// Runs `npm install` of the pinned packages into `cache_dir` unless its
// marker says they are there. IOError naming the npm log on failure.
Status EnsurePgliteInstalled(const std::string& cache_dir);

// The URL every pgvector test uses: $TANDEM_PGVECTOR_URL when set (a real
// PostgreSQL with pgvector), else a PGlite server started on first use and
// stopped when the test program ends. Empty, with the error printed, when it
// could not start.
const std::string& TestDatabaseUrl();

// A table prefix no other store of this process or of a concurrent test
// process uses: "t<pid>_<n>".
std::string UniqueTablePrefix();

// Drops the three tables of `prefix` (best effort; for test cleanup).
void DropTables(const std::string& url, const std::string& prefix);

}  // namespace tandem::pgvector_test
