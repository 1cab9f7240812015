#include "core/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

namespace substrate::core {
namespace {

void atomic_add(std::atomic<double>& target, double delta) {
  double current = target.load(std::memory_order_relaxed);
  while (!target.compare_exchange_weak(current, current + delta, std::memory_order_relaxed)) {
  }
}

std::string format_double(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

void append_label_value(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
}

// `{a="x",b="y"}` plus an optional extra label (for histogram `le`); empty when no labels.
std::string label_text(const std::vector<std::string>& names, const label_values& values,
                       std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) out += ',';
    out += names[i];
    out += "=\"";
    append_label_value(out, values[i]);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
  return out;
}

void append_help(std::string& out, const std::string& name, const std::string& help, std::string_view type) {
  out += "# HELP " + name + ' ';
  for (const char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out.push_back(c);
  }
  out += "\n# TYPE " + name + ' ';
  out += type;
  out += '\n';
}

}  // namespace

void gauge::add(double delta) {
  atomic_add(value_, delta);
}

histogram::histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      bucket_counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds_.size() + 1)) {
  for (std::size_t i = 1; i < upper_bounds_.size(); ++i) {
    if (!(upper_bounds_[i - 1] < upper_bounds_[i])) throw std::invalid_argument("histogram bounds must increase");
  }
}

void histogram::observe(double value) {
  std::size_t bucket = 0;
  while (bucket < upper_bounds_.size() && value > upper_bounds_[bucket]) ++bucket;
  bucket_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, value);
}

histogram::snapshot_data histogram::snapshot() const {
  snapshot_data data;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += bucket_counts_[i].load(std::memory_order_relaxed);
    data.cumulative_counts.push_back(running);
  }
  data.count = running;
  data.sum = sum_.load(std::memory_order_relaxed);
  return data;
}

std::vector<double> latency_buckets_seconds() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

template <class Metric>
Metric& metric_family<Metric>::labels(const label_values& values) {
  if (values.size() != label_names_.size()) {
    throw std::invalid_argument(
        fmt::format("metric {} takes {} label values, got {}", name_, label_names_.size(), values.size()));
  }
  std::lock_guard lock(mutex_);
  auto& slot = children_[values];
  if (!slot) slot = make_();
  return *slot;
}

template class metric_family<counter>;
template class metric_family<gauge>;
template class metric_family<histogram>;

void metrics_registry::check_new_name(const std::string& name) const {
  // Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*
  const auto valid_char = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
  };
  bool valid = !name.empty();
  for (std::size_t i = 0; valid && i < name.size(); ++i) valid = valid_char(name[i], i == 0);
  if (!valid) throw std::invalid_argument("invalid metric name: " + name);
  auto taken = [&](const auto& families) {
    for (const auto& f : families) {
      if (f->name() == name) return true;
    }
    return false;
  };
  bool function_taken = false;
  for (const auto& f : counter_functions_) function_taken = function_taken || f.name == name;
  if (function_taken || taken(counters_) || taken(gauges_) || taken(histograms_)) {
    throw std::invalid_argument("metric registered twice: " + name);
  }
}

metric_family<counter>& metrics_registry::add_counter(std::string name, std::string help,
                                                      std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  if (!name.ends_with("_total")) throw std::invalid_argument("counter names end in _total: " + name);
  counters_.push_back(std::make_unique<metric_family<counter>>(std::move(name), std::move(help), std::move(label_names),
                                                               [] { return std::make_unique<counter>(); }));
  order_.emplace_back(metric_type::counter, counters_.size() - 1);
  return *counters_.back();
}

metric_family<gauge>& metrics_registry::add_gauge(std::string name, std::string help,
                                                  std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  gauges_.push_back(std::make_unique<metric_family<gauge>>(std::move(name), std::move(help), std::move(label_names),
                                                           [] { return std::make_unique<gauge>(); }));
  order_.emplace_back(metric_type::gauge, gauges_.size() - 1);
  return *gauges_.back();
}

metric_family<histogram>& metrics_registry::add_histogram(std::string name, std::string help,
                                                          std::vector<double> upper_bounds,
                                                          std::vector<std::string> label_names) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  for (const auto& label : label_names) {
    if (label == "le") throw std::invalid_argument("histogram label 'le' is reserved: " + name);
  }
  histogram probe(upper_bounds);  // validates the bounds now rather than at first use
  histograms_.push_back(std::make_unique<metric_family<histogram>>(
      std::move(name), std::move(help), std::move(label_names),
      [bounds = std::move(upper_bounds)] { return std::make_unique<histogram>(bounds); }));
  order_.emplace_back(metric_type::histogram, histograms_.size() - 1);
  return *histograms_.back();
}

void metrics_registry::add_counter_function(std::string name, std::string help, std::function<double()> read) {
  std::lock_guard lock(mutex_);
  check_new_name(name);
  if (!name.ends_with("_total")) throw std::invalid_argument("counter names end in _total: " + name);
  counter_functions_.push_back({std::move(name), std::move(help), std::move(read)});
  order_.emplace_back(metric_type::counter_function, counter_functions_.size() - 1);
}

void metrics_registry::add_collector(std::function<void()> collect) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collect));
}

std::string metrics_registry::render() const {
  std::lock_guard lock(mutex_);
  for (const auto& collect : collectors_) collect();
  std::string out;
  out.reserve(4096);
  for (const auto& [type, index] : order_) {
    switch (type) {
      case metric_type::counter: {
        const auto& family = *counters_[index];
        append_help(out, family.name(), family.help(), "counter");
        family.for_each([&](const label_values& values, const counter& c) {
          out += family.name() + label_text(family.label_names(), values) + ' ' + std::to_string(c.value()) + '\n';
        });
        break;
      }
      case metric_type::counter_function: {
        const auto& function = counter_functions_[index];
        append_help(out, function.name, function.help, "counter");
        out += function.name + ' ' + format_double(function.read()) + '\n';
        break;
      }
      case metric_type::gauge: {
        const auto& family = *gauges_[index];
        append_help(out, family.name(), family.help(), "gauge");
        family.for_each([&](const label_values& values, const gauge& g) {
          out += family.name() + label_text(family.label_names(), values) + ' ' + format_double(g.value()) + '\n';
        });
        break;
      }
      case metric_type::histogram: {
        const auto& family = *histograms_[index];
        append_help(out, family.name(), family.help(), "histogram");
        family.for_each([&](const label_values& values, const histogram& h) {
          const auto snap = h.snapshot();
          const auto& bounds = h.upper_bounds();
          for (std::size_t i = 0; i <= bounds.size(); ++i) {
            const std::string le = i < bounds.size() ? format_double(bounds[i]) : "+Inf";
            out += family.name() + "_bucket" + label_text(family.label_names(), values, "le", le) + ' ' +
                   std::to_string(snap.cumulative_counts[i]) + '\n';
          }
          out +=
              family.name() + "_sum" + label_text(family.label_names(), values) + ' ' + format_double(snap.sum) + '\n';
          out += family.name() + "_count" + label_text(family.label_names(), values) + ' ' +
                 std::to_string(snap.count) + '\n';
        });
        break;
      }
    }
  }
  return out;
}

namespace {

std::uint64_t read_status_kib(std::string_view key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(key)) {
      std::istringstream fields(line.substr(key.size()));
      std::uint64_t kib = 0;
      fields >> kib;
      return kib;
    }
  }
  return 0;
}

double cpu_seconds() {
  std::ifstream stat("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const auto close = content.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(content.substr(close + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double open_fds() {
  double count = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    closedir(dir);
  }
  return count - 1;  // the directory stream itself
}

}  // namespace

void register_process_metrics(metrics_registry& registry, std::string_view version) {
  auto& resident = registry.add_gauge("process_resident_memory_bytes", "Resident memory size in bytes.").labels({});
  registry.add_counter_function("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                                cpu_seconds);
  auto& fds = registry.add_gauge("process_open_fds", "Number of open file descriptors.").labels({});
  auto& start =
      registry.add_gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
          .labels({});
  registry.add_gauge("substrate_build_info", "Build information; the value is always 1.", {"version"})
      .labels({std::string(version)})
      .set(1);
  start.set(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count());
  registry.add_collector([&resident, &fds] {
    resident.set(static_cast<double>(read_status_kib("VmRSS:") * 1024));
    fds.set(open_fds());
  });
}

}  // namespace substrate::core
