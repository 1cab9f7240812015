#include "realtime/hub.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "realtime/logger.h"

namespace substrate::realtime {

using json = nlohmann::json;

hub::hub(std::string jwt_secret) : verify_(hs256_verifier(std::move(jwt_secret))) {}

namespace {

// The pg_type name of `column` in the change's table; empty when the table has no such column.
std::string_view type_of(const change& c, std::string_view column) {
  const auto& columns = c.table->rel.columns;
  for (std::size_t i = 0; i < columns.size() && i < c.table->type_names.size(); ++i) {
    if (columns[i].name == column) return c.table->type_names[i];
  }
  return {};
}

bool indexed_by_value(const binding& b) {
  return b.where && !b.where->values.empty() &&
         (b.where->operation == filter::op::eq || b.where->operation == filter::op::in);
}

}  // namespace

void hub::index_add(const entry& e) {
  const auto& bindings = e.ch->bindings;
  for (std::uint32_t i = 0; i < bindings.size(); ++i) {
    const auto& b = bindings[i];
    if (!b.usable) continue;  // never fires
    auto& idx = index_[table_key{b.schema, b.table}];
    if (!indexed_by_value(b)) {
      idx.scan.insert(binding_ref{&e, i});
      continue;
    }
    auto& buckets = idx.by_value[b.where->column];
    for (const auto& v : b.where->values) buckets[filter_index_key(v)].insert(binding_ref{&e, i});
  }
}

void hub::index_remove(const entry& e) {
  const auto& bindings = e.ch->bindings;
  for (std::uint32_t i = 0; i < bindings.size(); ++i) {
    const auto& b = bindings[i];
    if (!b.usable) continue;
    const auto it = index_.find(table_key{b.schema, b.table});
    if (it == index_.end()) continue;
    auto& idx = it->second;
    if (!indexed_by_value(b)) {
      idx.scan.erase(binding_ref{&e, i});
    } else if (auto column = idx.by_value.find(b.where->column); column != idx.by_value.end()) {
      for (const auto& v : b.where->values) {
        const auto bucket = column->second.find(filter_index_key(v));
        if (bucket == column->second.end()) continue;
        bucket->second.erase(binding_ref{&e, i});
        if (bucket->second.empty()) column->second.erase(bucket);
      }
      if (column->second.empty()) idx.by_value.erase(column);
    }
    if (idx.empty()) index_.erase(it);
  }
}

void hub::candidates(const change& c, std::vector<binding_ref>& out) const {
  const auto& rel = c.table->rel;
  const bool is_delete = c.type == "DELETE";
  table_key keys[4] = {{rel.schema, rel.name}, {rel.schema, "*"}, {"*", rel.name}, {"*", "*"}};
  for (std::size_t k = 0; k < 4; ++k) {
    if (std::find(keys, keys + k, keys[k]) != keys + k) continue;  // a table literally named "*"
    const auto it = index_.find(keys[k]);
    if (it == index_.end()) continue;
    const auto& idx = it->second;
    out.insert(out.end(), idx.scan.begin(), idx.scan.end());
    for (const auto& [column, buckets] : idx.by_value) {
      const auto type_name = type_of(c, column);
      const auto text = is_delete ? std::nullopt : column_text(c, column);
      if (!is_delete && !text) continue;  // NULL or no such column: no filter on it matches
      if (!is_delete && filter_equality_is_textual(type_name)) {
        const auto bucket = buckets.find(filter_index_key(*text));
        if (bucket != buckets.end()) out.insert(out.end(), bucket->second.begin(), bucket->second.end());
        continue;
      }
      // DELETE bypasses filters; numbers and booleans compare by value: every bucket.
      for (const auto& [value, refs] : buckets) out.insert(out.end(), refs.begin(), refs.end());
    }
  }
}

void hub::subscribe(std::uint64_t connection, const std::shared_ptr<net::websocket_peer>& peer, vsn version,
                    std::shared_ptr<const channel> ch, const std::vector<frame>& first) {
  std::lock_guard lock(mutex_);
  for (const auto& f : first) peer->send_text(encode_frame(f, version));
  auto claims_json = ch->claims.dump();
  auto [it, inserted] = channels_.try_emplace(key{connection, ch->topic});
  if (!inserted) index_remove(it->second);
  it->second = entry{peer, version, std::move(ch), std::move(claims_json)};
  index_add(it->second);
}

void hub::unsubscribe(std::uint64_t connection, const std::string& topic) {
  std::lock_guard lock(mutex_);
  const auto it = channels_.find(key{connection, topic});
  if (it == channels_.end()) return;
  index_remove(it->second);
  channels_.erase(it);
}

void hub::disconnect(std::uint64_t connection) {
  std::lock_guard lock(mutex_);
  auto it = channels_.lower_bound(key{connection, std::string()});
  while (it != channels_.end() && it->first.first == connection) {
    index_remove(it->second);
    it = channels_.erase(it);
  }
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
    std::shared_ptr<net::websocket_peer> peer;
    vsn version = vsn::v2;
    std::shared_ptr<const channel> ch;
    std::vector<std::int64_t> ids;
    std::size_t group = 0;
  };
  struct pending {
    const change* c = nullptr;
    std::vector<target> targets;
    std::size_t item = 0;  // index into items
  };
  std::vector<pending> work;
  std::vector<check_item> items;
  {
    std::lock_guard lock(mutex_);
    std::vector<binding_ref> found;
    std::map<std::pair<std::string_view, std::string_view>, std::size_t> group_of;
    for (const auto& c : changes) {
      found.clear();
      candidates(c, found);
      if (found.empty()) continue;
      std::sort(found.begin(), found.end());
      found.erase(std::unique(found.begin(), found.end(),
                              [](const binding_ref& a, const binding_ref& b) { return !(a < b) && !(b < a); }),
                  found.end());
      const auto& rel = c.table->rel;
      pending p{&c, {}, 0};
      check_item item{&c, {}};
      group_of.clear();
      // `found` is sorted by entry, then binding (join order): one target per entry.
      for (std::size_t i = 0; i < found.size();) {
        const entry& e = *found[i].e;
        std::vector<std::int64_t> ids;
        for (; i < found.size() && found[i].e == &e; ++i) {
          const auto& b = e.ch->bindings[found[i].binding];
          if (!binding_wants(b, rel.schema, rel.name, c.type)) continue;
          // DELETE bypasses filters (4.8): the deleted row's other columns are unknown.
          if (b.where && c.type != "DELETE" &&
              !filter_matches(*b.where, column_text(c, b.where->column), type_of(c, b.where->column))) {
            continue;
          }
          if (std::find(ids.begin(), ids.end(), b.id) == ids.end()) ids.push_back(b.id);
        }
        if (ids.empty()) continue;
        // Subscribers with the same (role, claims) see the same rows: one check per group.
        auto [g, inserted] = group_of.emplace(std::pair{std::string_view(e.ch->role), std::string_view(e.claims_json)},
                                              item.subscribers.size());
        if (inserted) item.subscribers.push_back(subscriber_claims{e.ch->role, e.claims_json});
        p.targets.push_back(target{e.peer, e.version, e.ch, std::move(ids), g->second});
      }
      if (p.targets.empty()) continue;
      p.item = items.size();
      items.push_back(std::move(item));
      work.push_back(std::move(p));
    }
  }
  if (work.empty()) return 0;

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
    // The change's `data` serialised once per distinct set of selectable columns.
    std::map<std::vector<std::string>, std::string> data_of;
    for (const auto& t : p.targets) {
      const auto& verdict = v[t.group];
      // DELETE skips RLS (4.8 step 1): every subscriber of the table may learn the key.
      if (!verdict.visible && p.c->type != "DELETE") continue;
      auto [d, inserted] = data_of.try_emplace(verdict.selectable);
      if (inserted) d->second = change_data(*p.c, verdict.selectable).dump();
      t.peer->send_text(encode_change_frame(t.ch->topic, t.ids, d->second, t.version));
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
    index_remove(e);
    it = channels_.erase(it);
  }
}

std::size_t hub::channel_count() const {
  std::lock_guard lock(mutex_);
  return channels_.size();
}

}  // namespace substrate::realtime
