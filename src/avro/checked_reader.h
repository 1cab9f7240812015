#pragma once
// The bounds-checked reading both binary decoders share (json_decoder: Avro -> JSON; resolver:
// writer -> reader bytes): a byte_reader that records the first failure as an errc and a message,
// so that decoding code can return false at once and the caller reports "at byte N: why".
// Lengths and block counts are checked against the bytes left, and items that take no bytes
// (null, empty records) are capped, so hostile input never makes us allocate or loop beyond it.

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "avro/binary.h"
#include "avro/errc.h"
#include "core/result.h"

namespace substrate::avro {

class checked_reader {
public:
  explicit checked_reader(std::uint64_t zero_byte_items_max) : zero_byte_items_max_(zero_byte_items_max) {}

  void reset(std::span<const std::uint8_t> bytes) {
    in_ = {bytes.data(), bytes.data() + bytes.size()};
    start_ = bytes.data();
    zero_byte_items_ = 0;
  }

  // The outcome of one datum: success only if it decoded and used every byte.
  result<void> finish(bool decoded) {
    if (decoded) {
      if (in_.remaining() == 0) return {};
      fail(errc::trailing_bytes, fmt::format("{} bytes left after the datum", in_.remaining()));
    }
    return make_error(code_, fmt::format("at byte {}: {}", static_cast<std::size_t>(in_.pos - start_), message_));
  }

  // Records why decoding stopped; always false, for `return in.fail(...)`.
  bool fail(errc code, std::string message) {
    code_ = code;
    message_ = std::move(message);
    return false;
  }

  [[nodiscard]] std::size_t remaining() const { return in_.remaining(); }

  bool read_long(std::int64_t& v, std::string_view what) { return status(in_.read_long(v), what); }

  bool read_fixed(std::size_t len, const std::uint8_t*& data, std::string_view what) {
    return status(in_.read_fixed(len, data), what);
  }

  // A byte length: non-negative and within the remaining bytes.
  bool read_length(const std::uint8_t*& data, std::size_t& len, std::string_view what) {
    std::int64_t n = 0;
    if (!read_long(n, what)) return false;
    if (n < 0) return fail(errc::invalid_binary, fmt::format("negative length {} of {}", n, what));
    if (static_cast<std::uint64_t>(n) > in_.remaining()) {
      return fail(errc::truncated, fmt::format("{} of {} bytes, only {} left", what, n, in_.remaining()));
    }
    len = static_cast<std::size_t>(n);
    return read_fixed(len, data, what);
  }

  // A block count (specification, "Arrays"): a negative count is followed by the block's byte
  // size, which we read and ignore. Bounded by what the remaining bytes can hold, given the
  // fewest bytes an item takes (`item_min_bytes`).
  bool read_block_count(std::size_t item_min_bytes, std::size_t& count, std::string_view what) {
    std::int64_t n = 0;
    if (!read_long(n, what)) return false;
    if (n < 0) {
      if (n == std::numeric_limits<std::int64_t>::min()) return fail(errc::invalid_binary, "block count out of range");
      n = -n;
      std::int64_t block_bytes = 0;
      if (!read_long(block_bytes, what)) return false;
      if (block_bytes < 0) return fail(errc::invalid_binary, fmt::format("negative block size in {}", what));
    }
    auto u = static_cast<std::uint64_t>(n);
    if (item_min_bytes == 0) {
      zero_byte_items_ += u;
      if (u > zero_byte_items_max_ || zero_byte_items_ > zero_byte_items_max_) {
        return fail(errc::invalid_binary, fmt::format("{} block of {} zero-byte items exceeds the limit of {}", what, n,
                                                      zero_byte_items_max_));
      }
    } else if (u > in_.remaining() / item_min_bytes) {
      return fail(errc::truncated,
                  fmt::format("{} block of {} items cannot fit in the {} bytes left", what, n, in_.remaining()));
    }
    count = static_cast<std::size_t>(u);
    return true;
  }

private:
  bool status(read_status st, std::string_view what) {
    if (st == read_status::ok) return true;
    if (st == read_status::truncated) return fail(errc::truncated, fmt::format("data ends inside {}", what));
    return fail(errc::invalid_binary, fmt::format("malformed varint in {}", what));
  }

  byte_reader in_{};
  const std::uint8_t* start_ = nullptr;
  std::uint64_t zero_byte_items_ = 0;
  std::uint64_t zero_byte_items_max_;
  errc code_ = errc::invalid_binary;
  std::string message_;
};

}  // namespace substrate::avro
