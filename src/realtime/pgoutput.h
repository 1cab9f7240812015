#pragma once
// Decoder of PostgreSQL's built-in logical decoding output plugin `pgoutput`, protocol version 1
// (https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html), plus the
// replication protocol's CopyBoth envelope ('w' XLogData, 'k' primary keepalive) and the
// standby status update we send back.
//
// Pure functions on byte strings: no I/O, no allocation beyond the results, safe on any thread.
// Every length and count is checked against the input; malformed input gives errc::malformed
// with the offset, never a crash (fuzz/pgoutput).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

namespace substrate::realtime::pgoutput {

using lsn = std::uint64_t;

// "16/B374D848", PostgreSQL's textual LSN form.
[[nodiscard]] std::string format_lsn(lsn value);

// ---- replication envelope (inside CopyData) ----
struct xlog_data {
  lsn start = 0;
  lsn end = 0;
  std::int64_t send_time_us = 0;
  std::string_view payload;  // one pgoutput message; points into the input
};
struct keepalive {
  lsn wal_end = 0;
  std::int64_t send_time_us = 0;
  bool reply_requested = false;
};
using envelope = std::variant<xlog_data, keepalive>;
[[nodiscard]] result<envelope> decode_envelope(std::string_view copy_data);

// 'r' standby status update: written, flushed and applied positions all `confirmed`.
[[nodiscard]] std::string standby_status_update(lsn confirmed, std::int64_t now_us_since_2000, bool reply_requested);

// Microseconds since 2000-01-01 (PostgreSQL's epoch) -> Unix microseconds.
inline constexpr std::int64_t postgres_epoch_offset_us = 946'684'800LL * 1'000'000LL;

// ---- pgoutput messages ----
struct column {
  bool key = false;  // part of the replica identity (the primary key by default)
  std::string name;
  std::uint32_t type_oid = 0;
  std::int32_t type_modifier = -1;
};
struct relation {
  std::uint32_t oid = 0;
  std::string schema;
  std::string name;
  char replica_identity = 'd';  // d default, n nothing, f full, i index
  std::vector<column> columns;
};

// One column value of a tuple: null, unchanged TOASTed (not sent), or the text form.
struct value {
  enum class kind : char { null = 'n', unchanged = 'u', text = 't' } type = kind::null;
  std::string text;
};
using tuple = std::vector<value>;

struct begin {
  lsn final_lsn = 0;
  std::int64_t commit_time_us = 0;  // since 2000-01-01
  std::uint32_t xid = 0;
};
struct commit {
  lsn commit_lsn = 0;
  lsn end_lsn = 0;
  std::int64_t commit_time_us = 0;
};
struct insert {
  std::uint32_t relation_oid = 0;
  tuple new_tuple;
};
struct update {
  std::uint32_t relation_oid = 0;
  std::optional<tuple> old_tuple;  // 'K' (key columns only) or 'O' (replica identity full)
  bool old_is_key_only = false;
  tuple new_tuple;
};
struct remove {  // 'D' (delete is a keyword in C++)
  std::uint32_t relation_oid = 0;
  tuple old_tuple;
  bool old_is_key_only = false;
};
struct truncate {
  std::vector<std::uint32_t> relation_oids;
};
// Messages we parse but have no use for (origin, type, logical messages).
struct other {
  char tag = 0;
};
using message = std::variant<begin, commit, relation, insert, update, remove, truncate, other>;

[[nodiscard]] result<message> decode_message(std::string_view payload);

}  // namespace substrate::realtime::pgoutput
