// The pgoutput decoder on bytes captured from PostgreSQL 15.18
// (pg_logical_slot_peek_binary_changes with proto_version 1 on the table
//  notes(id bigint primary key, user_id uuid, body text, meta jsonb, done bool, at timestamptz)):
// an insert, an update of non-key columns, an update of the key, a delete.
#include "realtime/pgoutput.h"

#include <gtest/gtest.h>

#include "realtime/errc.h"

namespace substrate::realtime::pgoutput {
namespace {

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

const char* const begin_hex = "4200000000015297800003043068510f76000002d6";
const char* const relation_hex =
    "52000040007075626c6963006e6f746573006400060169640000000014ffffffff00757365725f69640000000b86ffffffff00626f6479"
    "0000000019ffffffff006d6574610000000edaffffffff00646f6e650000000010ffffffff00617400000004a0ffffffff";
const char* const insert_hex =
    "49000040004e0006740000000137740000002461306565626339392d396330622d346566382d626236642d3662623962643338306131"
    "317400000002686974000000087b2261223a20317d740000000166740000001a323032342d30352d30312031323a30303a30302e3132"
    "332b3030";
const char* const commit_hex = "4300000000000152978000000000015297b00003043068510f76";
const char* const update_hex =
    "55000040004e00067400000001376e7400000005746865726574000000087b2261223a20317d740000000166740000001a323032342d"
    "30352d30312031323a30303a30302e3132332b3030";
const char* const update_key_hex =
    "55000040004b00067400000001376e6e6e6e6e4e00067400000001386e7400000005746865726574000000087b2261223a20317d7400"
    "00000166740000001a323032342d30352d30312031323a30303a30302e3132332b3030";
const char* const delete_hex = "44000040004b00067400000001386e6e6e6e6e";

template <class T>
T decode_as(const char* hex) {
  auto m = decode_message(unhex(hex));
  EXPECT_TRUE(m.has_value()) << (m ? "" : m.error().message());
  EXPECT_TRUE(std::holds_alternative<T>(*m));
  return std::get<T>(*m);
}

TEST(Pgoutput, DecodesBeginAndCommit) {
  const auto b = decode_as<begin>(begin_hex);
  EXPECT_EQ(b.final_lsn, 0x1529780U);
  EXPECT_EQ(b.xid, 0x2d6U);
  EXPECT_GT(b.commit_time_us, 0);
  const auto c = decode_as<commit>(commit_hex);
  EXPECT_EQ(c.commit_lsn, 0x1529780U);
  EXPECT_EQ(c.end_lsn, 0x15297b0U);
  EXPECT_EQ(c.commit_time_us, b.commit_time_us);
  EXPECT_EQ(format_lsn(c.end_lsn), "0/15297B0");
}

TEST(Pgoutput, DecodesRelation) {
  const auto r = decode_as<relation>(relation_hex);
  EXPECT_EQ(r.oid, 16384U);
  EXPECT_EQ(r.schema, "public");
  EXPECT_EQ(r.name, "notes");
  EXPECT_EQ(r.replica_identity, 'd');
  ASSERT_EQ(r.columns.size(), 6U);
  EXPECT_TRUE(r.columns[0].key);
  EXPECT_EQ(r.columns[0].name, "id");
  EXPECT_EQ(r.columns[0].type_oid, 20U);  // int8
  EXPECT_FALSE(r.columns[1].key);
  EXPECT_EQ(r.columns[1].name, "user_id");
  EXPECT_EQ(r.columns[1].type_oid, 2950U);  // uuid
  EXPECT_EQ(r.columns[3].type_oid, 3802U);  // jsonb
  EXPECT_EQ(r.columns[5].name, "at");
  EXPECT_EQ(r.columns[5].type_modifier, -1);
}

TEST(Pgoutput, DecodesInsert) {
  const auto i = decode_as<insert>(insert_hex);
  EXPECT_EQ(i.relation_oid, 16384U);
  ASSERT_EQ(i.new_tuple.size(), 6U);
  EXPECT_EQ(i.new_tuple[0].text, "7");
  EXPECT_EQ(i.new_tuple[1].text, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(i.new_tuple[3].text, R"({"a": 1})");
  EXPECT_EQ(i.new_tuple[4].text, "f");
  EXPECT_EQ(i.new_tuple[5].text, "2024-05-01 12:00:00.123+00");
}

TEST(Pgoutput, DecodesUpdatesWithAndWithoutOldKey) {
  const auto u = decode_as<update>(update_hex);
  EXPECT_FALSE(u.old_tuple.has_value());
  ASSERT_EQ(u.new_tuple.size(), 6U);
  EXPECT_EQ(u.new_tuple[1].type, value::kind::null);
  EXPECT_EQ(u.new_tuple[2].text, "there");

  const auto k = decode_as<update>(update_key_hex);
  ASSERT_TRUE(k.old_tuple.has_value());
  EXPECT_TRUE(k.old_is_key_only);
  EXPECT_EQ((*k.old_tuple)[0].text, "7");
  EXPECT_EQ((*k.old_tuple)[2].type, value::kind::null);
  EXPECT_EQ(k.new_tuple[0].text, "8");
}

TEST(Pgoutput, DecodesDelete) {
  const auto d = decode_as<remove>(delete_hex);
  EXPECT_TRUE(d.old_is_key_only);
  ASSERT_EQ(d.old_tuple.size(), 6U);
  EXPECT_EQ(d.old_tuple[0].text, "8");
  EXPECT_EQ(d.old_tuple[1].type, value::kind::null);
}

TEST(Pgoutput, RefusesEveryTruncationOfEveryMessage) {
  for (const char* hex : {begin_hex, relation_hex, insert_hex, commit_hex, update_hex, update_key_hex, delete_hex}) {
    const auto bytes = unhex(hex);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto m = decode_message(std::string_view(bytes).substr(0, n));
      ASSERT_FALSE(m.has_value()) << hex << " cut at " << n;
      EXPECT_EQ(m.error().code, errc::malformed);
    }
  }
}

TEST(Pgoutput, RefusesUnknownTagsAndHugeCounts) {
  EXPECT_FALSE(decode_message("Z").has_value());
  // An insert claiming 32767 columns with no data.
  EXPECT_FALSE(decode_message(std::string("I\0\0@\0N\x7f\xff", 8)).has_value());
  // A negative column count.
  EXPECT_FALSE(decode_message(std::string("I\0\0@\0N\xff\xff", 8)).has_value());
  // A text value with a negative length.
  EXPECT_FALSE(decode_message(std::string("I\0\0@\0N\0\x01t\xff\xff\xff\xff", 12)).has_value());
}

TEST(Pgoutput, DecodesEnvelopesAndEncodesStatus) {
  std::string x = "w";
  x += std::string("\0\0\0\0\x01\x52\x97\x80", 8);
  x += std::string("\0\0\0\0\x01\x52\x97\xb0", 8);
  x += std::string(8, '\0');
  x += unhex(begin_hex);
  auto e = decode_envelope(x);
  ASSERT_TRUE(e.has_value());
  const auto& d = std::get<xlog_data>(*e);
  EXPECT_EQ(d.start, 0x1529780U);
  EXPECT_EQ(d.end, 0x15297b0U);
  EXPECT_EQ(d.payload, unhex(begin_hex));

  std::string k = "k";
  k += std::string("\0\0\0\0\0\0\x10\0", 8);
  k += std::string(8, '\0');
  k += '\x01';
  e = decode_envelope(k);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(std::get<keepalive>(*e).wal_end, 0x1000U);
  EXPECT_TRUE(std::get<keepalive>(*e).reply_requested);
  EXPECT_FALSE(decode_envelope(k.substr(0, 10)).has_value());
  EXPECT_FALSE(decode_envelope("x").has_value());

  const auto status = standby_status_update(0x15297b0U, 5, true);
  ASSERT_EQ(status.size(), 34U);
  EXPECT_EQ(status[0], 'r');
  EXPECT_EQ(status.substr(1, 8), std::string("\0\0\0\0\x01\x52\x97\xb0", 8));
  EXPECT_EQ(status.substr(9, 8), status.substr(1, 8));
  EXPECT_EQ(status[33], 1);
}

}  // namespace
}  // namespace substrate::realtime::pgoutput
