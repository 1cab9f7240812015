// The broker's pure parts: topic names, topic configs and their file, the producer-id file,
// idempotent sequence checks, and the storage-error to Kafka-error table.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "kafka/broker/errors.h"
#include "kafka/broker/producer_state.h"
#include "kafka/broker/topic_config.h"
#include "log/errc.h"

namespace substrate::kafka {
namespace {

TEST(topic_name, follows_kafka_rules) {
  EXPECT_TRUE(valid_topic_name("a"));
  EXPECT_TRUE(valid_topic_name("Orders_v1.events-2"));
  EXPECT_TRUE(valid_topic_name(std::string(249, 'x')));
  EXPECT_FALSE(valid_topic_name(std::string(250, 'x')));
  EXPECT_FALSE(valid_topic_name(""));
  EXPECT_FALSE(valid_topic_name("."));
  EXPECT_FALSE(valid_topic_name(".."));
  EXPECT_FALSE(valid_topic_name("a b"));
  EXPECT_FALSE(valid_topic_name("a/b"));
  EXPECT_FALSE(valid_topic_name("é"));
}

TEST(topic_config, applies_known_configs_and_rejects_the_rest) {
  log::partition_config config;
  EXPECT_TRUE(apply_topic_config(config, "cleanup.policy", "compact"));
  EXPECT_EQ(config.cleanup, log::cleanup_policy::compact);
  EXPECT_TRUE(apply_topic_config(config, "retention.ms", "-1"));
  EXPECT_EQ(config.retention_ms, -1);
  EXPECT_TRUE(apply_topic_config(config, "segment.bytes", "1048576"));
  EXPECT_EQ(*topic_config_value(config, "segment.bytes"), "1048576");
  EXPECT_FALSE(apply_topic_config(config, "cleanup.policy", "both"));
  EXPECT_FALSE(apply_topic_config(config, "retention.ms", "12x"));
  EXPECT_FALSE(apply_topic_config(config, "segment.bytes", "0"));
  EXPECT_FALSE(apply_topic_config(config, "unknown.key", "1"));
  EXPECT_EQ(config.segment_bytes, 1048576) << "a rejected value changes nothing";
}

TEST(topic_config, the_metadata_file_round_trips) {
  const auto dir = std::filesystem::temp_directory_path() / ("substrate-topic-config-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "orders-0");
  topic_metadata topic;
  topic.name = "orders";
  topic.partitions = 6;
  ASSERT_TRUE(apply_topic_config(topic.config, "retention.bytes", "1000"));
  topic.overrides["retention.bytes"] = "1000";
  ASSERT_TRUE(write_topic_metadata(dir, topic));
  const auto files = find_topic_metadata_files(dir);
  ASSERT_EQ(files.size(), 1u);
  auto read = read_topic_metadata(files[0], log::partition_config{});
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->name, "orders");
  EXPECT_EQ(read->partitions, 6);
  EXPECT_EQ(read->config.retention_bytes, 1000);
  EXPECT_EQ(read->overrides, topic.overrides);

  std::ofstream(files[0]) << "format=1\nname=orders\npartitions=0\n";
  EXPECT_FALSE(read_topic_metadata(files[0], log::partition_config{}));
  std::ofstream(files[0]) << "format=2\nname=orders\npartitions=1\n";
  EXPECT_FALSE(read_topic_metadata(files[0], log::partition_config{}));
  std::ofstream(files[0]) << "format=1\nname=other\npartitions=1\n";
  EXPECT_FALSE(read_topic_metadata(files[0], log::partition_config{})) << "the name must match the directory";

  EXPECT_EQ(*read_next_producer_id(dir), 0);
  ASSERT_TRUE(write_next_producer_id(dir, 42));
  EXPECT_EQ(*read_next_producer_id(dir), 42);
  std::filesystem::remove_all(dir);
}

producer_batch batch(std::int64_t id, std::int16_t epoch, std::int32_t sequence, std::int32_t records) {
  return {id, epoch, sequence, records - 1};
}

TEST(producer_state, accepts_in_order_and_answers_duplicates_with_the_original_offset) {
  producer_state_table table;
  using verdict = sequence_check::verdict;
  EXPECT_EQ(table.check(batch(1, 0, 7, 1)).outcome, verdict::append) << "an unknown producer starts anywhere";
  table.record(batch(1, 0, 0, 2), 100);
  table.record(batch(1, 0, 2, 3), 102);
  EXPECT_EQ(table.check(batch(1, 0, 5, 1)).outcome, verdict::append);
  const auto duplicate = table.check(batch(1, 0, 0, 2));
  EXPECT_EQ(duplicate.outcome, verdict::duplicate);
  EXPECT_EQ(duplicate.base_offset, 100);
  EXPECT_EQ(table.check(batch(1, 0, 6, 1)).error, error_code::out_of_order_sequence_number);
  EXPECT_EQ(table.check(batch(1, 0, 1, 1)).error, error_code::out_of_order_sequence_number);
  EXPECT_EQ(table.check(batch(1, -1, 5, 1)).error, error_code::invalid_producer_epoch);
  EXPECT_EQ(table.check(batch(1, 1, 5, 1)).error, error_code::out_of_order_sequence_number);
  EXPECT_EQ(table.check(batch(1, 1, 0, 1)).outcome, verdict::append) << "a new epoch starts at 0";
  EXPECT_EQ(table.check(batch(1, 0, -1, 1)).error, error_code::invalid_record);
}

TEST(producer_state, remembers_five_batches_and_wraps_sequences) {
  producer_state_table table;
  for (int i = 0; i < 7; ++i) table.record(batch(9, 0, i, 1), 10 + i);
  EXPECT_EQ(table.check(batch(9, 0, 6, 1)).base_offset, 16);
  EXPECT_EQ(table.check(batch(9, 0, 2, 1)).base_offset, 12);
  EXPECT_EQ(table.check(batch(9, 0, 1, 1)).outcome, sequence_check::verdict::reject) << "older than five batches";
  producer_state_table wrap;
  wrap.record(batch(3, 0, 0x7ffffffe, 1), 0);
  EXPECT_EQ(wrap.check(batch(3, 0, 0x7fffffff, 2)).outcome, sequence_check::verdict::append);
  wrap.record(batch(3, 0, 0x7fffffff, 2), 1);
  EXPECT_EQ(wrap.check(batch(3, 0, 1, 1)).outcome, sequence_check::verdict::append);
  EXPECT_EQ(sequence_add(0x7fffffff, 1), 0);
}

TEST(errors, storage_errors_map_to_kafka_codes) {
  using log::errc;
  EXPECT_EQ(to_kafka_error({}), error_code::none);
  EXPECT_EQ(to_kafka_error(errc::crc_mismatch), error_code::corrupt_message);
  EXPECT_EQ(to_kafka_error(errc::batch_too_short), error_code::corrupt_message);
  EXPECT_EQ(to_kafka_error(errc::invalid_batch_length), error_code::corrupt_message);
  EXPECT_EQ(to_kafka_error(errc::corrupt_batch), error_code::corrupt_message);
  EXPECT_EQ(to_kafka_error(errc::unsupported_magic), error_code::invalid_record);
  EXPECT_EQ(to_kafka_error(errc::invalid_record_count), error_code::invalid_record);
  EXPECT_EQ(to_kafka_error(errc::invalid_batch), error_code::invalid_record);
  EXPECT_EQ(to_kafka_error(errc::message_too_large), error_code::message_too_large);
  EXPECT_EQ(to_kafka_error(errc::offset_out_of_range), error_code::offset_out_of_range);
  EXPECT_EQ(to_kafka_error(errc::io_error), error_code::kafka_storage_error);
  EXPECT_EQ(to_kafka_error(std::make_error_code(std::errc::io_error)), error_code::unknown_server_error);
}

}  // namespace
}  // namespace substrate::kafka
