#pragma once
// The hub: every joined channel of every socket, the fan-out of committed changes to them after
// the row-level-security check, broadcasts between sockets of one topic, and token expiry.
//
// Threading: all methods are safe from any thread (one mutex over the channel table; sends go
// through websocket_peer::send_text, which posts to the socket's shard). The change source calls
// deliver() on its own thread; the visibility check it passes blocks (a database query), and runs
// without the mutex held.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/websocket.h"
#include "realtime/change.h"
#include "realtime/protocol.h"

namespace substrate::realtime {

// One distinct (role, claims) pair among the subscribers of a change.
struct subscriber_claims {
  std::string role;
  std::string claims_json;
  bool operator<(const subscriber_claims& o) const {
    return std::tie(role, claims_json) < std::tie(o.role, o.claims_json);
  }
};
struct visibility {
  bool visible = false;
  std::vector<std::string> selectable;  // columns the role may SELECT, attribute order
};
// The subscribers one change must be checked for.
struct check_item {
  const change* c = nullptr;
  std::vector<subscriber_claims> subscribers;
};
// Decides, in ONE query for the whole batch, whether each changed row is visible to each of its
// subscribers: result[i][j] for items[i].subscribers[j]. Throws on failure (nothing of the batch
// is delivered then; the source reconnects and PostgreSQL resends it).
using visibility_check = std::function<std::vector<std::vector<visibility>>(const std::vector<check_item>&)>;

class hub {
public:
  explicit hub(std::string jwt_secret);
  hub(const hub&) = delete;
  hub& operator=(const hub&) = delete;

  [[nodiscard]] const token_verifier& verifier() const { return verify_; }
  [[nodiscard]] std::uint64_t next_connection_id() { return ++last_connection_; }

  // Publishes (or replaces) a channel of a connection. `first` frames (the join reply and system
  // message) are queued before the channel can receive any change, so no event overtakes them.
  void subscribe(std::uint64_t connection, const std::shared_ptr<net::websocket_peer>& peer, vsn version,
                 std::shared_ptr<const channel> ch, const std::vector<frame>& first);
  void unsubscribe(std::uint64_t connection, const std::string& topic);
  void disconnect(std::uint64_t connection);
  // Sends a broadcast payload to every other connection joined to `topic` (and the sender's own
  // if `self`).
  void broadcast(std::uint64_t connection, const std::string& topic, const nlohmann::json& payload, bool self);

  // Delivers committed changes in commit order: bindings matched (event, table, filter) through
  // the index, every changed row checked for all its matching subscribers with one `check` call,
  // then one message per channel and change. A change's `data` is serialised once per distinct
  // column set, not per channel. Returns the number of messages queued.
  std::size_t deliver(const std::vector<change>& changes, const visibility_check& check);

  // Ends channels whose token expired by `now_s` (system error + phx_close, 4.4).
  void expire(std::int64_t now_s);

  [[nodiscard]] std::size_t channel_count() const;

private:
  struct entry {
    std::shared_ptr<net::websocket_peer> peer;
    vsn version = vsn::v2;
    std::shared_ptr<const channel> ch;
    std::string claims_json;  // ch->claims serialised once (the visibility check's group key)
  };
  using key = std::pair<std::uint64_t, std::string>;  // connection, topic
  // One binding of a published channel. Entries are nodes of `channels_` (stable addresses); a
  // channel is removed from the index before its entry is erased or replaced.
  struct binding_ref {
    const entry* e = nullptr;
    std::uint32_t binding = 0;
    bool operator<(const binding_ref& o) const { return std::tie(e, binding) < std::tie(o.e, o.binding); }
  };
  // The bindings of one (schema, table) pair as written in the joins ("*" wildcards included).
  // Bindings with an eq or in filter are found by the value of the filtered column, so matching a
  // change costs its own candidates, not every channel (the notifications pattern: each user
  // filters on its own user_id). Every candidate is then checked exactly (binding_wants and
  // filter_matches), so the index only narrows, it never decides.
  struct table_index {
    std::set<binding_ref> scan;  // no filter, or an operator other than eq / in
    // filtered column -> filter_index_key(value) -> bindings
    std::map<std::string, std::map<std::string, std::set<binding_ref>>, std::less<>> by_value;
    [[nodiscard]] bool empty() const { return scan.empty() && by_value.empty(); }
  };
  using table_key = std::pair<std::string, std::string>;  // schema, table

  void index_add(const entry& e);
  void index_remove(const entry& e);
  // The bindings that may match a change on schema.table (a superset; not yet checked).
  void candidates(const change& c, std::vector<binding_ref>& out) const;

  token_verifier verify_;
  std::atomic<std::uint64_t> last_connection_{0};
  mutable std::mutex mutex_;
  std::map<key, entry> channels_;
  std::map<table_key, table_index> index_;
};

}  // namespace substrate::realtime
