#include "realtime/pgoutput.h"

#include <fmt/format.h>

#include "realtime/errc.h"

namespace substrate::realtime::pgoutput {
namespace {

// A bounds-checked big-endian reader; the first failure sticks and names the offset.
class reader {
public:
  explicit reader(std::string_view data) : data_(data) {}

  [[nodiscard]] bool failed() const { return failed_; }
  [[nodiscard]] std::size_t offset() const { return offset_; }
  [[nodiscard]] std::size_t remaining() const { return failed_ ? 0 : data_.size() - offset_; }

  std::uint64_t uint(std::size_t bytes) {
    if (!need(bytes)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data_[offset_ + i]);
    offset_ += bytes;
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(uint(1)); }
  std::int16_t i16() { return static_cast<std::int16_t>(uint(2)); }
  std::int32_t i32() { return static_cast<std::int32_t>(uint(4)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(uint(4)); }
  std::int64_t i64() { return static_cast<std::int64_t>(uint(8)); }
  std::uint64_t u64() { return uint(8); }

  // A NUL-terminated string.
  std::string cstring() {
    if (failed_) return {};
    const auto end = data_.find('\0', offset_);
    if (end == std::string_view::npos) {
      failed_ = true;
      return {};
    }
    std::string s(data_.substr(offset_, end - offset_));
    offset_ = end + 1;
    return s;
  }
  std::string_view bytes(std::size_t n) {
    if (!need(n)) return {};
    auto s = data_.substr(offset_, n);
    offset_ += n;
    return s;
  }
  std::string_view rest() {
    if (failed_) return {};
    auto s = data_.substr(offset_);
    offset_ = data_.size();
    return s;
  }
  void fail() { failed_ = true; }

private:
  bool need(std::size_t n) {
    if (failed_ || data_.size() - offset_ < n) {
      failed_ = true;
      return false;
    }
    return true;
  }
  std::string_view data_;
  std::size_t offset_ = 0;
  bool failed_ = false;
};

tl::unexpected<error> malformed(const reader& r, std::string_view what) {
  return make_error(errc::malformed, fmt::format("{} (at byte {})", what, r.offset()));
}

tuple read_tuple(reader& r) {
  const auto count = r.i16();
  tuple t;
  if (count < 0) {
    r.fail();
    return t;
  }
  // Each column takes at least one byte: a bound before reserving.
  if (static_cast<std::size_t>(count) > r.remaining()) {
    r.fail();
    return t;
  }
  t.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count && !r.failed(); ++i) {
    value v;
    const char kind = static_cast<char>(r.u8());
    switch (kind) {
      case 'n':
        v.type = value::kind::null;
        break;
      case 'u':
        v.type = value::kind::unchanged;
        break;
      case 't': {
        v.type = value::kind::text;
        const auto length = r.i32();
        if (length < 0) {
          r.fail();
          break;
        }
        v.text = std::string(r.bytes(static_cast<std::size_t>(length)));
        break;
      }
      default:  // 'b' (binary) only exists with the binary option, which we never request
        r.fail();
        break;
    }
    t.push_back(std::move(v));
  }
  return t;
}

}  // namespace

std::string format_lsn(lsn value) {
  return fmt::format("{:X}/{:X}", value >> 32, value & 0xffffffffU);
}

result<envelope> decode_envelope(std::string_view copy_data) {
  reader r(copy_data);
  const char tag = static_cast<char>(r.u8());
  if (r.failed()) return malformed(r, "empty replication message");
  if (tag == 'w') {
    xlog_data d;
    d.start = r.u64();
    d.end = r.u64();
    d.send_time_us = r.i64();
    if (r.failed()) return malformed(r, "truncated XLogData header");
    d.payload = r.rest();
    return d;
  }
  if (tag == 'k') {
    keepalive k;
    k.wal_end = r.u64();
    k.send_time_us = r.i64();
    k.reply_requested = r.u8() != 0;
    if (r.failed()) return malformed(r, "truncated keepalive");
    return k;
  }
  return make_error(errc::malformed,
                    fmt::format("unknown replication message tag 0x{:02x}", static_cast<unsigned char>(tag)));
}

std::string standby_status_update(lsn confirmed, std::int64_t now_us_since_2000, bool reply_requested) {
  std::string out;
  out.reserve(34);
  out.push_back('r');
  auto put = [&](std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  put(confirmed);  // written
  put(confirmed);  // flushed
  put(confirmed);  // applied
  put(static_cast<std::uint64_t>(now_us_since_2000));
  out.push_back(reply_requested ? 1 : 0);
  return out;
}

result<message> decode_message(std::string_view payload) {
  reader r(payload);
  const char tag = static_cast<char>(r.u8());
  if (r.failed()) return malformed(r, "empty pgoutput message");
  switch (tag) {
    case 'B': {
      begin b;
      b.final_lsn = r.u64();
      b.commit_time_us = r.i64();
      b.xid = r.u32();
      if (r.failed()) return malformed(r, "truncated Begin");
      return b;
    }
    case 'C': {
      commit c;
      (void)r.u8();  // flags, unused
      c.commit_lsn = r.u64();
      c.end_lsn = r.u64();
      c.commit_time_us = r.i64();
      if (r.failed()) return malformed(r, "truncated Commit");
      return c;
    }
    case 'R': {
      relation rel;
      rel.oid = r.u32();
      rel.schema = r.cstring();
      rel.name = r.cstring();
      rel.replica_identity = static_cast<char>(r.u8());
      const auto count = r.i16();
      if (r.failed() || count < 0 || static_cast<std::size_t>(count) > r.remaining()) {
        return malformed(r, "truncated Relation");
      }
      rel.columns.reserve(static_cast<std::size_t>(count));
      for (int i = 0; i < count && !r.failed(); ++i) {
        column c;
        c.key = (r.u8() & 1) != 0;
        c.name = r.cstring();
        c.type_oid = r.u32();
        c.type_modifier = r.i32();
        rel.columns.push_back(std::move(c));
      }
      if (r.failed()) return malformed(r, "truncated Relation column");
      return rel;
    }
    case 'I': {
      insert ins;
      ins.relation_oid = r.u32();
      if (static_cast<char>(r.u8()) != 'N') return malformed(r, "Insert without a new tuple");
      ins.new_tuple = read_tuple(r);
      if (r.failed()) return malformed(r, "bad Insert tuple");
      return ins;
    }
    case 'U': {
      update up;
      up.relation_oid = r.u32();
      char kind = static_cast<char>(r.u8());
      if (kind == 'K' || kind == 'O') {
        up.old_is_key_only = kind == 'K';
        up.old_tuple = read_tuple(r);
        kind = static_cast<char>(r.u8());
      }
      if (r.failed() || kind != 'N') return malformed(r, "Update without a new tuple");
      up.new_tuple = read_tuple(r);
      if (r.failed()) return malformed(r, "bad Update tuple");
      return up;
    }
    case 'D': {
      remove del;
      del.relation_oid = r.u32();
      const char kind = static_cast<char>(r.u8());
      if (kind != 'K' && kind != 'O') return malformed(r, "Delete without an old tuple");
      del.old_is_key_only = kind == 'K';
      del.old_tuple = read_tuple(r);
      if (r.failed()) return malformed(r, "bad Delete tuple");
      return del;
    }
    case 'T': {
      truncate t;
      const auto count = r.i32();
      (void)r.u8();  // options
      if (r.failed() || count < 0 || static_cast<std::size_t>(count) > r.remaining() / 4) {
        return malformed(r, "truncated Truncate");
      }
      for (int i = 0; i < count; ++i) t.relation_oids.push_back(r.u32());
      if (r.failed()) return malformed(r, "truncated Truncate");
      return t;
    }
    case 'O':  // Origin
    case 'Y':  // Type
    case 'M':  // logical decoding message
      return other{tag};
    default:
      return make_error(errc::malformed,
                        fmt::format("unknown pgoutput message tag 0x{:02x}", static_cast<unsigned char>(tag)));
  }
}

}  // namespace substrate::realtime::pgoutput
