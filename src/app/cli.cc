#include "app/cli.h"

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/logger.h"
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
  } catch (const core::config_error& e) {
    std::fprintf(stderr, "substrate: configuration error: %s\n", e.what());
    return exit_usage;
  }
  return exit_usage;
}

}  // namespace substrate::app
