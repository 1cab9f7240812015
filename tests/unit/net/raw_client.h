#pragma once
// A deliberately dumb blocking HTTP client over a raw socket, for tests that must send what a
// well-behaved client never would (malformed lines, partial requests, slow bytes).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace substrate::testing {

struct raw_response {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

class raw_client {
public:
  explicit raw_client(std::uint16_t port);
  ~raw_client();
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  // False when the connection failed before every byte was sent (the server closed or reset it).
  bool send(const std::string& bytes);
  // Reads one response (Content-Length framed); nullopt if the connection closed or the timeout
  // passed first.
  std::optional<raw_response> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the server closed the connection (EOF or reset) within the timeout.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  void close_abruptly();  // RST instead of FIN
  // True once bytes are waiting to be read (nothing is consumed).
  bool wait_readable(std::chrono::milliseconds timeout);
  // Reads and discards until the server closes; counts the bytes. False on timeout.
  bool drain_until_closed(std::size_t& received, std::chrono::milliseconds timeout);

private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
};

// Sends one request on a fresh connection and reads the response.
std::optional<raw_response> request(std::uint16_t port, const std::string& bytes);

}  // namespace substrate::testing
