#pragma once
// CRC-32C (Castagnoli), the checksum of Kafka RecordBatch v2: reflected polynomial 0x82F63B78,
// initial value and final xor 0xFFFFFFFF. crc32c("123456789") == 0xE3069283.
//
// `crc32c` picks the SSE4.2 `crc32` instruction when the CPU has it (checked once) and the
// portable slicing-by-8 tables otherwise. Both are exposed so tests can check each against the
// same vectors. Thread-safe: no mutable state.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace substrate::log {

// Continues a checksum: crc32c_extend(crc32c(a), b) == crc32c(a + b). Start with 0.
[[nodiscard]] std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> bytes);

[[nodiscard]] inline std::uint32_t crc32c(std::span<const std::byte> bytes) {
  return crc32c_extend(0, bytes);
}
[[nodiscard]] inline std::uint32_t crc32c(std::string_view text) {
  return crc32c_extend(0, std::as_bytes(std::span(text.data(), text.size())));
}

// The two implementations behind crc32c_extend, for tests and benchmarks.
[[nodiscard]] std::uint32_t crc32c_extend_portable(std::uint32_t crc, std::span<const std::byte> bytes);
// Only call when crc32c_hardware_available().
[[nodiscard]] std::uint32_t crc32c_extend_hardware(std::uint32_t crc, std::span<const std::byte> bytes);
[[nodiscard]] bool crc32c_hardware_available();

}  // namespace substrate::log
