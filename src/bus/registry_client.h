#pragma once
// A client of a Confluent-compatible schema registry (kafka-compat.md 7.2; ours or Confluent's),
// over HTTP even when the registry runs in the same process, so embedded and scale-out take one
// code path.
//
// - id_for(subject, schema text): the global id of that schema under the subject: a lookup
//   (POST /subjects/{s}), and when the subject does not have it and `register_missing`, a
//   registration (POST /subjects/{s}/versions). Cached by (subject, compact canonical text).
// - latest(subject): GET /subjects/{s}/versions/latest (not cached: callers cache per topic).
// - schema_by_id(id): GET /schemas/ids/{id}, parsed; cached for the life of the client (a
//   registry never changes the schema of an id).
//
// Errors (bus::errc) name the subject or id, the HTTP status and the Confluent error code:
// `subject public.x-value: HTTP 404, error 40401: Subject not found`. Transport failures and
// 5xx are registry_unavailable.
//
// Threading: every method may be called from any thread (HTTP requests are serialized on one
// kept-alive connection; caches behind a mutex). Methods block on HTTP: never call them on a
// shard, use the blocking pool.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "avro/schema.h"
#include "bus/errc.h"
#include "core/result.h"
#include "net/http_client.h"

namespace substrate::bus {

struct registry_client_options {
  std::string url = "http://127.0.0.1:8081";
  // HTTP basic auth (registry.basic_auth); empty user: none.
  std::string username;
  std::string password;
  std::int64_t timeout_ms = 10'000;
};

struct registered_schema {
  std::int32_t id = 0;
  std::int32_t version = 0;
  std::shared_ptr<const avro::schema> schema;
};

class registry_client {
public:
  // Throws std::invalid_argument when the URL is not http://host[:port][/path].
  explicit registry_client(registry_client_options options);
  ~registry_client();
  registry_client(const registry_client&) = delete;
  registry_client& operator=(const registry_client&) = delete;

  [[nodiscard]] result<std::int32_t> id_for(const std::string& subject, const avro::schema& schema,
                                            bool register_missing);
  [[nodiscard]] result<registered_schema> latest(const std::string& subject);
  [[nodiscard]] result<std::shared_ptr<const avro::schema>> schema_by_id(std::int32_t id);

  [[nodiscard]] const std::string& url() const { return options_.url; }

private:
  struct response {
    int status = 0;
    std::string body;
  };
  [[nodiscard]] result<response> call(const std::string& method, const std::string& target, const std::string& body);

  registry_client_options options_;
  std::string authorization_;  // "Basic ..." or empty
  std::mutex http_mutex_;      // one request at a time on http_
  net::http_client http_;
  std::mutex cache_mutex_;
  std::unordered_map<std::int32_t, std::shared_ptr<const avro::schema>> by_id_;
  std::map<std::pair<std::string, std::string>, std::int32_t> by_subject_schema_;
};

// Percent-encodes a subject for a URL path (every byte but unreserved characters).
[[nodiscard]] std::string encode_path_segment(std::string_view text);

}  // namespace substrate::bus
