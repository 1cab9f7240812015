#include "net/request_head.h"

#include <array>

#include "core/swar.h"
#include "net/http_message.h"

namespace substrate::net {
namespace {

// RFC 9110 tchar: what Beast accepts in a method and a field name.
constexpr std::array<bool, 256> token_chars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

// Target: visible ASCII (Beast also takes bytes >= 0x80; those go to Beast). Field value: visible
// ASCII, space and tab (likewise). Anything else ends the scan.
constexpr std::array<bool, 256> target_chars = [] {
  std::array<bool, 256> table{};
  for (int c = 0x21; c <= 0x7e; ++c) table[c] = true;
  return table;
}();
constexpr std::array<bool, 256> value_chars = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c <= 0x7e; ++c) table[c] = true;
  table['\t'] = true;
  return table;
}();

// Scans from `at` while `table` holds; returns where it stopped.
std::size_t scan(std::string_view text, std::size_t at, const std::array<bool, 256>& table) {
  while (at < text.size() && table[static_cast<unsigned char>(text[at])]) ++at;
  return at;
}

// The same for a table that holds exactly for the bytes in [low, 0x7e] (and maybe more), eight
// bytes at a time while all eight are in that range (core/swar.h): a bearer token is a few
// hundred bytes.
std::size_t scan_printable(std::string_view text, std::size_t at, unsigned char low,
                           const std::array<bool, 256>& table) {
  while (at + 8 <= text.size()) {
    const std::uint64_t word = core::swar::load(text.data() + at);
    if ((core::swar::any_below(word, low) | core::swar::any_above(word, 0x7e)) != 0) break;
    at += 8;
  }
  return scan(text, at, table);
}

}  // namespace

bool parse_request_head(std::string_view buffer, std::size_t head_bytes_max, std::uint64_t body_bytes_max,
                        request_head& head) {
  // Only the first head_bytes_max bytes may hold the head; past that Beast answers 431.
  const std::string_view text = buffer.substr(0, head_bytes_max);
  head.field_count = 0;
  head.content_length = 0;

  // request-line = method SP request-target SP HTTP-version CRLF
  std::size_t at = scan(text, 0, token_chars);
  if (at == 0 || at >= text.size() || text[at] != ' ') return false;
  head.method = text.substr(0, at);
  const std::size_t target_start = ++at;
  at = scan_printable(text, at, 0x21, target_chars);
  if (at == target_start || at >= text.size() || text[at] != ' ') return false;
  head.target = text.substr(target_start, at - target_start);
  ++at;
  const std::string_view version = text.substr(at, 10);
  if (version == "HTTP/1.1\r\n") {
    head.version = 11;
  } else if (version == "HTTP/1.0\r\n") {
    head.version = 10;
  } else {
    return false;
  }
  at += version.size();

  bool content_length_seen = false;
  bool connection_keep_alive = false;
  bool connection_close = false;
  for (;;) {
    if (at + 2 > text.size()) return false;
    if (text[at] == '\r') {
      if (text[at + 1] != '\n') return false;
      at += 2;
      break;
    }
    // field-name ":" OWS field-value OWS CRLF, and the next line must not fold this one.
    const std::size_t name_start = at;
    at = scan(text, at, token_chars);
    if (at == name_start || at >= text.size() || text[at] != ':') return false;
    const std::string_view name = text.substr(name_start, at - name_start);
    ++at;
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t')) ++at;
    const std::size_t value_start = at;
    at = scan_printable(text, at, 0x20, value_chars);
    if (at + 2 >= text.size() || text[at] != '\r' || text[at + 1] != '\n') return false;
    std::size_t value_end = at;
    while (value_end > value_start && (text[value_end - 1] == ' ' || text[value_end - 1] == '\t')) --value_end;
    at += 2;
    if (text[at] == ' ' || text[at] == '\t') return false;  // obs-fold
    const std::string_view value = text.substr(value_start, value_end - value_start);

    if (iequals(name, "content-length")) {
      if (content_length_seen || value.empty() || value.size() > 18) return false;
      std::size_t length = 0;
      for (const char c : value) {
        if (c < '0' || c > '9') return false;
        length = length * 10 + static_cast<std::size_t>(c - '0');
      }
      content_length_seen = true;
      head.content_length = length;
    } else if (iequals(name, "connection")) {
      // One field only: the server asks the message, which reads the first Connection field.
      if (connection_keep_alive || connection_close) return false;
      if (iequals(value, "keep-alive")) {
        connection_keep_alive = true;
      } else if (iequals(value, "close")) {
        connection_close = true;
      } else {
        return false;  // token lists, "upgrade", ...: Beast's rules
      }
    } else if (iequals(name, "transfer-encoding") || iequals(name, "upgrade") || iequals(name, "expect") ||
               iequals(name, "proxy-connection")) {
      return false;
    }
    if (head.field_count == head.fields.size()) return false;
    head.fields[head.field_count++] = {name, value};
  }
  head.head_bytes = at;
  if (head.content_length > body_bytes_max) return false;                   // Beast answers 413
  if (buffer.size() - head.head_bytes < head.content_length) return false;  // not all here yet
  head.keep_alive = connection_close ? false : head.version == 11 || connection_keep_alive;
  return true;
}

std::optional<request_head> parse_request_head(std::string_view buffer, std::size_t head_bytes_max,
                                               std::uint64_t body_bytes_max) {
  request_head head;
  if (!parse_request_head(buffer, head_bytes_max, body_bytes_max, head)) return std::nullopt;
  return head;
}

}  // namespace substrate::net
