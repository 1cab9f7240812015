// The stream runtime against a real PostgreSQL and a real broker: effects exactly once under
// redelivery, transient failures retried, poison records dead-lettered while later ones flow,
// durable timers, and two members of one group sharing and handing over partitions.
#include "stream/processor.h"

#include <set>

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>

#include "avro/confluent.h"
#include "avro/json_encoder.h"
#include "stream/errc.h"
#include "stream_fixture.h"

namespace substrate::stream::testing {
namespace {

constexpr std::int32_t test_schema_id = 7;
const std::string test_schema =
    R"({"type":"record","name":"Test","fields":[{"name":"id","type":"string"},{"name":"n","type":"int"},)"
    R"({"name":"note","type":["null","string"],"default":null}]})";

std::string framed(const std::string& json) {
  auto schema = avro::schema::parse(test_schema);
  EXPECT_TRUE(schema);
  std::string out;
  avro::append_confluent_header(out, test_schema_id);
  avro::json_encoder encoder;
  auto encoded = encoder.encode(*schema, json, out);
  EXPECT_TRUE(encoded) << encoded.error().message();
  return out;
}

class processor_test : public stream_fixture {
protected:
  void SetUp() override {
    stream_fixture::SetUp();
    ASSERT_TRUE(
        sql().exec("create table effects (id bigserial primary key, processor text, source text, "
                   "record_id text, n int)"));
  }

  // After a run of `total` records of which `poisoned` of the ids in `poison_ids` (an SQL list)
  // were dead-lettered: one effect row and one outbox row per other record, none for the poison
  // ones, and the probe counted as much.
  void expect_all_but_poison(const std::string& name, std::uint64_t total, const std::string& poison_ids,
                             std::uint64_t poisoned) {
    const std::string kept = std::to_string(total - poisoned);
    EXPECT_EQ(scalar("select count(*) from effects"), kept);
    EXPECT_EQ(scalar("select count(distinct record_id) from effects"), kept);
    EXPECT_EQ(scalar("select count(*) from effects where record_id in (" + poison_ids + ")"), "0");
    EXPECT_EQ(scalar("select count(*) from substrate.outbox where topic = 'test.out'"), kept);
    const auto children = probe_.for_processor(name);
    EXPECT_EQ(children.in->value(), total);
    EXPECT_EQ(children.out->value(), total - poisoned);
    EXPECT_EQ(children.failed->value(), poisoned);
    EXPECT_EQ(children.dead_lettered->value(), poisoned);
  }

  runtime_options options() {
    runtime_options o;
    o.bootstrap = broker_->bootstrap();
    o.conninfo = postgres().conninfo();
    o.decode = decoder_.as_decoder();
    o.retry_backoff_initial_ms = 20;
    o.retry_backoff_max_ms = 200;
    o.timer_poll_interval_ms = 50;
    o.consumer_properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
    return o;
  }

  // Inserts one effects row per record and emits one output record per record.
  processor_definition recording(const std::string& name, const std::string& group, const std::string& topic) {
    processor_definition d;
    d.name = name;
    d.group_id = group;
    d.handlers[topic] = [](effects& fx, const input_record& r) -> result<void> {
      auto value = nlohmann::json::parse(r.json);
      if (value["n"].get<int>() < 0) return make_error(errc::invalid_record, "n must not be negative");
      auto inserted = fx.exec("insert into effects (processor, source, record_id, n) values ($1, $2, $3, $4)",
                              {fx.processor(), fmt::format("{}/{}/{}", r.topic, r.partition, r.offset),
                               value["id"].get<std::string>(), std::to_string(value["n"].get<int>())});
      if (!inserted) return tl::unexpected(inserted.error());
      return fx.emit("test.out", std::nullopt, nlohmann::json{{"id", value["id"]}}.dump());
    };
    return d;
  }

  // The same with effects::insert (rows_only: the runtime runs it ahead of its transaction).
  processor_definition adding_rows(const std::string& name, const std::string& group, const std::string& topic) {
    processor_definition d;
    d.name = name;
    d.group_id = group;
    d.rows_only = true;
    d.handlers[topic] = [](effects& fx, const input_record& r) -> result<void> {
      static const row_insert row{"effects (processor, source, record_id, n)", "($1, $2, $3, $4)"};
      auto value = nlohmann::json::parse(r.json);
      if (value["n"].get<int>() < 0) return make_error(errc::invalid_record, "n must not be negative");
      auto inserted = fx.insert(row, {fx.processor(), fmt::format("{}/{}/{}", r.topic, r.partition, r.offset),
                                      value["id"].get<std::string>(), std::to_string(value["n"].get<int>())});
      if (!inserted) return inserted;
      return fx.emit("test.out", std::nullopt, nlohmann::json{{"id", value["id"]}}.dump());
    };
    return d;
  }

  void produce_numbered(const std::string& topic, int from, int to) {
    auto producer = make_producer();
    for (int i = from; i < to; ++i) {
      produce(*producer, topic, i % partitions, framed(fmt::format(R"({{"id":"r{}","n":{}}})", i, i)));
    }
    flush(*producer);
  }

  core::metrics_registry registry_;
  probe probe_{registry_};
  schema_id_decoder decoder_{[](std::int32_t id) -> result<std::string> {
    if (id == test_schema_id) return test_schema;
    return make_error(errc::decode_failed, fmt::format("unknown schema id {}", id));
  }};
};

TEST_F(processor_test, effects_and_outputs_happen_once_even_when_every_record_is_delivered_again) {
  produce_numbered("test.in", 0, 200);
  {
    processor p(recording("counter", "group-a", "test.in"), options(), probe_);
    p.start();
    EXPECT_EQ(wait_for("select count(*) from effects", "200"), "200");
    p.stop();
  }
  // A new group has no committed Kafka offsets: every record is delivered again. The offsets
  // table recognises them, so nothing is applied twice.
  produce_numbered("test.in", 200, 250);
  {
    processor p(recording("counter", "group-b", "test.in"), options(), probe_);
    p.start();
    EXPECT_EQ(wait_for("select count(*) from effects", "250"), "250");
    std::this_thread::sleep_for(500ms);
    p.stop();
  }
  EXPECT_EQ(scalar("select count(*) from effects"), "250");
  EXPECT_EQ(scalar("select count(distinct record_id) from effects"), "250");
  EXPECT_EQ(scalar("select count(*) from substrate.outbox where topic = 'test.out'"), "250");
  EXPECT_EQ(scalar("select sum(next_offset) from substrate.stream_offsets where processor = 'counter'"), "250");
  const auto children = probe_.for_processor("counter");
  EXPECT_EQ(children.in->value(), 250u);
  EXPECT_EQ(children.out->value(), 250u);
}

TEST_F(processor_test, transient_failures_are_retried_without_duplicating_effects) {
  produce_numbered("test.in", 0, 20);
  std::atomic<int> failures_left{5};
  auto definition = recording("flaky", "flaky", "test.in");
  auto inner = definition.handlers["test.in"];
  definition.handlers["test.in"] = [&failures_left, inner](effects& fx, const input_record& r) -> result<void> {
    // The effects are applied first, then the failure: the rollback must undo them.
    auto applied = inner(fx, r);
    if (!applied) return applied;
    if (r.offset == 3 && failures_left.fetch_sub(1) > 0) return make_error(errc::unavailable, "registry down");
    return {};
  };
  processor p(std::move(definition), options(), probe_);
  p.start();
  EXPECT_EQ(wait_for("select count(*) from effects", "20"), "20");
  p.stop();
  EXPECT_EQ(scalar("select count(distinct record_id) from effects"), "20");
  EXPECT_EQ(scalar("select count(*) from substrate.outbox"), "20");
  EXPECT_GE(probe_.for_processor("flaky").retries->value(), 5u);
  EXPECT_EQ(probe_.for_processor("flaky").dead_lettered->value(), 0u);
}

TEST_F(processor_test, a_serialization_failure_of_the_database_is_retried) {
  produce_numbered("test.in", 0, 10);
  std::atomic<int> failures_left{2};
  auto definition = recording("serial", "serial", "test.in");
  auto inner = definition.handlers["test.in"];
  definition.handlers["test.in"] = [&failures_left, inner](effects& fx, const input_record& r) -> result<void> {
    if (r.offset == 1 && failures_left.fetch_sub(1) > 0) {
      // A real SQLSTATE 40001 raised by the server.
      auto raised = fx.exec("do $$ begin raise exception using errcode = 'serialization_failure'; end $$", {});
      if (!raised) return tl::unexpected(raised.error());
    }
    return inner(fx, r);
  };
  processor p(std::move(definition), options(), probe_);
  p.start();
  EXPECT_EQ(wait_for("select count(*) from effects", "10"), "10");
  p.stop();
  EXPECT_EQ(scalar("select count(distinct record_id) from effects"), "10");
  EXPECT_EQ(probe_.for_processor("serial").dead_lettered->value(), 0u);
}

TEST_F(processor_test, poison_records_go_to_the_dead_letter_topic_and_later_records_flow) {
  auto producer = make_producer();
  produce(*producer, "test.in", 0, framed(R"({"id":"a","n":1})"));
  produce(*producer, "test.in", 0, "\x01garbage", "poison-key");               // bad framing
  produce(*producer, "test.in", 0, framed(R"({"id":"neg","n":-5})"));          // fails validation
  produce(*producer, "test.in", 0, std::string("\x00\x00\x00\x00\x63zz", 7));  // unknown schema id 99
  produce(*producer, "test.in", 0, framed(R"({"id":"b","n":2})"));
  flush(*producer);
  processor p(recording("poison", "poison", "test.in"), options(), probe_);
  p.start();
  EXPECT_EQ(wait_for("select string_agg(record_id, ',' order by n) from effects", "a,b"), "a,b");
  auto dead = read_topic("test.in.dlq", 3);
  p.stop();
  ASSERT_EQ(dead.size(), 3u);
  std::set<std::string> offsets;
  for (const auto& m : dead) {
    offsets.insert(m.headers.at("substrate.source.offset"));
    EXPECT_EQ(m.headers.at("substrate.source.topic"), "test.in");
    EXPECT_EQ(m.headers.at("substrate.processor"), "poison");
    if (m.key == "poison-key") {
      EXPECT_EQ(m.value, "\x01garbage");
      EXPECT_THAT(m.headers.at("substrate.error"), ::testing::HasSubstr("cannot decode"));
    }
  }
  EXPECT_EQ(offsets, (std::set<std::string>{"1", "2", "3"}));
  const auto children = probe_.for_processor("poison");
  EXPECT_EQ(children.dead_lettered->value(), 3u);
  EXPECT_EQ(children.failed->value(), 3u);
  EXPECT_EQ(scalar("select next_offset from substrate.stream_offsets where processor = 'poison' and partition = 0"),
            "5");
}

// Handlers that only use effects::insert and emit: their rows are coalesced into multi-row
// INSERTs per batch. A row the database rejects (here a CHECK constraint) fails the whole
// coalesced statement; the batch then runs record by record, the rejected record alone goes to
// the dead-letter topic, and every other record's rows exist exactly once.
TEST_F(processor_test, a_row_the_database_rejects_in_a_coalesced_batch_dead_letters_only_its_record) {
  ASSERT_TRUE(sql().exec("alter table effects add constraint n_is_not_13 check (n <> 13)"));
  auto producer = make_producer();
  for (int i = 0; i < 40; ++i) {
    produce(*producer, "test.in", 0, framed(fmt::format(R"({{"id":"r{}","n":{}}})", i, i == 7 ? -1 : i)));
  }
  flush(*producer);
  processor_definition d;
  d.name = "coalesced";
  d.handlers["test.in"] = [](effects& fx, const input_record& r) -> result<void> {
    static const row_insert row{"effects (processor, source, record_id, n)", "($1, $2, $3, $4)"};
    auto value = nlohmann::json::parse(r.json);
    // Refused before anything is sent: the record is dropped from the coalesced batch at once.
    if (value["n"].get<int>() < 0) return make_error(errc::invalid_record, "n must not be negative");
    auto inserted = fx.insert(row, {fx.processor(), fmt::format("{}/{}/{}", r.topic, r.partition, r.offset),
                                    value["id"].get<std::string>(), std::to_string(value["n"].get<int>())});
    if (!inserted) return inserted;
    return fx.emit("test.out", std::nullopt, nlohmann::json{{"id", value["id"]}}.dump());
  };
  auto o = options();
  o.batch_records_max = 100;
  processor p(std::move(d), o, probe_);
  p.start();
  EXPECT_EQ(wait_for("select count(*) from effects", "38"), "38");
  auto dead = read_topic("test.in.dlq", 2);
  std::this_thread::sleep_for(300ms);
  p.stop();
  ASSERT_EQ(dead.size(), 2u);
  std::set<std::string> offsets;
  for (const auto& m : dead) offsets.insert(m.headers.at("substrate.source.offset"));
  EXPECT_EQ(offsets, (std::set<std::string>{"7", "13"}));
  expect_all_but_poison("coalesced", 40, "'r7', 'r13'", 2);
  EXPECT_EQ(scalar("select next_offset from substrate.stream_offsets where processor = 'coalesced'"), "40");
}

// Coalesced rows of plain parameters go by COPY: tabs, newlines, backslashes and NULL arrive as
// they were (COPY's text format escapes them).
TEST_F(processor_test, coalesced_rows_keep_special_characters_and_nulls) {
  auto producer = make_producer();
  const std::vector<std::string> notes = {R"("tab\there")", R"("new\nline\r\n")", R"("back\\slash \\N \\.")", "null",
                                          R"("\\")",        R"("plain")"};
  for (std::size_t i = 0; i < notes.size(); ++i) {
    produce(*producer, "test.in", 0, framed(fmt::format(R"({{"id":"r{}","n":{},"note":{}}})", i, i, notes[i])));
  }
  flush(*producer);
  processor_definition d;
  d.name = "copy";
  d.handlers["test.in"] = [](effects& fx, const input_record& r) -> result<void> {
    static const row_insert row{"effects (processor, source, record_id, n)", "($1, $2, $3, $4::int)"};
    auto value = nlohmann::json::parse(r.json);
    std::optional<std::string> note;
    if (value["note"].is_string()) note = value["note"].get<std::string>();
    return fx.insert(row,
                     {fx.processor(), note, value["id"].get<std::string>(), std::to_string(value["n"].get<int>())});
  };
  processor p(std::move(d), options(), probe_);
  p.start();
  EXPECT_EQ(wait_for("select count(*) from effects", "6"), "6");
  p.stop();
  auto rows = sql().exec("select coalesce(source, '<null>') from effects order by n");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows(), 6);
  EXPECT_EQ(rows->value(0, 0), "tab\there");
  EXPECT_EQ(rows->value(1, 0), "new\nline\r\n");
  EXPECT_EQ(rows->value(2, 0), "back\\slash \\N \\.");
  EXPECT_EQ(rows->value(3, 0), "<null>");
  EXPECT_EQ(rows->value(4, 0), "\\");
  EXPECT_EQ(rows->value(5, 0), "plain");
}

// Rows into columns that are all text, varchar, json or jsonb go by COPY's binary format: the
// values arrive byte for byte (tabs, newlines, backslashes, quotes, non-ASCII, NULL), a value the
// column rejects (invalid JSON for jsonb, too long for varchar) dead-letters only its record, and
// after a column's type changed the rows still arrive (the types are read again).
TEST_F(processor_test, coalesced_rows_in_binary_copy_keep_their_bytes_and_reject_only_bad_records) {
  ASSERT_TRUE(sql().exec(
      "create table notes (id bigserial primary key, record_id text not null, note varchar(16), doc jsonb, raw json)"));
  auto producer = make_producer();
  // note: the varchar (r5: too long); the document is not JSON for n = 4.
  const std::vector<std::string> notes = {R"("tab\there")",
                                          R"("new\nline\r\n")",
                                          R"("back\\slash \\N")",
                                          "null",
                                          R"("ok")",
                                          R"("far too long for sixteen")",
                                          R"("gr\u00fc\u00dfe")",
                                          R"("plain")"};
  for (std::size_t i = 0; i < notes.size(); ++i) {
    produce(*producer, "test.in", 0, framed(fmt::format(R"({{"id":"r{}","n":{},"note":{}}})", i, i, notes[i])));
  }
  flush(*producer);
  auto definition = [] {
    processor_definition d;
    d.name = "binary";
    d.rows_only = true;
    d.handlers["test.in"] = [](effects& fx, const input_record& r) -> result<void> {
      static const row_insert row{"notes (record_id, note, doc, raw)", "($1, $2, $3::jsonb, $4::json)"};
      auto value = nlohmann::json::parse(r.json);
      std::optional<std::string> note;
      if (value["note"].is_string()) note = value["note"].get<std::string>();
      const int n = value["n"].get<int>();
      const std::string doc =
          n == 4 ? "{not json" : nlohmann::json{{"n", n}, {"note", note ? *note : ""}, {"q", "\"a\"\t"}}.dump();
      std::optional<std::string> raw;
      if (n % 2 == 0) raw = R"({"z": 1, "a": [1, 2]})";
      return fx.insert(row, {value["id"].get<std::string>(), note, doc, raw});
    };
    return d;
  };
  processor p(definition(), options(), probe_);
  p.start();
  EXPECT_EQ(wait_for("select count(*) from notes", "6"), "6");
  EXPECT_EQ(read_topic("test.in.dlq", 2).size(), 2u);
  auto rows = sql().exec(
      "select record_id, coalesce(note, '<null>'), doc->>'note', doc->>'q', coalesce(raw::text, '<null>') "
      "from notes order by id");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->rows(), 6);
  const std::vector<std::string> ids = {"r0", "r1", "r2", "r3", "r6", "r7"};
  const std::vector<std::string> texts = {"tab\there", "new\nline\r\n",   "back\\slash \\N",
                                          "<null>",    "gr\u00fc\u00dfe", "plain"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const int row = static_cast<int>(i);
    const bool even = ids[i] != "r1" && ids[i] != "r3" && ids[i] != "r7";
    EXPECT_EQ(rows->value(row, 0), ids[i]);
    EXPECT_EQ(rows->value(row, 1), texts[i]);
    EXPECT_EQ(rows->value(row, 2), texts[i] == "<null>" ? "" : texts[i]);
    EXPECT_EQ(rows->value(row, 3), "\"a\"\t");
    EXPECT_EQ(rows->value(row, 4), even ? R"({"z": 1, "a": [1, 2]})" : "<null>");
  }
  // The note column becomes an integer while the processor runs. A binary COPY would take the
  // four bytes of "1234" as the number 825373492: the check before the COMMIT fails the batch,
  // which is retried with the types read again, in the text format (nothing dead-lettered).
  produce(*producer, "test.in", 0, framed(R"({"id":"r8","n":8,"note":"5678"})"));  // binary again
  flush(*producer);
  EXPECT_EQ(wait_for("select count(*) from notes", "7"), "7");
  const auto retries = probe_.for_processor("binary").retries->value();
  ASSERT_TRUE(
      sql().exec("alter table notes alter column note type int using case when note ~ '^[0-9]+$' then note::int end"));
  produce(*producer, "test.in", 0, framed(R"({"id":"r9","n":9,"note":"1234"})"));
  flush(*producer);
  EXPECT_EQ(wait_for("select count(*) from notes", "8"), "8");
  produce(*producer, "test.in", 0, framed(R"({"id":"r10","n":10,"note":"43"})"));
  flush(*producer);
  EXPECT_EQ(wait_for("select count(*) from notes", "9"), "9");
  p.stop();
  EXPECT_GT(probe_.for_processor("binary").retries->value(), retries);  // the batch the check failed
  EXPECT_EQ(probe_.for_processor("binary").failed->value(), 2u);
  EXPECT_EQ(scalar("select string_agg(note::text, ',' order by id) from notes where record_id in ('r8', 'r9', 'r10')"),
            "5678,1234,43");
}

// A processor whose database user is subject to row-level security cannot COPY into the table
// (0A000): it falls back to multi-row INSERTs, which RLS allows, and nothing is dead-lettered.
TEST_F(processor_test, row_level_security_makes_the_coalesced_rows_use_insert_instead_of_copy) {
  ASSERT_TRUE(
      sql().exec("create role stream_rls login; "
                 "grant usage on schema substrate to stream_rls; "
                 "grant all on all tables in schema substrate to stream_rls; "
                 "grant all on all sequences in schema substrate to stream_rls; "
                 "grant all on effects, effects_id_seq to stream_rls; "
                 "alter table effects enable row level security; "
                 "create policy effects_rls on effects for all to stream_rls using (true) with check (n >= 0)"));
  produce_numbered("test.in", 0, 20);
  processor_definition d;
  d.name = "rls";
  d.handlers["test.in"] = [](effects& fx, const input_record& r) -> result<void> {
    static const row_insert row{"effects (processor, source, record_id, n)", "($1, $2, $3, $4)"};
    auto value = nlohmann::json::parse(r.json);
    return fx.insert(row,
                     {fx.processor(), "rls", value["id"].get<std::string>(), std::to_string(value["n"].get<int>())});
  };
  auto o = options();
  const auto at = o.conninfo.find("user=postgres");
  ASSERT_NE(at, std::string::npos);
  o.conninfo.replace(at, std::string("user=postgres").size(), "user=stream_rls");
  processor p(std::move(d), o, probe_);
  p.start();
  EXPECT_EQ(wait_for("select count(*) from effects", "20"), "20");
  p.stop();
  EXPECT_EQ(scalar("select count(distinct record_id) from effects"), "20");
  EXPECT_EQ(probe_.for_processor("rls").dead_lettered->value(), 0u);
  EXPECT_EQ(probe_.for_processor("rls").in->value(), 20u);
}

// The rows an exec of a later record reads back include the earlier records' deferred rows.
// A handler that inserts a row per record, except every tenth record, which counts the rows
// before it (a read of the database inside the batch) and records the count as its n.
result<void> count_every_tenth(effects& fx, const input_record& r) {
  static const row_insert row{"effects (processor, source, record_id, n)", "($1, $2, $3, $4)"};
  auto value = nlohmann::json::parse(r.json);
  const int n = value["n"].get<int>();
  if (n % 10 == 9) {
    auto counted = fx.exec("select count(*) from effects where processor = $1", {fx.processor()});
    if (!counted) return tl::unexpected(counted.error());
    return fx.insert(row, {fx.processor(), "count", value["id"].get<std::string>(), counted->value(0, 0)});
  }
  return fx.insert(row, {fx.processor(), "row", value["id"].get<std::string>(), std::to_string(n)});
}

TEST_F(processor_test, exec_sees_the_rows_inserted_before_it_in_the_batch) {
  auto producer = make_producer();
  for (int i = 0; i < 30; ++i) produce(*producer, "test.in", 0, framed(fmt::format(R"({{"id":"r{}","n":{}}})", i, i)));
  flush(*producer);
  processor_definition d;
  d.name = "reader";
  d.handlers["test.in"] = count_every_tenth;
  auto o = options();
  o.batch_records_max = 100;
  processor p(std::move(d), o, probe_);
  p.start();
  EXPECT_EQ(wait_for("select count(*) from effects", "30"), "30");
  p.stop();
  EXPECT_EQ(scalar("select string_agg(n::text, ',' order by n) from effects where source = 'count'"), "9,19,29");
}

// Handlers run ahead of their transactions (rows_only) while earlier batches commit: every
// record's rows are applied once and in order, across a restart in another group, and poison
// records found ahead are dead-lettered once and counted once.
TEST_F(processor_test, handlers_run_ahead_apply_each_record_once_and_in_order_across_a_restart) {
  auto producer = make_producer();
  for (int i = 0; i < 300; ++i) {
    const int n = i == 17 ? -1 : i;
    if (i == 40) {
      produce(*producer, "test.in", i % partitions, "\x01garbage", "poison-key");
    } else {
      produce(*producer, "test.in", i % partitions, framed(fmt::format(R"({{"id":"r{}","n":{}}})", i, n)));
    }
  }
  flush(*producer);
  auto o = options();
  o.batch_records_max = 20;  // many polls: the consume thread runs ahead of the database thread
  {
    processor p(adding_rows("ahead", "ahead-a", "test.in"), o, probe_);
    p.start();
    EXPECT_EQ(wait_for("select count(*) from effects", "298"), "298");
    EXPECT_EQ(read_topic("test.in.dlq", 2).size(), 2u);
    p.stop();
  }
  {
    processor p(adding_rows("ahead", "ahead-b", "test.in"), o, probe_);
    p.start();
    EXPECT_EQ(wait_for("select sum(next_offset) from substrate.stream_offsets where processor = 'ahead'", "300"),
              "300");
    std::this_thread::sleep_for(500ms);
    p.stop();
  }
  expect_all_but_poison("ahead", 300, "'r17', 'r40'", 2);
  // Rows of one partition are in offset order.
  EXPECT_EQ(scalar("select count(*) from (select split_part(source, '/', 3)::int as o, "
                   "lag(split_part(source, '/', 3)::int) over (partition by split_part(source, '/', 2) order by id) "
                   "as before from effects) x where before >= o"),
            "0");
}

// A definition that says rows_only but whose handler asks for the database (exec): the runtime
// notices ahead of the transaction and from then on runs the handlers in their transactions, so
// the exec sees what it would have seen without the declaration.
TEST_F(processor_test, a_rows_only_handler_that_needs_its_transaction_runs_in_it) {
  auto producer = make_producer();
  for (int i = 0; i < 30; ++i) produce(*producer, "test.in", 0, framed(fmt::format(R"({{"id":"r{}","n":{}}})", i, i)));
  flush(*producer);
  processor_definition d;
  d.name = "mislabelled";
  d.rows_only = true;
  d.handlers["test.in"] = count_every_tenth;
  auto o = options();
  o.batch_records_max = 7;
  processor p(std::move(d), o, probe_);
  p.start();
  EXPECT_EQ(wait_for("select count(*) from effects", "30"), "30");
  p.stop();
  EXPECT_EQ(scalar("select string_agg(n::text, ',' order by n) from effects where source = 'count'"), "9,19,29");
  EXPECT_EQ(probe_.for_processor("mislabelled").dead_lettered->value(), 0u);
}

// Rows added ahead that the database rejects (a CHECK constraint) fail their coalesced batch; it
// runs again record by record (the handlers again, in the transaction) and only the rejected
// record is dead-lettered.
TEST_F(processor_test, a_row_added_ahead_that_the_database_rejects_dead_letters_only_its_record) {
  ASSERT_TRUE(sql().exec("alter table effects add constraint n_is_not_13 check (n <> 13)"));
  produce_numbered("test.in", 0, 40);
  auto o = options();
  o.batch_records_max = 10;
  processor p(adding_rows("ahead-rejected", "ahead-rejected", "test.in"), o, probe_);
  p.start();
  EXPECT_EQ(wait_for("select count(*) from effects", "39"), "39");
  auto dead = read_topic("test.in.dlq", 1);
  std::this_thread::sleep_for(300ms);
  p.stop();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(scalar("select count(distinct record_id) from effects"), "39");
  EXPECT_EQ(scalar("select count(*) from effects where record_id = 'r13'"), "0");
  EXPECT_EQ(scalar("select count(*) from substrate.outbox where topic = 'test.out'"), "39");
  EXPECT_EQ(probe_.for_processor("ahead-rejected").failed->value(), 1u);
  EXPECT_EQ(probe_.for_processor("ahead-rejected").out->value(), 39u);
}

TEST_F(processor_test, timers_fire_once_after_a_restart_and_cancelled_ones_never) {
  // Each record schedules timer "t-<id>" one second later; a record with n = 0 cancels "t-<note>".
  auto definition = [](std::atomic<int>* fired_calls) {
    processor_definition d;
    d.name = "timers";
    d.handlers["test.in"] = [](effects& fx, const input_record& r) -> result<void> {
      auto value = nlohmann::json::parse(r.json);
      if (value["n"].get<int>() == 0) return fx.cancel("t-" + value["note"].get<std::string>());
      return fx.schedule("t-" + value["id"].get<std::string>(), std::chrono::system_clock::now() + 1500ms,
                         nlohmann::json{{"id", value["id"]}}.dump());
    };
    d.on_timer = [fired_calls](effects& fx, const timer& t) -> result<void> {
      ++*fired_calls;
      auto inserted =
          fx.exec("insert into effects (processor, source, record_id) values ('timers', 'timer', $1)", {t.key});
      if (!inserted) return tl::unexpected(inserted.error());
      return {};
    };
    return d;
  };
  auto producer = make_producer();
  produce(*producer, "test.in", 0, framed(R"({"id":"x","n":1})"));
  produce(*producer, "test.in", 0, framed(R"({"id":"y","n":1})"));
  produce(*producer, "test.in", 0, framed(R"({"id":"z","n":1})"));
  produce(*producer, "test.in", 0, framed(R"({"id":"c","n":0,"note":"y"})"));
  flush(*producer);
  std::atomic<int> fired{0};
  {
    processor p(definition(&fired), options(), probe_);
    p.start();
    EXPECT_EQ(wait_for("select string_agg(key, ',' order by key) from substrate.stream_timers", "t-x,t-z"), "t-x,t-z");
    p.stop();
  }
  EXPECT_EQ(fired.load(), 0);  // stopped before they were due
  std::this_thread::sleep_for(1600ms);
  {
    processor p(definition(&fired), options(), probe_);
    p.start();
    EXPECT_EQ(wait_for("select string_agg(record_id, ',' order by record_id) from effects", "t-x,t-z"), "t-x,t-z");
    std::this_thread::sleep_for(500ms);
    p.stop();
  }
  EXPECT_EQ(fired.load(), 2);
  EXPECT_EQ(scalar("select count(*) from substrate.stream_timers"), "0");
  EXPECT_EQ(scalar("select count(*) from effects"), "2");
}

TEST_F(processor_test, a_permanently_failing_timer_stays_and_is_marked) {
  processor_definition d;
  d.name = "bad-timer";
  d.handlers["test.in"] = [](effects& fx, const input_record&) -> result<void> {
    return fx.schedule("once", std::chrono::system_clock::now());
  };
  d.on_timer = [](effects&, const timer&) -> result<void> { return make_error(errc::invalid_record, "cannot"); };
  auto producer = make_producer();
  produce(*producer, "test.in", 0, framed(R"({"id":"x","n":1})"));
  flush(*producer);
  processor p(std::move(d), options(), probe_);
  p.start();
  EXPECT_EQ(wait_for("select attempts > 0 and last_error like '%cannot%' from substrate.stream_timers", "t"), "t");
  p.stop();
}

TEST_F(processor_test, two_members_share_the_partitions_and_one_takes_over_from_the_other) {
  produce_numbered("test.in", 0, 2);  // creates the topic
  auto first = std::make_unique<processor>(recording("shared", "shared", "test.in"), options(), probe_);
  processor second(recording("shared", "shared", "test.in"), options(), probe_);
  first->start();
  second.start();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline &&
         (first->assignment().size() != 1 || second.assignment().size() != 1)) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(first->assignment().size(), 1u);
  ASSERT_EQ(second.assignment().size(), 1u);
  produce_numbered("test.in", 2, 300);
  EXPECT_EQ(wait_for("select count(*) from effects", "300"), "300");
  // Both members did part of the work.
  EXPECT_EQ(scalar("select count(distinct split_part(source, '/', 2)) from effects"), "2");
  first->stop();
  first.reset();
  produce_numbered("test.in", 300, 400);
  EXPECT_EQ(wait_for("select count(*) from effects", "400"), "400");
  EXPECT_EQ(second.assignment().size(), 2u);
  second.stop();
  EXPECT_EQ(scalar("select count(distinct record_id) from effects"), "400");
  EXPECT_EQ(scalar("select count(*) from substrate.outbox"), "400");
}

}  // namespace
}  // namespace substrate::stream::testing
