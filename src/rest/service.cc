#include "rest/service.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/jwt.h"
#include "core/logging.h"
#include "db/connection.h"
#include "rest/sql.h"

namespace substrate::rest {

namespace {

constexpr std::string_view json_type = "application/json; charset=utf-8";
constexpr std::string_view object_type = "application/vnd.pgrst.object+json; charset=utf-8";

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

struct preferences {
  bool representation = false;
  bool count = false;
  bool rollback = false;
  resolution how = resolution::none;
};

preferences parse_prefer(const net::http_request& request) {
  preferences p;
  for (const auto& [name, value] : request.headers) {
    if (!net::iequals(name, "prefer")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (item == "return=representation") p.representation = true;
      if (item == "return=minimal" || item == "return=headers-only") p.representation = false;
      if (item.starts_with("count=")) p.count = true;
      if (item == "tx=rollback") p.rollback = true;
      if (item == "resolution=merge-duplicates") p.how = resolution::merge_duplicates;
      if (item == "resolution=ignore-duplicates") p.how = resolution::ignore_duplicates;
    }
  }
  return p;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

api_error jwt_error(const error& e) {
  const bool expired = e.code == auth::errc::expired;
  api_error out{401, expired ? "PGRST303" : "PGRST301", expired ? "JWT expired" : e.message(), {}, {}};
  return out;
}

// Appends printable ASCII `text` as the inside of a JSON string: runs without '"' or '\\' in
// one append each (header values are long tokens; this runs for every request).
void append_ascii_json(std::string& out, std::string_view text) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20) continue;
    out.append(text.substr(start, i - start));
    core::append_json_escaped(out, text.substr(i, 1));
    start = i + 1;
  }
  out.append(text.substr(start));
}

// request.headers: {"lower-case name": value}, the last of repeated names winning.
std::string headers_json(const net::http_request& request) {
  const auto& headers = request.headers;
  bool plain = true;  // printable ASCII only: the common case, escaped here without a JSON tree
  for (const auto& [name, value] : headers) {
    for (const char c : name) plain = plain && c > 0x20 && c < 0x7f;
    for (const char c : value) plain = plain && static_cast<unsigned char>(c) < 0x80;
  }
  if (!plain) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [name, value] : headers) out[lower(name)] = value;
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string out = "{";
  std::size_t bytes = 2;
  for (const auto& [name, value] : headers) bytes += name.size() + value.size() + 6;
  out.reserve(bytes);
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const auto& name = headers[i].first;
    bool repeated = false;
    for (std::size_t j = i + 1; j < headers.size() && !repeated; ++j) repeated = net::iequals(name, headers[j].first);
    if (repeated) continue;
    if (out.size() > 1) out += ',';
    out += '"';
    append_ascii_json(out, lower(name));
    out += "\":\"";
    append_ascii_json(out, headers[i].second);
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

int status_for_sqlstate(std::string_view s, bool anon) {
  if (s == "42501") return anon ? 401 : 403;
  if (s == "23505" || s == "23503") return 409;
  if (s == "42P01" || s == "42883") return 404;
  if (s == "25006") return 405;
  if (s == "22023") return 401;  // role "..." does not exist (set role)
  if (s == "21000" || s == "P0001") return 400;
  if (s.size() == 5 && s.starts_with("PT")) {
    int code = 0;
    for (const char c : s.substr(2)) {
      if (c < '0' || c > '9') return 400;
      code = code * 10 + (c - '0');
    }
    return code >= 100 && code <= 599 ? code : 400;
  }
  if (s.starts_with("08") || s.starts_with("53")) return 503;
  if (s.starts_with("40") || s == "42P17" || s.starts_with("P0") || s.starts_with("XX") || s.starts_with("25") ||
      s.starts_with("2D") || s.starts_with("57") || s.starts_with("58")) {
    return 500;
  }
  return 400;
}

net::http_response error_response(const api_error& e) {
  nlohmann::json body{{"code", e.code},
                      {"details", e.details.empty() ? nlohmann::json() : nlohmann::json(e.details)},
                      {"hint", e.hint.empty() ? nlohmann::json() : nlohmann::json(e.hint)},
                      {"message", e.message}};
  auto response =
      net::http_response::json(e.status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  response.set_header("Content-Type", std::string(json_type));
  if (!e.content_range.empty()) response.set_header("Content-Range", e.content_range);
  if (e.code == "PGRST301" || e.code == "PGRST303" || e.code == "PGRST302") {
    response.set_header("WWW-Authenticate",
                        fmt::format("Bearer error=\"invalid_token\", error_description=\"{}\"", e.message));
  }
  return response;
}

struct service::context {
  const net::http_request* request = nullptr;
  std::string schema;
  std::string name;
  bool rpc = false;
  bool single = false;
  bool read = false;  // GET/HEAD
  std::string role;
  std::string claims;  // request.jwt.claims, JSON text
  preferences prefer;
  query q;
  nlohmann::json body;
};

service::service(net::io_pool& io, service_options options)
    : io_(io), options_(std::move(options)), pool_(options_.pool), tokens_(token_cache_max, options_.leeway_s) {}

service::~service() {
  stopping_ = true;
  if (listener_.joinable()) listener_.join();
}

void service::start_listener(std::string conninfo) {
  listener_ = std::thread([this, conninfo = std::move(conninfo)] {
    std::optional<db::connection> conn;
    while (!stopping_) {
      if (!conn) {
        auto opened = db::connection::open(conninfo, 2000);
        if (opened && opened->exec("listen pgrst")) {
          conn.emplace(std::move(*opened));
          // Notifications sent while disconnected are lost: reload once now.
          (void)load_schema();
        } else {
          for (int i = 0; i < 10 && !stopping_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
      }
      auto payloads = conn->wait_notifications(250);
      if (!payloads) {
        conn.reset();
        continue;
      }
      bool reload = false;
      for (const auto& payload : *payloads) reload = reload || payload.empty() || payload == "reload schema";
      if (reload) (void)load_schema();
    }
  });
}

std::shared_ptr<const schema_cache> service::cache() const {
  std::lock_guard lock(cache_mutex_);
  return cache_;
}

result<void> service::load_schema() {
  auto lease = pool_.acquire();
  if (!lease) return tl::unexpected(lease.error());
  auto loaded = load_schema_cache(**lease, options_.schemas);
  if (!loaded) return tl::unexpected(loaded.error());
  auto fresh = std::make_shared<const schema_cache>(std::move(*loaded));
  std::lock_guard lock(cache_mutex_);
  cache_ = std::move(fresh);
  return {};
}

bool service::reload_after_miss(const schema_cache* seen) {
  std::lock_guard reloading(reload_mutex_);
  if (cache().get() != seen) return true;  // another request reloaded since this one looked
  // At most one catalog read per reload_interval: later misses wait for it instead.
  const auto next = last_reload_ + reload_interval;
  if (std::chrono::steady_clock::now() < next) std::this_thread::sleep_until(next);
  last_reload_ = std::chrono::steady_clock::now();
  return load_schema().has_value();
}

api_result<std::shared_ptr<const service::verified_token>> service::verify(const std::string& token) {
  const auto now = now_seconds();
  if (auto hit = tokens_.find(token, now)) return *hit;
  const auto generation = tokens_.generation();
  auto verified = auth::verify_hs256(token, options_.jwt_secret, {.now_s = now, .leeway_s = options_.leeway_s});
  if (!verified) return tl::unexpected(jwt_error(verified.error()));
  auto& claims = verified->claims;
  const auto role = claims.find("role");
  if (role != claims.end() && !role->is_string()) return fail(401, "PGRST301", "The role claim must be a string");
  auto entry = std::make_shared<verified_token>();
  entry->role = role == claims.end() ? "anon" : role->get<std::string>();
  if (entry->role.empty()) entry->role = "anon";
  claims["role"] = entry->role;
  entry->claims = claims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::shared_ptr<const verified_token> out = std::move(entry);
  tokens_.insert(token, auth::time_claims::of(claims), out, now, generation);
  return out;
}

net::http_response service::handle(const net::http_request& request) {
  context ctx;
  ctx.request = &request;
  auto response = serve(request, ctx);
  if (response) return std::move(*response);
  return error_response(response.error());
}

api_result<net::http_response> service::serve(const net::http_request& request, context& ctx) {
  ctx.read = request.method == "GET" || request.method == "HEAD";
  ctx.rpc = request.path_params.contains("fn");
  ctx.name = ctx.rpc ? request.param("fn") : request.param("table");

  // Schema profile.
  ctx.schema = options_.schemas.front();
  if (auto profile = request.header(ctx.read ? "Accept-Profile" : "Content-Profile")) {
    ctx.schema = std::string(*profile);
    if (std::find(options_.schemas.begin(), options_.schemas.end(), ctx.schema) == options_.schemas.end()) {
      std::string list;
      for (const auto& s : options_.schemas) list += (list.empty() ? "" : ", ") + s;
      return fail(406, "PGRST106", "Invalid schema: " + ctx.schema, {},
                  "Only the following schemas are exposed: " + list);
    }
  }

  // The bearer token: Authorization, else the apikey header (spec 1.3).
  std::string token;
  if (auto authorization = request.header("Authorization")) {
    const auto value = trim(*authorization);
    if (value.size() < 7 || lower(value.substr(0, 7)) != "bearer ") {
      return fail(401, "PGRST301", "Expected a Bearer token in the Authorization header");
    }
    token = std::string(trim(value.substr(7)));
  } else if (auto key = request.header("apikey")) {
    token = std::string(*key);
  }
  if (token.empty()) {
    ctx.role = "anon";
    ctx.claims = R"({"role":"anon"})";
  } else {
    auto verified = verify(token);
    if (!verified) return tl::unexpected(verified.error());
    ctx.role = (*verified)->role;
    ctx.claims = (*verified)->claims;
  }

  ctx.prefer = parse_prefer(request);
  if (auto accept = request.header("Accept")) {
    ctx.single = accept->find("application/vnd.pgrst.object") != std::string_view::npos;
  }
  auto parsed = parse_query(request.query, ctx.rpc && ctx.read, options_.limits);
  if (!parsed) return tl::unexpected(parsed.error());
  ctx.q = std::move(*parsed);

  // Range: 0-9 (GET only) narrows limit/offset.
  if (ctx.read) {
    if (auto range = request.header("Range")) {
      const auto dash = range->find('-');
      const auto first = dash == std::string_view::npos ? std::string_view{} : trim(range->substr(0, dash));
      const auto last = dash == std::string_view::npos ? std::string_view{} : trim(range->substr(dash + 1));
      std::int64_t from = 0;
      std::int64_t to = -1;
      const bool ok_from =
          !first.empty() && std::from_chars(first.data(), first.data() + first.size(), from).ec == std::errc();
      const bool ok_to = last.empty() || std::from_chars(last.data(), last.data() + last.size(), to).ec == std::errc();
      if (ok_from && ok_to && from >= 0 && !last.empty() && to < from) {
        return fail(416, "PGRST103", "Requested range not satisfiable",
                    "The lower boundary must be less than or equal to the upper boundary");
      }
      if (ok_from && ok_to && from >= 0) {
        ctx.q.offset = from;
        if (!last.empty() && to >= from) {
          const std::int64_t count = to - from + 1;
          ctx.q.limit = ctx.q.limit ? std::min(*ctx.q.limit, count) : count;
        }
      }
    }
  }

  if (!ctx.read && request.method != "DELETE") {
    if (request.body.empty()) {
      ctx.body = ctx.rpc ? nlohmann::json::object() : nlohmann::json();
    } else {
      ctx.body = nlohmann::json::parse(request.body, nullptr, false);
      if (ctx.body.is_discarded()) {
        return fail(400, "PGRST102", "Empty or invalid json", "the request body is not valid JSON");
      }
    }
    if (!ctx.rpc && !ctx.body.is_object() && !ctx.body.is_array()) {
      return fail(400, "PGRST102", "Empty or invalid json", "expected a JSON object or array");
    }
    if (ctx.rpc && !ctx.body.is_object()) return fail(400, "PGRST102", "rpc arguments must be a JSON object");
  } else if (ctx.rpc) {
    ctx.body = nlohmann::json::object();
    for (const auto& [name, value] : ctx.q.arguments) ctx.body[name] = value;
  }

  const auto seen = cache();
  auto first = run(ctx, seen);
  if (first) return first;
  // A name the cache does not know may be new: reload once (rate-limited) and retry.
  const auto& code = first.error().code;
  if ((code == "PGRST205" || code == "PGRST202" || code == "PGRST204" || code == "42703") &&
      reload_after_miss(seen.get())) {
    return run(ctx, cache());
  }
  return first;
}

api_result<net::http_response> service::run(context& ctx, const std::shared_ptr<const schema_cache>& snapshot) {
  if (!snapshot) return fail(503, "PGRST002", "Could not query the database for the schema cache. Retrying.");
  const auto& request = *ctx.request;
  statement stmt;
  bool shaped = true;  // (total, page, body) result
  const table_info* table = nullptr;
  const function_info* fn = nullptr;
  if (ctx.rpc) {
    const auto* candidates = snapshot->function(ctx.schema, ctx.name);
    if (!candidates || candidates->empty()) {
      std::string names;
      for (const auto& [key, value] : ctx.body.items()) names += (names.empty() ? "" : ", ") + key;
      return fail(404, "PGRST202",
                  fmt::format("Could not find the function {}.{}({}) in the schema cache", ctx.schema, ctx.name, names),
                  fmt::format("Searched for the function {}.{} with parameters {} or with a single unnamed json/jsonb "
                              "parameter, but no matches were found in the schema cache.",
                              ctx.schema, ctx.name, names));
    }
    auto picked = pick_function(*candidates, ctx.body);
    if (!picked) return tl::unexpected(picked.error());
    fn = *picked;
    auto built = build_rpc(*fn, ctx.body);
    if (!built) return tl::unexpected(built.error());
    stmt = std::move(*built);
    shaped = false;
  } else {
    table = snapshot->table(ctx.schema, ctx.name);
    if (!table) {
      return fail(404, "PGRST205",
                  fmt::format("Could not find the table '{}.{}' in the schema cache", ctx.schema, ctx.name));
    }
    api_result<statement> built;
    const bool representation = ctx.prefer.representation;
    if (ctx.read) {
      built = build_read(*table, ctx.q, ctx.prefer.count);
    } else if (request.method == "POST") {
      if (ctx.body.is_array() && ctx.body.empty()) {
        auto response = net::http_response::json(201, representation ? "[]" : "");
        response.set_header("Content-Range", "*/0");
        return response;
      }
      built = build_insert(*table, ctx.q, ctx.body, representation || ctx.single, ctx.prefer.how);
    } else if (request.method == "PATCH" || request.method == "DELETE") {
      if (ctx.q.where.empty()) {
        return fail(400, "21000",
                    fmt::format("{} requires a WHERE clause", request.method == "PATCH" ? "UPDATE" : "DELETE"));
      }
      built = request.method == "PATCH" ? build_update(*table, ctx.q, ctx.body, representation || ctx.single)
                                        : build_delete(*table, ctx.q, representation || ctx.single);
    } else {
      return fail(405, "PGRST117", "Unsupported HTTP method: " + request.method);
    }
    if (!built) return tl::unexpected(built.error());
    stmt = std::move(*built);
    const bool merge = request.method == "POST" && ctx.prefer.how == resolution::merge_duplicates;
    shaped = ctx.read || representation || ctx.single || merge;
  }

  auto lease = pool_.acquire();
  if (!lease) {
    if (lease.error().code == db::errc::pool_timeout) {
      return fail(504, "PGRST003", "Timed out acquiring connection from connection pool.");
    }
    return fail(503, "PGRST000", "Database client error. Retrying the connection.", lease.error().message());
  }
  auto& conn = **lease;
  const bool anon = ctx.role == "anon";
  db::server_error pg;
  const auto db_failure = [&]() -> tl::unexpected<api_error> {
    if (pg.sqlstate.empty()) {
      lease->discard();
      return fail(503, "PGRST000", "Database client error. Retrying the connection.", pg.message);
    }
    return fail(status_for_sqlstate(pg.sqlstate, anon), pg.sqlstate, pg.message, pg.detail, pg.hint);
  };
  // From `begin` on, every exit rolls back unless committed (or nothing was begun).
  struct rollback_guard {
    db::connection& conn;
    db::pool::lease& lease;
    bool done = false;
    ~rollback_guard() {
      if (done) return;
      db::server_error ignored;
      if (!conn.exec_params("rollback", {}, ignored)) lease.discard();
    }
  } guard{conn, *lease};

  // One round trip. A read that commits runs as the pipeline's implicit transaction (PostgreSQL
  // commits, or on an error rolls back, at its Sync): the transaction-local settings, read-only
  // set among them, then the statement. Anything else: begin, the settings, the statement; the
  // commit or rollback comes once the outcome is known.
  const bool implicit = ctx.read && !ctx.prefer.rollback;
  const std::size_t settings_index = implicit ? 0 : 1;
  const std::size_t statement_index = settings_index + 1;
  std::vector<db::connection::pipelined> batch;
  if (!implicit) batch.push_back({ctx.read ? "begin read only" : "begin", {}});
  batch.push_back(
      {std::string("select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), "
                   "set_config('request.method', $3, true), set_config('request.path', $4, true), "
                   "set_config('request.headers', $5, true), set_config('request.cookies', '{}', true), "
                   "set_config('search_path', $6, true)") +
           (implicit ? ", set_config('transaction_read_only', 'on', true)" : ""),
       {ctx.role, ctx.claims, request.method, "/" + ctx.name, headers_json(request), quote_ident(ctx.schema)},
       options_.prepared_statements});
  batch.push_back({std::move(stmt.sql), std::move(stmt.params), options_.prepared_statements});
  if (implicit) guard.done = true;  // nothing is left open, whatever happens
  auto results = conn.exec_pipeline(batch, pg);
  if (!results && pg.sqlstate == "0A000" && pg.statement == static_cast<int>(statement_index)) {
    // "cached plan must not change result type": a table or function changed under the
    // statement's prepared form, which the connection has now forgotten. Once more, afresh.
    db::server_error ignored;
    if (!implicit && !conn.exec_params("rollback", {}, ignored)) {
      guard.done = true;
      pg = {};
      return db_failure();
    }
    pg = {};
    results = conn.exec_pipeline(batch, pg);
  }
  if (!results) {
    if (pg.sqlstate.empty()) {
      guard.done = true;
      return db_failure();
    }
    // A role the authenticator cannot become (or that does not exist): the token is unusable.
    if (pg.statement == static_cast<int>(settings_index)) return fail(401, pg.sqlstate, pg.message, pg.detail, pg.hint);
    return db_failure();
  }
  auto* result = &(*results)[statement_index];

  net::http_response response;
  response.headers.emplace_back("Content-Type", std::string(json_type));
  std::optional<std::int64_t> total;
  std::int64_t page = 0;
  std::string body;
  if (fn) {
    if (fn->returns_void) {
      response.status = 204;
    } else {
      response.status = 200;
      body = result->rows() > 0 && !result->is_null(0, 0) ? result->value(0, 0) : "null";
    }
  } else if (shaped) {
    if (result->rows() != 1) return fail(500, "PGRST000", "unexpected result shape");
    if (!result->is_null(0, 0)) total = std::stoll(result->value(0, 0));
    page = std::stoll(result->value(0, 1));
    body = result->value(0, 2);
  } else {
    page = result->affected_rows();
  }

  if (ctx.single && (shaped || (fn && fn->returns_set))) {
    if (fn) page = body == "[]" ? 0 : static_cast<std::int64_t>(nlohmann::json::parse(body).size());
    if (page != 1) {
      return fail(406, "PGRST116", "Cannot coerce the result to a single JSON object",
                  fmt::format("The result contains {} rows", page));
    }
    // json_agg's text of one element: "[" element "]".
    if (body.size() >= 2 && body.front() == '[') body = body.substr(1, body.size() - 2);
    response.headers[0].second = std::string(object_type);
  }

  const std::string total_text = total ? std::to_string(*total) : "*";
  const std::int64_t offset = ctx.q.offset.value_or(0);
  if (!fn) {
    if (ctx.read && total && offset > *total) {
      // PostgREST: an offset past the known total is an unsatisfiable range.
      auto refused = fail(416, "PGRST103", "Requested range not satisfiable",
                          fmt::format("An offset of {} was requested, but there are only {} rows.", offset, *total))
                         .value();
      refused.content_range = fmt::format("*/{}", *total);
      return tl::unexpected(std::move(refused));
    }
    if (ctx.read) {
      response.status = 200;
      response.set_header("Content-Range", page == 0 ? "*/" + total_text
                                                     : fmt::format("{}-{}/{}", offset, offset + page - 1, total_text));
      if (total && page > 0 && (offset > 0 || page < *total) && !ctx.single) response.status = 206;
    } else if (request.method == "POST") {
      // An upsert that only merged into existing rows answers 200 (total = rows inserted).
      const bool merged_only = ctx.prefer.how == resolution::merge_duplicates && total && *total == 0 && page > 0;
      response.status = merged_only ? 200 : 201;
      response.set_header("Content-Range", ctx.prefer.count ? fmt::format("*/{}", page) : "*/*");
    } else {
      response.status = ctx.prefer.representation || ctx.single ? 200 : 204;
      const std::string count_text = ctx.prefer.count ? std::to_string(page) : "*";
      if (request.method == "PATCH" && page > 0) {
        response.set_header("Content-Range", fmt::format("0-{}/{}", page - 1, count_text));
      } else {
        response.set_header("Content-Range", "*/" + count_text);
      }
    }
    if (!ctx.read && !ctx.prefer.representation && !ctx.single) body.clear();
  }

  if (!guard.done) {
    guard.done = true;
    if (!conn.exec_params(ctx.prefer.rollback ? "rollback" : "commit", {}, pg)) return db_failure();
  }
  if (request.method != "HEAD" && response.status != 204) response.body = std::move(body);
  return response;
}

}  // namespace substrate::rest
