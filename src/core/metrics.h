#pragma once
// Metrics registry: counters, gauges and histograms with labels, rendered in the Prometheus
// text exposition format (version 0.0.4) for `GET /metrics`.
//
// Ownership: one `metrics_registry` per process, created by main and passed by reference to
// every component. Families are registered at start-up; `family.labels({...})` returns a stable
// reference to a child that the caller keeps, so the data path only touches atomics (no lock,
// no lookup). Rendering takes the registry mutex; it runs off the data path.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace substrate::core {

class counter {
public:
  void increment(std::uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<std::uint64_t> value_{0};
};

class gauge {
public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double delta);
  void increment() { add(1); }
  void decrement() { add(-1); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

private:
  std::atomic<double> value_{0};
};

class histogram {
public:
  explicit histogram(std::vector<double> upper_bounds);
  void observe(double value);

  struct snapshot_data {
    std::vector<std::uint64_t> cumulative_counts;  // one per bound, then +Inf
    std::uint64_t count = 0;
    double sum = 0;
  };
  [[nodiscard]] snapshot_data snapshot() const;
  [[nodiscard]] const std::vector<double>& upper_bounds() const { return upper_bounds_; }

private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> bucket_counts_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
};

// Default latency buckets in seconds, 0.5 ms to 10 s.
std::vector<double> latency_buckets_seconds();

using label_values = std::vector<std::string>;

enum class metric_type { counter, gauge, histogram, counter_function };

// A named metric with a fixed list of label names and one child per label-value combination.
template <class Metric>
class metric_family {
public:
  metric_family(std::string name, std::string help, std::vector<std::string> label_names,
                std::function<std::unique_ptr<Metric>()> make)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), make_(std::move(make)) {}

  // Returns the child for these label values (created on first use). Throws
  // std::invalid_argument when the number of values differs from the number of label names.
  Metric& labels(const label_values& values);

  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const std::string& help() const { return help_; }
  [[nodiscard]] const std::vector<std::string>& label_names() const { return label_names_; }

  // Calls `visit(label_values, metric)` for each child, under the family's lock.
  template <class Visit>
  void for_each(Visit&& visit) const {
    std::lock_guard lock(mutex_);
    for (const auto& [values, metric] : children_) visit(values, *metric);
  }

private:
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<Metric>()> make_;
  mutable std::mutex mutex_;
  std::map<label_values, std::unique_ptr<Metric>> children_;
};

class metrics_registry {
public:
  // Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and be unique; counters end in `_total`.
  // Violations are programming errors and throw std::invalid_argument at start-up.
  metric_family<counter>& add_counter(std::string name, std::string help, std::vector<std::string> label_names = {});
  metric_family<gauge>& add_gauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  metric_family<histogram>& add_histogram(std::string name, std::string help, std::vector<double> upper_bounds,
                                          std::vector<std::string> label_names = {});

  // A counter whose value is read at render time from elsewhere (e.g. CPU seconds of the process).
  void add_counter_function(std::string name, std::string help, std::function<double()> read);

  // A collector runs at each render, before the text is produced, to refresh gauges whose
  // value is read from elsewhere (process memory, pool sizes).
  void add_collector(std::function<void()> collect);

  // The whole registry in Prometheus text format 0.0.4.
  [[nodiscard]] std::string render() const;

private:
  void check_new_name(const std::string& name) const;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<metric_family<counter>>> counters_;
  std::vector<std::unique_ptr<metric_family<gauge>>> gauges_;
  std::vector<std::unique_ptr<metric_family<histogram>>> histograms_;
  struct counter_function {
    std::string name;
    std::string help;
    std::function<double()> read;
  };
  std::vector<counter_function> counter_functions_;
  std::vector<std::pair<metric_type, std::size_t>> order_;  // registration order for rendering
  std::vector<std::function<void()>> collectors_;
};

// Registers the standard process_* metrics (resident memory, CPU seconds, open fds, start time)
// and substrate_build_info.
void register_process_metrics(metrics_registry& registry, std::string_view version);

}  // namespace substrate::core
