#include "kafka/broker/group_acls.h"

#include <algorithm>
#include <string>
#include <variant>

#include "kafka/coordinator/coordinator.h"
#include "kafka/protocol/error_codes.h"

namespace substrate::kafka {

namespace {

using security::acl_operation;

std::int16_t code(error_code e) {
  return static_cast<std::int16_t>(e);
}

// The group a request acts on and the operation it needs; nullopt: no single group (DescribeGroups,
// ListGroups, or a FindCoordinator for a transaction).
std::optional<std::pair<std::string, acl_operation>> group_of(const request_header& header, const message& request) {
  switch (header.key) {
    case api_key::find_coordinator:
      if (header.api_version >= 1 && request.i8("key_type") != 0) return std::nullopt;
      return std::pair{request.str("key"), acl_operation::describe};
    case api_key::join_group:
    case api_key::sync_group:
    case api_key::heartbeat:
    case api_key::leave_group:
    case api_key::offset_commit:
    case api_key::offset_fetch:
      return std::pair{request.str("group_id"), acl_operation::read};
    default:
      return std::nullopt;
  }
}

}  // namespace

group_screening screen_group_request(const request_header& header, message& request, const group_access& access) {
  group_screening out;
  if (auto group = group_of(header, request); group && !access.group(group->first, group->second)) {
    out.refusal =
        coordinator::group_coordinator::error_response(header, request, error_code::group_authorization_failed);
    return out;
  }
  if (header.key == api_key::offset_commit) {
    auto& topics = request.array("topics");
    auto readable = [&](const message& t) { return access.topic(t.str("name"), acl_operation::read); };
    auto first_held = std::stable_partition(topics.begin(), topics.end(), readable);
    for (auto it = first_held; it != topics.end(); ++it) out.held_back.push_back(std::move(*it));
    topics.erase(first_held, topics.end());
  }
  out.every_topic = header.key == api_key::offset_fetch && header.api_version >= 2 && request.is_null("topics");
  return out;
}

void screen_group_response(const request_header& header, message& response, group_screening screening,
                           const group_access& access) {
  switch (header.key) {
    case api_key::offset_commit:
      for (const auto& t : screening.held_back) {
        auto& rt = response.append("topics");
        rt.str("name") = t.str("name");
        for (const auto& p : t.array("partitions")) {
          auto& rp = rt.append("partitions");
          rp.i32("partition_index") = p.i32("partition_index");
          rp.i16("error_code") = code(error_code::topic_authorization_failed);
        }
      }
      break;
    case api_key::offset_fetch: {
      auto& topics = response.array("topics");
      // A null topic list (every committed partition) lists only what the principal may see.
      if (screening.every_topic) {
        std::erase_if(topics, [&](const message& t) { return !access.topic(t.str("name"), acl_operation::describe); });
      }
      for (auto& t : topics) {
        if (access.topic(t.str("name"), acl_operation::describe)) continue;
        for (auto& p : t.array("partitions")) {
          p.i64("committed_offset") = -1;
          p.nullable_str("metadata") = std::string();
          p.i16("error_code") = code(error_code::topic_authorization_failed);
        }
      }
      break;
    }
    case api_key::describe_groups:
      for (auto& g : response.array("groups")) {
        if (access.group(g.str("group_id"), acl_operation::describe)) continue;
        const std::string id = g.str("group_id");
        message blank = make_message(api_key::describe_groups, message_kind::response);
        g = blank.append("groups");  // every field at its default: nothing of the group shows
        g.str("group_id") = id;
        g.i16("error_code") = code(error_code::group_authorization_failed);
      }
      break;
    case api_key::list_groups:
      std::erase_if(response.array("groups"),
                    [&](const message& g) { return !access.group(g.str("group_id"), acl_operation::describe); });
      break;
    default:
      break;
  }
}

}  // namespace substrate::kafka
