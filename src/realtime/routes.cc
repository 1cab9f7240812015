#include "realtime/routes.h"

#include <chrono>

#include "net/router.h"
#include "realtime/hub.h"
#include "realtime/protocol.h"

namespace substrate::realtime {
namespace {

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One socket: its session (on the socket's shard) and its channels in the hub.
class socket_handler final : public net::websocket_handler {
public:
  socket_handler(hub& h, vsn version, std::string socket_token)
      : hub_(h), connection_(h.next_connection_id()), session_(version, std::move(socket_token), h.verifier()) {}

  void on_open(std::shared_ptr<net::websocket_peer> peer) override { peer_ = std::move(peer); }

  void on_text(std::string_view message) override { apply(session_.on_text(message, unix_now_s())); }

  bool on_binary(std::string_view message) override {
    // vsn 2.0.0 clients send channel.send() broadcasts as binary frames.
    if (auto f = parse_binary_broadcast(message)) apply(session_.on_frame(*f, unix_now_s()));
    return true;
  }

  void on_close() override {
    hub_.disconnect(connection_);
    peer_.reset();
  }

private:
  void apply(outcome out) {
    if (!peer_) return;
    bool frames_sent = false;
    for (auto& e : out.effects) {
      if (auto* s = std::get_if<subscribe_effect>(&e)) {
        // The join reply goes out before the channel can receive its first change.
        hub_.subscribe(connection_, peer_, session_.version(), s->ch, frames_sent ? std::vector<frame>{} : out.frames);
        frames_sent = true;
      } else if (auto* u = std::get_if<unsubscribe_effect>(&e)) {
        hub_.unsubscribe(connection_, u->topic);
      } else if (auto* b = std::get_if<broadcast_effect>(&e)) {
        hub_.broadcast(connection_, b->topic, b->payload, b->self);
      }
    }
    if (!frames_sent) {
      for (const auto& f : out.frames) peer_->send_text(encode_frame(f, session_.version()));
    }
  }

  hub& hub_;
  std::uint64_t connection_;
  session session_;
  std::shared_ptr<net::websocket_peer> peer_;
};

}  // namespace

void add_routes(net::router& routes, hub& h) {
  routes.add_websocket("/realtime/v1/websocket", [&h](const net::http_request& request) -> net::websocket_accept {
    const auto vsn_param = request.query_param("vsn");
    const auto version =
        parse_vsn(vsn_param ? std::optional<std::string_view>(*vsn_param) : std::optional<std::string_view>());
    if (!version) {
      return net::http_response::json(
          400, nlohmann::json{{"message", "unsupported vsn: this server speaks 1.0.0 and 2.0.0"}}.dump());
    }
    std::string key;
    if (auto header = request.header("apikey")) {
      key = std::string(*header);
    } else if (auto param = request.query_param("apikey")) {
      key = *param;
    } else if (auto alt = request.header("x-api-key")) {
      key = std::string(*alt);
    }
    return std::make_unique<socket_handler>(h, *version, std::move(key));
  });
}

}  // namespace substrate::realtime
