#pragma once
// ACL checks around the group coordinator's APIs (spec kafka-compat.md 5.7), kept out of the
// coordinator so that it knows nothing of principals. Kafka's rules: FindCoordinator (groups)
// and DescribeGroups need DESCRIBE on the group; JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
// OffsetCommit and OffsetFetch need READ on it (else GROUP_AUTHORIZATION_FAILED, 30, for the
// whole request); OffsetCommit also needs READ on each committed topic and OffsetFetch
// DESCRIBE on each fetched topic (else TOPIC_AUTHORIZATION_FAILED, 29, for that topic's
// partitions, while the other topics are served); ListGroups shows only the groups the
// principal may DESCRIBE.
//
// Use: before the coordinator, `screen_group_request` answers a refused request or takes the
// unreadable topics out of an OffsetCommit (so nothing of them is written); after it,
// `screen_group_response` fills in what was held back and hides what may not be seen.

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "kafka/protocol/frame.h"
#include "kafka/protocol/message.h"
#include "kafka/security/acl.h"

namespace substrate::kafka {

struct group_access {
  std::function<bool(std::string_view group, security::acl_operation)> group;
  std::function<bool(std::string_view topic, security::acl_operation)> topic;
};

struct group_screening {
  std::optional<message> refusal;  // the whole answer when the request is refused
  std::vector<message> held_back;  // OffsetCommit topics taken out of the request (answered 29)
  bool every_topic = false;        // an OffsetFetch of every committed topic (null list)
};

// `request` is one of the coordinator's keys (group_coordinator::handles).
group_screening screen_group_request(const request_header& header, message& request, const group_access& access);

void screen_group_response(const request_header& header, message& response, group_screening screening,
                           const group_access& access);

}  // namespace substrate::kafka
