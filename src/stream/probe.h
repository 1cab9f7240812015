#pragma once
// The runtime's metrics, one family each with the label `processor` (registered once per
// metrics registry; each processor takes its children).
//
//   substrate_stream_records_in_total{processor}          records consumed (each input once)
//   substrate_stream_records_out_total{processor}         outbox rows written by handlers
//   substrate_stream_records_failed_total{processor}      handler/decode failures (before DLQ)
//   substrate_stream_records_dead_lettered_total{processor} records sent to a dead-letter topic
//   substrate_stream_records_skipped_total{processor}     redelivered records already processed
//   substrate_stream_retries_total{processor}             transient failures retried
//   substrate_stream_timers_fired_total{processor}        timers whose handler committed
//   substrate_stream_consumer_lag{processor}              sum over assigned partitions of high watermark - position
//   substrate_stream_handler_latency_seconds{processor}   per batch transaction, start to commit

#include <string>

#include "core/metrics.h"

namespace substrate::stream {

class probe {
public:
  explicit probe(core::metrics_registry& registry);

  struct children {
    core::counter* in;
    core::counter* out;
    core::counter* failed;
    core::counter* dead_lettered;
    core::counter* skipped;
    core::counter* retries;
    core::counter* timers_fired;
    core::gauge* lag;
    core::histogram* latency;
  };
  [[nodiscard]] children for_processor(const std::string& name);

private:
  core::metric_family<core::counter>& in_;
  core::metric_family<core::counter>& out_;
  core::metric_family<core::counter>& failed_;
  core::metric_family<core::counter>& dead_lettered_;
  core::metric_family<core::counter>& skipped_;
  core::metric_family<core::counter>& retries_;
  core::metric_family<core::counter>& timers_fired_;
  core::metric_family<core::gauge>& lag_;
  core::metric_family<core::histogram>& latency_;
};

}  // namespace substrate::stream
