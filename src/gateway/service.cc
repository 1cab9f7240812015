#include "gateway/service.h"

#include <array>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "avro/errc.h"
#include "core/coarse_clock.h"
#include "core/decimal.h"
#include "gateway/errc.h"
#include "gateway/logger.h"
#include "net/completion.h"
#include "net/io_pool.h"

namespace substrate::gateway {
namespace {

using boost::asio::awaitable;

net::http_response fail(int status, std::string_view code, std::string_view message, std::string_view detail = {}) {
  nlohmann::json body = {{"error", code},
                         {"message", detail.empty() ? std::string(message) : fmt::format("{}: {}", message, detail)}};
  return net::http_response::json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string lower(std::string text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return text;
}

// application/json, with parameters; a missing Content-Type is taken as JSON (curl --data-raw
// from scripts, the reference never checked).
bool json_content_type(const net::http_request& request) {
  const auto type = request.header("Content-Type");
  if (!type) return true;
  std::string_view media = type->substr(0, type->find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  constexpr std::string_view json_suffix = "+json";
  return net::iequals(media, "application/json") ||
         (media.size() >= json_suffix.size() &&
          net::iequals(media.substr(media.size() - json_suffix.size()), json_suffix));
}

std::array<unsigned char, SHA256_DIGEST_LENGTH> digest(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> out{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), out.data());
  return out;
}

// The coarse clocks (core/coarse_clock.h): a token's time claims are in seconds and the rate
// limiter's buckets refill by milliseconds, so a tick's resolution (1-4 ms) is plenty.
std::int64_t system_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(core::coarse_system_now().time_since_epoch()).count();
}
std::int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(core::coarse_steady_now().time_since_epoch()).count();
}

}  // namespace

struct service::impl {
  service_options options;
  const token_verifier& verifier;
  route_store& routes;
  event_sink& sink;
  boost::asio::thread_pool& blocking;
  rate_limiter limiter;
  std::array<unsigned char, SHA256_DIGEST_LENGTH> webhook_digest{};
  core::metric_family<core::counter>& requests;
  core::metric_family<core::histogram>& latency;
  core::metric_family<core::counter>& produce_failures;

  impl(service_options o, const token_verifier& v, route_store& r, event_sink& s, core::metrics_registry& metrics,
       boost::asio::thread_pool& b)
      : options(std::move(o)),
        verifier(v),
        routes(r),
        sink(s),
        blocking(b),
        limiter(options.rate_per_s, options.rate_burst),
        requests(metrics.add_counter("substrate_gateway_requests_total", "Gateway requests by route and HTTP status.",
                                     {"route", "status"})),
        latency(metrics.add_histogram("substrate_gateway_request_duration_seconds",
                                      "Gateway request latency (routing to the answer sent; an event's includes the "
                                      "broker's ack) by route and status.",
                                      core::latency_buckets_seconds(), {"route", "status"})),
        produce_failures(metrics.add_counter("substrate_gateway_produce_failures_total",
                                             "Events not accepted after encoding: broker unavailable or refused.",
                                             {"reason"})) {
    if (!options.now_s) options.now_s = system_now_s;
    if (!options.now_ms) options.now_ms = steady_now_ms;
    webhook_digest = digest(options.webhook_secret);
  }

  // The per-route request count and latency, told by the HTTP server after each answer
  // (net::route_observer): no coroutine wrapped around the handlers.
  net::route_observer observer(std::string route) {
    // The 202's series, looked up once: labels() builds its key and takes a lock.
    core::counter& accepted_count = requests.labels({route, "202"});
    core::histogram& accepted_latency = latency.labels({route, "202"});
    return [this, route = std::move(route), &accepted_count, &accepted_latency](int status, double seconds) {
      if (status == 202) {
        accepted_count.increment();
        accepted_latency.observe(seconds);
        return;
      }
      const std::string label = std::to_string(status);
      requests.labels({route, label}).increment();
      latency.labels({route, label}).observe(seconds);
    };
  }

  result<shared_identity> authenticate(const net::http_request& request) const {
    const auto token = bearer_token(request.header("Authorization"));
    if (!token) return make_error(errc::unauthorized, "missing or invalid Bearer token");
    return verifier.verify(*token, options.now_s());
  }

  std::optional<net::http_response> limited(std::string_view caller) {
    if (auto wait_s = limiter.take(caller, options.now_ms())) {
      auto response = fail(429, "rate_limited", "Too Many Requests", fmt::format("retry after {} s", *wait_s));
      response.set_header("Retry-After", std::to_string(*wait_s));
      return response;
    }
    return std::nullopt;
  }

  // An answer that is ready: the refusals of a handler that is not a coroutine itself.
  static awaitable<net::http_response> answer(net::http_response response) { co_return response; }

  // encode (here when the topic's schema is known, else on the blocking pool: the registry may
  // be asked), produce, wait for the acknowledgement. `topic` points into `topic_owner` (a route
  // table) or is a literal (no owner); the coroutine's frame holds its parameters, and so the owner,
  // until it ends.
  awaitable<net::http_response> publish(std::string_view topic,
                                        [[maybe_unused]] std::shared_ptr<const void> topic_owner, std::string json,
                                        std::string event_id, std::string_view id_name) {
    result<std::string> encoded = make_error(errc::unavailable, "not encoded");
    if (!sink.encode_blocks(topic)) {
      encoded = sink.encode(topic, json);
    } else {
      auto work = [this, topic, json = std::move(json)] { return sink.encode(topic, json); };
      encoded = co_await net::run_blocking(blocking, std::move(work));
    }
    if (!encoded) {
      const auto& e = encoded.error();
      if (e.code == avro::errc::invalid_json || e.code == avro::errc::too_deep) {
        co_return fail(400, "invalid_json", "Invalid JSON structure");
      }
      if (e.code.category() == avro::avro_category()) {
        co_return fail(400, "schema_violation", "Internal schema formatting violation", e.context);
      }
      if (e.code == errc::unavailable) {
        co_return fail(503, "registry_unavailable",
                       fmt::format("Failed to resolve schema registry formatting for topic: {}", topic), e.message());
      }
      gateway_log.error("cannot encode for topic {}: {}", topic, e.message());
      co_return fail(500, "internal_error",
                     fmt::format("Failed to resolve schema registry formatting for topic: {}", topic), e.message());
    }
    // The answer's start, written now so that the id can move into the record's headers.
    // Written out: the id is a UUID and topic names are [A-Za-z0-9._-] (routes.h), nothing to
    // escape, and building a JSON object (or running fmt's format parser) for four members cost
    // more than the rest of the answer.
    std::string body;
    body.reserve(96 + topic.size());
    body.append("{\"").append(id_name).append("\":\"").append(event_id).append("\",\"topic\":\"");
    body.append(topic).append("\",\"partition\":");
    record_headers headers;
    headers.emplace_back("event_id", std::move(event_id));
    auto start = [this, topic, value = std::move(*encoded),
                  headers = std::move(headers)](std::function<void(result<produced>)> done) mutable {
      sink.produce(topic, std::move(value), std::move(headers), std::move(done));
    };
    auto acked = co_await net::await_callback<result<produced>>(std::move(start));
    if (!acked) {
      const auto& e = acked.error();
      if (e.code == errc::unavailable) {
        produce_failures.labels({"unavailable"}).increment();
        co_return fail(503, "broker_unavailable", "Service Unavailable (the event was not stored)", e.message());
      }
      produce_failures.labels({"refused"}).increment();
      gateway_log.error("produce to {} failed: {}", topic, e.message());
      co_return fail(500, "produce_failed", "Internal server error (the event was not stored)", e.message());
    }
    core::append_decimal(body, acked->partition);
    body.append(",\"offset\":");
    core::append_decimal(body, acked->offset);
    body.push_back('}');
    co_return net::http_response::json(202, std::move(body));
  }

  // Not a coroutine: the checks run at once, and an accepted event's coroutine is publish's (a
  // frame, its allocation and a resumption less per event).
  awaitable<net::http_response> events(net::http_request& request) {
    const auto who = authenticate(request);
    if (!who) return answer(fail(401, "unauthorized", "Unauthorized (Invalid JWT Signature)", who.error().context));
    const identity& user = **who;
    if (user.subject.empty()) {
      return answer(fail(401, "unauthorized", "Unauthorized (Invalid JWT Signature)",
                         "the token has no subject (sub): events need a user token"));
    }
    const std::string key = lower(request.param("key"));
    auto table = routes.current();
    const std::string* topic = table->external_topic(key);
    if (!topic) return answer(fail(403, "forbidden", "Forbidden (Topic mapping not found in allowlist)"));
    if (auto refused = limited(user.subject)) return answer(std::move(*refused));
    if (!json_content_type(request)) {
      return answer(
          fail(415, "unsupported_media_type", "Unsupported Media Type", "send Content-Type: application/json"));
    }
    // One parse: the encoder's (bind_identity_text; a body that is not one JSON object fails
    // there as invalid_json).
    auto json = bind_identity_text(request.body, user);
    if (!json) {
      if (json.error().code == errc::unauthorized) {
        return answer(fail(401, "unauthorized", "Unauthorized (Invalid JWT Signature)", json.error().context));
      }
      return answer(fail(400, "invalid_json", "Invalid JSON structure"));
    }
    return publish(*topic, std::move(table), std::move(*json), uuid_v4(), "event_id");
  }

  awaitable<net::http_response> webhook(net::http_request& request) {
    const auto secret = request.header("X-Webhook-Secret");
    // Digests of equal length compared in constant time: neither the secret's bytes nor its
    // length leak through timing.
    const auto given = digest(secret.value_or(""));
    if (options.webhook_secret.empty() || !secret ||
        CRYPTO_memcmp(given.data(), webhook_digest.data(), given.size()) != 0) {
      co_return fail(401, "unauthorized", "Unauthorized Webhook Connection");
    }
    const std::string key = lower(request.param("key"));
    const auto table = routes.current();
    const std::string* topic = table->webhook_topic(key);
    if (!topic) co_return fail(403, "forbidden", "Forbidden (Topic mapping not found in allowlist)");
    if (auto refused = limited("webhook:" + request.remote_address)) co_return std::move(*refused);
    if (!json_content_type(request)) {
      co_return fail(415, "unsupported_media_type", "Unsupported Media Type", "send Content-Type: application/json");
    }
    auto body = parse_body_object(request.body);
    if (!body) co_return fail(400, "invalid_json", "Invalid JSON structure");
    auto shaped = shape_webhook(std::move(*body), rfc3339_seconds(options.now_s()));
    if (!shaped) co_return fail(400, "bad_request", "Bad request", shaped.error().context);
    if (shaped->ignored) {
      co_return net::http_response::json(200, nlohmann::json{{"ignored", true}, {"reason", shaped->reason}}.dump());
    }
    std::string json = shaped->record.dump();
    co_return co_await publish(*topic, table, std::move(json), uuid_v4(), "event_id");
  }

  enum class intent { upload, download, remove };

  awaitable<net::http_response> media(net::http_request& request, intent kind) {
    const auto who = authenticate(request);
    if (!who) co_return fail(401, "unauthorized", "Unauthorized", who.error().context);
    const identity& user = **who;
    if (user.subject.empty()) co_return fail(401, "unauthorized", "Unauthorized", "the token has no subject (sub)");
    if (auto refused = limited(user.subject)) co_return std::move(*refused);
    if (!json_content_type(request)) {
      co_return fail(415, "unsupported_media_type", "Unsupported Media Type", "send Content-Type: application/json");
    }
    auto body = parse_body_object(request.body);
    if (!body) co_return fail(400, "bad_request", "Bad request", body.error().context);
    const std::string request_id = uuid_v4();
    const std::string now = rfc3339_seconds(options.now_s());
    auto event = kind == intent::upload ? upload_intent(*body, user, options.media, request_id, now)
                                        : path_intent(*body, user, request_id, now);
    if (!event) co_return fail(400, "bad_request", "Bad request", event.error().context);
    const char* topic = kind == intent::upload     ? "internal.media.upload.intent"
                        : kind == intent::download ? "internal.media.download.intent"
                                                   : "internal.media.delete.intent";
    std::string json = event->dump();
    auto response = co_await publish(topic, nullptr, std::move(json), request_id, "request_id");
    if (response.status == 400) {
      // Our own record does not fit the schema: a server fault (contracts.md 3.1.7 step 6).
      co_return fail(500, "internal_error", "Internal server error", "the intent does not fit its topic's schema");
    }
    co_return response;
  }

  awaitable<net::http_response> admin_routes(net::http_request& request) {
    auto who = authenticate(request);
    if (!who) co_return fail(401, "unauthorized", "Unauthorized", who.error().context);
    if ((*who)->role != "service_role") co_return fail(403, "forbidden", "Forbidden (service_role token required)");
    const auto table = routes.current();
    nlohmann::json body = {{"version", table->version},
                           {"loaded_at_ms", table->loaded_at_ms},
                           {"path", routes.path()},
                           {"webhookRoutes", table->webhook},
                           {"externalRoutes", table->external}};
    if (auto last = routes.last_error()) body["last_error"] = *last;
    co_return net::http_response::json(200, body.dump());
  }
};

service::service(service_options options, const token_verifier& verifier, route_store& routes, event_sink& sink,
                 core::metrics_registry& metrics, boost::asio::thread_pool& blocking)
    : impl_(std::make_unique<impl>(std::move(options), verifier, routes, sink, metrics, blocking)) {
  if (impl_->options.webhook_secret.empty()) {
    gateway_log.warn("gateway.webhook_secret is empty: every POST /webhooks/{{key}} is refused with 401");
  }
}

service::~service() = default;

void service::add_routes(net::router& router) {
  impl* self = impl_.get();
  auto events = [self](net::http_request& r) { return self->events(r); };
  router.add("POST", "/api/v1/events/{key}", events, self->observer("events"));
  router.add("POST", "/api/v1/events/{key}/{rest*}", events, self->observer("events"));
  auto webhooks = [self](net::http_request& r) { return self->webhook(r); };
  router.add("POST", "/webhooks/{key}", webhooks, self->observer("webhooks"));
  router.add("POST", "/webhooks/{key}/{rest*}", webhooks, self->observer("webhooks"));
  router.add(
      "POST", "/api/v1/media/upload-intent",
      [self](net::http_request& r) { return self->media(r, impl::intent::upload); }, self->observer("upload_intent"));
  router.add(
      "POST", "/api/v1/media/download-intent",
      [self](net::http_request& r) { return self->media(r, impl::intent::download); },
      self->observer("download_intent"));
  router.add(
      "POST", "/api/v1/media/delete-intent",
      [self](net::http_request& r) { return self->media(r, impl::intent::remove); }, self->observer("delete_intent"));
  router.add(
      "GET", "/admin/routes", [self](net::http_request& r) { return self->admin_routes(r); },
      self->observer("admin_routes"));
}

}  // namespace substrate::gateway
