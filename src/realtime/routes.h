#pragma once
// The Realtime WebSocket endpoint: GET /realtime/v1/websocket?apikey=...&vsn=2.0.0 on the
// Supabase-compatible listener (the listener's guard has already checked the apikey).

namespace substrate::net {
class router;
}

namespace substrate::realtime {

class hub;

// Registers /realtime/v1/websocket. `h` must outlive the router's listener.
void add_routes(net::router& routes, hub& h);

}  // namespace substrate::realtime
