#pragma once
// The PostgREST-compatible data API, /rest/v1 (supabase-compat.md 3): tables and views of the
// exposed schemas, and functions under /rest/v1/rpc/{fn}.
//
// Every request runs in one transaction on a pooled connection (logged in as the authenticator
// role), with the token's role and claims set transaction-locally, so PostgreSQL's row-level
// security decides what the caller sees and changes. See README.md.
//
// Threads: handle() blocks (libpq) and runs on the blocking pool only; the routes added by
// add_routes hop there with run_blocking. The service must outlive the listener serving it.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "auth/verified_token_cache.h"
#include "core/result.h"
#include "db/pool.h"
#include "net/http_message.h"
#include "rest/query.h"
#include "rest/schema_cache.h"

namespace substrate::net {
class io_pool;
class router;
}  // namespace substrate::net

namespace substrate::rest {

struct service_options {
  std::string jwt_secret;                      // the project's HS256 secret
  std::vector<std::string> schemas{"public"};  // exposed; the first is the default profile
  db::pool_options pool;
  query_limits limits;
  std::int64_t leeway_s = 30;  // clock skew tolerated on exp / nbf / iat
  // Run the settings and each query shape as prepared statements of the connection (README.md).
  bool prepared_statements = true;
};

class service {
public:
  service(net::io_pool& io, service_options options);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  // Loads the schema cache (blocking; start-up or the blocking pool).
  [[nodiscard]] result<void> load_schema();
  // Reloads the schema cache on `NOTIFY pgrst, 'reload schema'` (PostgREST's convention; the
  // migrations' event trigger sends it after every DDL statement), from a thread of its own with
  // a LISTEN connection to `conninfo`, reconnecting when it breaks. Stopped by the destructor.
  void start_listener(std::string conninfo);
  // Serves one request (blocking: call on the blocking pool only).
  [[nodiscard]] net::http_response handle(const net::http_request& request);

  [[nodiscard]] net::io_pool& io() { return io_; }

private:
  struct context;
  // A token whose signature was verified, cached by its text until its exp (so a client's
  // repeated requests cost one map lookup instead of base64, JSON parsing and an HMAC).
  struct verified_token {
    std::string role;
    std::string claims;  // the claims as request.jwt.claims, with `role` filled in
  };
  static constexpr std::size_t token_cache_max = 4096;
  // The token's role and claims, from the cache or verified now (401 errors in PostgREST's shape).
  [[nodiscard]] api_result<std::shared_ptr<const verified_token>> verify(const std::string& token);
  [[nodiscard]] std::shared_ptr<const schema_cache> cache() const;
  // After a name was not found in `seen`: reloads the cache unless another request already did,
  // at most once per reload_interval (misses meanwhile wait for that reload), so a table created
  // a moment ago is found while a flood of unknown names costs at most 10 catalog reads a second.
  // True when a newer cache is in place.
  bool reload_after_miss(const schema_cache* seen);
  [[nodiscard]] api_result<net::http_response> serve(const net::http_request& request, context& ctx);
  [[nodiscard]] api_result<net::http_response> run(context& ctx, const std::shared_ptr<const schema_cache>& snapshot);
  static constexpr std::chrono::milliseconds reload_interval{100};

  net::io_pool& io_;
  service_options options_;
  db::pool pool_;
  mutable std::mutex cache_mutex_;
  std::shared_ptr<const schema_cache> cache_;
  std::mutex reload_mutex_;
  std::chrono::steady_clock::time_point last_reload_{};  // guarded by reload_mutex_
  auth::verified_token_cache<std::shared_ptr<const verified_token>> tokens_;
  std::atomic<bool> stopping_{false};
  std::thread listener_;
};

// GET/HEAD/POST/PATCH/DELETE /rest/v1/{table}, GET/HEAD/POST /rest/v1/rpc/{fn}.
void add_routes(net::router& routes, service& rest);

// Maps a PostgreSQL error to PostgREST's status (spec 3.6); `anon` decides 42501's 401 vs 403.
[[nodiscard]] int status_for_sqlstate(std::string_view sqlstate, bool anon);
// The error body {"code","details","hint","message"} with the status.
[[nodiscard]] net::http_response error_response(const api_error& error);

}  // namespace substrate::rest
