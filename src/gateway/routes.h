#pragma once
// The routes file (contracts.md 3.1.6): which webhook keys and which client event keys map to
// which topics. Same YAML as the reference:
//
//   webhookRoutes:
//     login: public.identity.login.events
//   externalRoutes:
//     message: public.user.message.events
//
// `route_table` is an immutable snapshot. `route_store` publishes the current one (readers take
// a shared_ptr copy under a short lock, the reloader swaps it) and, once `watch()` runs, follows
// the file with inotify on its directory (so editors' write-then-rename and Kubernetes ConfigMap
// symlink swaps are seen): a file that parses replaces the snapshot; one that does not keeps the
// previous routes, logs why and counts `substrate_gateway_routes_reload_total{result="error"}`.
//
// Threading: current() from any thread; watch()/stop() from the owner (main) thread. The watch
// runs one thread of its own.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/metrics.h"
#include "core/result.h"

namespace substrate::gateway {

struct route_table {
  std::map<std::string, std::string, std::less<>> webhook;   // key (lower case) -> topic
  std::map<std::string, std::string, std::less<>> external;  // key (lower case) -> topic
  std::string version;            // first 16 hex digits of the SHA-256 of the file's bytes ("empty": none)
  std::int64_t loaded_at_ms = 0;  // unix milliseconds

  [[nodiscard]] const std::string* webhook_topic(std::string_view key) const;
  [[nodiscard]] const std::string* external_topic(std::string_view key) const;
};

// Parses the YAML text. Errors (errc::invalid_routes) name the key: not a mapping, a value that
// is not a string, a key or topic that is empty or has characters outside [A-Za-z0-9._-].
// Unknown top-level keys are ignored (the reference ignores them). Keys are lower-cased.
[[nodiscard]] result<route_table> parse_routes(std::string_view yaml_text, std::int64_t now_ms);

class route_store {
public:
  // `path`: the routes file. Reads it once: a missing file gives empty routes (every key 403,
  // as the reference) with a warning; an invalid one throws std::runtime_error (start-up).
  route_store(std::string path, core::metrics_registry& metrics);
  ~route_store();
  route_store(const route_store&) = delete;
  route_store& operator=(const route_store&) = delete;

  [[nodiscard]] std::shared_ptr<const route_table> current() const;
  // The last reload failure (nothing after a successful reload).
  [[nodiscard]] std::optional<std::string> last_error() const;
  [[nodiscard]] const std::string& path() const { return path_; }

  // Reads the file again now: true when it was applied (or is missing: empty routes).
  bool reload();
  // Starts following the file (inotify on its directory). Throws std::runtime_error when
  // inotify cannot be set up.
  void watch();
  void stop();

private:
  void run(int inotify_fd, int stop_fd);

  std::string path_;
  core::metric_family<core::counter>& reloads_;
  core::counter& reload_ok_;
  core::counter& reload_error_;
  mutable std::mutex mutex_;
  std::shared_ptr<const route_table> current_;
  std::optional<std::string> last_error_;
  int stop_fd_ = -1;
  int inotify_fd_ = -1;
  std::thread thread_;
};

}  // namespace substrate::gateway
