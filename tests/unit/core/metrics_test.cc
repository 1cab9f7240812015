#include "core/metrics.h"

#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace substrate::core {
namespace {

using ::testing::HasSubstr;

TEST(metrics, counter_with_labels_renders_in_prometheus_text) {
  metrics_registry registry;
  auto& requests = registry.add_counter("demo_requests_total", "Requests seen.", {"method", "code"});
  requests.labels({"GET", "200"}).increment(3);
  requests.labels({"POST", "500"}).increment();
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("# HELP demo_requests_total Requests seen.\n# TYPE demo_requests_total counter\n"));
  EXPECT_THAT(text, HasSubstr("demo_requests_total{method=\"GET\",code=\"200\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("demo_requests_total{method=\"POST\",code=\"500\"} 1\n"));
}

TEST(metrics, label_values_are_escaped) {
  metrics_registry registry;
  registry.add_gauge("demo_gauge", "A gauge.", {"path"}).labels({"a\"b\\c\nd"}).set(1.5);
  EXPECT_THAT(registry.render(), HasSubstr("demo_gauge{path=\"a\\\"b\\\\c\\nd\"} 1.5\n"));
}

TEST(metrics, histogram_buckets_are_cumulative_with_sum_and_count) {
  metrics_registry registry;
  auto& h = registry.add_histogram("demo_seconds", "Latency.", {0.1, 1}, {}).labels({});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("demo_seconds_bucket{le=\"0.1\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("demo_seconds_bucket{le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("demo_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("demo_seconds_sum 5.55\n"));
  EXPECT_THAT(text, HasSubstr("demo_seconds_count 3\n"));
}

TEST(metrics, misuse_is_rejected_at_registration) {
  metrics_registry registry;
  EXPECT_THROW(registry.add_counter("no_suffix", "x"), std::invalid_argument);
  EXPECT_THROW(registry.add_gauge("bad-name", "x"), std::invalid_argument);
  registry.add_gauge("taken", "x");
  EXPECT_THROW(registry.add_gauge("taken", "x"), std::invalid_argument);
  EXPECT_THROW(registry.add_histogram("h", "x", {2, 1}), std::invalid_argument);
  auto& family = registry.add_counter("demo_total", "x", {"a"});
  EXPECT_THROW(family.labels({}), std::invalid_argument);
}

TEST(metrics, concurrent_increments_are_not_lost) {
  metrics_registry registry;
  auto& c = registry.add_counter("demo_total", "x").labels({});
  auto& g = registry.add_gauge("demo_gauge", "x").labels({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.increment();
        g.add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000u);
  EXPECT_EQ(g.value(), 40000.0);
}

TEST(metrics, process_metrics_are_collected_at_render) {
  metrics_registry registry;
  register_process_metrics(registry, "1.2.3");
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter"));
  EXPECT_THAT(text, HasSubstr("substrate_build_info{version=\"1.2.3\"} 1"));
  EXPECT_EQ(text.find("process_resident_memory_bytes 0\n"), std::string::npos);
}

}  // namespace
}  // namespace substrate::core
