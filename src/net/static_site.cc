#include "net/static_site.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace substrate::net {
namespace {

std::string etag_of(const std::string& body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(body.data(), body.size(), digest, &length, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < 8 && i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
  return fmt::format("\"{}\"", hex);
}

bool has_extension(std::string_view path) {
  const auto slash = path.rfind('/');
  const auto dot = path.rfind('.');
  return dot != std::string_view::npos && (slash == std::string_view::npos || dot > slash);
}

}  // namespace

std::string static_site::content_type_for(const std::string& path) {
  static const std::map<std::string, std::string, std::less<>> types = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".wasm", "application/wasm"},
  };
  const auto dot = path.rfind('.');
  if (dot == std::string::npos) return "application/octet-stream";
  std::string extension = path.substr(dot);
  for (auto& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto it = types.find(extension);
  return it == types.end() ? "application/octet-stream" : it->second;
}

std::shared_ptr<const static_site> static_site::load(const std::string& root) {
  auto site = std::make_shared<static_site>();
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return site;
  for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    if (!in.good() && !in.eof()) throw std::runtime_error("cannot read " + it->path().string());
    const std::string url = fmt::format("/{}", std::filesystem::relative(it->path(), root).generic_string());
    file f{content_type_for(url), content.str(), {}};
    f.etag = etag_of(f.body);
    site->files_.emplace(url, std::move(f));
  }
  if (ec) throw std::runtime_error("cannot read the web app in " + root + ": " + ec.message());
  return site;
}

std::size_t static_site::bytes() const {
  std::size_t total = 0;
  for (const auto& [path, f] : files_) total += f.body.size();
  return total;
}

http_response static_site::serve(const http_request& request) const {
  auto decoded = percent_decode(request.path, false);
  if (!decoded) return http_response::error(400, "bad_request", "malformed percent-encoding in the path");
  std::string path = *decoded == "/" ? "/index.html" : *decoded;
  auto it = files_.find(path);
  if (it == files_.end() && !has_extension(path)) it = files_.find("/index.html");
  if (it == files_.end()) return http_response::error(404, "not_found", fmt::format("no file {}", path));
  const file& f = it->second;
  const bool immutable = it->first.starts_with("/assets/");
  http_response response;
  response.set_header("ETag", f.etag);
  response.set_header("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  response.set_header("X-Content-Type-Options", "nosniff");
  if (auto match = request.header("If-None-Match"); match && *match == f.etag) {
    response.status = 304;
    return response;
  }
  response.status = 200;
  response.set_header("Content-Type", f.content_type);
  response.body = f.body;
  return response;
}

void add_static_site_routes(router& routes, std::shared_ptr<const static_site> site) {
  auto handler = [site](http_request& request) -> boost::asio::awaitable<http_response> {
    co_return site->serve(request);
  };
  for (const char* method : {"GET", "HEAD"}) {
    routes.add(method, "/", handler);
    routes.add(method, "/{path*}", handler);
  }
}

}  // namespace substrate::net
