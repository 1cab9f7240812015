#pragma once
// The web app listener (default port 3000): the built web/dist from memory (net/static_site.h)
// and /config.json, which tells the app the running instance's API URL, anon key and gateway URL,
// so one build works against any instance.
//
// Lifecycle: construct (reads the files; throws std::runtime_error naming an unreadable one),
// start() after pool.start(), stop() before pool.stop(). Main thread only.

#include <cstdint>
#include <memory>
#include <string>

#include "core/config.h"

namespace substrate::net {
class io_pool;
struct http_metrics;
}  // namespace substrate::net

namespace substrate::app {

struct web_app_settings {
  std::string supabase_url;
  std::string anon_key;
  std::string gateway_url;
};

class web_role {
public:
  web_role(net::io_pool& pool, const core::config& cfg, web_app_settings settings, net::http_metrics& http_metrics);
  ~web_role();
  web_role(const web_role&) = delete;
  web_role& operator=(const web_role&) = delete;

  void start();
  void stop();
  [[nodiscard]] std::string url() const;
  // False when web.root holds no built app (the listener then explains how to build it).
  [[nodiscard]] bool built() const;
  [[nodiscard]] const std::string& root() const;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace substrate::app
