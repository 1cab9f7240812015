#pragma once
// Provisioning (issue 4 part 4; contracts.md 1.1): every topic of the platform exists and every
// topic's value schema is registered as `<topic>-value`. Idempotent reconciliation, run at every
// `substrate up` and by `substrate provision`: existing topics are left as they are, an
// unchanged schema is not registered again, a changed compatible one becomes a new version, and
// an incompatible change fails naming the subject and the reason.
//
// The schemas are schemas/**/*.avsc, embedded in the binary at build time
// (cmake/embed_schemas.cmake): the folder path is the topic name.

#include <cstdint>
#include <string>
#include <vector>

#include "schema/registry.h"
#include "schema/topic_admin.h"

namespace substrate::schema {

struct embedded_schema {
  std::string topic;
  std::string text;
};
const std::vector<embedded_schema>& embedded_schemas();

// The subjects set to compatibility NONE when they have no level of their own (contracts.md 1.1:
// the stream processors register their own generated schemas under them).
const std::vector<std::string>& subjects_with_compatibility_none();

struct provision_options {
  std::int32_t partitions = 1;            // of every topic without an override
  std::string cleanup_policy = "delete";  // of every topic without an override
  // "topic=partitions" or "topic=partitions/policy" (policy: delete, compact, compact+delete),
  // e.g. "public.user.message.events=6".
  std::vector<std::string> overrides;
};

// The topics to create; throws std::invalid_argument on a malformed or unknown override.
[[nodiscard]] std::vector<topic_spec> topic_plan(const std::vector<embedded_schema>& schemas,
                                                 const provision_options& options);

struct registration_report {
  int registered = 0;  // new versions
  int unchanged = 0;   // already the latest (or an existing) version
};

// Registers every schema as `<topic>-value` through `r` (after setting the NONE subjects).
// Throws std::runtime_error "subject <s>: <reason>" on the first failure.
registration_report register_schemas(registry& r, const std::vector<embedded_schema>& schemas);

}  // namespace substrate::schema
