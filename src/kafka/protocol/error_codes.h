#pragma once
// Kafka wire error codes (the int16 `error_code` fields of responses), as listed in Appendix A of
// the compatibility spec (names as in apache/kafka Errors.java). The broker maps its internal
// errors to these once, at the protocol edge (STYLE.md section 3).

#include <cstdint>
#include <string_view>

namespace substrate::kafka {

enum class error_code : std::int16_t {
  unknown_server_error = -1,
  none = 0,
  offset_out_of_range = 1,
  corrupt_message = 2,
  unknown_topic_or_partition = 3,
  leader_not_available = 5,
  not_leader_or_follower = 6,
  request_timed_out = 7,
  broker_not_available = 8,
  message_too_large = 10,
  offset_metadata_too_large = 12,
  coordinator_load_in_progress = 14,
  coordinator_not_available = 15,
  not_coordinator = 16,
  invalid_topic_exception = 17,
  record_list_too_large = 18,
  invalid_required_acks = 21,
  illegal_generation = 22,
  inconsistent_group_protocol = 23,
  invalid_group_id = 24,
  unknown_member_id = 25,
  invalid_session_timeout = 26,
  rebalance_in_progress = 27,
  topic_authorization_failed = 29,
  group_authorization_failed = 30,
  cluster_authorization_failed = 31,
  invalid_timestamp = 32,
  unsupported_sasl_mechanism = 33,
  illegal_sasl_state = 34,
  unsupported_version = 35,
  topic_already_exists = 36,
  invalid_partitions = 37,
  invalid_replication_factor = 38,
  invalid_replica_assignment = 39,
  invalid_config = 40,
  invalid_request = 42,
  unsupported_for_message_format = 43,
  out_of_order_sequence_number = 45,
  duplicate_sequence_number = 46,
  invalid_producer_epoch = 47,
  transactional_id_authorization_failed = 53,
  kafka_storage_error = 56,
  sasl_authentication_failed = 58,
  unknown_producer_id = 59,
  non_empty_group = 68,
  group_id_not_found = 69,
  fetch_session_id_not_found = 70,
  invalid_fetch_session_epoch = 71,
  topic_deletion_disabled = 73,
  unsupported_compression_type = 76,
  member_id_required = 79,
  group_max_size_reached = 81,
  fenced_instance_id = 82,
  invalid_record = 87,
  unstable_offset_commit = 88,
};

// The Kafka name of a code in lower case ("unknown_topic_or_partition"), or "unknown" for a code
// that is not in the table above.
std::string_view to_string(error_code code);

// Kafka's client-side classification (Errors.java `RetriableException` subclasses).
bool is_retriable(error_code code);

}  // namespace substrate::kafka
