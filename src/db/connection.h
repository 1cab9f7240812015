#pragma once
// A libpq connection (blocking). Use it at start-up or on the blocking pool, never on a shard.
//
// Ownership: move-only; the destructor closes the connection.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "db/errc.h"

struct pg_conn;
struct pg_result;

namespace substrate::db {

class query_result {
public:
  explicit query_result(pg_result* raw);
  [[nodiscard]] int rows() const;
  [[nodiscard]] int columns() const;
  [[nodiscard]] bool is_null(int row, int column) const;
  [[nodiscard]] std::string value(int row, int column) const;
  // Rows an INSERT/UPDATE/DELETE affected (PQcmdTuples); 0 for other commands.
  [[nodiscard]] long affected_rows() const;

private:
  std::shared_ptr<pg_result> raw_;
};

// A failed statement as PostgreSQL reported it (the fields the data API passes on to clients).
struct server_error {
  std::string sqlstate;  // five characters; empty when the connection itself failed
  std::string message;
  std::string detail;
  std::string hint;
  int statement = -1;  // exec_pipeline: the index of the statement that failed
};

class connection {
public:
  // `conninfo` is a libpq keyword/value string or a postgresql:// URL.
  [[nodiscard]] static result<connection> open(const std::string& conninfo, int connect_timeout_ms);

  connection(connection&&) noexcept = default;
  connection& operator=(connection&&) noexcept = default;
  ~connection();

  // Runs one or more statements without parameters.
  [[nodiscard]] result<query_result> exec(const std::string& sql);
  // Runs one statement with text parameters ($1, $2, ...); nullopt is SQL NULL.
  [[nodiscard]] result<query_result> exec(const std::string& sql,
                                          const std::vector<std::optional<std::string>>& params);

  // The SQLSTATE of the last failed exec ("" when the failure had none, e.g. a lost connection),
  // so callers can tell transient failures (40001, 40P01, 08xxx) from permanent ones.
  [[nodiscard]] const std::string& last_sqlstate() const { return last_sqlstate_; }
  // Whether the connection is still usable (false after the server went away).
  [[nodiscard]] bool is_open() const;
  // Like exec with parameters, but a failure keeps PostgreSQL's SQLSTATE, detail and hint.
  // Parameters are sent with unknown type (0): the server infers each from its use.
  [[nodiscard]] std::optional<query_result> exec_params(const std::string& sql,
                                                        const std::vector<std::optional<std::string>>& params,
                                                        server_error& error);
  // Sends every statement at once (libpq pipeline mode: one round trip) and returns each one's
  // result. On the first failure `error` is filled and nullopt returned; later statements were
  // not run. An explicit transaction begun in the pipeline stays open (aborted) after a failure:
  // the caller rolls it back.
  //
  // A statement with `prepare` runs as a named prepared statement of this connection, prepared
  // (Parse, in the same round trip) the first time its text is seen, so PostgreSQL parses,
  // analyses and (once its generic plan wins) plans it once per connection instead of once per
  // call. PostgreSQL re-analyses a prepared statement by itself when a table or function it uses
  // changes, or when the role or search_path it was analysed under differs (row-level security
  // policies are per role). When a change alters its result type PostgreSQL refuses to run it
  // (SQLSTATE 0A000, "cached plan must not change result type"): the statement is then forgotten
  // here, so running the same text again prepares it afresh. At most prepared_max statements
  // per connection: past that all are deallocated and preparing starts over.
  struct pipelined {
    std::string sql;
    std::vector<std::optional<std::string>> params;
    bool prepare = false;
  };
  static constexpr std::size_t prepared_max = 256;
  // Statements prepared on the server by this connection (including forgotten ones).
  [[nodiscard]] std::size_t prepared_count() const { return prepared_count_; }
  [[nodiscard]] std::optional<std::vector<query_result>> exec_pipeline(const std::vector<pipelined>& statements,
                                                                       server_error& error);
  // Runs `copy_sql` (a COPY ... FROM STDIN) and sends `data` in the COPY's format. The SQLSTATE
  // of a failure is in last_sqlstate(), as for exec. Not in pipeline mode.
  [[nodiscard]] result<void> copy_in(const std::string& copy_sql, std::string_view data);
  // On a connection that ran LISTEN: waits up to `timeout_ms` for notifications and returns
  // their payloads (none on timeout). An error when the connection broke.
  [[nodiscard]] result<std::vector<std::string>> wait_notifications(int timeout_ms);
  // True once libpq reports the connection broken (the server went away).
  [[nodiscard]] bool broken() const;

private:
  explicit connection(pg_conn* raw) : raw_(raw) {}
  struct closer {
    void operator()(pg_conn* raw) const;
  };
  std::unique_ptr<pg_conn, closer> raw_;
  std::string last_sqlstate_;
  std::unordered_map<std::string, std::string> prepared_;  // statement text -> server-side name
  std::size_t prepared_count_ = 0;
  std::uint64_t prepared_next_ = 0;
};

// Appends connect_timeout (whole seconds, at least 1) to a conninfo string or URL.
[[nodiscard]] std::string with_connect_timeout(const std::string& conninfo, int connect_timeout_ms);

// A blocking reachability probe (PQping): nothing when the server accepts connections,
// else a sentence saying why not. Used by /readyz.
[[nodiscard]] std::optional<std::string> ping(const std::string& conninfo, int connect_timeout_ms);

}  // namespace substrate::db
