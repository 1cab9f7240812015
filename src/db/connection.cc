#include "db/connection.h"

#include <algorithm>

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

bool connection::is_open() const {
  return raw_ && PQstatus(raw_.get()) == CONNECTION_OK;
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
