// The producer and the partition reader against the built-in broker (test_broker, a child
// process): acknowledgements with partition and offset, keys and headers read back, keyed
// partitioning, typed errors when no broker answers, and failed callbacks rather than silence
// when the producer is destroyed with records unacknowledged.
#include "bus/producer.h"

#include <atomic>
#include <future>

#include <gtest/gtest.h>

#include "bus/errc.h"
#include "bus/topic_reader.h"
#include "bus_fixture.h"
#include "schema/topic_admin.h"

namespace substrate::bus {
namespace {

class producer_test : public ::testing::Test {
protected:
  void SetUp() override {
    broker_ = std::make_unique<testing::broker_process>(dir_.path() / "kafka");
    broker_->start();
    (void)schema::create_topics(broker_->bootstrap(), {{"events", 3}}, 10'000);
  }
  kafka_connection connection() const {
    kafka_connection c;
    c.bootstrap = broker_->bootstrap();
    return c;
  }
  producer_options options() const {
    producer_options o;
    o.connection = connection();
    o.delivery_timeout_ms = 10'000;
    return o;
  }

  testing::temp_dir dir_;
  std::unique_ptr<testing::broker_process> broker_;
};

TEST_F(producer_test, acknowledges_with_partition_and_offset_and_reads_back_key_value_headers) {
  producer p(options());
  auto first = p.produce_sync("events", std::string("k1"), "v1", {{"substrate-outbox-id", "17"}, {"h", ""}});
  ASSERT_TRUE(first) << first.error().message();
  auto second = p.produce_sync("events", std::string("k1"), "v2");
  ASSERT_TRUE(second) << second.error().message();
  // Same key, same partition (murmur2), consecutive offsets.
  EXPECT_EQ(first->partition, second->partition);
  EXPECT_EQ(second->offset, first->offset + 1);

  topic_reader reader(connection());
  auto partitions = reader.partitions("events", 10'000);
  ASSERT_TRUE(partitions) << partitions.error().message();
  EXPECT_EQ(*partitions, (std::vector<std::int32_t>{0, 1, 2}));
  auto marks = reader.offsets("events", first->partition, 10'000);
  ASSERT_TRUE(marks);
  EXPECT_EQ(marks->high, second->offset + 1);
  auto records = reader.read_range("events", first->partition, first->offset, marks->high, 10'000);
  ASSERT_TRUE(records) << records.error().message();
  ASSERT_EQ(records->size(), 2u);
  const auto& r = (*records)[0];
  EXPECT_EQ(r.offset, first->offset);
  EXPECT_EQ(r.key, "k1");
  EXPECT_EQ(r.value, "v1");
  EXPECT_EQ(r.header("substrate-outbox-id"), "17");
  EXPECT_EQ(r.header("h"), "");
  EXPECT_EQ(r.header("absent"), std::nullopt);
  EXPECT_EQ((*records)[1].value, "v2");
  EXPECT_TRUE((*records)[1].headers.empty());
}

TEST_F(producer_test, records_without_key_and_flush) {
  producer p(options());
  std::atomic<int> acked{0};
  for (int i = 0; i < 200; ++i) {
    auto enqueued = p.produce("events", std::nullopt, fmt::format("r{}", i), {}, [&](result<delivery> d) {
      if (d) ++acked;
    });
    ASSERT_TRUE(enqueued) << enqueued.error().message();
  }
  ASSERT_TRUE(p.flush(10'000));
  EXPECT_EQ(acked.load(), 200);
  EXPECT_EQ(p.outstanding(), 0u);

  topic_reader reader(connection());
  ASSERT_TRUE(reader.subscribe("events", start_at::beginning, 10'000));
  int seen = 0;
  for (;;) {
    auto next = reader.next(1000);
    ASSERT_TRUE(next) << next.error().message();
    if (!*next) break;
    EXPECT_FALSE((*next)->key);
    ++seen;
  }
  EXPECT_EQ(seen, 200);
}

TEST_F(producer_test, reading_from_the_end_sees_only_new_records) {
  producer p(options());
  ASSERT_TRUE(p.produce_sync("events", std::nullopt, "old"));
  topic_reader reader(connection());
  ASSERT_TRUE(reader.subscribe("events", start_at::end, 10'000));
  auto nothing = reader.next(300);
  ASSERT_TRUE(nothing);
  EXPECT_FALSE(*nothing);
  ASSERT_TRUE(p.produce_sync("events", std::nullopt, "new"));
  auto next = reader.next(5000);
  ASSERT_TRUE(next && *next);
  EXPECT_EQ((*next)->value, "new");
}

TEST_F(producer_test, an_unknown_topic_is_reported_by_the_reader) {
  topic_reader reader(connection());
  auto partitions = reader.partitions("does.not.exist", 5'000);
  ASSERT_FALSE(partitions);
  EXPECT_NE(partitions.error().context.find("does.not.exist"), std::string::npos);
}

TEST(producer, no_broker_is_broker_unavailable) {
  producer_options o;
  o.connection.bootstrap = fmt::format("127.0.0.1:{}", testing::free_port());
  o.delivery_timeout_ms = 500;
  producer p(o);
  auto r = p.produce_sync("events", std::nullopt, "v");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::broker_unavailable) << r.error().message();
  EXPECT_NE(r.error().context.find("events"), std::string::npos);
}

TEST(producer, destroying_with_unacknowledged_records_fails_their_callbacks) {
  std::promise<result<delivery>> outcome;
  {
    producer_options o;
    o.connection.bootstrap = fmt::format("127.0.0.1:{}", testing::free_port());
    o.delivery_timeout_ms = 60'000;
    o.close_timeout_ms = 100;
    producer p(o);
    ASSERT_TRUE(p.produce("events", std::nullopt, "v", {}, [&](result<delivery> d) { outcome.set_value(d); }));
  }
  auto r = outcome.get_future().get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::broker_unavailable);
}

TEST(producer, a_property_librdkafka_rejects_throws_naming_it) {
  producer_options o;
  o.extra = {{"no.such.property", "1"}};
  try {
    producer p(o);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no.such.property"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace substrate::bus
