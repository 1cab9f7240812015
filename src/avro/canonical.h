#pragma once
// Two renderings of a parsed schema, and fingerprints.
//
// - Parsing Canonical Form (Avro specification, "Parsing Canonical Form for Schemas"): full
//   names, only the attributes that affect parsing (type, name, fields, symbols, items, values,
//   size) in that order, no whitespace. Two schemas with the same PCF read and write the same
//   bytes. Its fingerprints identify a schema (CRC-64-AVRO, SHA-256).
// - The compact text the schema registry stores and returns (kafka-compat.md 7.4), Java's
//   Schema.toString(): everything kept (doc, defaults, aliases, logical types and other
//   properties), namespaces only where they differ from the enclosing one, each named type
//   defined once. Deterministic, so it is also the registry's dedup key.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "avro/schema.h"

namespace substrate::avro {

[[nodiscard]] std::string parsing_canonical_form(const schema& s);

// The compact registry rendering (kafka-compat.md 7.4).
[[nodiscard]] std::string compact_json(const schema& s);

// CRC-64-AVRO (the Rabin fingerprint of the specification) of `bytes`; apply to the PCF.
[[nodiscard]] std::uint64_t fingerprint64(std::string_view bytes);
[[nodiscard]] std::array<std::uint8_t, 32> sha256(std::string_view bytes);

// Fingerprints of the schema's Parsing Canonical Form.
[[nodiscard]] std::uint64_t fingerprint64(const schema& s);
[[nodiscard]] std::array<std::uint8_t, 32> fingerprint_sha256(const schema& s);

}  // namespace substrate::avro
