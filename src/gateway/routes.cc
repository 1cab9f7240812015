#include "gateway/routes.h"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/sha.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <yaml-cpp/yaml.h>

#include "gateway/errc.h"
#include "gateway/logger.h"

namespace substrate::gateway {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool valid_name(std::string_view text) {
  if (text.empty() || text.size() > 249) return false;
  for (const char c : text) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

std::string content_version(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  std::string out;
  for (std::size_t i = 0; i < 8; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

result<void> read_map(const YAML::Node& root, const char* name, std::map<std::string, std::string, std::less<>>& out) {
  const YAML::Node node = root[name];
  if (!node || node.IsNull()) return {};
  if (!node.IsMap()) return make_error(errc::invalid_routes, fmt::format("{}: expected a mapping of key: topic", name));
  for (const auto& entry : node) {
    if (!entry.first.IsScalar() || !entry.second.IsScalar()) {
      return make_error(errc::invalid_routes, fmt::format("{}: every entry must be key: topic (strings)", name));
    }
    const std::string key = lower(entry.first.as<std::string>());
    const std::string topic = entry.second.as<std::string>();
    if (!valid_name(key)) {
      return make_error(errc::invalid_routes,
                        fmt::format("{}.{}: a key is 1-249 characters of [A-Za-z0-9._-]", name, key));
    }
    if (!valid_name(topic)) {
      return make_error(errc::invalid_routes,
                        fmt::format("{}.{}: '{}' is not a topic name ([A-Za-z0-9._-], 1-249)", name, key, topic));
    }
    if (!out.emplace(key, topic).second) {
      return make_error(errc::invalid_routes, fmt::format("{}.{}: the key appears twice", name, key));
    }
  }
  return {};
}

}  // namespace

const std::string* route_table::webhook_topic(std::string_view key) const {
  const auto it = webhook.find(key);
  return it == webhook.end() ? nullptr : &it->second;
}

const std::string* route_table::external_topic(std::string_view key) const {
  const auto it = external.find(key);
  return it == external.end() ? nullptr : &it->second;
}

result<route_table> parse_routes(std::string_view yaml_text, std::int64_t now_ms_value) {
  route_table table;
  table.version = content_version(yaml_text);
  table.loaded_at_ms = now_ms_value;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return make_error(errc::invalid_routes, fmt::format("not YAML: {}", e.what()));
  }
  if (root.IsNull()) return table;  // an empty file: no routes
  if (!root.IsMap()) return make_error(errc::invalid_routes, "the document must be a mapping");
  try {
    if (auto r = read_map(root, "webhookRoutes", table.webhook); !r) return tl::unexpected(r.error());
    if (auto r = read_map(root, "externalRoutes", table.external); !r) return tl::unexpected(r.error());
  } catch (const YAML::Exception& e) {
    return make_error(errc::invalid_routes, e.what());
  }
  return table;
}

route_store::route_store(std::string path, core::metrics_registry& metrics)
    : path_(std::move(path)),
      reloads_(metrics.add_counter("substrate_gateway_routes_reload_total",
                                   "Changes of the gateway routes file seen, by result: ok (applied) or error "
                                   "(rejected, the previous routes stay in effect).",
                                   {"result"})),
      reload_ok_(reloads_.labels({"ok"})),
      reload_error_(reloads_.labels({"error"})) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    gateway_log.warn("routes file missing: every route answers 403 until it appears", {{"path", path_}});
    auto empty = std::make_shared<route_table>();
    empty->version = "empty";
    empty->loaded_at_ms = now_ms();
    current_ = std::move(empty);
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto table = parse_routes(text.str(), now_ms());
  if (!table) throw std::runtime_error(fmt::format("routes file {}: {}", path_, table.error().message()));
  current_ = std::make_shared<const route_table>(std::move(*table));
  gateway_log.info("routes loaded", {{"path", path_},
                                     {"version", current_->version},
                                     {"webhook_routes", current_->webhook.size()},
                                     {"external_routes", current_->external.size()}});
}

route_store::~route_store() {
  stop();
}

std::shared_ptr<const route_table> route_store::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

std::optional<std::string> route_store::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

bool route_store::reload() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    // Between the delete and the rename of an atomic replace, or removed by mistake: keep
    // serving what we have.
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  const std::string bytes = text.str();
  auto table = parse_routes(bytes, now_ms());
  std::lock_guard lock(mutex_);
  if (!table) {
    // The same broken bytes seen again (several inotify events for one write) count once.
    const std::string why = table.error().message();
    if (last_error_ != why) {
      reload_error_.increment();
      gateway_log.error("routes file rejected, the previous routes stay in effect",
                        {{"path", path_}, {"error", why}, {"active_version", current_->version}});
    }
    last_error_ = why;
    return false;
  }
  last_error_.reset();
  if (table->version == current_->version) return true;
  current_ = std::make_shared<const route_table>(std::move(*table));
  reload_ok_.increment();
  gateway_log.info("routes reloaded", {{"path", path_},
                                       {"version", current_->version},
                                       {"webhook_routes", current_->webhook.size()},
                                       {"external_routes", current_->external.size()}});
  return true;
}

void route_store::watch() {
  if (thread_.joinable()) return;
  const auto slash = path_.rfind('/');
  const std::string directory = slash == std::string::npos ? "." : (slash == 0 ? "/" : path_.substr(0, slash));
  inotify_fd_ = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (inotify_fd_ < 0) throw std::runtime_error(fmt::format("inotify_init1: {}", std::strerror(errno)));
  if (::inotify_add_watch(inotify_fd_, directory.c_str(),
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB) < 0) {
    const int error = errno;
    ::close(inotify_fd_);
    inotify_fd_ = -1;
    throw std::runtime_error(fmt::format("cannot watch {} for routes changes: {}", directory, std::strerror(error)));
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    ::close(inotify_fd_);
    inotify_fd_ = -1;
    throw std::runtime_error(fmt::format("eventfd: {}", std::strerror(errno)));
  }
  // A change between the constructor's read and the watch being in place.
  reload();
  thread_ = std::thread([this] { run(inotify_fd_, stop_fd_); });
}

void route_store::run(int inotify_fd, int stop_fd) {
  alignas(inotify_event) std::array<char, 8192> buffer{};
  for (;;) {
    std::array<pollfd, 2> fds{pollfd{inotify_fd, POLLIN, 0}, pollfd{stop_fd, POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      gateway_log.error("routes watch stopped: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    bool changed = false;
    for (;;) {
      const auto n = ::read(inotify_fd, buffer.data(), buffer.size());
      if (n <= 0) break;
      changed = true;  // any change in the directory: the file, or the symlink it resolves through
    }
    if (!changed) continue;
    // Let a burst of events (write, then rename) settle, then read once.
    pollfd stop{stop_fd, POLLIN, 0};
    if (::poll(&stop, 1, 20) > 0) return;
    while (::read(inotify_fd, buffer.data(), buffer.size()) > 0) {
    }
    reload();
  }
}

void route_store::stop() {
  if (thread_.joinable()) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  stop_fd_ = inotify_fd_ = -1;
}

}  // namespace substrate::gateway
