#pragma once
// Reads data written with one schema (the writer's, found by the schema id in the Confluent
// frame) as another (the reader's, the one the consumer was built for), by the Avro resolution
// rules: fields matched by name or reader alias, writer-only fields skipped, reader-only fields
// filled from their defaults, promotions (int -> long/float/double, long -> float/double,
// float -> double, string <-> bytes), enum symbols by name (or the reader's default symbol),
// unions branch by branch.
//
// `create` checks the pair with check_resolution first (a writer union needs one readable branch,
// as the specification resolves the branch each datum uses), so a resolver exists only for
// resolvable schemas; decoding then only meets errors in the data itself, or a datum in a writer
// union branch the reader cannot read (errc::incompatible). The plan (field
// mapping, union branch choice, enum symbol mapping) is computed once in `create`.
//
// Thread-safety: immutable after create; transcode from any thread.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "avro/json_decoder.h"
#include "avro/schema.h"
#include "core/result.h"

namespace substrate::avro {

struct resolve_options {
  std::size_t depth_max = 64;
  std::size_t zero_byte_items_max = 1 << 16;
};

class resolver {
public:
  [[nodiscard]] static result<resolver> create(std::shared_ptr<const schema> writer,
                                               std::shared_ptr<const schema> reader, resolve_options options = {});

  // Appends the reader-schema encoding of the writer-schema datum `bytes` (exactly one datum).
  [[nodiscard]] result<void> transcode(std::span<const std::uint8_t> bytes, std::string& out) const;
  // Appends the datum as JSON shaped by the reader schema.
  [[nodiscard]] result<void> decode_json(std::span<const std::uint8_t> bytes, std::string& out,
                                         const decode_options& options = {}) const;

  const schema& writer() const { return *writer_; }
  const schema& reader() const { return *reader_; }

  // The plan for one (writer node, reader node) pair. Public for the implementation's helpers.
  struct plan {
    // record: for each writer field, the reader field it fills, or -1 to skip it.
    std::vector<int> reader_field;
    // record: true when writer field i fills reader field i for all fields and the reader has
    // no others, so the record transcodes in place.
    bool in_order = false;
    // writer non-union read as a reader union: the reader branch.
    std::size_t branch = 0;
    // enum: writer symbol index -> reader symbol index (-1 never happens after create).
    std::vector<int> symbol;
  };

private:
  static std::uint64_t key(node_id w, node_id r) { return (static_cast<std::uint64_t>(w) << 32) | r; }
  void prepare(node_id w, node_id r);

  friend class transcoder;
  std::shared_ptr<const schema> writer_;
  std::shared_ptr<const schema> reader_;
  resolve_options options_;
  std::unordered_map<std::uint64_t, plan> plans_;
  // (writer union branch, reader node) pairs that do not resolve: an error when data uses them.
  std::unordered_set<std::uint64_t> unreadable_;
};

}  // namespace substrate::avro
