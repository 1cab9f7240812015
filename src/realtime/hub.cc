#include "realtime/hub.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

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

std::size_t hub::deliver(const std::vector<change>& changes, const visibility_check& check) {
  struct target {
    entry e;
    std::vector<std::int64_t> ids;
    std::size_t group = 0;
  };
  struct pending {
    const change* c = nullptr;
    std::vector<target> targets;
    std::size_t item = 0;  // index into items
  };
  std::vector<pending> work;
  {
    std::lock_guard lock(mutex_);
    for (const auto& c : changes) {
      const auto& rel = c.table->rel;
      pending p{&c, {}, 0};
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
        if (!ids.empty()) p.targets.push_back(target{e, std::move(ids), 0});
      }
      if (!p.targets.empty()) work.push_back(std::move(p));
    }
  }
  if (work.empty()) return 0;

  // Per change, the distinct (role, claims) of its subscribers; all changes in one check.
  std::vector<check_item> items;
  for (auto& p : work) {
    std::map<subscriber_claims, std::size_t> group_of;
    check_item item{p.c, {}};
    for (auto& t : p.targets) {
      subscriber_claims sc{t.e.ch->role, t.e.ch->claims.dump()};
      auto [it, inserted] = group_of.emplace(sc, item.subscribers.size());
      if (inserted) item.subscribers.push_back(std::move(sc));
      t.group = it->second;
    }
    p.item = items.size();
    items.push_back(std::move(item));
  }
  const auto verdicts = check(items);
  if (verdicts.size() != items.size()) {
    throw std::runtime_error(
        fmt::format("the visibility check answered for {} changes of {}", verdicts.size(), items.size()));
  }
  std::size_t sent = 0;
  for (const auto& p : work) {
    const auto& v = verdicts[p.item];
    if (v.size() != items[p.item].subscribers.size()) {
      throw std::runtime_error(fmt::format("the visibility check answered for {} subscribers of {}", v.size(),
                                           items[p.item].subscribers.size()));
    }
    std::vector<std::optional<json>> data(v.size());
    for (const auto& t : p.targets) {
      const auto& verdict = v[t.group];
      // DELETE skips RLS (4.8 step 1): every subscriber of the table may learn the key.
      if (!verdict.visible && p.c->type != "DELETE") continue;
      auto& d = data[t.group];
      if (!d) d = change_data(*p.c, verdict.selectable);
      const frame f{std::nullopt, std::nullopt, t.e.ch->topic, "postgres_changes", json{{"ids", t.ids}, {"data", *d}}};
      t.e.peer->send_text(encode_frame(f, t.e.version));
      ++sent;
    }
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
