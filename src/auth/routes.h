#pragma once
// The /auth/v1 routes of the Supabase-compatible listener (supabase-compat.md 2). The API-key
// check runs before them (app/api_role); each handler runs its service call on the blocking
// pool and answers in GoTrue's 2024-01-01 shape with the X-Supabase-Api-Version header.

namespace substrate::net {
class router;
}

namespace substrate::auth {

class service;

// Adds every /auth/v1 route; `svc` must outlive the listener.
void add_routes(net::router& router, service& svc);

}  // namespace substrate::auth
