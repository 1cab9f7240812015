#include "auth/routes.h"

#include <memory>

#include <boost/asio/thread_pool.hpp>

#include "auth/service.h"
#include "net/io_pool.h"
#include "net/router.h"

namespace substrate::auth {
namespace {

constexpr const char* api_version = "2024-01-01";

net::http_response to_response(reply_result result) {
  net::http_response response;
  if (!result) {
    nlohmann::json body = result.error().extra;
    body["code"] = result.error().code;
    body["message"] = result.error().message;
    response = net::http_response::json(result.error().status, body.dump());
  } else if (result->body) {
    response = net::http_response::json(result->status, result->body->dump());
    for (auto& [name, value] : result->headers) response.set_header(name, value);
  } else {
    response.status = result->status;
  }
  response.set_header("X-Supabase-Api-Version", api_version);
  return response;
}

client_info client_of(const net::http_request& request) {
  client_info client;
  client.address = request.remote_address;
  if (auto agent = request.header("user-agent")) client.user_agent = std::string(*agent);
  if (auto authorization = request.header("authorization")) client.authorization = std::string(*authorization);
  return client;
}

// Runs `call(svc, client)` on the blocking pool and turns the outcome into the response.
template <class Call>
net::http_handler blocking_handler(service& svc, Call call) {
  return [&svc, call](net::http_request& request) -> boost::asio::awaitable<net::http_response> {
    auto work = [&svc, call, request = request]() -> reply_result { return call(svc, request); };
    auto result = co_await net::run_blocking(svc.io().blocking(), std::move(work));
    co_return to_response(std::move(result));
  };
}

// The same on the password pool: for the calls that hash or verify a password (tens of ms of
// CPU each), so that a burst of them queues there instead of in front of REST's blocking work.
// `uses_pool(request)` false: the general blocking pool after all (a refresh hashes nothing).
template <class Call, class Uses>
net::http_handler password_handler(service& svc, std::shared_ptr<boost::asio::thread_pool> hashing, Call call,
                                   Uses uses_pool) {
  return [&svc, hashing, call, uses_pool](net::http_request& request) -> boost::asio::awaitable<net::http_response> {
    auto work = [&svc, call, request = request]() -> reply_result { return call(svc, request); };
    auto& pool = uses_pool(request) ? *hashing : svc.io().blocking();
    auto result = co_await net::run_blocking(pool, std::move(work));
    co_return to_response(std::move(result));
  };
}

bool always(const net::http_request&) {
  return true;
}

}  // namespace

void add_routes(net::router& router, service& svc) {
  // Owned by the handlers: it lives as long as the router, which the services outlive.
  auto hashing = std::make_shared<boost::asio::thread_pool>(svc.password_threads());
  router.add("POST", "/auth/v1/signup",
             password_handler(
                 svc, hashing, [](service& s, const net::http_request& r) { return s.sign_up(r.body, client_of(r)); },
                 always));
  router.add("POST", "/auth/v1/token",
             password_handler(
                 svc, hashing,
                 [](service& s, const net::http_request& r) {
                   return s.token(r.query_param("grant_type").value_or(""), r.body, client_of(r));
                 },
                 [](const net::http_request& r) { return r.query_param("grant_type").value_or("") == "password"; }));
  router.add("GET", "/auth/v1/user",
             blocking_handler(svc, [](service& s, const net::http_request& r) { return s.get_user(client_of(r)); }));
  router.add("PUT", "/auth/v1/user",
             password_handler(
                 svc, hashing,
                 [](service& s, const net::http_request& r) { return s.update_user(r.body, client_of(r)); }, always));
  router.add("POST", "/auth/v1/logout", blocking_handler(svc, [](service& s, const net::http_request& r) {
               return s.logout(r.query_param("scope").value_or(""), client_of(r));
             }));
  router.add("GET", "/auth/v1/admin/users", blocking_handler(svc, [](service& s, const net::http_request& r) {
               return s.admin_list_users(r.query_param("page").value_or(""), r.query_param("per_page").value_or(""),
                                         client_of(r));
             }));
  router.add(
      "POST", "/auth/v1/admin/users",
      password_handler(
          svc, hashing,
          [](service& s, const net::http_request& r) { return s.admin_create_user(r.body, client_of(r)); }, always));
  router.add("GET", "/auth/v1/admin/users/{id}", blocking_handler(svc, [](service& s, const net::http_request& r) {
               return s.admin_get_user(r.param("id"), client_of(r));
             }));
  router.add("PUT", "/auth/v1/admin/users/{id}",
             password_handler(
                 svc, hashing,
                 [](service& s, const net::http_request& r) {
                   return s.admin_update_user(r.param("id"), r.body, client_of(r));
                 },
                 always));
  router.add("DELETE", "/auth/v1/admin/users/{id}", blocking_handler(svc, [](service& s, const net::http_request& r) {
               return s.admin_delete_user(r.param("id"), r.body, client_of(r));
             }));
  // Cheap answers, no I/O: served on the shard.
  router.add("GET", "/auth/v1/settings", [&svc](net::http_request&) -> boost::asio::awaitable<net::http_response> {
    co_return to_response(reply{200, svc.settings(), {}});
  });
  router.add("GET", "/auth/v1/health", [](net::http_request&) -> boost::asio::awaitable<net::http_response> {
    co_return to_response(reply{200,
                                nlohmann::json{{"version", "substrate"},
                                               {"name", "GoTrue"},
                                               {"description", "GoTrue is a user registration and authentication API"}},
                                {}});
  });
  // Tokens are HS256 with the project secret, which is never published: the key set is empty
  // (what GoTrue serves for a symmetric-key project).
  router.add("GET", "/auth/v1/.well-known/jwks.json",
             [](net::http_request&) -> boost::asio::awaitable<net::http_response> {
               co_return to_response(reply{200, nlohmann::json{{"keys", nlohmann::json::array()}}, {}});
             });
}

}  // namespace substrate::auth
