#pragma once
// Schema compatibility, computed from the Avro schema-resolution rules (specification, "Schema
// Resolution"; kafka-compat.md 7.8): can data written with one schema be read with another?
// The schema registry checks a new version against a subject's versions with it.
//
// Records match by unqualified name or a reader alias; every reader field needs a writer field
// (by name or reader-field alias) of a resolvable type, or a default. Enums need every writer
// symbol in the reader, unless the reader enum has a default symbol. Fixed: same name and size.
// Promotions: int -> long, float, double; long -> float, double; float -> double;
// string <-> bytes. A writer union needs every branch resolvable; a reader union one branch that
// takes the writer's type. Logical types do not affect compatibility (as in Java and Confluent).

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "avro/schema.h"

namespace substrate::avro {

enum class compatibility_level : std::uint8_t {
  none,
  backward,
  backward_transitive,
  forward,
  forward_transitive,
  full,
  full_transitive,
};

// "NONE", "BACKWARD", ..., as the registry API spells them.
std::string_view compatibility_level_name(compatibility_level level);
// Accepts any case ("backward" as kafkajs may send it); nullopt for an unknown level.
std::optional<compatibility_level> parse_compatibility_level(std::string_view name);

struct incompatibility {
  std::string path;     // where in the reader schema: `$` the root, `$.user_id` a field, `$.tags[]` items
  std::string message;  // what does not resolve
};

// Why data written with `writer` cannot be read with `reader`; empty when it can.
[[nodiscard]] std::vector<incompatibility> check_resolution(const schema& reader, const schema& writer);
// How a writer union must resolve: every branch (what the registry checks: any datum the writer
// can write must be readable), or at least one (what decoding needs: the specification resolves
// the branch the datum actually uses and signals an error only when that one does not match).
enum class writer_unions : std::uint8_t { every_branch, any_branch };

// The same for one node of each.
[[nodiscard]] std::vector<incompatibility> check_resolution(const schema& reader, node_id reader_type,
                                                            const schema& writer, node_id writer_type,
                                                            writer_unions unions = writer_unions::every_branch);

// The registry's check of `candidate` against a subject's existing versions, oldest first:
// BACKWARD reads the latest with the candidate, FORWARD the candidate with the latest, FULL
// both; the transitive forms check every version; NONE nothing. Each message names the version
// (1-based position in `existing`) and the direction.
[[nodiscard]] std::vector<incompatibility> check_compatibility(compatibility_level level, const schema& candidate,
                                                               std::span<const schema* const> existing);

}  // namespace substrate::avro
