#pragma once
// The one typed configuration tree of a substrate process.
//
// Every property is declared once, in config.cc's property table, with its dotted name, a
// sentence of documentation, its bounds and whether it is secret; its default is the member
// initialiser below. Precedence: defaults < YAML file < SUBSTRATE_* environment < command-line
// flags. Loading validates everything and throws `config_error` naming the key on an unknown
// key, a value of the wrong type or a value out of range; main turns that into exit status 2.
//
// The environment name of a key is SUBSTRATE_ followed by the key in upper case with dots
// replaced by underscores: `database.port` is SUBSTRATE_DATABASE_PORT.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/logging.h"

namespace substrate::core {

// Limits and behaviour shared by every HTTP listener.
struct http_config {
  std::int64_t shards = 0;  // 0: one per core
  std::int64_t body_bytes_max = 1 << 20;
  std::int64_t header_bytes_max = 16 << 10;
  std::int64_t read_timeout_ms = 30'000;
  std::int64_t idle_timeout_ms = 60'000;
  std::int64_t write_timeout_ms = 30'000;
  std::int64_t connections_max = 10'000;
  std::int64_t shutdown_grace_ms = 10'000;
  std::vector<std::string> cors_origins;  // exact origins, or "*"
  bool access_log = true;
};

struct database_config {
  std::string url;  // external PostgreSQL; empty: substrate runs its own cluster in <data_dir>/postgres
  std::string listen_address = "127.0.0.1";
  std::int64_t port = 54322;
  std::string bin_dir;  // PostgreSQL binaries; empty: the newest /usr/lib/postgresql/*/bin
  std::int64_t shared_buffers_mb = 32;
  std::int64_t max_connections = 100;
  std::int64_t max_replication_slots = 16;
  std::int64_t max_wal_senders = 16;
  std::int64_t start_timeout_ms = 60'000;
  std::int64_t stop_timeout_ms = 30'000;
  std::int64_t connect_timeout_ms = 5'000;
};

struct kafka_sasl_config {
  bool enabled = false;  // off in embedded mode
  std::vector<std::string> mechanisms = {"SCRAM-SHA-256", "PLAIN"};
};

struct kafka_authorization_config {
  bool enabled = false;
  std::vector<std::string> super_users;  // "User:<name>"
};

// The built-in Kafka-protocol broker (issue 3).
struct kafka_config {
  bool enabled = true;
  std::string listen_address = "127.0.0.1";
  std::int64_t port = 9092;
  std::string advertised_host;  // empty: listen_address
  bool auto_create_topics = true;
  std::int64_t default_partitions = 1;
  std::int64_t frame_bytes_max = 100 << 20;
  std::int64_t idle_timeout_ms = 600'000;
  std::int64_t segment_bytes = 128 << 20;
  std::int64_t retention_ms = 7LL * 24 * 3600 * 1000;
  std::int64_t retention_bytes = -1;
  std::int64_t group_initial_rebalance_delay_ms = 3000;
  kafka_sasl_config sasl;
  kafka_authorization_config authorization;
};

// The schema registry (issue 4): REST on registry.port, state in the `_schemas` topic.
struct registry_config {
  bool enabled = true;
  std::string listen_address = "127.0.0.1";
  std::int64_t port = 8081;
  std::string kafka_bootstrap;  // empty: the built-in broker (kafka.listen_address:kafka.port)
  std::string topic = "_schemas";
  std::int64_t timeout_ms = 30'000;
  // SASL towards the cluster (SASL_PLAINTEXT); empty mechanism: no SASL.
  std::string kafka_sasl_mechanism;
  std::string kafka_sasl_username;
  std::string kafka_sasl_password;
  // HTTP basic auth against the built-in broker's users (<data_dir>/kafka-security).
  bool basic_auth = false;
};

// Provisioning of the platform's topics and subjects (contracts.md 1.1) at `up` and by
// `substrate provision`.
struct provision_config {
  bool enabled = true;
  std::int64_t partitions = 1;
  std::string cleanup_policy = "delete";
  std::vector<std::string> overrides;  // "topic=partitions[/cleanup.policy]"
};

// The stream processors (issue 7; src/stream, src/domains) in `substrate up` and `substrate
// processors`.
struct processors_config {
  bool enabled = true;
  // empty: in `up`, the registry's cluster (registry.kafka_bootstrap, else the built-in broker),
  // where the topics are provisioned; in `substrate processors`, kafka.listen_address:kafka.port
  std::string kafka_bootstrap;
  // SASL towards the cluster (SASL_PLAINTEXT); empty mechanism: no SASL.
  std::string kafka_sasl_mechanism;
  std::string kafka_sasl_username;
  std::string kafka_sasl_password;
  std::int64_t batch_records_max = 500;
  std::int64_t retry_backoff_max_ms = 5000;
  // A member that stops heartbeating (a crash) loses its partitions to the others after this.
  std::int64_t session_timeout_ms = 10'000;
  // How long a schema id missing from the registry is retried (the registry may not have read it
  // yet) before the record counts as undecodable and is dead-lettered.
  std::int64_t unknown_schema_retry_ms = 30'000;
};

// The Supabase-compatible API listener (/auth/v1, /rest/v1, /realtime/v1; issue 5).
struct api_config {
  bool enabled = true;
  std::string listen_address = "127.0.0.1";
  std::int64_t port = 54321;
  // The URL clients use (supabase-js `createClient(url, key)`); the `iss` of user tokens is
  // <public_url>/auth/v1. Empty: http://<listen_address>:<port>.
  std::string public_url;
  // The HS256 project secret (>= 32 bytes). Empty: generated on first start and kept in
  // <data_dir>/secrets/jwt-secret. Set it to share tokens with other instances or a real Supabase.
  std::string jwt_secret;
  std::vector<std::string> cors_origins{"*"};
};

// The GoTrue-compatible Auth service under /auth/v1 (issue 5; src/auth/README.md).
struct auth_config {
  // Sign-up confirms the e-mail at once and returns a session (GoTrue's MAILER_AUTOCONFIRM).
  bool autoconfirm = true;
  bool signup_enabled = true;
  // Lifetime of user access tokens. supabase-js refreshes when fewer than 90 s remain, so
  // anything near that makes it refresh on every call: the minimum is 300 s.
  std::int64_t jwt_expiry_s = 3600;
  std::int64_t password_length_min = 6;
  // A rotated refresh token presented again within this many seconds returns the session's
  // current token (two tabs refreshing at once); later, the whole session's tokens are revoked.
  std::int64_t refresh_reuse_interval_s = 10;
  // Argon2id cost (OWASP's second recommended setting: m = 19 MiB, t = 2, p = 1).
  std::int64_t argon2_memory_kib = 19 * 1024;
  std::int64_t argon2_iterations = 2;
  std::int64_t argon2_parallelism = 1;
  // Brute-force protection of password sign-in: token buckets of failed attempts per e-mail
  // and per client address; an empty bucket answers 429 over_request_rate_limit.
  std::int64_t sign_in_email_failures_burst = 5;
  std::int64_t sign_in_email_refill_s = 60;
  std::int64_t sign_in_address_failures_burst = 20;
  std::int64_t sign_in_address_refill_s = 6;
  // Sign-up requests per client address: a token bucket of `sign_up_address_burst` that refills
  // one every `sign_up_address_refill_s` (30 per 5 minutes, GoTrue's default); empty: 429.
  std::int64_t sign_up_address_burst = 30;
  std::int64_t sign_up_address_refill_s = 10;
  // PostgreSQL connections of the Auth service (used from the blocking pool).
  std::int64_t connections_max = 4;
  // Threads of the Auth calls that hash or verify passwords (sign-up, password sign-in, password
  // changes), apart from the general blocking pool so a burst of them cannot starve REST.
  std::int64_t password_threads = 2;
};

// The ingress gateway (issue 6; contracts.md 3.1): /api/v1/events, /webhooks, media intents.
struct gateway_config {
  bool enabled = true;
  std::string listen_address = "127.0.0.1";
  std::int64_t port = 8080;
  // The routes file (contracts.md 3.1.6), followed with inotify; missing: every route 403.
  std::string routes_file = "config/routes.yaml";
  // Shared secret of X-Webhook-Secret; empty: every webhook is refused.
  std::string webhook_secret;
  // ES256/RS256 keys of a real Supabase project (besides HS256 with api.jwt_secret).
  std::string jwks_url;
  std::int64_t jwks_refresh_s = 300;     // jwks_url again every ...; 0: at start and on unknown kids only
  std::int64_t jwks_refresh_min_s = 30;  // rate limit of the fetches asked by unknown kids
  std::string jwks_file;
  std::int64_t body_bytes_max = 1 << 20;
  std::int64_t rate_limit_per_s = 100;  // per user; 0: off
  std::int64_t rate_limit_burst = 200;
  std::vector<std::string> media_types = {"image/jpeg", "image/png",  "image/gif", "image/webp", "video/mp4",
                                          "video/webm", "audio/mpeg", "audio/wav", "audio/ogg"};
  std::int64_t media_file_size_max = 100LL << 20;
  // How long a record may wait for the broker's ack before the request answers 503 (the
  // gateway's producer; where it connects and as whom is bus.*).
  std::int64_t produce_timeout_ms = 10'000;
  // In `up` with the built-in broker: append events to it directly (kafka::local_producer, same
  // durability as acks=all) instead of through a Kafka client over loopback.
  bool in_process_broker = true;
};

// The web app (issue 9): the built web/dist served on web.port with /config.json.
struct web_config {
  bool enabled = true;
  std::string listen_address = "127.0.0.1";
  std::int64_t port = 3000;
  std::string root;         // empty: the source tree's web/dist (where `make build` puts it)
  std::string gateway_url;  // what the app calls for events; empty: the gateway of gateway.*
};

// The platform's producer side (src/bus): where services produce and which registry they use.
struct bus_config {
  std::string kafka_bootstrap;    // empty: registry.kafka_bootstrap, else the built-in broker
  std::string registry_url;       // empty: the built-in registry (registry.listen_address:port)
  std::string registry_username;  // HTTP basic auth towards the registry; empty: none
  std::string registry_password;
  // SASL towards the cluster; empty mechanism: registry.kafka_sasl_* (the platform's Kafka user).
  std::string kafka_sasl_mechanism;
  std::string kafka_sasl_username;
  std::string kafka_sasl_password;
  std::int64_t delivery_timeout_ms = 30'000;
  std::int64_t registry_timeout_ms = 10'000;
};

// The transactional outbox relay (substrate.outbox -> Kafka), docs/decisions/0003-outbox-relay.md.
struct outbox_config {
  bool enabled = true;
  std::int64_t batch_size = 500;
  std::int64_t poll_interval_ms = 50;
  std::int64_t lock_retry_ms = 1'000;
  std::int64_t retry_backoff_ms = 1'000;
};

// The PostgREST-compatible data API (/rest/v1, src/rest).
struct rest_config {
  bool enabled = true;
  // libpq URL of the login role REST uses (a PostgREST `authenticator`: LOGIN NOINHERIT, member of
  // anon, authenticated and service_role). Empty: the managed cluster's authenticator over its
  // unix socket, or database.url on an external database.
  std::string database_url;
  std::vector<std::string> schemas{"public"};
  std::int64_t pool_size = 10;
  std::int64_t pool_timeout_ms = 5000;
  // Bounds on hostile query strings: items of one in.(...) list, or=/and= nesting depth.
  std::int64_t in_list_max = 1000;
  std::int64_t logic_depth_max = 8;
  // Run each query shape as a prepared statement of the connection (PostgREST's
  // db-prepared-statements). Turn off behind a transaction-mode pooler (PgBouncer), where a
  // connection's prepared statements do not follow it.
  bool prepared_statements = true;
};

// Realtime postgres_changes (/realtime/v1/websocket, src/realtime).
struct realtime_config {
  bool enabled = true;
  // Most committed changes checked and fanned out as one batch (one visibility query).
  std::int64_t batch_changes_max = 1000;
  // Logical replication slots substrate_realtime_<instance id> of OTHER instances that have been
  // inactive for this long are dropped (an instance that never comes back would otherwise make
  // PostgreSQL keep WAL forever). 0: never.
  std::int64_t stale_slot_timeout_s = 3600;
};

struct listener_config {
  std::string listen_address = "127.0.0.1";
  std::int64_t port = 0;
};

struct log_config {
  log_level level = log_level::info;
  log_format format = log_format::json;
};

struct config {
  std::string data_dir = "./var";
  log_config log;
  database_config database;
  listener_config admin{"127.0.0.1", 9464};
  kafka_config kafka;
  registry_config registry;
  provision_config provision;
  processors_config processors;
  api_config api;
  gateway_config gateway;
  auth_config auth;
  web_config web;
  bus_config bus;
  outbox_config outbox;
  rest_config rest;
  realtime_config realtime;
  http_config http;
  std::int64_t blocking_threads = 4;
};

class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Where the configuration comes from, lowest precedence first.
struct config_sources {
  std::optional<std::string> file;                         // YAML file path
  std::vector<std::string> environment;                    // "KEY=value" entries (environ)
  std::vector<std::pair<std::string, std::string>> flags;  // dotted key -> value
};

// Loads and validates; throws config_error naming the offending key.
[[nodiscard]] config load_config(const config_sources& sources);

// Parses YAML text (the contents of a config file) on top of `base`; throws config_error.
void apply_config_yaml(config& target, const std::string& yaml_text, const std::string& origin);

// The effective configuration as YAML, every key present, secrets masked as "********".
[[nodiscard]] std::string render_config_yaml(const config& value);

struct property_doc {
  std::string name;
  std::string environment_name;
  std::string doc;
  std::string default_value;
  std::string bounds;
  bool secret = false;
};
// Every property, in declaration order, for `substrate config --describe` and the README.
[[nodiscard]] std::vector<property_doc> describe_config();

}  // namespace substrate::core
