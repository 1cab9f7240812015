#pragma once
namespace substrate::app {
// Set by CMake from the project version.
inline constexpr const char* version = SUBSTRATE_VERSION;
}  // namespace substrate::app
