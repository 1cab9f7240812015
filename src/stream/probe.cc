#include "stream/probe.h"

namespace substrate::stream {

probe::probe(core::metrics_registry& registry)
    : in_(registry.add_counter("substrate_stream_records_in_total", "Records consumed by a processor.", {"processor"})),
      out_(registry.add_counter("substrate_stream_records_out_total",
                                "Output records written to the outbox by a processor.", {"processor"})),
      failed_(registry.add_counter("substrate_stream_records_failed_total",
                                   "Records whose decoding or handler failed permanently.", {"processor"})),
      dead_lettered_(registry.add_counter("substrate_stream_records_dead_lettered_total",
                                          "Records produced to a dead-letter topic.", {"processor"})),
      skipped_(registry.add_counter("substrate_stream_records_skipped_total",
                                    "Redelivered records skipped because they were already processed.", {"processor"})),
      retries_(registry.add_counter("substrate_stream_retries_total",
                                    "Transient failures (database, registry, broker) retried with backoff.",
                                    {"processor"})),
      timers_fired_(
          registry.add_counter("substrate_stream_timers_fired_total", "Durable timers fired.", {"processor"})),
      lag_(registry.add_gauge("substrate_stream_consumer_lag",
                              "Records behind the high watermark, summed over the assigned partitions.",
                              {"processor"})),
      latency_(registry.add_histogram("substrate_stream_handler_latency_seconds",
                                      "Time of one batch transaction, from its start to its commit.",
                                      core::latency_buckets_seconds(), {"processor"})) {}

probe::children probe::for_processor(const std::string& name) {
  return {
      &in_.labels({name}),      &out_.labels({name}),     &failed_.labels({name}),       &dead_lettered_.labels({name}),
      &skipped_.labels({name}), &retries_.labels({name}), &timers_fired_.labels({name}), &lag_.labels({name}),
      &latency_.labels({name})};
}

}  // namespace substrate::stream
