#pragma once
// Where the security files live in a data dir (docs/formats/kafka-security.md).

#include <filesystem>

namespace substrate::kafka::security {

inline std::filesystem::path security_dir(const std::filesystem::path& data_dir) {
  return data_dir / "kafka-security";
}
inline std::filesystem::path users_file(const std::filesystem::path& data_dir) {
  return security_dir(data_dir) / "users.json";
}
inline std::filesystem::path acl_file(const std::filesystem::path& data_dir) {
  return security_dir(data_dir) / "acls.json";
}

}  // namespace substrate::kafka::security
