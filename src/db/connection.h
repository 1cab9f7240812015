#pragma once
// A libpq connection (blocking). Use it at start-up or on the blocking pool, never on a shard.
//
// Ownership: move-only; the destructor closes the connection.

#include <memory>
#include <optional>
#include <string>
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

private:
  std::shared_ptr<pg_result> raw_;
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

private:
  explicit connection(pg_conn* raw) : raw_(raw) {}
  struct closer {
    void operator()(pg_conn* raw) const;
  };
  std::unique_ptr<pg_conn, closer> raw_;
  std::string last_sqlstate_;
};

// Appends connect_timeout (whole seconds, at least 1) to a conninfo string or URL.
[[nodiscard]] std::string with_connect_timeout(const std::string& conninfo, int connect_timeout_ms);

// A blocking reachability probe (PQping): nothing when the server accepts connections,
// else a sentence saying why not. Used by /readyz.
[[nodiscard]] std::optional<std::string> ping(const std::string& conninfo, int connect_timeout_ms);

}  // namespace substrate::db
