#pragma once
// A directory of static files (the built web app) served from memory.
//
// The whole tree is read once at load(): the files are a few hundred kilobytes and immutable
// until the next build, and serving from memory keeps file I/O off the shards. Content types come
// from the extension. Files under /assets/ carry a content hash in their name (Vite's output), so
// they are cached for a year as immutable; everything else is revalidated (no-cache) with an
// ETag. A path that names no file gets index.html (the app routes on the client), except paths
// with an extension, which get 404. `..` and other escapes cannot name anything outside the tree
// because only files found by walking it exist in the map.
//
// Ownership: built on the main thread, then read-only and shared by the listener's shards.

#include <map>
#include <memory>
#include <string>

#include "net/router.h"

namespace substrate::net {

class static_site {
public:
  struct file {
    std::string content_type;
    std::string body;
    std::string etag;
  };

  // Reads every regular file under `root` (symlinks are not followed). An absent root gives an
  // empty site (see empty()); an unreadable file throws std::runtime_error naming it.
  [[nodiscard]] static std::shared_ptr<const static_site> load(const std::string& root);

  [[nodiscard]] bool empty() const { return files_.empty(); }
  [[nodiscard]] std::size_t bytes() const;
  // The response for a GET/HEAD of `path` (the raw request path, not decoded yet).
  [[nodiscard]] http_response serve(const http_request& request) const;

  [[nodiscard]] static std::string content_type_for(const std::string& path);

private:
  std::map<std::string, file> files_;  // by URL path: "/index.html", "/assets/index-abc.js"
};

// Adds GET and HEAD routes for every path of `site` to `routes` (register specific routes such
// as /config.json first: the first match wins).
void add_static_site_routes(router& routes, std::shared_ptr<const static_site> site);

}  // namespace substrate::net
