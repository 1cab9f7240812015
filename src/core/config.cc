#include "core/config.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace substrate::core {
namespace {

// Returns an error sentence (without the key) or an empty string on success.
using scalar_setter = std::function<std::string(config&, const std::string&)>;
using list_setter = std::function<std::string(config&, const std::vector<std::string>&)>;
using renderer = std::function<std::string(const config&)>;

struct property {
  std::string name;
  std::string doc;
  std::string bounds;
  bool secret = false;
  bool is_list = false;
  scalar_setter set_scalar;
  list_setter set_list;
  renderer render;  // YAML text of the value (scalar, or flow sequence)
};

std::string yaml_quote(const std::string& text) {
  YAML::Emitter out;
  out << YAML::DoubleQuoted << text;
  return out.c_str();
}

template <class Access>
property integer(std::string name, std::string doc, std::int64_t min, std::int64_t max, Access access) {
  property p{std::move(name), std::move(doc), fmt::format("{}..{}", min, max)};
  p.set_scalar = [min, max, access](config& c, const std::string& text) -> std::string {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc::result_out_of_range) return fmt::format("{} is out of range [{}, {}]", text, min, max);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
      return fmt::format("expected an integer, got '{}'", text);
    }
    if (value < min || value > max) return fmt::format("{} is out of range [{}, {}]", value, min, max);
    access(c) = value;
    return {};
  };
  p.render = [access](const config& c) { return std::to_string(access(const_cast<config&>(c))); };
  return p;
}

template <class Access>
property boolean(std::string name, std::string doc, Access access) {
  property p{std::move(name), std::move(doc), "true or false"};
  p.set_scalar = [access](config& c, const std::string& text) -> std::string {
    if (text == "true")
      access(c) = true;
    else if (text == "false")
      access(c) = false;
    else
      return fmt::format("expected true or false, got '{}'", text);
    return {};
  };
  p.render = [access](const config& c) { return std::string(access(const_cast<config&>(c)) ? "true" : "false"); };
  return p;
}

template <class Access>
property string(std::string name, std::string doc, Access access, bool secret = false) {
  property p{std::move(name), std::move(doc), "", secret};
  p.set_scalar = [access](config& c, const std::string& text) -> std::string {
    if (text.find('\0') != std::string::npos) return "contains a NUL character";
    access(c) = text;
    return {};
  };
  p.render = [access, secret](const config& c) {
    const std::string& value = access(const_cast<config&>(c));
    return yaml_quote(secret && !value.empty() ? std::string("********") : value);
  };
  return p;
}

template <class Access>
property string_list(std::string name, std::string doc, Access access) {
  property p{std::move(name), std::move(doc), "list of strings (comma-separated in the environment)"};
  p.is_list = true;
  p.set_list = [access](config& c, const std::vector<std::string>& items) -> std::string {
    access(c) = items;
    return {};
  };
  p.set_scalar = [access](config& c, const std::string& text) -> std::string {
    std::vector<std::string> items;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ',')) {
      if (!item.empty()) items.push_back(item);
    }
    access(c) = items;
    return {};
  };
  p.render = [access](const config& c) {
    std::string out = "[";
    const auto& items = access(const_cast<config&>(c));
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + yaml_quote(items[i]);
    return out + "]";
  };
  return p;
}

template <class Enum, class Access>
property enumeration(std::string name, std::string doc, std::vector<std::pair<std::string, Enum>> choices,
                     Access access) {
  std::string names;
  for (const auto& [text, value] : choices) names += (names.empty() ? "" : ", ") + text;
  property p{std::move(name), std::move(doc), "one of " + names};
  p.set_scalar = [choices, names, access](config& c, const std::string& text) -> std::string {
    for (const auto& [choice, value] : choices) {
      if (choice == text) {
        access(c) = value;
        return {};
      }
    }
    return fmt::format("expected one of {}, got '{}'", names, text);
  };
  p.render = [choices, access](const config& c) {
    for (const auto& [choice, value] : choices) {
      if (value == access(const_cast<config&>(c))) return choice;
    }
    return std::string("?");
  };
  return p;
}

constexpr std::int64_t port_max = 65535;
constexpr std::int64_t hour_ms = 3'600'000;

std::vector<property> make_properties() {
  std::vector<property> p;
  p.push_back(string(
      "data_dir", "Directory for all state: the PostgreSQL cluster, logs, keys and substrate.env.",
      [](config & c) -> auto& { return c.data_dir; }));
  p.push_back(enumeration<log_level>(
      "log.level", "Lowest level written to stderr.",
      {{"trace", log_level::trace},
       {"debug", log_level::debug},
       {"info", log_level::info},
       {"warn", log_level::warn},
       {"error", log_level::error}},
      [](config & c) -> auto& { return c.log.level; }));
  p.push_back(enumeration<log_format>(
      "log.format", "json: one JSON object per line; text: for people at a terminal.",
      {{"json", log_format::json}, {"text", log_format::text}}, [](config & c) -> auto& { return c.log.format; }));

  p.push_back(string(
      "database.url",
      "PostgreSQL connection URL of an external server; empty runs a private cluster in "
      "<data_dir>/postgres.",
      [](config & c) -> auto& { return c.database.url; }, true));
  p.push_back(string(
      "database.listen_address", "TCP address of the managed cluster.",
      [](config & c) -> auto& { return c.database.listen_address; }));
  p.push_back(integer(
      "database.port", "TCP port of the managed cluster.", 1, port_max,
      [](config & c) -> auto& { return c.database.port; }));
  p.push_back(string(
      "database.bin_dir",
      "Directory of the PostgreSQL server binaries; empty picks the newest /usr/lib/postgresql/*/bin.",
      [](config & c) -> auto& { return c.database.bin_dir; }));
  p.push_back(integer(
      "database.shared_buffers_mb", "shared_buffers of the managed cluster, in MiB.", 1, 1 << 20,
      [](config & c) -> auto& { return c.database.shared_buffers_mb; }));
  p.push_back(integer(
      "database.max_connections", "max_connections of the managed cluster.", 10, 10'000,
      [](config & c) -> auto& { return c.database.max_connections; }));
  p.push_back(integer(
      "database.max_replication_slots", "Replication slots of the managed cluster (realtime uses them).", 1, 1000,
      [](config & c) -> auto& { return c.database.max_replication_slots; }));
  p.push_back(integer(
      "database.max_wal_senders", "WAL senders of the managed cluster.", 1, 1000,
      [](config & c) -> auto& { return c.database.max_wal_senders; }));
  p.push_back(integer(
      "database.start_timeout_ms", "How long the managed cluster may take to accept connections.", 100, hour_ms,
      [](config & c) -> auto& { return c.database.start_timeout_ms; }));
  p.push_back(integer(
      "database.stop_timeout_ms",
      "How long a fast shutdown of the managed cluster may take before it is stopped immediately.", 100, hour_ms,
      [](config & c) -> auto& { return c.database.stop_timeout_ms; }));
  p.push_back(integer(
      "database.connect_timeout_ms", "Connection timeout for every database connection.", 100, hour_ms,
      [](config & c) -> auto& { return c.database.connect_timeout_ms; }));

  p.push_back(string(
      "admin.listen_address", "Address of the admin listener (/metrics, /healthz, /readyz).",
      [](config & c) -> auto& { return c.admin.listen_address; }));
  p.push_back(integer(
      "admin.port", "Port of the admin listener; 0 picks a free port.", 0, port_max,
      [](config & c) -> auto& { return c.admin.port; }));

  p.push_back(boolean(
      "kafka.enabled", "Run the built-in Kafka-protocol broker.", [](config & c) -> auto& { return c.kafka.enabled; }));
  p.push_back(string(
      "kafka.listen_address", "Address of the Kafka listener.",
      [](config & c) -> auto& { return c.kafka.listen_address; }));
  p.push_back(integer(
      "kafka.port", "Port of the Kafka listener; 0 picks a free port.", 0, port_max,
      [](config & c) -> auto& { return c.kafka.port; }));
  p.push_back(string(
      "kafka.advertised_host", "Host that Metadata tells clients to connect to; empty: kafka.listen_address.",
      [](config & c) -> auto& { return c.kafka.advertised_host; }));
  p.push_back(boolean(
      "kafka.auto_create_topics", "Create a topic when a client asks for one that does not exist.",
      [](config & c) -> auto& { return c.kafka.auto_create_topics; }));
  p.push_back(integer(
      "kafka.default_partitions", "Partitions of an auto-created topic.", 1, 10'000,
      [](config & c) -> auto& { return c.kafka.default_partitions; }));
  p.push_back(integer(
      "kafka.frame_bytes_max", "Largest request frame accepted (Kafka's socket.request.max.bytes).", 1024,
      std::int64_t{1} << 30, [](config & c) -> auto& { return c.kafka.frame_bytes_max; }));
  p.push_back(integer(
      "kafka.idle_timeout_ms", "Idle Kafka connections close after this long.", 1000, 24 * hour_ms,
      [](config & c) -> auto& { return c.kafka.idle_timeout_ms; }));
  p.push_back(integer(
      "kafka.segment_bytes", "Default segment.bytes of new topics.", 1 << 14, std::int64_t{1} << 30,
      [](config & c) -> auto& { return c.kafka.segment_bytes; }));
  p.push_back(integer(
      "kafka.retention_ms", "Default retention.ms of new topics; -1 keeps everything.", -1, std::int64_t{1} << 50,
      [](config & c) -> auto& { return c.kafka.retention_ms; }));
  p.push_back(integer(
      "kafka.retention_bytes", "Default retention.bytes per partition of new topics; -1: no limit.", -1,
      std::int64_t{1} << 50, [](config & c) -> auto& { return c.kafka.retention_bytes; }));
  p.push_back(integer(
      "kafka.group_initial_rebalance_delay_ms",
      "How long a new consumer group waits for more members before its first rebalance completes.", 0, 300'000,
      [](config & c) -> auto& { return c.kafka.group_initial_rebalance_delay_ms; }));
  p.push_back(boolean(
      "kafka.sasl.enabled",
      "Require SASL authentication (PLAIN, SCRAM-SHA-256) on the Kafka listener; users come from "
      "`substrate kafka user add` (<data_dir>/kafka-security/users.json).",
      [](config & c) -> auto& { return c.kafka.sasl.enabled; }));
  p.push_back(string_list(
      "kafka.sasl.mechanisms", "SASL mechanisms offered, in order: SCRAM-SHA-256 and/or PLAIN.",
      [](config & c) -> auto& { return c.kafka.sasl.mechanisms; }));
  p.push_back(boolean(
      "kafka.authorization.enabled",
      "Check ACLs (`substrate kafka acl add`, <data_dir>/kafka-security/acls.json) for every topic and group "
      "operation; principals come from SASL (User:ANONYMOUS without it). No matching ACL denies.",
      [](config & c) -> auto& { return c.kafka.authorization.enabled; }));
  p.push_back(string_list(
      "kafka.authorization.super_users", "Principals (User:<name>) allowed everything, whatever the ACLs.",
      [](config & c) -> auto& { return c.kafka.authorization.super_users; }));

  p.push_back(boolean(
      "api.enabled", "Serve the Supabase-compatible API (/auth/v1, /rest/v1, /realtime/v1) in `substrate up`.",
      [](config & c) -> auto& { return c.api.enabled; }));
  p.push_back(string(
      "api.listen_address", "Address of the Supabase-compatible API listener.",
      [](config & c) -> auto& { return c.api.listen_address; }));
  p.push_back(integer(
      "api.port", "Port of the Supabase-compatible API; 0 picks a free port.", 0, port_max,
      [](config & c) -> auto& { return c.api.port; }));
  p.push_back(string(
      "api.public_url",
      "URL clients reach the API at (issuer of user tokens is <public_url>/auth/v1); empty: "
      "http://<listen_address>:<port>.",
      [](config & c) -> auto& { return c.api.public_url; }));
  p.push_back(string(
      "api.jwt_secret",
      "HS256 project secret, at least 32 bytes; empty: generated on first start in <data_dir>/secrets/jwt-secret.",
      [](config & c) -> auto& { return c.api.jwt_secret; }, true));
  p.push_back(string_list(
      "api.cors_origins", "Origins allowed to call the API from a browser (comma-separated, or *).",
      [](config & c) -> auto& { return c.api.cors_origins; }));

  p.push_back(boolean(
      "auth.autoconfirm", "Sign-up confirms the e-mail at once and returns a session (no confirmation mail).",
      [](config & c) -> auto& { return c.auth.autoconfirm; }));
  p.push_back(boolean(
      "auth.signup_enabled", "Allow POST /auth/v1/signup (admin users/create works either way).",
      [](config & c) -> auto& { return c.auth.signup_enabled; }));
  p.push_back(integer(
      "auth.jwt_expiry_s",
      "Lifetime of user access tokens in seconds (supabase-js refreshes 90 s before expiry, hence >= 300).", 300,
      7 * 24 * 3600, [](config & c) -> auto& { return c.auth.jwt_expiry_s; }));
  p.push_back(integer(
      "auth.password_length_min", "Shortest password sign-up accepts (422 weak_password below).", 1, 72,
      [](config & c) -> auto& { return c.auth.password_length_min; }));
  p.push_back(integer(
      "auth.refresh_reuse_interval_s",
      "A rotated refresh token reused within this many seconds returns the current one; later it revokes the "
      "session's tokens.",
      0, 3600, [](config & c) -> auto& { return c.auth.refresh_reuse_interval_s; }));
  p.push_back(integer(
      "auth.argon2_memory_kib", "Argon2id memory cost of new password hashes, in KiB.", 8 * 1024, 1024 * 1024,
      [](config & c) -> auto& { return c.auth.argon2_memory_kib; }));
  p.push_back(integer(
      "auth.argon2_iterations", "Argon2id time cost (passes) of new password hashes.", 1, 100,
      [](config & c) -> auto& { return c.auth.argon2_iterations; }));
  p.push_back(integer(
      "auth.argon2_parallelism", "Argon2id lanes of new password hashes.", 1, 16,
      [](config & c) -> auto& { return c.auth.argon2_parallelism; }));
  p.push_back(integer(
      "auth.sign_in_email_failures_burst",
      "Failed password sign-ins allowed for one e-mail before 429 over_request_rate_limit.", 1, 1'000'000,
      [](config & c) -> auto& { return c.auth.sign_in_email_failures_burst; }));
  p.push_back(integer(
      "auth.sign_in_email_refill_s", "Seconds after which one more failed sign-in is allowed for an e-mail.", 1,
      24 * 3600, [](config & c) -> auto& { return c.auth.sign_in_email_refill_s; }));
  p.push_back(integer(
      "auth.sign_in_address_failures_burst",
      "Failed password sign-ins allowed from one client address before 429 over_request_rate_limit.", 1, 1'000'000,
      [](config & c) -> auto& { return c.auth.sign_in_address_failures_burst; }));
  p.push_back(integer(
      "auth.sign_in_address_refill_s", "Seconds after which one more failed sign-in is allowed from a client address.",
      1, 24 * 3600, [](config & c) -> auto& { return c.auth.sign_in_address_refill_s; }));
  p.push_back(integer(
      "auth.sign_up_address_burst", "Sign-ups allowed from one client address before 429 over_request_rate_limit.", 1,
      1'000'000, [](config & c) -> auto& { return c.auth.sign_up_address_burst; }));
  p.push_back(integer(
      "auth.sign_up_address_refill_s", "Seconds after which one more sign-up is allowed from a client address.", 1,
      24 * 3600, [](config & c) -> auto& { return c.auth.sign_up_address_refill_s; }));
  p.push_back(integer(
      "auth.connections_max", "PostgreSQL connections of the Auth service.", 1, 100,
      [](config & c) -> auto& { return c.auth.connections_max; }));
  p.push_back(integer(
      "auth.password_threads",
      "Threads that run the Auth calls hashing passwords (sign-up, sign-in), apart from blocking_threads.", 1, 64,
      [](config & c) -> auto& { return c.auth.password_threads; }));

  p.push_back(boolean(
      "web.enabled", "Serve the web app (web/dist) and its /config.json in `substrate up`.",
      [](config & c) -> auto& { return c.web.enabled; }));
  p.push_back(string(
      "web.listen_address", "Address of the web app's HTTP listener.",
      [](config & c) -> auto& { return c.web.listen_address; }));
  p.push_back(integer(
      "web.port", "Port of the web app; 0 picks a free port.", 0, port_max,
      [](config & c) -> auto& { return c.web.port; }));
  p.push_back(string(
      "web.root", "Directory of the built web app; empty: web/dist of the source tree substrate was built from.",
      [](config & c) -> auto& { return c.web.root; }));
  p.push_back(string(
      "web.gateway_url",
      "The gateway URL the web app sends events to; empty: http://<gateway.listen_address>:<gateway.port>.",
      [](config & c) -> auto& { return c.web.gateway_url; }));

  p.push_back(boolean(
      "rest.enabled", "Serve the PostgREST-compatible data API (/rest/v1) on the api listener.",
      [](config & c) -> auto& { return c.rest.enabled; }));
  p.push_back(string(
      "rest.database_url",
      "libpq URL of the authenticator login role REST connects as; empty: the managed cluster's "
      "authenticator, or database.url on an external database.",
      [](config & c) -> auto& { return c.rest.database_url; }, true));
  p.push_back(string_list(
      "rest.schemas", "Schemas exposed through /rest/v1 (the first is the default profile).",
      [](config & c) -> auto& { return c.rest.schemas; }));
  p.push_back(integer(
      "rest.pool_size", "PostgreSQL connections of the REST pool.", 1, 1000,
      [](config & c) -> auto& { return c.rest.pool_size; }));
  p.push_back(integer(
      "rest.pool_timeout_ms", "How long a request waits for a free connection before 504.", 1, 600000,
      [](config & c) -> auto& { return c.rest.pool_timeout_ms; }));
  p.push_back(integer(
      "rest.in_list_max", "Most items of one in.(...) filter list.", 1, 1000000,
      [](config & c) -> auto& { return c.rest.in_list_max; }));
  p.push_back(integer(
      "rest.logic_depth_max", "Deepest nesting of or=(...) / and=(...) filters.", 1, 64,
      [](config & c) -> auto& { return c.rest.logic_depth_max; }));
  p.push_back(boolean(
      "rest.prepared_statements",
      "Prepare each query shape once per connection; turn off behind a transaction-mode pooler (PgBouncer).",
      [](config & c) -> auto& { return c.rest.prepared_statements; }));

  p.push_back(boolean(
      "realtime.enabled", "Serve Realtime postgres_changes and broadcast (/realtime/v1/websocket) on the api listener.",
      [](config & c) -> auto& { return c.realtime.enabled; }));
  p.push_back(integer(
      "realtime.batch_changes_max",
      "Most committed changes checked for row-level security and fanned out as one batch (one query).", 1, 100000,
      [](config & c) -> auto& { return c.realtime.batch_changes_max; }));
  p.push_back(integer(
      "realtime.stale_slot_timeout_s",
      "Drop other instances' replication slots substrate_realtime_<id> inactive this long (they retain WAL); "
      "0: never.",
      0, 365LL * 24 * 3600, [](config & c) -> auto& { return c.realtime.stale_slot_timeout_s; }));

  p.push_back(boolean(
      "registry.enabled", "Run the schema registry in `substrate up`.",
      [](config & c) -> auto& { return c.registry.enabled; }));
  p.push_back(string(
      "registry.listen_address", "Address of the schema registry's HTTP listener.",
      [](config & c) -> auto& { return c.registry.listen_address; }));
  p.push_back(integer(
      "registry.port", "Port of the schema registry; 0 picks a free port.", 0, port_max,
      [](config & c) -> auto& { return c.registry.port; }));
  p.push_back(string(
      "registry.kafka_bootstrap",
      "Kafka bootstrap servers (host:port,...) holding the registry's topic; empty: the built-in broker.",
      [](config & c) -> auto& { return c.registry.kafka_bootstrap; }));
  p.push_back(string(
      "registry.topic", "The compacted topic the registry keeps its schemas in (Confluent's kafkastore.topic).",
      [](config & c) -> auto& { return c.registry.topic; }));
  p.push_back(integer(
      "registry.timeout_ms", "How long start-up reading and each write (acknowledgement and read-back) may take.", 100,
      hour_ms, [](config & c) -> auto& { return c.registry.timeout_ms; }));

  p.push_back(string(
      "registry.kafka_sasl_mechanism",
      "SASL mechanism towards the registry's Kafka cluster: SCRAM-SHA-256, PLAIN, or empty for none.",
      [](config & c) -> auto& { return c.registry.kafka_sasl_mechanism; }));
  p.push_back(string(
      "registry.kafka_sasl_username", "SASL user of the registry (and of provisioning) on its Kafka cluster.",
      [](config & c) -> auto& { return c.registry.kafka_sasl_username; }));
  p.push_back(string(
      "registry.kafka_sasl_password", "That user's password.",
      [](config & c) -> auto& { return c.registry.kafka_sasl_password; }, true));
  p.push_back(boolean(
      "registry.basic_auth",
      "Require HTTP basic auth on the registry, checked against the users of `substrate kafka user add`.",
      [](config & c) -> auto& { return c.registry.basic_auth; }));
  p.push_back(boolean(
      "processors.enabled", "Run the stream processors in `substrate up`.",
      [](config & c) -> auto& { return c.processors.enabled; }));
  p.push_back(string(
      "processors.kafka_bootstrap",
      "Kafka bootstrap servers (host:port,...) the processors consume from; empty: in `up` the registry's "
      "cluster (where the topics are provisioned), in `substrate processors` kafka.listen_address:kafka.port.",
      [](config & c) -> auto& { return c.processors.kafka_bootstrap; }));
  p.push_back(string(
      "processors.kafka_sasl_mechanism",
      "SASL mechanism of the processors towards their Kafka cluster: SCRAM-SHA-256, PLAIN, or empty for none.",
      [](config & c) -> auto& { return c.processors.kafka_sasl_mechanism; }));
  p.push_back(string(
      "processors.kafka_sasl_username", "SASL user of the processors (contracts.md 0.5: flink-processor).",
      [](config & c) -> auto& { return c.processors.kafka_sasl_username; }));
  p.push_back(string(
      "processors.kafka_sasl_password", "That user's password.",
      [](config & c) -> auto& { return c.processors.kafka_sasl_password; }, true));
  p.push_back(integer(
      "processors.batch_records_max", "Records of one poll handled together (one transaction per partition).", 1,
      100'000, [](config & c) -> auto& { return c.processors.batch_records_max; }));
  p.push_back(integer(
      "processors.retry_backoff_max_ms", "Longest wait between retries of a transient failure (database, registry).",
      10, hour_ms, [](config & c) -> auto& { return c.processors.retry_backoff_max_ms; }));
  p.push_back(integer(
      "processors.session_timeout_ms",
      "Consumer-group session timeout: after a crash, the member's partitions move to the others after this long.",
      1000, 300'000, [](config & c) -> auto& { return c.processors.session_timeout_ms; }));
  p.push_back(integer(
      "processors.unknown_schema_retry_ms",
      "How long a schema id the registry does not know is retried before the record is dead-lettered.", 0, hour_ms,
      [](config & c) -> auto& { return c.processors.unknown_schema_retry_ms; }));
  p.push_back(boolean(
      "provision.enabled", "At `substrate up`, create the platform's topics and register their schemas.",
      [](config & c) -> auto& { return c.provision.enabled; }));
  p.push_back(integer(
      "provision.partitions", "Partitions of each provisioned topic without an override.", 1, 10'000,
      [](config & c) -> auto& { return c.provision.partitions; }));
  p.push_back(string(
      "provision.cleanup_policy",
      "cleanup.policy of each provisioned topic without an override: delete, compact or compact,delete.",
      [](config & c) -> auto& { return c.provision.cleanup_policy; }));
  p.push_back(string_list(
      "provision.overrides",
      "Per-topic settings: topic=partitions or topic=partitions/policy (delete, compact, compact+delete).",
      [](config & c) -> auto& { return c.provision.overrides; }));

  p.push_back(boolean(
      "gateway.enabled", "Serve the ingress gateway (/api/v1/events, /webhooks, media intents) in `substrate up`.",
      [](config & c) -> auto& { return c.gateway.enabled; }));
  p.push_back(string(
      "gateway.listen_address", "Address of the gateway listener.",
      [](config & c) -> auto& { return c.gateway.listen_address; }));
  p.push_back(integer(
      "gateway.port", "Port of the gateway; 0 picks a free port.", 0, port_max,
      [](config & c) -> auto& { return c.gateway.port; }));
  p.push_back(string(
      "gateway.routes_file",
      "The routes file (webhookRoutes / externalRoutes), reloaded on change; missing: every route answers 403.",
      [](config & c) -> auto& { return c.gateway.routes_file; }));
  p.push_back(string(
      "gateway.webhook_secret", "The X-Webhook-Secret webhooks must send; empty: every webhook is refused (401).",
      [](config & c) -> auto& { return c.gateway.webhook_secret; }, true));
  p.push_back(string(
      "gateway.jwks_url",
      "JWKS URL (http://) of ES256/RS256 keys accepted besides HS256, fetched at start, every "
      "gateway.jwks_refresh_s and when a token names an unknown kid.",
      [](config & c) -> auto& { return c.gateway.jwks_url; }));
  p.push_back(integer(
      "gateway.jwks_refresh_s",
      "Seconds between two fetches of gateway.jwks_url; 0: only at start and on unknown kids.", 0, 7 * 24 * 3600,
      [](config & c) -> auto& { return c.gateway.jwks_refresh_s; }));
  p.push_back(integer(
      "gateway.jwks_refresh_min_s",
      "Seconds at least between a fetch of gateway.jwks_url and one asked by a token with an unknown kid.", 0, 3600,
      [](config & c) -> auto& { return c.gateway.jwks_refresh_min_s; }));
  p.push_back(string(
      "gateway.jwks_file", "JWKS file of ES256/RS256 keys accepted besides HS256, read at start.",
      [](config & c) -> auto& { return c.gateway.jwks_file; }));
  p.push_back(integer(
      "gateway.body_bytes_max", "Largest event body accepted (larger: 413).", 1024, 64 << 20,
      [](config & c) -> auto& { return c.gateway.body_bytes_max; }));
  p.push_back(integer(
      "gateway.rate_limit_per_s", "Requests per second per user (token bucket; beyond: 429); 0: no limit.", 0,
      1'000'000, [](config & c) -> auto& { return c.gateway.rate_limit_per_s; }));
  p.push_back(integer(
      "gateway.rate_limit_burst", "Requests a user may send at once before the rate applies.", 1, 1'000'000,
      [](config & c) -> auto& { return c.gateway.rate_limit_burst; }));
  p.push_back(string_list(
      "gateway.media_types", "Media types an upload intent may name (exact); empty: any type/subtype.",
      [](config & c) -> auto& { return c.gateway.media_types; }));
  p.push_back(integer(
      "gateway.media_file_size_max", "Largest file_size an upload intent may announce, in bytes.", 1,
      std::int64_t{1} << 40, [](config & c) -> auto& { return c.gateway.media_file_size_max; }));
  p.push_back(integer(
      "gateway.produce_timeout_ms", "How long an event may wait for the broker's ack before the request gets 503.", 100,
      hour_ms, [](config & c) -> auto& { return c.gateway.produce_timeout_ms; }));
  p.push_back(boolean(
      "gateway.in_process_broker",
      "With up's built-in broker and no bus.kafka_bootstrap: append events to it directly (acks=all durability) "
      "instead of through a Kafka client over loopback.",
      [](config & c) -> auto& { return c.gateway.in_process_broker; }));
  p.push_back(string(
      "bus.kafka_bootstrap",
      "Kafka bootstrap servers the services produce to; empty: registry.kafka_bootstrap, else the built-in broker.",
      [](config & c) -> auto& { return c.bus.kafka_bootstrap; }));
  p.push_back(string(
      "bus.registry_url", "Schema registry the services use (http://host:port); empty: the built-in registry.",
      [](config & c) -> auto& { return c.bus.registry_url; }));
  p.push_back(string(
      "bus.registry_username", "HTTP basic auth user towards the schema registry; empty: none.",
      [](config & c) -> auto& { return c.bus.registry_username; }));
  p.push_back(string(
      "bus.registry_password", "That user's password.", [](config & c) -> auto& { return c.bus.registry_password; },
      true));
  p.push_back(string(
      "bus.kafka_sasl_mechanism",
      "SASL mechanism of the services' Kafka clients: SCRAM-SHA-256, PLAIN, or empty for registry.kafka_sasl_*.",
      [](config & c) -> auto& { return c.bus.kafka_sasl_mechanism; }));
  p.push_back(string(
      "bus.kafka_sasl_username", "SASL user of the services' Kafka clients.",
      [](config & c) -> auto& { return c.bus.kafka_sasl_username; }));
  p.push_back(string(
      "bus.kafka_sasl_password", "That user's password.", [](config & c) -> auto& { return c.bus.kafka_sasl_password; },
      true));
  p.push_back(integer(
      "bus.delivery_timeout_ms",
      "How long a produced record may wait for the broker's acknowledgement before it fails (broker unavailable).", 100,
      hour_ms, [](config & c) -> auto& { return c.bus.delivery_timeout_ms; }));
  p.push_back(integer(
      "bus.registry_timeout_ms", "Deadline of each schema registry request.", 100, hour_ms,
      [](config & c) -> auto& { return c.bus.registry_timeout_ms; }));
  p.push_back(boolean(
      "outbox.enabled", "Relay substrate.outbox rows to Kafka in `substrate up` (one active relay per database).",
      [](config & c) -> auto& { return c.outbox.enabled; }));
  p.push_back(integer(
      "outbox.batch_size", "Outbox rows read, produced and deleted per round.", 1, 100'000,
      [](config & c) -> auto& { return c.outbox.batch_size; }));
  p.push_back(integer(
      "outbox.poll_interval_ms", "How often an idle relay looks for new rows (the added latency at most).", 1, 60'000,
      [](config & c) -> auto& { return c.outbox.poll_interval_ms; }));
  p.push_back(integer(
      "outbox.lock_retry_ms", "How often a standby relay tries to take over the database's relay lock.", 10, hour_ms,
      [](config & c) -> auto& { return c.outbox.lock_retry_ms; }));
  p.push_back(integer(
      "outbox.retry_backoff_ms", "Pause after a failed round (broker, registry or database down) before retrying.", 10,
      hour_ms, [](config & c) -> auto& { return c.outbox.retry_backoff_ms; }));

  p.push_back(integer(
      "http.shards", "I/O threads shared by every listener; 0 is one per core.", 0, 256,
      [](config & c) -> auto& { return c.http.shards; }));
  p.push_back(integer(
      "http.body_bytes_max", "Largest request body accepted (larger: 413).", 0, std::int64_t{1} << 40,
      [](config & c) -> auto& { return c.http.body_bytes_max; }));
  p.push_back(integer(
      "http.header_bytes_max", "Largest request line plus headers accepted (larger: 431).", 1024, 1 << 20,
      [](config & c) -> auto& { return c.http.header_bytes_max; }));
  p.push_back(integer(
      "http.read_timeout_ms", "Time allowed to receive a whole request once it started (then: 408).", 10, hour_ms,
      [](config & c) -> auto& { return c.http.read_timeout_ms; }));
  p.push_back(integer(
      "http.idle_timeout_ms", "Time an idle keep-alive connection stays open.", 10, hour_ms,
      [](config & c) -> auto& { return c.http.idle_timeout_ms; }));
  p.push_back(integer(
      "http.write_timeout_ms", "Time allowed to send a response to a slow reader.", 10, hour_ms,
      [](config & c) -> auto& { return c.http.write_timeout_ms; }));
  p.push_back(integer(
      "http.connections_max", "Open connections per listener (more: 503 and close).", 1, 1'000'000,
      [](config & c) -> auto& { return c.http.connections_max; }));
  p.push_back(integer(
      "http.shutdown_grace_ms", "Time in-flight requests get to finish at shutdown.", 0, hour_ms,
      [](config & c) -> auto& { return c.http.shutdown_grace_ms; }));
  p.push_back(string_list(
      "http.cors_origins", "Origins allowed by CORS (exact, or \"*\" for any).",
      [](config & c) -> auto& { return c.http.cors_origins; }));
  p.push_back(boolean(
      "http.access_log", "Log one structured line per HTTP request.",
      [](config & c) -> auto& { return c.http.access_log; }));

  p.push_back(integer(
      "blocking_threads", "Threads for blocking work (database calls, fsync, hashing).", 1, 256,
      [](config & c) -> auto& { return c.blocking_threads; }));
  return p;
}

const std::vector<property>& properties() {
  static const std::vector<property> table = make_properties();
  return table;
}

std::string environment_name(const std::string& key) {
  std::string out = "SUBSTRATE_";
  for (const char c : key)
    out.push_back(c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

const property* find_property(const std::string& key) {
  for (const auto& p : properties()) {
    if (p.name == key) return &p;
  }
  return nullptr;
}

bool is_group(const std::string& prefix) {
  for (const auto& p : properties()) {
    if (p.name.starts_with(prefix + ".")) return true;
  }
  return false;
}

[[noreturn]] void fail(const std::string& origin, const std::string& key, const std::string& why) {
  throw config_error(fmt::format("{}: {}: {}", origin, key, why));
}

std::string node_kind(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "nothing";
  return "'" + node.Scalar() + "'";
}

void apply_node(config& target, const YAML::Node& node, const std::string& key, const std::string& origin) {
  if (const property* p = find_property(key)) {
    std::string why;
    if (p->is_list) {
      if (node.IsNull()) {
        why = p->set_list(target, {});
      } else if (!node.IsSequence()) {
        why = "expected a list of strings, got " + node_kind(node);
      } else {
        std::vector<std::string> items;
        for (const auto& item : node) {
          if (!item.IsScalar()) fail(origin, key, "expected a list of strings, got an item that is " + node_kind(item));
          items.push_back(item.Scalar());
        }
        why = p->set_list(target, items);
      }
    } else if (node.IsNull()) {
      why = p->set_scalar(target, "");
    } else if (!node.IsScalar()) {
      why = "expected a single value, got " + node_kind(node);
    } else {
      why = p->set_scalar(target, node.Scalar());
    }
    if (!why.empty()) fail(origin, key, why);
    return;
  }
  if (!key.empty() && !is_group(key)) fail(origin, key, "unknown configuration key");
  if (node.IsNull() && !key.empty()) return;  // an empty section
  if (!node.IsMap()) fail(origin, key.empty() ? "(top level)" : key, "expected a mapping, got " + node_kind(node));
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) fail(origin, key, "keys must be plain strings");
    const std::string child = key.empty() ? entry.first.Scalar() : key + "." + entry.first.Scalar();
    apply_node(target, entry.second, child, origin);
  }
}

}  // namespace

void apply_config_yaml(config& target, const std::string& yaml_text, const std::string& origin) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw config_error(fmt::format("{}: not valid YAML: {}", origin, e.what()));
  }
  if (!root || root.IsNull()) return;
  apply_node(target, root, "", origin);
}

config load_config(const config_sources& sources) {
  config result;
  if (sources.file) {
    std::ifstream in(*sources.file);
    if (!in) throw config_error(fmt::format("{}: cannot read the configuration file", *sources.file));
    std::stringstream text;
    text << in.rdbuf();
    apply_config_yaml(result, text.str(), *sources.file);
  }
  for (const auto& entry : sources.environment) {
    if (!entry.starts_with("SUBSTRATE_")) continue;
    const auto equals = entry.find('=');
    const std::string name = entry.substr(0, equals);
    const std::string value = equals == std::string::npos ? "" : entry.substr(equals + 1);
    if (name == "SUBSTRATE_CONFIG") continue;  // the file path itself, handled by the CLI
    const property* match = nullptr;
    for (const auto& p : properties()) {
      if (environment_name(p.name) == name) match = &p;
    }
    if (!match) fail("environment", name, "unknown configuration variable (see `substrate config --describe`)");
    if (const auto why = match->set_scalar(result, value); !why.empty()) fail("environment", name, why);
  }
  for (const auto& [key, value] : sources.flags) {
    const property* p = find_property(key);
    if (!p) fail("command line", key, "unknown configuration key");
    if (const auto why = p->set_scalar(result, value); !why.empty()) fail("command line", key, why);
  }
  if (result.data_dir.empty()) fail("configuration", "data_dir", "must not be empty");
  if (result.registry.topic.empty()) fail("configuration", "registry.topic", "must not be empty");
  if (!result.api.jwt_secret.empty() && result.api.jwt_secret.size() < 32) {
    fail("configuration", "api.jwt_secret", "must be at least 32 bytes (HS256 needs a key as long as its hash)");
  }
  if (const auto& url = result.api.public_url;
      !url.empty() && !url.starts_with("http://") && !url.starts_with("https://")) {
    fail("configuration", "api.public_url", "must start with http:// or https://");
  }
  if (const auto& m = result.processors.kafka_sasl_mechanism; !m.empty() && m != "PLAIN" && m != "SCRAM-SHA-256") {
    fail("configuration", "processors.kafka_sasl_mechanism", "must be PLAIN, SCRAM-SHA-256 or empty");
  }
  if (!result.processors.kafka_sasl_mechanism.empty() && result.processors.kafka_sasl_username.empty()) {
    fail("configuration", "processors.kafka_sasl_username", "must be set when processors.kafka_sasl_mechanism is");
  }
  if (const auto& m = result.registry.kafka_sasl_mechanism; !m.empty() && m != "PLAIN" && m != "SCRAM-SHA-256") {
    fail("configuration", "registry.kafka_sasl_mechanism",
         fmt::format("'{}': expected PLAIN, SCRAM-SHA-256 or empty", m));
  }
  if (!result.registry.kafka_sasl_mechanism.empty() && result.registry.kafka_sasl_username.empty()) {
    fail("configuration", "registry.kafka_sasl_username", "must be set when registry.kafka_sasl_mechanism is");
  }
  if (const auto& url = result.gateway.jwks_url; !url.empty() && !url.starts_with("http://")) {
    fail("configuration", "gateway.jwks_url", "must start with http:// (put an https JWKS in gateway.jwks_file)");
  }
  if (const auto& policy = result.provision.cleanup_policy;
      policy != "delete" && policy != "compact" && policy != "compact,delete" && policy != "delete,compact") {
    fail("configuration", "provision.cleanup_policy",
         fmt::format("'{}': expected delete, compact or compact,delete", policy));
  }
  if (const auto& m = result.bus.kafka_sasl_mechanism; !m.empty() && m != "PLAIN" && m != "SCRAM-SHA-256") {
    fail("configuration", "bus.kafka_sasl_mechanism", fmt::format("'{}': expected PLAIN, SCRAM-SHA-256 or empty", m));
  }
  if (const auto& url = result.bus.registry_url; !url.empty() && url.rfind("http://", 0) != 0) {
    fail("configuration", "bus.registry_url", fmt::format("'{}': expected an http:// URL", url));
  }
  if (result.kafka.sasl.enabled && result.kafka.sasl.mechanisms.empty()) {
    fail("configuration", "kafka.sasl.mechanisms", "must name at least one mechanism when SASL is enabled");
  }
  for (const auto& m : result.kafka.sasl.mechanisms) {
    if (m != "PLAIN" && m != "SCRAM-SHA-256") {
      fail("configuration", "kafka.sasl.mechanisms", fmt::format("'{}': expected PLAIN or SCRAM-SHA-256", m));
    }
  }
  for (const auto& u : result.kafka.authorization.super_users) {
    if (!u.starts_with("User:") || u.size() == 5) {
      fail("configuration", "kafka.authorization.super_users", fmt::format("'{}': expected User:<name>", u));
    }
  }
  return result;
}

std::string render_config_yaml(const config& value) {
  // Properties are declared grouped by section (a subsection after its parent's leaves), so
  // consecutive keys share their prefix and each section header is written once.
  std::string out;
  std::vector<std::string> open;  // the sections of the previous key
  for (const auto& p : properties()) {
    std::vector<std::string> parts;
    std::stringstream stream(p.name);
    for (std::string part; std::getline(stream, part, '.');) parts.push_back(part);
    const std::string leaf = parts.back();
    parts.pop_back();
    std::size_t common = 0;
    while (common < open.size() && common < parts.size() && open[common] == parts[common]) ++common;
    for (std::size_t depth = common; depth < parts.size(); ++depth) {
      out += std::string(2 * depth, ' ') + parts[depth] + ":\n";
    }
    open = parts;
    out += std::string(2 * parts.size(), ' ') + leaf + ": " + p.render(value) + "\n";
  }
  return out;
}

std::vector<property_doc> describe_config() {
  const config defaults;
  std::vector<property_doc> docs;
  for (const auto& p : properties()) {
    docs.push_back({p.name, environment_name(p.name), p.doc, p.render(defaults), p.bounds, p.secret});
  }
  return docs;
}

}  // namespace substrate::core
