#pragma once
// `substrate events produce|consume`: records of a platform topic as JSON lines, through the
// bus (schema registry + Avro serializer + librdkafka), exactly as the services produce them.

#include <cstdint>
#include <optional>
#include <string>

#include "core/config.h"

namespace substrate::app {

struct events_options {
  std::string topic;
  std::optional<std::string> key;  // produce: the key of every record (contracts.md 0.2: none)
  bool from_beginning = false;     // consume: from each partition's start, else only new records
  std::int64_t count = -1;         // consume: stop after this many records; -1: no limit
  std::int64_t timeout_ms = -1;    // consume: stop after this long without a record; -1: never
  std::string bootstrap;           // overrides bus.kafka_bootstrap
  std::string registry_url;        // overrides bus.registry_url
};

// JSON lines on stdin -> Avro with the topic's schema -> Kafka; prints "partition offset" per
// acknowledged record, in input order. A line that does not encode is reported on stderr as
// "line N: <error>" (the field path, the expected type), nothing after it is produced, and the
// exit status is 1 (after the records before it are acknowledged and printed). Empty lines are
// skipped. Exit 1 too when the broker or the registry fails.
int events_produce(const core::config& cfg, const events_options& options);

// Every record of the topic decoded with its writer schema, one JSON line each on stdout. A
// value that cannot be decoded is reported on stderr ("partition/offset: error") and skipped;
// the exit status is then 1 at the end.
int events_consume(const core::config& cfg, const events_options& options);

}  // namespace substrate::app
