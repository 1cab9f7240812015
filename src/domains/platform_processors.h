#pragma once
// The platform's stream processors (issue 7 item 2; contracts.md 4.2-4.4, 4.10-4.12), as
// definitions for the stream runtime (src/stream). One processor per source topic and consumer
// group of contracts.md 0.6; each applies every effect the reference derives from that topic in
// the ONE transaction of the record's batch (so a sign-up's notification, bonus, balance
// notification and unified event exist all together or not at all). Rows are added with
// effects::insert/emit, so the runtime coalesces them per batch (COPY):
//
//   identity-login    flink-login-consumer    public.identity.login.events
//       user_notifications identity.login; PlatformEvent LOGIN -> internal.platform.unified.events
//   identity-signup   flink-signup-consumer   public.identity.signup.events
//       user_notifications identity.signup; credit_ledger +2 credit.signup_bonus;
//       user_notifications credit.balance_changed {"amount":2,"reason":"signup_bonus"};
//       PlatformEvent SIGNUP
//   identity-signout  flink-signout-consumer  public.identity.signout.events
//       user_notifications identity.signout; PlatformEvent SIGNOUT (device fields null, 4.3)
//   message-consumer  go-message-consumer     public.user.message.events
//       user_notifications user.message (broadcast, or direct with recipient_id)
//   login-echo        pyflink-echo-consumer   public.identity.login.events
//       the six LoginEvent fields -> internal.identity.login.echo
//
// Outputs are outbox rows (substrate.outbox); the bus relay produces them. A record missing a
// required field is invalid (dead-lettered by the runtime).

#include <string>
#include <vector>

#include "stream/processor.h"

namespace substrate::domains {

// All of them, in the order above.
[[nodiscard]] std::vector<stream::processor_definition> platform_processors();

// The names of platform_processors(), for `--only` validation and help.
[[nodiscard]] std::vector<std::string> platform_processor_names();

}  // namespace substrate::domains
