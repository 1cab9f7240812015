#pragma once
// WebSocket support for services (realtime) without exposing Beast: a route registered with
// `router::add_websocket` gets a factory that inspects the upgrade request and either accepts
// it with a `websocket_handler` or refuses it with an HTTP response.
//
// Threading: every handler callback runs on the shard that owns the connection. `websocket_peer`
// methods may be called from any thread; they post to that shard.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include "net/http_message.h"

namespace substrate::net {

class websocket_peer {
public:
  virtual ~websocket_peer() = default;
  // Queues a text frame. Frames are sent in order; a peer that stops reading is disconnected
  // once its queue exceeds the per-connection limit.
  virtual void send_text(std::string message) = 0;
  // Sends a close frame with this code and reason, then closes the connection.
  virtual void close(std::uint16_t code, std::string reason) = 0;
};

class websocket_handler {
public:
  virtual ~websocket_handler() = default;
  virtual void on_open(std::shared_ptr<websocket_peer> peer) = 0;
  virtual void on_text(std::string_view message) = 0;
  // A binary message; false (the default) closes the connection with 1007 "only text frames are
  // supported". Realtime's vsn 2.0.0 clients send broadcasts as binary frames.
  virtual bool on_binary(std::string_view /*message*/) { return false; }
  // Called once when the connection ends for any reason; the peer must not be used afterwards.
  virtual void on_close() = 0;
};

using websocket_accept = std::variant<std::unique_ptr<websocket_handler>, http_response>;
using websocket_factory = std::function<websocket_accept(const http_request&)>;

}  // namespace substrate::net
