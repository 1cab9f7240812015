// The gateway's event sink (app/gateway_sink.cc) against the built-in broker (test_broker, a
// child process) and the registry over HTTP: a record is acknowledged with its offset, and after
// a fatal error of the idempotent producer the sink answers that record with the error and puts
// a new producer in place for the next ones.
//
// The fatal error is librdkafka's own (rd_kafka_test_fatal_error, through
// bus::producer::fail_for_testing): the real fatal state of the client, with every record
// refused from then on. No broker we can run causes one on demand (they come from a broker
// losing a producer's sequence state, OUT_OF_ORDER_SEQUENCE_NUMBER and the like).
#include "app/gateway_sink.h"

#include <future>

#include <gtest/gtest.h>

#include "../bus/bus_fixture.h"
#include "bus/errc.h"
#include "schema/topic_admin.h"

namespace substrate::app {
namespace {

constexpr std::string_view topic = "public.user.message.events";
constexpr std::string_view message =
    R"({"user_id":"2b7c1a9e-0000-4000-8000-000000000001","email":"ada@example.com","message":"hi",)"
    R"("timestamp":"2026-02-26T10:00:00Z"})";

result<gateway::produced> send(gateway::event_sink& sink) {
  auto value = sink.encode(topic, message);
  if (!value) return tl::unexpected(value.error());
  std::promise<result<gateway::produced>> acked;
  auto future = acked.get_future();
  sink.produce(topic, std::move(*value), {{"event_id", "e"}},
               [&acked](result<gateway::produced> r) { acked.set_value(std::move(r)); });
  return future.get();
}

TEST(gateway_sink, a_fatal_producer_error_fails_that_record_and_a_new_producer_takes_over) {
  bus::testing::temp_dir dir;
  bus::testing::broker_process broker(dir.path() / "kafka");
  broker.start();
  (void)schema::create_topics(broker.bootstrap(), {{std::string(topic), 1}}, 10'000);  // throws on failure
  bus::testing::registry_server registry;
  core::config cfg;
  cfg.gateway.produce_timeout_ms = 10'000;
  auto sink = make_gateway_sink(cfg, broker.bootstrap(), registry.url());

  auto first = send(*sink);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_EQ(first->offset, 0);

  fail_gateway_producer_for_testing(*sink, "test: the broker lost this producer's sequence");
  auto refused = send(*sink);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, bus::errc::producer_fatal) << refused.error().message();

  // The next records go through a new producer (a new producer id: its sequence starts over).
  for (int i = 0; i < 3; ++i) {
    auto next = send(*sink);
    ASSERT_TRUE(next) << next.error().message();
    EXPECT_GT(next->offset, first->offset);
  }
  sink.reset();  // the failed producer is destroyed with the sink, without hanging
}

}  // namespace
}  // namespace substrate::app
