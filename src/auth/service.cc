#include "auth/service.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>

#include <arpa/inet.h>
#include <fmt/format.h>

#include "auth/jwt.h"
#include "auth/logger.h"

namespace substrate::auth {
namespace {

constexpr const char* instance_id = "00000000-0000-0000-0000-000000000000";

// A database error inside a call: the call answers 500 and its connection is discarded.
struct db_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using params = std::vector<std::optional<std::string>>;

db::query_result run(db::connection& conn, const std::string& sql, const params& values = {}) {
  auto r = values.empty() ? conn.exec(sql) : conn.exec(sql, values);
  if (!r) throw db_failure(r.error().message());
  return std::move(*r);
}

// Timestamps as RFC 3339 UTC with microseconds, the format of user_record.
std::string timestamp_column(std::string_view column) {
  return fmt::format("to_char({} at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", column);
}

const std::string user_columns = [] {
  std::string columns =
      "id::text, coalesce(aud, ''), coalesce(role, ''), coalesce(email, ''), coalesce(phone, ''), "
      "coalesce(encrypted_password, '')";
  for (const char* column : {"email_confirmed_at", "confirmed_at", "confirmation_sent_at", "last_sign_in_at",
                             "created_at", "updated_at", "banned_until", "deleted_at"}) {
    columns += ", " + timestamp_column(column);
  }
  return columns +
         ", coalesce(raw_app_meta_data, '{}')::text, coalesce(raw_user_meta_data, '{}')::text, is_anonymous, "
         "coalesce(banned_until > now(), false)";
}();

struct loaded_user {
  user_record user;
  bool banned = false;
};

nlohmann::json parse_object_text(const std::string& text) {
  auto value = nlohmann::json::parse(text, nullptr, false);
  return value.is_object() ? value : nlohmann::json::object();
}

loaded_user user_from_row(const db::query_result& r, int row) {
  loaded_user out;
  auto& u = out.user;
  u.id = r.value(row, 0);
  u.aud = r.value(row, 1);
  u.role = r.value(row, 2);
  u.email = r.value(row, 3);
  u.phone = r.value(row, 4);
  u.encrypted_password = r.value(row, 5);
  const auto opt = [&](int column) -> std::optional<std::string> {
    if (r.is_null(row, column)) return std::nullopt;
    return r.value(row, column);
  };
  u.email_confirmed_at = opt(6);
  u.confirmed_at = opt(7);
  u.confirmation_sent_at = opt(8);
  u.last_sign_in_at = opt(9);
  u.created_at = opt(10);
  u.updated_at = opt(11);
  u.banned_until = opt(12);
  u.deleted_at = opt(13);
  u.app_metadata = parse_object_text(r.value(row, 14));
  u.user_metadata = parse_object_text(r.value(row, 15));
  u.is_anonymous = r.value(row, 16) == "t";
  out.banned = r.value(row, 17) == "t";
  return out;
}

std::optional<loaded_user> load_user(db::connection& conn, const std::string& where, const params& values) {
  auto r = run(conn, fmt::format("select {} from auth.users where {}", user_columns, where), values);
  if (r.rows() == 0) return std::nullopt;
  return user_from_row(r, 0);
}

// The client address as PostgreSQL inet text, or null when it is not an IP address.
std::optional<std::string> inet_or_null(const std::string& address) {
  unsigned char buffer[16];
  if (::inet_pton(AF_INET, address.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, address.c_str(), buffer) == 1) {
    return address;
  }
  return std::nullopt;
}

std::optional<std::string> non_empty(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return value;
}

std::optional<std::string> optional_value(const db::query_result& r, int row, int column) {
  if (r.is_null(row, column)) return std::nullopt;
  return r.value(row, column);
}

void insert_outbox(db::connection& conn, const char* topic, const std::string& key, const nlohmann::json& payload) {
  run(conn, "insert into substrate.outbox (topic, key, payload) values ($1, $2, $3::jsonb)",
      {std::string(topic), key, payload.dump()});
}

// A transaction on a leased connection: rolled back (and the connection discarded) unless
// committed.
class transaction {
public:
  explicit transaction(db::pool::lease& lease) : lease_(lease) { run(*lease_, "begin"); }
  ~transaction() {
    if (done_) return;
    if (!(*lease_).exec("rollback")) lease_.discard();
  }
  void commit() {
    run(*lease_, "commit");
    done_ = true;
  }
  db::connection& conn() { return *lease_; }

private:
  db::pool::lease& lease_;
  bool done_ = false;
};

bool is_admin_role(const nlohmann::json& role) {
  return role.is_string() && (role == "service_role" || role == "supabase_admin");
}

std::optional<std::string> string_member(const nlohmann::json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// Merges `patch` into `target` the way GoTrue updates metadata: keys set, null removes.
void merge_metadata(nlohmann::json& target, const nlohmann::json& patch) {
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null())
      target.erase(it.key());
    else
      target[it.key()] = *it;
  }
}

// "24h", "30m", "90s", "1h30m" -> seconds; "none" -> 0; nullopt when malformed.
std::optional<std::int64_t> parse_duration_s(std::string_view text) {
  if (text == "none") return 0;
  std::int64_t total = 0;
  std::int64_t number = -1;
  for (const char c : text) {
    if (c >= '0' && c <= '9') {
      number = (number < 0 ? 0 : number) * 10 + (c - '0');
      if (number > 100'000'000) return std::nullopt;
    } else if (number >= 0 && (c == 'h' || c == 'm' || c == 's')) {
      total += number * (c == 'h' ? 3600 : c == 'm' ? 60 : 1);
      number = -1;
    } else {
      return std::nullopt;
    }
  }
  if (number >= 0 || text.empty()) return std::nullopt;
  return total;
}

}  // namespace

struct service::impl {
  service_options options;
  db::pool pool;
  sign_in_limiter limiter;
  argon2_parameters argon2;

  explicit impl(service_options o)
      : options(std::move(o)),
        pool(db::pool_options{.conninfo = options.conninfo,
                              .size = static_cast<std::size_t>(options.config.connections_max),
                              .acquire_timeout_ms = 10'000,
                              .connect_timeout_ms = options.connect_timeout_ms,
                              .on_connect = "set application_name = 'substrate-auth'"}),
        limiter({options.config.sign_in_email_failures_burst, options.config.sign_in_email_refill_s},
                {options.config.sign_in_address_failures_burst, options.config.sign_in_address_refill_s}, 100'000,
                {options.config.sign_up_address_burst, options.config.sign_up_address_refill_s}),
        argon2{static_cast<std::uint32_t>(options.config.argon2_memory_kib),
               static_cast<std::uint32_t>(options.config.argon2_iterations),
               static_cast<std::uint32_t>(options.config.argon2_parallelism)} {
    if (!options.now_us) {
      options.now_us = [] {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      };
    }
  }

  [[nodiscard]] token_settings tokens() const {
    return {options.issuer ? options.issuer() : std::string("/auth/v1"), options.config.jwt_expiry_s};
  }

  // Runs `body` with a leased connection; database errors become 500 and discard it.
  template <class Body>
  reply_result with_connection(const char* what, Body&& body) {
    auto lease = pool.acquire();
    if (!lease) {
      auth_log.error("{}: no database connection: {}", what, lease.error().message());
      return tl::unexpected(errors::unexpected_failure("Database error: no connection"));
    }
    try {
      return body(*lease);
    } catch (const db_failure& e) {
      lease->discard();
      auth_log.error("{}: database error: {}", what, e.what());
      return tl::unexpected(errors::unexpected_failure(fmt::format("Database error during {}", what)));
    }
  }

  tl::expected<nlohmann::json, api_error> parse_body(const std::string& body) {
    if (body.empty()) return nlohmann::json::object();
    auto value = nlohmann::json::parse(body, nullptr, false);
    if (value.is_discarded()) return tl::unexpected(errors::bad_json("invalid JSON"));
    if (!value.is_object()) return tl::unexpected(errors::bad_json("expected a JSON object"));
    return value;
  }

  // Verifies the bearer token (supabase-compat.md 2.1: 401 without one, 403 bad_jwt otherwise).
  tl::expected<nlohmann::json, api_error> authenticate(const client_info& client) {
    if (!client.authorization) return tl::unexpected(errors::no_authorization());
    std::string_view value = *client.authorization;
    if (value.size() < 7 || !(value.substr(0, 7) == "Bearer " || value.substr(0, 7) == "bearer ")) {
      return tl::unexpected(errors::no_authorization());
    }
    value.remove_prefix(7);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (value.empty()) return tl::unexpected(errors::no_authorization());
    auto token = verify_hs256(value, options.jwt_secret,
                              {.now_s = options.now_us() / 1'000'000, .leeway_s = 0, .require_exp = false});
    if (!token) {
      return tl::unexpected(errors::bad_jwt(
          fmt::format("invalid JWT: unable to parse or verify signature, {}", token.error().code.message())));
    }
    return std::move(token->claims);
  }

  // The user of a user token: sub must name an existing user and session_id (when present) a
  // live session of it.
  tl::expected<std::pair<loaded_user, std::optional<std::string>>, api_error> current_user(
      db::connection& conn, const nlohmann::json& claims) {
    const auto sub = string_member(claims, "sub");
    if (!sub || sub->empty()) return tl::unexpected(errors::bad_jwt("invalid claim: missing sub claim"));
    if (!is_uuid(*sub)) return tl::unexpected(errors::bad_jwt("invalid claim: sub claim must be a UUID"));
    auto user = load_user(conn, "id = $1::uuid", {*sub});
    if (!user) return tl::unexpected(errors::user_not_found_from_sub());
    auto session_id = string_member(claims, "session_id");
    if (session_id) {
      if (!is_uuid(*session_id)) return tl::unexpected(errors::session_not_found());
      auto r = run(conn, "select 1 from auth.sessions where id = $1::uuid and user_id = $2::uuid", {*session_id, *sub});
      if (r.rows() == 0) return tl::unexpected(errors::session_not_found());
    }
    return std::make_pair(std::move(*user), std::move(session_id));
  }

  tl::expected<nlohmann::json, api_error> require_admin(const client_info& client) {
    auto claims = authenticate(client);
    if (!claims) return claims;
    const auto role = claims->find("role");
    if (role == claims->end() || !is_admin_role(*role)) return tl::unexpected(errors::not_admin());
    return claims;
  }

  struct new_session {
    std::string id;
    std::string refresh_token;
  };

  new_session create_session(db::connection& conn, const std::string& user_id, const std::string& now,
                             const client_info& client) {
    new_session s{new_uuid(), new_refresh_token()};
    run(conn,
        "insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip) "
        "values ($1::uuid, $2::uuid, $3::timestamptz, $3::timestamptz, 'aal1', $4, $5::inet)",
        {s.id, user_id, now, client.user_agent, inet_or_null(client.address)});
    run(conn,
        "insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, "
        "session_id) values ($1::uuid, $2, $3, false, $4::timestamptz, $4::timestamptz, null, $5::uuid)",
        {std::string(instance_id), s.refresh_token, user_id, now, s.id});
    return s;
  }

  // Marks the sign-in (GoTrue updates last_sign_in_at; the reference's login trigger fires on
  // exactly that) and writes the login event.
  void record_sign_in(db::connection& conn, const std::string& user_id, const std::string& email,
                      const std::string& now, const client_info& client) {
    run(conn,
        "update auth.users set last_sign_in_at = $2::timestamptz, updated_at = $2::timestamptz where id = $1::uuid",
        {user_id, now});
    insert_outbox(conn, login_topic, user_id,
                  login_event(user_id, email, now, client.user_agent, inet_or_null(client.address)));
  }

  reply session_reply(const user_record& user, const std::string& session_id, const std::string& refresh_token,
                      std::int64_t auth_time_s) {
    const auto settings = tokens();
    const std::int64_t now_s = options.now_us() / 1'000'000;
    const auto token = sign_hs256(access_claims(user, session_id, now_s, auth_time_s, settings), options.jwt_secret);
    return reply{200, session_json(token, refresh_token, now_s, settings, user), {}};
  }

  nlohmann::json initial_user_metadata(const nlohmann::json& data, const std::string& id, const std::string& email,
                                       bool confirmed) {
    nlohmann::json metadata = data.is_object() ? data : nlohmann::json::object();
    metadata["sub"] = id;
    metadata["email"] = email;
    metadata["email_verified"] = confirmed;
    metadata["phone_verified"] = false;
    return metadata;
  }

  reply_result sign_up(const std::string& body_text, const client_info& client) {
    if (!options.config.signup_enabled) return tl::unexpected(errors::signup_disabled());
    if (!limiter.take_sign_up(client.address, options.now_us() / 1000)) {
      auth_log.warn("sign-up refused: too many from one address", {{"address", client.address}});
      return tl::unexpected(errors::over_request_rate_limit());
    }
    auto body = parse_body(body_text);
    if (!body) return tl::unexpected(body.error());
    const auto raw_email = string_member(*body, "email");
    if (!raw_email || raw_email->empty()) {
      return tl::unexpected(errors::validation_failed("To signup, please provide your email"));
    }
    const auto email = normalize_email(*raw_email);
    if (!email) return tl::unexpected(errors::validation_failed("Unable to validate email address: invalid format"));
    const std::string password = string_member(*body, "password").value_or("");
    if (auto problem = check_new_password(password, options.config.password_length_min)) {
      return tl::unexpected(*problem);
    }
    nlohmann::json data = nlohmann::json::object();
    if (const auto it = body->find("data"); it != body->end() && !it->is_null()) {
      if (!it->is_object()) return tl::unexpected(errors::validation_failed("data must be a JSON object"));
      data = *it;
    }
    auto hash = hash_password(password, argon2);
    if (!hash) return tl::unexpected(errors::unexpected_failure("password hashing failed"));
    const bool confirm = options.config.autoconfirm;
    return with_connection("sign-up", [&](db::pool::lease& lease) -> reply_result {
      transaction tx(lease);
      const std::string id = new_uuid();
      const std::string now = rfc3339_us(options.now_us());
      const nlohmann::json app_metadata = {{"provider", "email"}, {"providers", {"email"}}};
      auto inserted = run(tx.conn(),
                          "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, "
                          "email_confirmed_at, confirmation_sent_at, raw_app_meta_data, raw_user_meta_data, "
                          "created_at, updated_at, is_sso_user, is_anonymous) "
                          "values ($1::uuid, $2::uuid, 'authenticated', 'authenticated', $3, $4, $5::timestamptz, "
                          "$6::timestamptz, $7::jsonb, $8::jsonb, $9::timestamptz, $9::timestamptz, false, false) "
                          "on conflict ((lower(email))) where is_sso_user = false and email is not null do nothing "
                          "returning id",
                          {std::string(instance_id), id, *email, *hash, confirm ? std::optional(now) : std::nullopt,
                           confirm ? std::nullopt : std::optional(now), app_metadata.dump(),
                           initial_user_metadata(data, id, *email, confirm).dump(), now});
      if (inserted.rows() == 0) {
        if (confirm) return tl::unexpected(errors::user_already_exists());
        // GoTrue answers a duplicate without autoconfirm with an obfuscated user, so that
        // sign-up cannot tell which addresses have accounts.
        user_record fake;
        fake.id = new_uuid();
        fake.email = *email;
        fake.confirmation_sent_at = now;
        fake.created_at = now;
        fake.updated_at = now;
        fake.app_metadata = app_metadata;
        fake.user_metadata = data;
        auto json = user_json(fake);
        json["identities"] = nlohmann::json::array();
        return reply{200, std::move(json), {}};
      }
      insert_outbox(tx.conn(), signup_topic, id, signup_event(id, *email, now));
      std::optional<new_session> session;
      if (confirm) {
        session = create_session(tx.conn(), id, now, client);
        record_sign_in(tx.conn(), id, *email, now, client);
      }
      auto user = load_user(tx.conn(), "id = $1::uuid", {id});
      if (!user) throw db_failure("the new user vanished");
      tx.commit();
      if (!session) return reply{200, user_json(user->user), {}};
      return session_reply(user->user, session->id, session->refresh_token, options.now_us() / 1'000'000);
    });
  }

  reply_result password_grant(const nlohmann::json& body, const client_info& client) {
    const auto raw_email = string_member(body, "email");
    if (!raw_email || raw_email->empty()) {
      return tl::unexpected(errors::validation_failed("missing email or phone"));
    }
    std::string key = *raw_email;
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string password = string_member(body, "password").value_or("");
    const std::int64_t now_ms = options.now_us() / 1000;
    if (!limiter.allowed(key, client.address, now_ms)) {
      auth_log.warn("password sign-in refused: too many failures", {{"address", client.address}});
      return tl::unexpected(errors::over_request_rate_limit());
    }
    std::optional<loaded_user> user;
    {
      auto looked_up = with_connection("sign-in", [&](db::pool::lease& lease) -> reply_result {
        user = load_user(*lease, "lower(email) = $1 and deleted_at is null and is_sso_user = false", {key});
        return reply{};
      });
      if (!looked_up) return looked_up;
    }
    // The hash is verified in every case, so that an unknown e-mail costs the same time.
    const bool match = !password.empty() &&
                       verify_password(password, user ? user->user.encrypted_password : dummy_hash(argon2)) && user;
    if (!match) {
      limiter.record_failure(key, client.address, now_ms);
      return tl::unexpected(errors::invalid_credentials());
    }
    if (!user->user.email_confirmed_at) return tl::unexpected(errors::email_not_confirmed());
    if (user->banned) return tl::unexpected(errors::user_banned());
    const std::string user_id = user->user.id;
    return with_connection("sign-in", [&](db::pool::lease& lease) -> reply_result {
      transaction tx(lease);
      const std::string now = rfc3339_us(options.now_us());
      auto session = create_session(tx.conn(), user_id, now, client);
      record_sign_in(tx.conn(), user_id, user->user.email, now, client);
      auto fresh = load_user(tx.conn(), "id = $1::uuid", {user_id});
      if (!fresh) return tl::unexpected(errors::invalid_credentials());  // deleted meanwhile
      tx.commit();
      return session_reply(fresh->user, session.id, session.refresh_token, options.now_us() / 1'000'000);
    });
  }

  reply_result refresh_grant(const nlohmann::json& body) {
    const auto presented = string_member(body, "refresh_token");
    if (!presented || presented->empty()) return tl::unexpected(errors::refresh_token_not_found());
    return with_connection("refresh", [&](db::pool::lease& lease) -> reply_result {
      transaction tx(lease);
      // FOR UPDATE serialises concurrent refreshes of one token: the second sees it revoked.
      auto r = run(tx.conn(),
                   "select rt.id, rt.revoked, rt.session_id::text, rt.user_id, "
                   "(extract(epoch from rt.updated_at) * 1000)::bigint, "
                   "extract(epoch from s.created_at)::bigint "
                   "from auth.refresh_tokens rt join auth.sessions s on s.id = rt.session_id "
                   "where rt.token = $1 for update of rt",
                   {*presented});
      if (r.rows() == 0) return tl::unexpected(errors::refresh_token_not_found());
      const std::string token_id = r.value(0, 0);
      const bool revoked = r.value(0, 1) == "t";
      const std::string session_id = r.value(0, 2);
      const std::string user_id = r.value(0, 3);
      const std::int64_t revoked_at_ms = std::stoll(r.value(0, 4));
      const std::int64_t auth_time_s = std::stoll(r.value(0, 5));
      const std::int64_t now_us = options.now_us();
      const std::string now = rfc3339_us(now_us);

      auto active = run(tx.conn(),
                        "select token, coalesce(parent, '') from auth.refresh_tokens "
                        "where session_id = $1::uuid and revoked = false order by id desc limit 1",
                        {session_id});
      refresh_token_state state{revoked, active.rows() == 1 && active.value(0, 1) == *presented, revoked_at_ms};
      std::string issued;
      switch (decide_refresh(state, now_us / 1000, options.config.refresh_reuse_interval_s * 1000)) {
        case refresh_decision::already_used:
          run(tx.conn(),
              "update auth.refresh_tokens set revoked = true, updated_at = $2::timestamptz "
              "where session_id = $1::uuid and revoked = false",
              {session_id, now});
          tx.commit();
          auth_log.warn("a rotated refresh token was reused: the session's tokens are revoked",
                        {{"session_id", session_id}});
          return tl::unexpected(errors::refresh_token_already_used());
        case refresh_decision::reuse_active:
          issued = active.value(0, 0);
          break;
        case refresh_decision::rotate:
          issued = new_refresh_token();
          run(tx.conn(), "update auth.refresh_tokens set revoked = true, updated_at = $2::timestamptz where id = $1",
              {token_id, now});
          run(tx.conn(),
              "insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, "
              "session_id) values ($1::uuid, $2, $3, false, $4::timestamptz, $4::timestamptz, $5, $6::uuid)",
              {std::string(instance_id), issued, user_id, now, *presented, session_id});
          run(tx.conn(),
              "update auth.sessions set refreshed_at = $2::timestamp, updated_at = $2::timestamptz where id = $1::uuid",
              {session_id, now});
          break;
      }
      auto user = load_user(tx.conn(), "id = $1::uuid", {user_id});
      if (!user) return tl::unexpected(errors::refresh_token_not_found());
      if (user->banned) return tl::unexpected(errors::user_banned());
      tx.commit();
      return session_reply(user->user, session_id, issued, auth_time_s);
    });
  }

  reply_result logout(const std::string& scope_param, const client_info& client) {
    const std::string scope = scope_param.empty() ? "global" : scope_param;
    if (scope != "global" && scope != "local" && scope != "others") {
      return tl::unexpected(errors::validation_failed(fmt::format("Unsupported logout scope \"{}\"", scope)));
    }
    auto claims = authenticate(client);
    if (!claims) return tl::unexpected(claims.error());
    return with_connection("logout", [&](db::pool::lease& lease) -> reply_result {
      transaction tx(lease);
      auto current = current_user(tx.conn(), *claims);
      if (!current) return tl::unexpected(current.error());
      const auto& [user, session_id] = *current;
      std::string where = "user_id = $1::uuid";
      params values{user.user.id};
      if (scope != "global") {
        if (!session_id) return reply{204, std::nullopt, {}};
        where += scope == "local" ? " and id = $2::uuid" : " and id <> $2::uuid";
        values.push_back(*session_id);
      }
      auto deleted = run(
          tx.conn(), fmt::format("delete from auth.sessions where {} returning id::text, user_agent, host(ip)", where),
          values);
      const std::string now = rfc3339_us(options.now_us());
      for (int row = 0; row < deleted.rows(); ++row) {
        insert_outbox(tx.conn(), signout_topic, user.user.id,
                      signout_event(user.user.id, non_empty(user.user.email), now, optional_value(deleted, row, 1),
                                    optional_value(deleted, row, 2)));
      }
      tx.commit();
      return reply{204, std::nullopt, {}};
    });
  }

  // Deletes every session of `user_id`, writing a signout event for each (the reference's
  // trigger on auth.sessions does the same); `email` null when the user is being deleted.
  void end_all_sessions(db::connection& conn, const std::string& user_id, const std::optional<std::string>& email) {
    auto deleted =
        run(conn, "delete from auth.sessions where user_id = $1::uuid returning user_agent, host(ip)", {user_id});
    const std::string now = rfc3339_us(options.now_us());
    for (int row = 0; row < deleted.rows(); ++row) {
      insert_outbox(
          conn, signout_topic, user_id,
          signout_event(user_id, email, now, optional_value(deleted, row, 0), optional_value(deleted, row, 1)));
    }
  }
};

// substrate_auth_{sign_ups,sign_ins,refreshes}_total{outcome="ok|failed|rate_limited"}.
struct service::counters {
  explicit counters(core::metrics_registry* registry) {
    if (!registry) return;
    const auto add = [&](const char* name, const char* help, std::array<core::counter*, 3>& out) {
      auto& family = registry->add_counter(name, help, {"outcome"});
      out = {&family.labels({"ok"}), &family.labels({"failed"}), &family.labels({"rate_limited"})};
    };
    add("substrate_auth_sign_ups_total", "Sign-ups (POST /auth/v1/signup) by outcome.", sign_ups_);
    add("substrate_auth_sign_ins_total", "Password sign-ins (grant_type=password) by outcome.", sign_ins_);
    add("substrate_auth_refreshes_total", "Refresh-token grants by outcome.", refreshes_);
  }
  enum class kind { sign_up, sign_in, refresh };
  void count(kind k, const reply_result& outcome) {
    auto& counters = k == kind::sign_up ? sign_ups_ : k == kind::sign_in ? sign_ins_ : refreshes_;
    const std::size_t index = outcome ? 0 : outcome.error().code == "over_request_rate_limit" ? 2 : 1;
    if (counters[index]) counters[index]->increment();
  }

  std::array<core::counter*, 3> sign_ups_{};
  std::array<core::counter*, 3> sign_ins_{};
  std::array<core::counter*, 3> refreshes_{};
};

service::service(net::io_pool& pool, service_options options)
    : io_(pool),
      counters_(std::make_unique<counters>(options.metrics)),
      impl_(std::make_unique<impl>(std::move(options))) {}

service::~service() = default;

std::size_t service::password_threads() const {
  return static_cast<std::size_t>(std::max<std::int64_t>(1, impl_->options.config.password_threads));
}

reply_result service::sign_up(const std::string& body, const client_info& client) {
  auto outcome = impl_->sign_up(body, client);
  counters_->count(counters::kind::sign_up, outcome);
  return outcome;
}

reply_result service::token(const std::string& grant_type, const std::string& body_text, const client_info& client) {
  if (grant_type != "password" && grant_type != "refresh_token") {
    return tl::unexpected(api_error{400, "invalid_credentials", "unsupported_grant_type", nlohmann::json::object()});
  }
  const auto kind = grant_type == "password" ? counters::kind::sign_in : counters::kind::refresh;
  auto body = impl_->parse_body(body_text);
  reply_result outcome = !body                      ? reply_result(tl::unexpected(body.error()))
                         : grant_type == "password" ? impl_->password_grant(*body, client)
                                                    : impl_->refresh_grant(*body);
  counters_->count(kind, outcome);
  return outcome;
}

reply_result service::get_user(const client_info& client) {
  auto claims = impl_->authenticate(client);
  if (!claims) return tl::unexpected(claims.error());
  return impl_->with_connection("get user", [&](db::pool::lease& lease) -> reply_result {
    auto current = impl_->current_user(*lease, *claims);
    if (!current) return tl::unexpected(current.error());
    return reply{200, user_json(current->first.user), {}};
  });
}

reply_result service::update_user(const std::string& body_text, const client_info& client) {
  auto claims = impl_->authenticate(client);
  if (!claims) return tl::unexpected(claims.error());
  auto body = impl_->parse_body(body_text);
  if (!body) return tl::unexpected(body.error());
  std::optional<std::string> hash;
  if (const auto password = string_member(*body, "password")) {
    if (auto problem = check_new_password(*password, impl_->options.config.password_length_min)) {
      return tl::unexpected(*problem);
    }
    auto hashed = hash_password(*password, impl_->argon2);
    if (!hashed) return tl::unexpected(errors::unexpected_failure("password hashing failed"));
    hash = std::move(*hashed);
  }
  const auto data = body->find("data");
  if (data != body->end() && !data->is_null() && !data->is_object()) {
    return tl::unexpected(errors::validation_failed("data must be a JSON object"));
  }
  return impl_->with_connection("update user", [&](db::pool::lease& lease) -> reply_result {
    transaction tx(lease);
    auto current = impl_->current_user(tx.conn(), *claims);
    if (!current) return tl::unexpected(current.error());
    auto& user = current->first.user;
    const std::string now = rfc3339_us(impl_->options.now_us());
    if (data != body->end() && data->is_object()) merge_metadata(user.user_metadata, *data);
    run(tx.conn(),
        "update auth.users set raw_user_meta_data = $2::jsonb, encrypted_password = coalesce($3, encrypted_password), "
        "updated_at = $4::timestamptz where id = $1::uuid",
        {user.id, user.user_metadata.dump(), hash, now});
    auto fresh = load_user(tx.conn(), "id = $1::uuid", {user.id});
    tx.commit();
    return reply{200, user_json(fresh ? fresh->user : user), {}};
  });
}

reply_result service::logout(const std::string& scope, const client_info& client) {
  return impl_->logout(scope, client);
}

reply_result service::admin_list_users(const std::string& page_text, const std::string& per_page_text,
                                       const client_info& client) {
  auto admin = impl_->require_admin(client);
  if (!admin) return tl::unexpected(admin.error());
  const auto parse = [](const std::string& text, std::int64_t fallback) -> std::optional<std::int64_t> {
    if (text.empty()) return fallback;
    if (text.size() > 9) return std::nullopt;
    std::int64_t value = 0;
    for (const char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + (c - '0');
    }
    return value;
  };
  const auto page = parse(page_text, 1);
  const auto per_page = parse(per_page_text, 50);
  if (!page || !per_page || *page < 1 || *per_page < 1 || *per_page > 1000) {
    return tl::unexpected(errors::validation_failed("Bad Pagination Parameters"));
  }
  return impl_->with_connection("list users", [&](db::pool::lease& lease) -> reply_result {
    auto count = run(*lease, "select count(*) from auth.users");
    const std::int64_t total = std::stoll(count.value(0, 0));
    auto rows = run(*lease,
                    fmt::format("select {} from auth.users order by created_at desc nulls last, id limit $1 offset $2",
                                user_columns),
                    {std::to_string(*per_page), std::to_string((*page - 1) * *per_page)});
    nlohmann::json users = nlohmann::json::array();
    for (int row = 0; row < rows.rows(); ++row) users.push_back(user_json(user_from_row(rows, row).user));
    const std::int64_t last = std::max<std::int64_t>(1, (total + *per_page - 1) / *per_page);
    std::string link;
    if (*page < last) {
      link = fmt::format("</admin/users?page={}&per_page={}>; rel=\"next\", ", *page + 1, *per_page);
    }
    link += fmt::format("</admin/users?page={}&per_page={}>; rel=\"last\"", last, *per_page);
    return reply{200,
                 nlohmann::json{{"users", std::move(users)}, {"aud", "authenticated"}},
                 {{"X-Total-Count", std::to_string(total)}, {"Link", link}}};
  });
}

reply_result service::admin_create_user(const std::string& body_text, const client_info& client) {
  auto admin = impl_->require_admin(client);
  if (!admin) return tl::unexpected(admin.error());
  auto body = impl_->parse_body(body_text);
  if (!body) return tl::unexpected(body.error());
  const auto raw_email = string_member(*body, "email");
  const auto phone = string_member(*body, "phone");
  std::optional<std::string> email;
  if (raw_email && !raw_email->empty()) {
    email = normalize_email(*raw_email);
    if (!email) return tl::unexpected(errors::validation_failed("Unable to validate email address: invalid format"));
  } else if (!phone || phone->empty()) {
    return tl::unexpected(errors::validation_failed("Unable to validate email address: invalid format"));
  }
  std::string password = string_member(*body, "password").value_or("");
  if (password.size() > password_bytes_max) {
    return tl::unexpected(errors::validation_failed("Password cannot be longer than 72 characters"));
  }
  if (password.empty()) password = new_refresh_token();  // GoTrue sets a random one
  std::string id = new_uuid();
  if (const auto given = string_member(*body, "id")) {
    if (!is_uuid(*given)) return tl::unexpected(errors::validation_failed("id must be a UUID"));
    id = *given;
    for (auto& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  nlohmann::json app_metadata = {{"provider", "email"}, {"providers", {"email"}}};
  if (const auto it = body->find("app_metadata"); it != body->end() && it->is_object()) {
    merge_metadata(app_metadata, *it);
  }
  nlohmann::json user_metadata = nlohmann::json::object();
  if (const auto it = body->find("user_metadata"); it != body->end() && it->is_object()) user_metadata = *it;
  const bool confirm = body->value("email_confirm", false);
  const std::string role = string_member(*body, "role").value_or("authenticated");
  if (confirm && email) user_metadata["email_verified"] = true;
  std::optional<std::int64_t> ban_s;
  if (const auto ban = string_member(*body, "ban_duration")) {
    ban_s = parse_duration_s(*ban);
    if (!ban_s) return tl::unexpected(errors::validation_failed("invalid format for ban duration"));
  }
  auto hash = hash_password(password, impl_->argon2);
  if (!hash) return tl::unexpected(errors::unexpected_failure("password hashing failed"));
  return impl_->with_connection("create user", [&](db::pool::lease& lease) -> reply_result {
    transaction tx(lease);
    const std::int64_t now_us = impl_->options.now_us();
    const std::string now = rfc3339_us(now_us);
    if (run(tx.conn(), "select 1 from auth.users where id = $1::uuid", {id}).rows() > 0) {
      return tl::unexpected(api_error{422, "user_already_exists", "User already registered", nlohmann::json::object()});
    }
    std::optional<std::string> banned_until;
    if (ban_s && *ban_s > 0) banned_until = rfc3339_us(now_us + *ban_s * 1'000'000);
    auto inserted =
        run(tx.conn(),
            "insert into auth.users (instance_id, id, aud, role, email, phone, encrypted_password, "
            "email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at, "
            "banned_until, is_sso_user, is_anonymous) "
            "values ($1::uuid, $2::uuid, 'authenticated', $3, $4, $5, $6, $7::timestamptz, $8::jsonb, "
            "$9::jsonb, $10::timestamptz, $10::timestamptz, $11::timestamptz, false, false) "
            "on conflict ((lower(email))) where is_sso_user = false and email is not null do nothing "
            "returning id",
            {std::string(instance_id), id, role, email, phone, *hash, confirm ? std::optional(now) : std::nullopt,
             app_metadata.dump(), user_metadata.dump(), now, banned_until});
    if (inserted.rows() == 0) return tl::unexpected(errors::email_exists());
    insert_outbox(tx.conn(), signup_topic, id, signup_event(id, email.value_or(""), now));
    auto user = load_user(tx.conn(), "id = $1::uuid", {id});
    if (!user) throw db_failure("the new user vanished");
    tx.commit();
    return reply{200, user_json(user->user), {}};
  });
}

reply_result service::admin_get_user(const std::string& id, const client_info& client) {
  auto admin = impl_->require_admin(client);
  if (!admin) return tl::unexpected(admin.error());
  if (!is_uuid(id)) return tl::unexpected(errors::user_not_found());
  return impl_->with_connection("get user", [&](db::pool::lease& lease) -> reply_result {
    auto user = load_user(*lease, "id = $1::uuid", {id});
    if (!user) return tl::unexpected(errors::user_not_found());
    return reply{200, user_json(user->user), {}};
  });
}

reply_result service::admin_update_user(const std::string& id, const std::string& body_text,
                                        const client_info& client) {
  auto admin = impl_->require_admin(client);
  if (!admin) return tl::unexpected(admin.error());
  if (!is_uuid(id)) return tl::unexpected(errors::user_not_found());
  auto body = impl_->parse_body(body_text);
  if (!body) return tl::unexpected(body.error());
  std::optional<std::string> hash;
  if (const auto password = string_member(*body, "password")) {
    if (password->empty() || password->size() > password_bytes_max) {
      return tl::unexpected(errors::validation_failed("Password cannot be longer than 72 characters"));
    }
    auto hashed = hash_password(*password, impl_->argon2);
    if (!hashed) return tl::unexpected(errors::unexpected_failure("password hashing failed"));
    hash = std::move(*hashed);
  }
  std::optional<std::string> email;
  if (const auto raw = string_member(*body, "email")) {
    email = normalize_email(*raw);
    if (!email) return tl::unexpected(errors::validation_failed("Unable to validate email address: invalid format"));
  }
  std::optional<std::int64_t> ban_s;
  if (const auto ban = string_member(*body, "ban_duration")) {
    ban_s = parse_duration_s(*ban);
    if (!ban_s) return tl::unexpected(errors::validation_failed("invalid format for ban duration"));
  }
  return impl_->with_connection("update user", [&](db::pool::lease& lease) -> reply_result {
    transaction tx(lease);
    auto current = load_user(tx.conn(), "id = $1::uuid for update", {id});
    if (!current) return tl::unexpected(errors::user_not_found());
    auto& user = current->user;
    const std::int64_t now_us = impl_->options.now_us();
    const std::string now = rfc3339_us(now_us);
    if (const auto it = body->find("user_metadata"); it != body->end() && it->is_object()) {
      merge_metadata(user.user_metadata, *it);
    }
    if (const auto it = body->find("app_metadata"); it != body->end() && it->is_object()) {
      merge_metadata(user.app_metadata, *it);
    }
    if (email && *email != user.email &&
        run(tx.conn(), "select 1 from auth.users where lower(email) = $1 and id <> $2::uuid", {*email, id}).rows() >
            0) {
      return tl::unexpected(errors::email_exists());
    }
    const bool confirm = body->value("email_confirm", false);
    std::optional<std::string> banned_until;
    if (ban_s) banned_until = *ban_s > 0 ? rfc3339_us(now_us + *ban_s * 1'000'000) : "-infinity";
    run(tx.conn(),
        "update auth.users set raw_user_meta_data = $2::jsonb, raw_app_meta_data = $3::jsonb, "
        "encrypted_password = coalesce($4, encrypted_password), email = coalesce($5, email), "
        "email_confirmed_at = case when $6 then coalesce(email_confirmed_at, $7::timestamptz) else email_confirmed_at "
        "end, role = coalesce($8, role), "
        "banned_until = case when $9::text is null then banned_until when $9 = '-infinity' then null "
        "else $9::timestamptz end, updated_at = $7::timestamptz where id = $1::uuid",
        {id, user.user_metadata.dump(), user.app_metadata.dump(), hash, email, confirm ? "true" : "false", now,
         string_member(*body, "role"), banned_until});
    if (ban_s && *ban_s > 0) impl_->end_all_sessions(tx.conn(), id, non_empty(user.email));
    auto fresh = load_user(tx.conn(), "id = $1::uuid", {id});
    tx.commit();
    return reply{200, user_json(fresh ? fresh->user : user), {}};
  });
}

reply_result service::admin_delete_user(const std::string& id, const std::string& body_text,
                                        const client_info& client) {
  auto admin = impl_->require_admin(client);
  if (!admin) return tl::unexpected(admin.error());
  if (!is_uuid(id)) return tl::unexpected(errors::user_not_found());
  auto body = impl_->parse_body(body_text);
  if (!body) return tl::unexpected(body.error());
  const bool soft = body->value("should_soft_delete", false);
  return impl_->with_connection("delete user", [&](db::pool::lease& lease) -> reply_result {
    transaction tx(lease);
    auto user = load_user(tx.conn(), "id = $1::uuid for update", {id});
    if (!user) return tl::unexpected(errors::user_not_found());
    if (soft) {
      // GoTrue's soft delete: signed out, address and password removed, the row kept.
      impl_->end_all_sessions(tx.conn(), id, non_empty(user->user.email));
      run(tx.conn(),
          "update auth.users set deleted_at = $2::timestamptz, updated_at = $2::timestamptz, email = null, "
          "phone = null, encrypted_password = '', raw_user_meta_data = '{}'::jsonb where id = $1::uuid",
          {id, rfc3339_us(impl_->options.now_us())});
    } else {
      // The reference's signout trigger runs after the user row is gone, so it finds no e-mail.
      impl_->end_all_sessions(tx.conn(), id, std::nullopt);
      run(tx.conn(), "delete from auth.users where id = $1::uuid", {id});
    }
    tx.commit();
    return reply{200, nlohmann::json::object(), {}};
  });
}

nlohmann::json service::settings() const {
  return {{"external",
           {{"email", true},
            {"phone", false},
            {"anonymous_users", false},
            {"apple", false},
            {"github", false},
            {"google", false}}},
          {"disable_signup", !impl_->options.config.signup_enabled},
          {"mailer_autoconfirm", impl_->options.config.autoconfirm},
          {"phone_autoconfirm", false},
          {"sms_provider", ""},
          {"saml_enabled", false}};
}

}  // namespace substrate::auth
