#include "app/cli.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/broker_command.h"
#include "app/events_command.h"
#include "app/gateway_command.h"
#include "app/kafka_admin.h"
#include "app/logger.h"
#include "app/processors_role.h"
#include "app/registry_command.h"
#include "app/topics_command.h"
#include "app/up.h"
#include "app/version.h"
#include "core/config.h"

namespace substrate::app {
namespace {

constexpr int exit_usage = 2;

struct common_options {
  std::string config_file;
  std::string data_dir;
  std::vector<std::string> settings;  // KEY=VALUE
};

void add_common_options(CLI::App& command, common_options& options) {
  command.add_option("--config", options.config_file, "YAML configuration file (or SUBSTRATE_CONFIG)");
  command.add_option("--data-dir", options.data_dir, "Data directory (default ./var; key data_dir)");
  command.add_option("--set", options.settings, "Override a configuration key: --set database.port=5433 (repeatable)");
}

core::config load(const common_options& options, char** environment) {
  core::config_sources sources;
  if (!options.config_file.empty()) {
    sources.file = options.config_file;
  } else if (const char* from_env = std::getenv("SUBSTRATE_CONFIG"); from_env && *from_env) {
    sources.file = from_env;
  }
  for (char** entry = environment; entry && *entry; ++entry) sources.environment.emplace_back(*entry);
  for (const auto& setting : options.settings) {
    const auto equals = setting.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw core::config_error(fmt::format("command line: --set {}: expected KEY=VALUE", setting));
    }
    sources.flags.emplace_back(setting.substr(0, equals), setting.substr(equals + 1));
  }
  if (!options.data_dir.empty()) sources.flags.emplace_back("data_dir", options.data_dir);
  return core::load_config(sources);
}

}  // namespace

int run_cli(int argc, char** argv, char** environment) {
  CLI::App cli{
      "substrate: the event-driven platform in one binary.\n"
      "Kafka-compatible log, schema registry, Supabase-compatible API, object store, stream processors."};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", std::string(version));

  common_options up_options;
  auto* up = cli.add_subcommand("up", "Run the whole platform in the foreground (Ctrl-C stops it)");
  add_common_options(*up, up_options);

  common_options broker_options;
  auto* broker =
      cli.add_subcommand("broker", "Run the Kafka broker alone in the foreground: no PostgreSQL (Ctrl-C stops it)");
  add_common_options(*broker, broker_options);

  common_options registry_options;
  auto* registry = cli.add_subcommand(
      "registry",
      "Run the schema registry alone in the foreground, its schemas in a Kafka cluster (registry.kafka_bootstrap)");
  add_common_options(*registry, registry_options);

  common_options processors_options;
  std::vector<std::string> processors_only;
  auto* processors = cli.add_subcommand(
      "processors",
      "Run the stream processors alone in the foreground against database.url and a Kafka cluster; several "
      "instances share the partitions");
  add_common_options(*processors, processors_options);
  processors->add_option("--only", processors_only,
                         "Run only these processors (identity-login, identity-signup, identity-signout, "
                         "message-consumer, login-echo); repeatable");
  common_options gateway_options;
  auto* gateway_command = cli.add_subcommand(
      "gateway", "Run the ingress gateway alone in the foreground, producing to the cluster and registry of bus.*");
  add_common_options(*gateway_command, gateway_options);

  common_options provision_options;
  auto* provision = cli.add_subcommand(
      "provision", "Create the platform's topics and register their schemas on a Kafka cluster (idempotent)");
  add_common_options(*provision, provision_options);

  // substrate kafka user|acl: the broker's users and ACLs in the data dir.
  common_options kafka_options;
  auto* kafka = cli.add_subcommand("kafka", "Manage the built-in broker's SASL users and ACLs (in the data dir)");
  kafka->require_subcommand(1);
  auto* user = kafka->add_subcommand("user", "SASL users (SCRAM-SHA-256 credentials; PLAIN checks them too)");
  user->require_subcommand(1);
  std::string user_name;
  bool password_stdin = false;
  std::int32_t iterations = 4096;
  auto* user_add = user->add_subcommand("add", "Create a user; prints a generated password once");
  user_add->add_option("name", user_name, "User name ([A-Za-z0-9._@-]); its principal is User:NAME")->required();
  user_add->add_flag("--password-stdin", password_stdin, "Read the password from the first line of stdin");
  user_add->add_option("--iterations", iterations, "SCRAM iterations (4096 to 1000000)");
  auto* user_list = user->add_subcommand("list", "List the users");
  auto* user_delete = user->add_subcommand("delete", "Delete a user");
  user_delete->add_option("name", user_name, "User name")->required();
  auto* acl =
      kafka->add_subcommand("acl", "ACLs: who may read, write, create, delete or describe which topics and groups");
  acl->require_subcommand(1);
  acl_options acl_spec;
  std::string acl_user;
  auto add_acl_options = [&](CLI::App& command) {
    command.add_option("--user", acl_user, "The principal User:NAME (NAME may be *)");
    command.add_option("--principal", acl_spec.principal, "The principal, User:NAME or User:*");
    command.add_option("--topic", acl_spec.topic, "A topic name, prefix (--prefixed) or * for all topics");
    command.add_option("--group", acl_spec.group, "A consumer group id, prefix (--prefixed) or *");
    command.add_flag("--cluster", acl_spec.cluster, "The cluster (create topics, idempotent write, broker configs)");
    command.add_flag("--prefixed", acl_spec.prefixed, "The topic or group name is a prefix");
    command
        .add_option("--operation", acl_spec.operations,
                    "read, write, create, delete, alter, describe, describe_configs, alter_configs, "
                    "idempotent_write or all; comma-separated or repeated")
        ->delimiter(',');
    command.add_flag("--deny", acl_spec.deny, "A DENY entry (deny wins over allow)");
  };
  auto* acl_add = acl->add_subcommand("add", "Add ACL entries (one per operation)");
  add_acl_options(*acl_add);
  auto* acl_list = acl->add_subcommand("list", "List ACL entries, optionally filtered");
  add_acl_options(*acl_list);
  auto* acl_delete = acl->add_subcommand("delete", "Delete the ACL entries matching every filter given");
  add_acl_options(*acl_delete);
  for (auto* command : {user_add, user_list, user_delete, acl_add, acl_list, acl_delete}) {
    add_common_options(*command, kafka_options);
  }

  // substrate topics: operator commands over the Kafka protocol (librdkafka admin API).
  topics_options topics_client;
  std::string topics_password_file;
  bool topics_password_stdin = false;
  auto* topics = cli.add_subcommand("topics", "List, create, describe and delete topics of a running broker");
  topics->require_subcommand(1);
  auto add_client_options = [&](CLI::App& command) {
    command.add_option("--bootstrap", topics_client.bootstrap, "Broker host:port (default 127.0.0.1:9092)");
    command.add_option("--user", topics_client.sasl_user, "SASL user (enables SASL_PLAINTEXT)");
    command.add_option("--mechanism", topics_client.sasl_mechanism, "SCRAM-SHA-256 (default) or PLAIN")
        ->check(CLI::IsMember({"SCRAM-SHA-256", "PLAIN"}));
    command.add_flag("--password-stdin", topics_password_stdin, "Read the SASL password from stdin's first line");
    command.add_option("--password-file", topics_password_file, "Read the SASL password from a file's first line");
    command.add_option("--timeout-ms", topics_client.timeout_ms, "How long to wait for the broker (default 10000)");
  };
  auto* topics_list_command = topics->add_subcommand("list", "List topics and their partition counts");
  add_client_options(*topics_list_command);
  std::string topic_name;
  std::int32_t partitions = -1;
  std::int32_t replication = -1;
  std::vector<std::string> topic_configs;
  auto* topics_create_command = topics->add_subcommand("create", "Create a topic");
  add_client_options(*topics_create_command);
  topics_create_command->add_option("name", topic_name, "Topic name")->required();
  topics_create_command->add_option("--partitions", partitions, "Partitions (default: the broker's default)");
  topics_create_command->add_option("--replication-factor", replication, "Replicas (default: the broker's)");
  topics_create_command->add_option("--config", topic_configs, "Topic config KEY=VALUE (repeatable)");
  std::vector<std::string> topic_names;
  auto* topics_describe_command = topics->add_subcommand("describe", "Partitions, leaders and configs of topics");
  add_client_options(*topics_describe_command);
  topics_describe_command->add_option("names", topic_names, "Topic names")->required();
  auto* topics_delete_command = topics->add_subcommand("delete", "Delete topics and their data");
  add_client_options(*topics_delete_command);
  topics_delete_command->add_option("names", topic_names, "Topic names")->required();

  // substrate events produce|consume: JSON lines <-> Avro records of a topic (src/bus).
  common_options events_common;
  events_options events_spec;
  std::string events_key;
  auto* events = cli.add_subcommand("events", "Produce and consume a topic's records as JSON lines (Avro on the wire)");
  events->require_subcommand(1);
  auto add_events_options = [&](CLI::App& command) {
    add_common_options(command, events_common);
    command.add_option("--topic", events_spec.topic, "The topic")->required();
    command.add_option("--bootstrap", events_spec.bootstrap, "Kafka host:port (default: bus.kafka_bootstrap)");
    command.add_option("--registry", events_spec.registry_url, "Schema registry URL (default: bus.registry_url)");
  };
  auto* events_produce_command =
      events->add_subcommand("produce", "Encode JSON lines from stdin with the topic's schema and produce them");
  add_events_options(*events_produce_command);
  events_produce_command->add_option("--key", events_key, "Key of every record (default: none)");
  auto* events_consume_command =
      events->add_subcommand("consume", "Print the topic's records decoded as JSON lines (no consumer group)");
  add_events_options(*events_consume_command);
  events_consume_command->add_flag("--from-beginning", events_spec.from_beginning,
                                   "Start at each partition's first record (default: only new records)");
  events_consume_command->add_option("--count", events_spec.count, "Stop after this many records")
      ->check(CLI::NonNegativeNumber);
  events_consume_command->add_option("--timeout-ms", events_spec.timeout_ms, "Stop after this long without a record")
      ->check(CLI::NonNegativeNumber);

  auto* version_command = cli.add_subcommand("version", "Print the version");

  common_options config_options;
  bool describe = false;
  auto* config_command = cli.add_subcommand("config", "Print the effective configuration as YAML (secrets masked)");
  add_common_options(*config_command, config_options);
  config_command->add_flag("--describe", describe, "List every key with its environment name, default and meaning");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = cli.exit(e);
    return code == 0 ? 0 : exit_usage;
  }

  try {
    if (version_command->parsed()) {
      std::printf("substrate %s\n", version);
      return 0;
    }
    if (config_command->parsed()) {
      if (describe) {
        for (const auto& p : core::describe_config()) {
          std::printf("%s  (%s)\n    %s\n    default: %s%s%s\n", p.name.c_str(), p.environment_name.c_str(),
                      p.doc.c_str(), p.default_value.c_str(), p.bounds.empty() ? "" : "; ", p.bounds.c_str());
        }
        return 0;
      }
      const auto cfg = load(config_options, environment);
      std::fputs(core::render_config_yaml(cfg).c_str(), stdout);
      return 0;
    }
    if (up->parsed()) {
      const auto cfg = load(up_options, environment);
      core::configure_logging(cfg.log.level, cfg.log.format);
      return run_up(cfg);
    }
    if (broker->parsed()) {
      const auto cfg = load(broker_options, environment);
      core::configure_logging(cfg.log.level, cfg.log.format);
      return run_broker(cfg);
    }
    if (gateway_command->parsed()) {
      const auto cfg = load(gateway_options, environment);
      core::configure_logging(cfg.log.level, cfg.log.format);
      return run_gateway(cfg);
    }
    if (registry->parsed()) {
      const auto cfg = load(registry_options, environment);
      core::configure_logging(cfg.log.level, cfg.log.format);
      return run_registry(cfg);
    }
    if (processors->parsed()) {
      const auto cfg = load(processors_options, environment);
      core::configure_logging(cfg.log.level, cfg.log.format);
      return run_processors(cfg, processors_only);
    }
    if (provision->parsed()) {
      const auto cfg = load(provision_options, environment);
      core::configure_logging(cfg.log.level, cfg.log.format);
      return run_provision(cfg);
    }
    if (kafka->parsed()) {
      const auto cfg = load(kafka_options, environment);
      if (!acl_user.empty()) {
        if (!acl_spec.principal.empty()) {
          std::fprintf(stderr, "substrate: give --user or --principal, not both\n");
          return exit_usage;
        }
        acl_spec.principal = "User:" + acl_user;
      }
      if (user_add->parsed()) return kafka_user_add(cfg.data_dir, user_name, password_stdin, iterations);
      if (user_list->parsed()) return kafka_user_list(cfg.data_dir);
      if (user_delete->parsed()) return kafka_user_delete(cfg.data_dir, user_name);
      if (acl_add->parsed()) return kafka_acl_add(cfg.data_dir, acl_spec);
      if (acl_list->parsed()) return kafka_acl_list(cfg.data_dir, acl_spec);
      if (acl_delete->parsed()) return kafka_acl_delete(cfg.data_dir, acl_spec);
    }
    if (events->parsed()) {
      const auto cfg = load(events_common, environment);
      core::configure_logging(cfg.log.level, cfg.log.format);
      if (events_produce_command->parsed()) {
        if (events_produce_command->count("--key") > 0) events_spec.key = events_key;
        return events_produce(cfg, events_spec);
      }
      return events_consume(cfg, events_spec);
    }
    if (topics->parsed()) {
      if (topics_password_stdin || !topics_password_file.empty()) {
        std::ifstream file;
        if (!topics_password_file.empty()) {
          file.open(topics_password_file);
          if (!file) {
            std::fprintf(stderr, "substrate: cannot read %s\n", topics_password_file.c_str());
            return 1;
          }
        }
        std::istream& in = topics_password_file.empty() ? std::cin : file;
        if (!std::getline(in, topics_client.sasl_password)) {
          std::fprintf(stderr, "substrate: expected the SASL password on the first line\n");
          return exit_usage;
        }
        if (!topics_client.sasl_password.empty() && topics_client.sasl_password.back() == '\r') {
          topics_client.sasl_password.pop_back();
        }
      }
      if (!topics_client.sasl_user.empty() && topics_client.sasl_password.empty()) {
        std::fprintf(stderr, "substrate: --user needs --password-stdin or --password-file\n");
        return exit_usage;
      }
      if (topics_list_command->parsed()) return topics_list(topics_client);
      if (topics_create_command->parsed()) {
        return topics_create(topics_client, topic_name, partitions, replication, topic_configs);
      }
      if (topics_describe_command->parsed()) return topics_describe(topics_client, topic_names);
      if (topics_delete_command->parsed()) return topics_delete(topics_client, topic_names);
    }
  } catch (const core::config_error& e) {
    std::fprintf(stderr, "substrate: configuration error: %s\n", e.what());
    return exit_usage;
  }
  return exit_usage;
}

}  // namespace substrate::app
