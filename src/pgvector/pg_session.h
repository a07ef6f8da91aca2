// One PostgreSQL connection behind tandem's Status: the only header of the
// pgvector module that knows libpqxx exists (and only pg_session.cc includes
// it). Statements take text parameters (nullopt = SQL NULL) and return rows
// of text fields, so the store code never sees a libpqxx type or exception.
//
//   TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<PgSession> s, PgSession::Connect(url, 30000));
//   PgTransaction tx(*s);
//   TANDEM_RETURN_IF_ERROR(tx.Begin());
//   PgRows rows;
//   TANDEM_RETURN_IF_ERROR(s->Exec("SELECT $1::int + 1", {"41"}, &rows));
//   TANDEM_RETURN_IF_ERROR(tx.Commit());
//
// Errors: a lost connection, a statement timeout or a server shutting down →
// Unavailable; serialization failures and deadlocks → Busy; disk full →
// NoSpace; a COMMIT whose outcome is unknown → Unavailable (redelivery is
// harmless: the store contract makes a re-applied batch a no-op); anything
// else → IOError with the server's message. A lost connection is reopened by
// the next Begin (or Exec outside a transaction), never inside a transaction.
//
// Thread safety: none; the store serialises its use.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/status.h"

namespace tandem::pgvector_internal {

struct PgConnection;  // the libpqxx connection (pg_session.cc)

using PgParam = std::optional<std::string>;
using PgRow = std::vector<std::optional<std::string>>;
using PgRows = std::vector<PgRow>;

class PgSession {
 public:
  // Connects and sets the session's statement_timeout (0 = none).
  static Result<std::unique_ptr<PgSession>> Connect(std::string url, int64_t statement_timeout_ms);
  ~PgSession();
  PgSession(const PgSession&) = delete;
  PgSession& operator=(const PgSession&) = delete;

  // Runs one statement with `params` ($1, $2, ...). `rows`: the result rows
  // (may be nullptr); `affected`: rows changed by INSERT/UPDATE/DELETE.
  Status Exec(std::string_view sql, const std::vector<PgParam>& params, PgRows* rows = nullptr,
              uint64_t* affected = nullptr);
  // Runs SQL text without parameters (several statements allowed).
  Status ExecScript(std::string_view sql);

  bool in_transaction() const { return in_transaction_; }

 private:
  friend class PgTransaction;
  PgSession(std::string url, int64_t statement_timeout_ms);
  Status EnsureConnected();
  Status Begin(std::string_view begin_sql);
  Status Commit();
  void Rollback();
  template <typename F>
  Status Guard(std::string_view what, F&& f);

  const std::string url_;
  const int64_t statement_timeout_ms_;
  std::unique_ptr<PgConnection> conn_;
  bool in_transaction_ = false;
  bool broken_ = false;  // the connection died: reopen outside a transaction
};

// A transaction on a session: Begin, then Commit; destroyed without a
// successful Commit, it rolls back.
class PgTransaction {
 public:
  explicit PgTransaction(PgSession& session) : session_(session) {}
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;

  // READ COMMITTED read-write (the writers: rows are locked FOR UPDATE).
  Status Begin() { return Open("BEGIN"); }
  // One consistent snapshot for a scan of several statements.
  Status BeginSnapshot() { return Open("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); }
  Status Commit();

 private:
  Status Open(std::string_view sql);
  PgSession& session_;
  bool open_ = false;
};

// ---- Text encodings of parameters ------------------------------------------

// A PostgreSQL array literal of `items` ("{\"a\",NULL}"): every element
// double-quoted with '"' and '\\' escaped; nullopt → NULL.
std::string ArrayLiteral(const std::vector<std::optional<std::string>>& items);
// pgvector's text form "[x,y,...]", each float in its shortest exact form.
std::string VectorLiteral(const std::vector<float>& v);
// Parses pgvector's text form; Corruption naming `what` when malformed.
Status ParseVectorLiteral(std::string_view text, std::string_view what, std::vector<float>* out);

}  // namespace tandem::pgvector_internal
