#pragma once
// Appends an integer's decimal digits to a string: std::to_chars into a stack buffer, without the
// temporary string of std::to_string or a format parser (responses, JSON built by hand).

#include <array>
#include <charconv>
#include <concepts>
#include <string>

namespace substrate::core {

template <std::integral Int>
void append_decimal(std::string& out, Int value) {
  std::array<char, 24> digits{};  // 20 digits and a sign for 64 bits
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), value).ptr;
  out.append(digits.data(), end);
}

}  // namespace substrate::core
