#include "realtime/hub.h"

#include <algorithm>

#include "realtime/logger.h"

namespace substrate::realtime {

using json = nlohmann::json;

hub::hub(std::string jwt_secret) : verify_(hs256_verifier(std::move(jwt_secret))) {}

void hub::subscribe(std::uint64_t connection, const std::shared_ptr<net::websocket_peer>& peer, vsn version,
                    std::shared_ptr<const channel> ch, const std::vector<frame>& first) {
  std::lock_guard lock(mutex_);
  for (const auto& f : first) peer->send_text(encode_frame(f, version));
  auto topic = ch->topic;
  channels_[key{connection, std::move(topic)}] = entry{peer, version, std::move(ch)};
}

void hub::unsubscribe(std::uint64_t connection, const std::string& topic) {
  std::lock_guard lock(mutex_);
  channels_.erase(key{connection, topic});
}

void hub::disconnect(std::uint64_t connection) {
  std::lock_guard lock(mutex_);
  auto it = channels_.lower_bound(key{connection, std::string()});
  while (it != channels_.end() && it->first.first == connection) it = channels_.erase(it);
}

void hub::broadcast(std::uint64_t connection, const std::string& topic, const json& payload, bool self) {
  const frame f{std::nullopt, std::nullopt, topic, "broadcast", payload};
  std::string encoded[2];
  std::lock_guard lock(mutex_);
  for (const auto& [k, e] : channels_) {
    if (k.second != topic || (k.first == connection && !self)) continue;
    auto& text = encoded[e.version == vsn::v2 ? 1 : 0];
    if (text.empty()) text = encode_frame(f, e.version);
    e.peer->send_text(text);
  }
}

std::size_t hub::deliver(const change& c, const visibility_check& check) {
  const auto& rel = c.table->rel;
  struct target {
    entry e;
    std::vector<std::int64_t> ids;
    std::size_t group = 0;
  };
  std::vector<target> targets;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [k, e] : channels_) {
      std::vector<std::int64_t> ids;
      for (const auto& b : e.ch->bindings) {
        if (!binding_wants(b, rel.schema, rel.name, c.type)) continue;
        // DELETE bypasses filters (4.8): the deleted row's other columns are unknown.
        if (b.where && c.type != "DELETE") {
          const auto& f = *b.where;
          std::string_view type_name;
          for (std::size_t i = 0; i < rel.columns.size(); ++i) {
            if (rel.columns[i].name == f.column) type_name = c.table->type_names[i];
          }
          if (!filter_matches(f, column_text(c, f.column), type_name)) continue;
        }
        if (std::find(ids.begin(), ids.end(), b.id) == ids.end()) ids.push_back(b.id);
      }
      if (!ids.empty()) targets.push_back(target{e, std::move(ids), 0});
    }
  }
  if (targets.empty()) return 0;

  // Distinct (role, claims): the check is per group, all groups in one query.
  std::map<subscriber_claims, std::size_t> group_of;
  std::vector<subscriber_claims> groups;
  for (auto& t : targets) {
    subscriber_claims sc{t.e.ch->role, t.e.ch->claims.dump()};
    auto [it, inserted] = group_of.emplace(sc, groups.size());
    if (inserted) groups.push_back(std::move(sc));
    t.group = it->second;
  }
  const auto verdicts = check(c, groups);
  if (verdicts.size() != groups.size()) {
    realtime_log.warn("the visibility check answered {} verdicts for {} subscribers; change not delivered",
                      verdicts.size(), groups.size());
    return 0;
  }
  std::vector<std::optional<json>> data(groups.size());
  std::size_t sent = 0;
  for (const auto& t : targets) {
    const auto& v = verdicts[t.group];
    // DELETE skips RLS (4.8 step 1): every subscriber of the table may learn the key.
    if (!v.visible && c.type != "DELETE") continue;
    auto& d = data[t.group];
    if (!d) d = change_data(c, v.selectable);
    const frame f{std::nullopt, std::nullopt, t.e.ch->topic, "postgres_changes", json{{"ids", t.ids}, {"data", *d}}};
    t.e.peer->send_text(encode_frame(f, t.e.version));
    ++sent;
  }
  return sent;
}

void hub::expire(std::int64_t now_s) {
  std::lock_guard lock(mutex_);
  for (auto it = channels_.begin(); it != channels_.end();) {
    const auto& e = it->second;
    if (e.ch->exp > now_s) {
      ++it;
      continue;
    }
    for (const auto& f : expiry_frames(*e.ch, now_s)) e.peer->send_text(encode_frame(f, e.version));
    it = channels_.erase(it);
  }
}

std::size_t hub::channel_count() const {
  std::lock_guard lock(mutex_);
  return channels_.size();
}

}  // namespace substrate::realtime
