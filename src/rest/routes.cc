// The /rest/v1 routes: each request hops to the blocking pool (libpq blocks) and back.
#include "net/io_pool.h"
#include "net/router.h"
#include "rest/service.h"

namespace substrate::rest {

namespace {

boost::asio::awaitable<net::http_response> dispatch(service& rest, net::http_request& request) {
  auto work = [&rest, &request] { return rest.handle(request); };
  co_return co_await net::run_blocking(rest.io().blocking(), std::move(work));
}

}  // namespace

void add_routes(net::router& routes, service& rest) {
  auto handler = [&rest](net::http_request& request) { return dispatch(rest, request); };
  for (const char* method : {"GET", "HEAD", "POST"}) routes.add(method, "/rest/v1/rpc/{fn}", handler);
  for (const char* method : {"GET", "HEAD", "POST", "PATCH", "DELETE"}) routes.add(method, "/rest/v1/{table}", handler);
}

}  // namespace substrate::rest
