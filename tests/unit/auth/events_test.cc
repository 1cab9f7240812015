// The identity events the Auth service writes to substrate.outbox encode with the topics' Avro
// schemas (schemas/public/identity/*.avsc) through the same JSON encoder the outbox relay uses,
// with and without their optional values.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "auth/model.h"
#include "avro/json_encoder.h"
#include "avro/schema.h"

namespace substrate::auth {
namespace {

avro::schema load(const std::string& topic) {
  std::string path = topic;
  for (auto& c : path) c = c == '.' ? '/' : c;
  // public.identity.login.events -> schemas/public/identity/login.events.avsc
  const auto slash = path.rfind('/');
  path[slash] = '.';
  std::ifstream in(std::filesystem::path(SUBSTRATE_SOURCE_DIR) / "schemas" / (path + ".avsc"));
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = avro::schema::parse(text.str());
  if (!parsed) throw std::runtime_error(topic + ": " + parsed.error().message());
  return std::move(*parsed);
}

void expect_encodes(const char* topic, const nlohmann::json& payload) {
  const auto schema = load(topic);
  avro::json_encoder encoder({.unknown = avro::unknown_fields::reject});
  std::string out;
  auto encoded = encoder.encode(schema, payload.dump(), out);
  EXPECT_TRUE(encoded) << topic << ": " << (encoded ? "" : encoded.error().message()) << " in " << payload.dump();
}

const std::string id = "0b6a3f1e-2c4d-4e5f-8a9b-0c1d2e3f4a5b";
const std::string now = "2026-02-26T10:00:00.123456Z";

TEST(identity_events, signup) {
  expect_encodes(signup_topic, signup_event(id, "a@example.com", now));
}

TEST(identity_events, login_with_and_without_client_details) {
  expect_encodes(login_topic, login_event(id, "a@example.com", now, "node", "127.0.0.1"));
  expect_encodes(login_topic, login_event(id, "a@example.com", now, std::nullopt, std::nullopt));
}

TEST(identity_events, signout_with_and_without_email) {
  expect_encodes(signout_topic, signout_event(id, "a@example.com", now, "node", "::1"));
  expect_encodes(signout_topic, signout_event(id, std::nullopt, now, std::nullopt, std::nullopt));
}

}  // namespace
}  // namespace substrate::auth
