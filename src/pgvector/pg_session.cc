// PgSession: libpqxx behind tandem's Status. Every libpqxx call happens
// inside Guard, which turns its exceptions into Statuses (see the header for
// the mapping). Transactions are plain BEGIN/COMMIT statements on a
// pqxx::nontransaction, so the session, not libpqxx, tracks them.

#include "pgvector/pg_session.h"

#include <charconv>
#include <cstdlib>
#include <pqxx/pqxx>
#include <utility>

namespace tandem::pgvector_internal {

struct PgConnection {
  explicit PgConnection(const std::string& url) : c(url) {}
  pqxx::connection c;
};

namespace {

std::string Trimmed(const char* what) {
  std::string s(what);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Status FromSqlState(std::string_view what, const std::string& state, const std::string& message,
                    bool* broken) {
  const std::string m =
      "postgres " + std::string(what) + ": " + message + " (SQLSTATE " + state + ")";
  if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) {
    *broken = true;
    return Status::Unavailable(m);
  }
  if (state == "57014") return Status::Unavailable(m);  // statement timeout or cancel
  if (state.rfind("40", 0) == 0) return Status::Busy(m);
  if (state == "53100") return Status::NoSpace(m);
  if (state.rfind("53", 0) == 0) return Status::Busy(m);
  return Status::IOError(m);
}

}  // namespace

template <typename F>
Status PgSession::Guard(std::string_view what, F&& f) {
  try {
    f();
    return Status::OK();
  } catch (const pqxx::in_doubt_error& e) {
    broken_ = true;
    return Status::Unavailable("postgres " + std::string(what) +
                               ": commit outcome unknown: " + Trimmed(e.what()));
  } catch (const pqxx::broken_connection& e) {
    broken_ = true;
    return Status::Unavailable("postgres " + std::string(what) + ": " + Trimmed(e.what()));
  } catch (const pqxx::sql_error& e) {
    return FromSqlState(what, e.sqlstate(), Trimmed(e.what()), &broken_);
  } catch (const std::exception& e) {
    return Status::IOError("postgres " + std::string(what) + ": " + Trimmed(e.what()));
  }
}

PgSession::PgSession(std::string url, int64_t statement_timeout_ms)
    : url_(std::move(url)), statement_timeout_ms_(statement_timeout_ms) {}

PgSession::~PgSession() = default;

Result<std::unique_ptr<PgSession>> PgSession::Connect(std::string url,
                                                      int64_t statement_timeout_ms) {
  std::unique_ptr<PgSession> s(new PgSession(std::move(url), statement_timeout_ms));
  TANDEM_RETURN_IF_ERROR(s->EnsureConnected());
  return s;
}

Status PgSession::EnsureConnected() {
  if (conn_ != nullptr && !broken_) return Status::OK();
  if (in_transaction_) {
    return Status::Unavailable("postgres: the connection was lost inside a transaction");
  }
  conn_.reset();
  broken_ = false;
  Status s = Guard("connect", [&] { conn_ = std::make_unique<PgConnection>(url_); });
  if (!s.ok()) {
    conn_.reset();
    // libpq's message never contains the password; the URL is not repeated.
    return Status::Unavailable(s.message());
  }
  if (statement_timeout_ms_ > 0) {
    return ExecScript("SET statement_timeout = " + std::to_string(statement_timeout_ms_));
  }
  return Status::OK();
}

Status PgSession::Exec(std::string_view sql, const std::vector<PgParam>& params, PgRows* rows,
                       uint64_t* affected) {
  if (!in_transaction_) TANDEM_RETURN_IF_ERROR(EnsureConnected());
  if (broken_ || conn_ == nullptr) {
    return Status::Unavailable("postgres: the connection was lost inside a transaction");
  }
  std::vector<const char*> ptrs;
  ptrs.reserve(params.size());
  for (const PgParam& p : params) ptrs.push_back(p.has_value() ? p->c_str() : nullptr);
  return Guard("query", [&] {
    pqxx::nontransaction tx(conn_->c);
    pqxx::result r = tx.exec_params(std::string(sql), pqxx::prepare::make_dynamic_params(ptrs));
    tx.commit();
    if (affected != nullptr) *affected = r.affected_rows();
    if (rows == nullptr) return;
    rows->clear();
    rows->reserve(r.size());
    for (const pqxx::row& row : r) {
      PgRow& out = rows->emplace_back();
      out.reserve(row.size());
      for (const pqxx::field& f : row) {
        if (f.is_null()) {
          out.emplace_back(std::nullopt);
        } else {
          out.emplace_back(std::string(f.c_str(), f.size()));
        }
      }
    }
  });
}

Status PgSession::ExecScript(std::string_view sql) {
  if (!in_transaction_) TANDEM_RETURN_IF_ERROR(EnsureConnected());
  if (broken_ || conn_ == nullptr) {
    return Status::Unavailable("postgres: the connection was lost inside a transaction");
  }
  return Guard("query", [&] {
    pqxx::nontransaction tx(conn_->c);
    tx.exec(std::string(sql));
    tx.commit();
  });
}

Status PgSession::Begin(std::string_view begin_sql) {
  if (in_transaction_) return Status::FailedPrecondition("postgres: a transaction is open");
  TANDEM_RETURN_IF_ERROR(ExecScript(begin_sql));
  in_transaction_ = true;
  return Status::OK();
}

Status PgSession::Commit() {
  Status s = ExecScript("COMMIT");
  in_transaction_ = false;
  return s;
}

void PgSession::Rollback() {
  if (!in_transaction_) return;
  if (!broken_ && conn_ != nullptr) {
    Status s = ExecScript("ROLLBACK");
    (void)s;  // a failed rollback leaves a broken connection, reopened next time
  }
  in_transaction_ = false;
}

PgTransaction::~PgTransaction() {
  if (open_) session_.Rollback();
}

Status PgTransaction::Open(std::string_view sql) {
  TANDEM_RETURN_IF_ERROR(session_.Begin(sql));
  open_ = true;
  return Status::OK();
}

Status PgTransaction::Commit() {
  open_ = false;
  return session_.Commit();
}

// ---- Text encodings ----------------------------------------------------------

std::string ArrayLiteral(const std::vector<std::optional<std::string>>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    if (!items[i].has_value()) {
      out += "NULL";
      continue;
    }
    out.push_back('"');
    for (char c : *items[i]) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string VectorLiteral(const std::vector<float>& v) {
  std::string out = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out.push_back(',');
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, ec == std::errc() ? end : buf);
  }
  out.push_back(']');
  return out;
}

Status ParseVectorLiteral(std::string_view text, std::string_view what, std::vector<float>* out) {
  out->clear();
  auto bad = [&] { return Status::Corruption(std::string(what) + ": malformed vector text"); };
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return bad();
  std::string_view body = text.substr(1, text.size() - 2);
  while (!body.empty()) {
    const size_t comma = body.find(',');
    std::string item(body.substr(0, comma));
    char* end = nullptr;
    const float x = std::strtof(item.c_str(), &end);
    if (item.empty() || end != item.c_str() + item.size()) return bad();
    out->push_back(x);
    if (comma == std::string_view::npos) break;
    body.remove_prefix(comma + 1);
  }
  return Status::OK();
}

}  // namespace tandem::pgvector_internal
