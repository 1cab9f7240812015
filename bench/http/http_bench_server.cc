// A minimal listener for bench/http/run: one net::http_server named "bench" on 127.0.0.1 with a
// single route, GET /hello -> 200 "hello", so wrk measures the server core (accept, parse,
// route, write, keep-alive) and nothing else. It is the peer of an nginx `return 200` location.
//
// Usage: bench_http_server [port] [shards]
//   port    0 (default) picks a free port; the chosen one is printed as "listening <port>"
//   shards  0 (default) is one per core, as in `substrate up`
// Runs until SIGINT or SIGTERM, then stops the server and the pool in the documented order.

#include <signal.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string_view>
#include <system_error>

#include "core/config.h"
#include "core/metrics.h"
#include "net/http_server.h"
#include "net/io_pool.h"
#include "net/router.h"

namespace {

// Parses a non-negative decimal argument; exits with status 2 on anything else so that a typo
// in the run script fails loudly instead of benchmarking the wrong thing.
std::uint64_t parse_argument(const char* text, std::string_view what, std::uint64_t max) {
  const std::string_view view(text);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), value);
  if (ec != std::errc{} || end != view.data() + view.size() || value > max) {
    std::fprintf(stderr, "bench_http_server: invalid %.*s '%s'\n", static_cast<int>(what.size()), what.data(), text);
    std::exit(2);
  }
  return value;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace substrate;
  if (argc > 3) {
    std::fprintf(stderr, "usage: bench_http_server [port] [shards]\n");
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(argc > 1 ? parse_argument(argv[1], "port", 65535) : 0);
  const std::size_t shards = argc > 2 ? parse_argument(argv[2], "shards", 1024) : 0;

  // Blocked before the io_pool creates its threads, so every thread inherits the mask and only
  // the main thread's sigwait ever sees the signals (no async handler racing the shards).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that disconnects mid-write must cost an error code, not the process.
  ::signal(SIGPIPE, SIG_IGN);

  try {
    core::metrics_registry metrics;
    net::http_metrics http_metrics(metrics);
    // One blocking thread: the route never blocks, so the pool only has to exist.
    net::io_pool pool(shards, 1);

    auto routes = std::make_shared<net::router>();
    routes->add("GET", "/hello", [](net::http_request&) -> boost::asio::awaitable<net::http_response> {
      co_return net::http_response::text(200, "hello");
    });

    core::http_config limits;
    // One log line per request would measure stderr, not the server; nginx runs with access_log off too.
    limits.access_log = false;
    // wrk opens all its connections at once; the 10'000 default is fine, but the benchmark must
    // never be limited by a 503 from the connection cap.
    limits.connections_max = 1'000'000;

    net::http_server server(pool, {"bench", "127.0.0.1", port, limits}, routes, http_metrics);
    pool.start();
    server.start();
    std::printf("listening %u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);

    int received = 0;
    sigwait(&signals, &received);

    server.stop();
    pool.stop();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_http_server: %s\n", e.what());
    return 1;
  }
  return 0;
}
