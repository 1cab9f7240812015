#include "schema/provision.h"

#include <charconv>
#include <map>
#include <stdexcept>

#include <fmt/format.h>

#include "schema/logger.h"

namespace substrate::schema {

const std::vector<std::string>& subjects_with_compatibility_none() {
  static const std::vector<std::string> subjects = {
      "internal.platform.unified.events-value",  "public.media.upload.approved-value",
      "public.media.upload.rejected-value",      "public.media.download.rejected-value",
      "public.media.upload.confirmed-value",     "internal.media.upload.dead-letter-value",
      "internal.media.delete.dead-letter-value",
  };
  return subjects;
}

std::vector<topic_spec> topic_plan(const std::vector<embedded_schema>& schemas, const provision_options& options) {
  std::map<std::string, topic_spec> plan;
  for (const auto& s : schemas) plan[s.topic] = topic_spec{s.topic, options.partitions, -1, options.cleanup_policy};
  for (const auto& o : options.overrides) {
    const auto equals = o.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw std::invalid_argument(fmt::format("'{}': expected topic=partitions[/cleanup.policy]", o));
    }
    const auto topic = o.substr(0, equals);
    const auto it = plan.find(topic);
    if (it == plan.end()) throw std::invalid_argument(fmt::format("'{}': {} is not a platform topic", o, topic));
    auto rest = o.substr(equals + 1);
    const auto slash = rest.find('/');
    const auto count = rest.substr(0, slash);
    std::int32_t partitions = 0;
    const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), partitions);
    if (ec != std::errc() || end != count.data() + count.size() || partitions < 1 || partitions > 10'000) {
      throw std::invalid_argument(fmt::format("'{}': partitions must be 1..10000", o));
    }
    it->second.partitions = partitions;
    if (slash != std::string::npos) {
      // '+' rather than ',' between policies: a list value given with --set is split at commas.
      const auto policy = rest.substr(slash + 1);
      if (policy != "delete" && policy != "compact" && policy != "compact+delete" && policy != "delete+compact" &&
          policy != "compact,delete" && policy != "delete,compact") {
        throw std::invalid_argument(fmt::format("'{}': cleanup.policy must be delete, compact or compact+delete", o));
      }
      it->second.cleanup_policy = policy == "delete" || policy == "compact" ? policy : "compact,delete";
    }
  }
  std::vector<topic_spec> out;
  for (auto& [name, spec] : plan) out.push_back(std::move(spec));
  return out;
}

namespace {

[[noreturn]] void fail(const std::string& subject, const api_error& e) {
  throw std::runtime_error(fmt::format("subject {}: {} (error {})", subject, e.message, e.code));
}

}  // namespace

registration_report register_schemas(registry& r, const std::vector<embedded_schema>& schemas) {
  for (const auto& subject : subjects_with_compatibility_none()) {
    auto current = r.get_config(subject, false);
    if (std::holds_alternative<api_error>(current)) {
      auto set = r.put_config(subject, R"({"compatibility":"NONE"})");
      if (auto* e = std::get_if<api_error>(&set)) fail(subject, *e);
    }
  }
  registration_report report;
  for (const auto& s : schemas) {
    const auto subject = s.topic + "-value";
    schema_request request;
    request.schema = s.text;
    // Registered already (as any live version)? Then nothing to write.
    auto found = r.lookup(subject, request, false);
    if (std::holds_alternative<nlohmann::json>(found)) {
      ++report.unchanged;
      continue;
    }
    auto registered = r.register_schema(subject, request);
    if (auto* e = std::get_if<api_error>(&registered)) fail(subject, *e);
    ++report.registered;
    schema_log.info("registered schema",
                    {{"subject", subject}, {"id", std::get<nlohmann::json>(registered)["id"].get<int>()}});
  }
  return report;
}

}  // namespace substrate::schema
