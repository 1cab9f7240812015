#include "db/connection.h"

#include <poll.h>

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <libpq-fe.h>

namespace substrate::db {

const std::error_category& db_category() {
  struct category : std::error_category {
    const char* name() const noexcept override { return "db"; }
    std::string message(int value) const override {
      switch (static_cast<errc>(value)) {
        case errc::connection_failed:
          return "cannot connect to PostgreSQL";
        case errc::query_failed:
          return "query failed";
        case errc::migration_changed:
          return "an applied migration was changed";
        case errc::migration_unknown:
          return "the database has a migration this binary does not know";
        case errc::migration_failed:
          return "a migration failed";
        case errc::pool_timeout:
          return "the connection pool is exhausted";
      }
      return "database error";
    }
  };
  static const category instance;
  return instance;
}

query_result::query_result(pg_result* raw) : raw_(raw, PQclear) {}
int query_result::rows() const {
  return PQntuples(raw_.get());
}
int query_result::columns() const {
  return PQnfields(raw_.get());
}
bool query_result::is_null(int row, int column) const {
  return PQgetisnull(raw_.get(), row, column) != 0;
}
std::string query_result::value(int row, int column) const {
  return std::string(PQgetvalue(raw_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(raw_.get(), row, column)));
}

long query_result::affected_rows() const {
  const char* text = PQcmdTuples(raw_.get());
  return text && *text ? std::strtol(text, nullptr, 10) : 0;
}

void connection::closer::operator()(pg_conn* raw) const {
  PQfinish(raw);
}

connection::~connection() = default;

std::string with_connect_timeout(const std::string& conninfo, int connect_timeout_ms) {
  const int seconds = std::max(1, (connect_timeout_ms + 999) / 1000);
  if (conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://")) {
    return conninfo + (conninfo.find('?') == std::string::npos ? "?" : "&") +
           "connect_timeout=" + std::to_string(seconds);
  }
  return conninfo + " connect_timeout=" + std::to_string(seconds);
}

result<connection> connection::open(const std::string& conninfo, int connect_timeout_ms) {
  pg_conn* raw = PQconnectdb(with_connect_timeout(conninfo, connect_timeout_ms).c_str());
  if (raw == nullptr) return make_error(errc::connection_failed, "out of memory");
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string why = PQerrorMessage(raw);
    PQfinish(raw);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return make_error(errc::connection_failed, why);
  }
  return connection(raw);
}

namespace {

result<query_result> check(pg_conn* conn, pg_result* raw, std::string& sqlstate) {
  const auto status = PQresultStatus(raw);
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return query_result(raw);
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  sqlstate = state ? state : "";
  std::string why = raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn);
  PQclear(raw);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  return make_error(errc::query_failed, why);
}

}  // namespace

result<query_result> connection::exec(const std::string& sql) {
  return check(raw_.get(), PQexec(raw_.get(), sql.c_str()), last_sqlstate_);
}

result<query_result> connection::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return check(raw_.get(),
               PQexecParams(raw_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                            nullptr, 0),
               last_sqlstate_);
}

result<void> connection::copy_in(const std::string& copy_sql, std::string_view data) {
  pg_conn* conn = raw_.get();
  pg_result* started = PQexec(conn, copy_sql.c_str());
  if (PQresultStatus(started) != PGRES_COPY_IN) {
    if (PQresultStatus(started) == PGRES_COMMAND_OK || PQresultStatus(started) == PGRES_TUPLES_OK) {
      PQclear(started);
      last_sqlstate_ = "42601";
      return make_error(errc::query_failed, "not a COPY FROM STDIN: " + copy_sql);
    }
    auto failed = check(conn, started, last_sqlstate_);
    return tl::unexpected(failed.error());
  }
  PQclear(started);
  // Blocking connection: PQputCopyData queues and flushes as needed, never returning 0.
  constexpr std::size_t chunk_bytes = 1 << 20;
  bool sent = true;
  for (std::size_t at = 0; at < data.size() && sent; at += chunk_bytes) {
    const auto n = std::min(chunk_bytes, data.size() - at);
    sent = PQputCopyData(conn, data.data() + at, static_cast<int>(n)) == 1;
  }
  if (PQputCopyEnd(conn, sent ? nullptr : "client failed to send the data") != 1) sent = false;
  result<void> outcome;
  // The COPY's result, then NULL.
  while (pg_result* raw = PQgetResult(conn)) {
    if (outcome) {
      auto checked = check(conn, raw, last_sqlstate_);
      if (!checked) outcome = tl::unexpected(checked.error());
    } else {
      PQclear(raw);
    }
  }
  if (outcome && !sent) {
    last_sqlstate_.clear();
    return make_error(errc::query_failed, PQerrorMessage(conn));
  }
  return outcome;
}

bool connection::is_open() const {
  return raw_ && PQstatus(raw_.get()) == CONNECTION_OK;
}

std::optional<query_result> connection::exec_params(const std::string& sql,
                                                    const std::vector<std::optional<std::string>>& params,
                                                    server_error& error) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  pg_result* raw = PQexecParams(raw_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                nullptr, nullptr, 0);
  const auto status = PQresultStatus(raw);
  if (raw && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)) return query_result(raw);
  const auto field = [raw](int code) -> std::string {
    const char* text = raw ? PQresultErrorField(raw, code) : nullptr;
    return text ? std::string(text) : std::string();
  };
  error.sqlstate = field(PG_DIAG_SQLSTATE);
  error.message = field(PG_DIAG_MESSAGE_PRIMARY);
  error.detail = field(PG_DIAG_MESSAGE_DETAIL);
  error.hint = field(PG_DIAG_MESSAGE_HINT);
  if (error.message.empty()) {
    error.message = PQerrorMessage(raw_.get());
    while (!error.message.empty() && (error.message.back() == '\n' || error.message.back() == ' ')) {
      error.message.pop_back();
    }
  }
  PQclear(raw);
  return std::nullopt;
}

namespace {

void fill_error(pg_conn* conn, pg_result* raw, server_error& error) {
  const auto field = [raw](int code) -> std::string {
    const char* text = raw ? PQresultErrorField(raw, code) : nullptr;
    return text ? std::string(text) : std::string();
  };
  error.sqlstate = field(PG_DIAG_SQLSTATE);
  error.message = field(PG_DIAG_MESSAGE_PRIMARY);
  error.detail = field(PG_DIAG_MESSAGE_DETAIL);
  error.hint = field(PG_DIAG_MESSAGE_HINT);
  if (error.message.empty()) {
    error.message = PQerrorMessage(conn);
    while (!error.message.empty() && (error.message.back() == '\n' || error.message.back() == ' ')) {
      error.message.pop_back();
    }
  }
}

}  // namespace

std::optional<std::vector<query_result>> connection::exec_pipeline(const std::vector<pipelined>& statements,
                                                                   server_error& error) {
  pg_conn* conn = raw_.get();
  // Statements this pipeline prepares: (index, name); their Parse results come first.
  std::vector<std::pair<std::size_t, std::string>> preparing;
  const auto new_count = static_cast<std::size_t>(std::count_if(
      statements.begin(), statements.end(), [&](const auto& s) { return s.prepare && !prepared_.contains(s.sql); }));
  if (new_count > 0 && prepared_count_ + new_count > prepared_max) {
    pg_result* cleared = PQexec(conn, "deallocate all");
    const bool ok = PQresultStatus(cleared) == PGRES_COMMAND_OK;
    if (!ok) fill_error(conn, cleared, error);
    PQclear(cleared);
    if (!ok) return std::nullopt;
    prepared_.clear();
    prepared_count_ = 0;
  }
  if (PQenterPipelineMode(conn) != 1) {
    fill_error(conn, nullptr, error);
    return std::nullopt;
  }
  bool sent = true;
  std::vector<const char*> values;
  for (std::size_t i = 0; i < statements.size() && sent; ++i) {
    const auto& statement = statements[i];
    values.clear();
    for (const auto& p : statement.params) values.push_back(p ? p->c_str() : nullptr);
    const int count = static_cast<int>(values.size());
    if (!statement.prepare) {
      sent = PQsendQueryParams(conn, statement.sql.c_str(), count, nullptr, values.data(), nullptr, nullptr, 0) == 1;
      continue;
    }
    auto known = prepared_.find(statement.sql);
    std::string name;
    if (known != prepared_.end()) {
      name = known->second;
    } else {
      name = fmt::format("substrate_{}", prepared_next_++);
      sent = PQsendPrepare(conn, name.c_str(), statement.sql.c_str(), count, nullptr) == 1;
      preparing.emplace_back(i, name);
    }
    sent = sent && PQsendQueryPrepared(conn, name.c_str(), count, values.data(), nullptr, nullptr, 0) == 1;
  }
  if (!sent || PQpipelineSync(conn) != 1) {
    fill_error(conn, nullptr, error);
    // The connection's pipeline state is unknown: the caller discards it (broken() may be false).
    PQexitPipelineMode(conn);
    error.sqlstate.clear();
    return std::nullopt;
  }
  std::vector<query_result> results;
  bool failed = false;
  bool lost = false;
  // One result (then NULL) per Parse and per statement, then the sync marker.
  std::size_t next_prepare = 0;
  for (std::size_t i = 0; i < statements.size() && !lost; ++i) {
    const bool parse = next_prepare < preparing.size() && preparing[next_prepare].first == i;
    for (int step = parse ? 0 : 1; step < 2 && !lost; ++step) {
      pg_result* raw = PQgetResult(conn);
      if (raw == nullptr) {
        lost = true;
        break;
      }
      const auto status = PQresultStatus(raw);
      if (!failed && (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)) {
        if (step == 0) {
          // Prepared statements outlive transactions: a later rollback does not undo this one.
          prepared_.emplace(statements[i].sql, preparing[next_prepare].second);
          ++prepared_count_;
          PQclear(raw);
        } else {
          results.emplace_back(raw);
        }
      } else {
        if (!failed && status != PGRES_PIPELINE_ABORTED) {
          fill_error(conn, raw, error);
          error.statement = static_cast<int>(i);
          if (step == 1 && statements[i].prepare && error.sqlstate == "0A000") prepared_.erase(statements[i].sql);
        }
        failed = true;
        PQclear(raw);
      }
      while (pg_result* extra = PQgetResult(conn)) PQclear(extra);  // the NULL ending this step
    }
    if (parse) ++next_prepare;
  }
  for (;;) {
    pg_result* raw = PQgetResult(conn);
    if (raw == nullptr) {
      lost = true;  // no sync marker: the connection's state is unknown
      break;
    }
    const bool sync = PQresultStatus(raw) == PGRES_PIPELINE_SYNC;
    PQclear(raw);
    if (sync) break;
  }
  PQexitPipelineMode(conn);
  if (lost) {
    if (!failed) fill_error(conn, nullptr, error);
    error.sqlstate.clear();
    return std::nullopt;
  }
  if (failed) return std::nullopt;
  return results;
}

result<std::vector<std::string>> connection::wait_notifications(int timeout_ms) {
  pg_conn* conn = raw_.get();
  std::vector<std::string> payloads;
  const auto drain = [&] {
    while (PGnotify* n = PQnotifies(conn)) {
      payloads.emplace_back(n->extra ? n->extra : "");
      PQfreemem(n);
    }
  };
  drain();
  if (!payloads.empty()) return payloads;
  pollfd fd{PQsocket(conn), POLLIN, 0};
  if (fd.fd < 0) return make_error(errc::connection_failed, "the connection is closed");
  const int ready = ::poll(&fd, 1, timeout_ms);
  if (ready < 0) return payloads;  // EINTR: the caller waits again
  if (ready > 0 && PQconsumeInput(conn) != 1) {
    std::string why = PQerrorMessage(conn);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return make_error(errc::connection_failed, why);
  }
  drain();
  return payloads;
}

bool connection::broken() const {
  return PQstatus(raw_.get()) != CONNECTION_OK;
}

std::optional<std::string> ping(const std::string& conninfo, int connect_timeout_ms) {
  switch (PQping(with_connect_timeout(conninfo, connect_timeout_ms).c_str())) {
    case PQPING_OK:
      return std::nullopt;
    case PQPING_REJECT:
      return "the server rejects connections (starting up or shutting down)";
    case PQPING_NO_RESPONSE:
      return "no response from the server";
    case PQPING_NO_ATTEMPT:
      return "invalid connection parameters";
  }
  return "unknown ping result";
}

}  // namespace substrate::db
