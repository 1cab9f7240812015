#pragma once
// The GoTrue-compatible Auth service behind /auth/v1 (supabase-compat.md 2; README.md here):
// sign-up, password and refresh-token grants, the user, logout, the admin API. Users, sessions
// and refresh tokens live in GoTrue's auth.* tables (migrations/0002); every sign-up, sign-in
// and sign-out writes its identity event to substrate.outbox in the same transaction
// (contracts.md 1.3), so an event exists exactly when the change committed.
//
// Every public call blocks (libpq, Argon2id): routes.cc runs them on the io_pool's blocking
// pool, those that hash passwords on a pool of their own (password_threads), never on a shard. Calls are thread-safe:
// the connection pool and the sign-in limiter lock; everything else is read-only after construction.
//
// Ownership: created by `up` before the API listener starts, destroyed after it stopped.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "auth/model.h"
#include "auth/password.h"
#include "auth/sign_in_limiter.h"
#include "core/config.h"
#include "core/metrics.h"
#include "db/pool.h"

namespace substrate::net {
class io_pool;
}

namespace substrate::auth {

struct service_options {
  std::string conninfo;
  int connect_timeout_ms = 5000;
  core::auth_config config;
  std::string jwt_secret;
  // The `iss` of access tokens, <public url>/auth/v1; a function because the public URL is
  // known only once the listener is bound.
  std::function<std::string()> issuer;
  // Unix microseconds; tests inject a clock.
  std::function<std::int64_t()> now_us;
  // Where the auth counters go (substrate_auth_*_total in /metrics); none when null.
  core::metrics_registry* metrics = nullptr;
};

// Who is asking: the client address, User-Agent and Authorization header of the request.
struct client_info {
  std::string address;
  std::optional<std::string> user_agent;
  std::optional<std::string> authorization;
};

// A successful answer: status, JSON body (none for 204) and extra headers.
struct reply {
  int status = 200;
  std::optional<nlohmann::json> body;
  std::vector<std::pair<std::string, std::string>> headers;
};
using reply_result = tl::expected<reply, api_error>;

class service {
public:
  service(net::io_pool& pool, service_options options);
  ~service();
  service(const service&) = delete;
  service& operator=(const service&) = delete;

  [[nodiscard]] net::io_pool& io() { return io_; }
  // auth.password_threads: routes.cc runs the calls that hash passwords on a pool of this many
  // threads of their own, so a burst of sign-ins cannot starve REST's blocking work.
  [[nodiscard]] std::size_t password_threads() const;

  // POST /signup
  [[nodiscard]] reply_result sign_up(const std::string& body, const client_info& client);
  // POST /token?grant_type=password | refresh_token (others: 400)
  [[nodiscard]] reply_result token(const std::string& grant_type, const std::string& body, const client_info& client);
  // GET /user, PUT /user
  [[nodiscard]] reply_result get_user(const client_info& client);
  [[nodiscard]] reply_result update_user(const std::string& body, const client_info& client);
  // POST /logout?scope=
  [[nodiscard]] reply_result logout(const std::string& scope, const client_info& client);
  // /admin/users...
  [[nodiscard]] reply_result admin_list_users(const std::string& page, const std::string& per_page,
                                              const client_info& client);
  [[nodiscard]] reply_result admin_create_user(const std::string& body, const client_info& client);
  [[nodiscard]] reply_result admin_get_user(const std::string& id, const client_info& client);
  [[nodiscard]] reply_result admin_update_user(const std::string& id, const std::string& body,
                                               const client_info& client);
  [[nodiscard]] reply_result admin_delete_user(const std::string& id, const std::string& body,
                                               const client_info& client);
  // GET /settings (no I/O)
  [[nodiscard]] nlohmann::json settings() const;

  struct impl;

private:
  struct counters;
  net::io_pool& io_;
  std::unique_ptr<counters> counters_;
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::auth
