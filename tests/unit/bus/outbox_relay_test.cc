// The outbox relay against a real PostgreSQL (managed, with the platform's migrations), the
// built-in broker (test_broker) and the registry over HTTP: order, headers, exactly once after a
// simulated crash between produce and delete, dead rows, standby relays and takeover.
#include "bus/outbox_relay.h"

#include <chrono>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "bus/avro_serializer.h"
#include "bus/producer.h"
#include "bus/registry_client.h"
#include "bus/topic_reader.h"
#include "bus_fixture.h"
#include "db/connection.h"
#include "db/managed_postgres.h"
#include "db/migrations.h"
#include "schema/topic_admin.h"

namespace substrate::bus {
namespace {

using namespace std::chrono_literals;

constexpr const char* note_schema =
    R"({"type":"record","name":"Note","namespace":"test","fields":[{"name":"n","type":"int"},)"
    R"({"name":"text","type":["null","string"],"default":null}]})";

class outbox_relay_test : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new testing::temp_dir();
    core::database_config options;
    options.port = testing::free_port();
    options.start_timeout_ms = 30'000;
    postgres_ = new db::managed_postgres((dir_->path() / "pg").string(), options);
    postgres_->start();
    auto conn = db::connection::open(postgres_->conninfo(), 5000);
    ASSERT_TRUE(conn) << conn.error().message();
    auto applied = db::apply_migrations(*conn, db::embedded_migrations());
    ASSERT_TRUE(applied) << applied.error().message();
    broker_ = new testing::broker_process(dir_->path() / "kafka", 2);
    broker_->start();
  }
  static void TearDownTestSuite() {
    delete broker_;
    postgres_->stop();
    delete postgres_;
    delete dir_;
  }

  void SetUp() override {
    topic_ = fmt::format("test.notes.{}", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    (void)schema::create_topics(broker_->bootstrap(), {{topic_, 2}}, 10'000);
    auto conn = db::connection::open(postgres_->conninfo(), 5000);
    ASSERT_TRUE(conn);
    conn_ = std::make_unique<db::connection>(std::move(*conn));
    exec("delete from substrate.outbox");
    exec("delete from substrate.outbox_dead");
    serializer_options so;
    so.local_schemas.emplace(topic_, note_schema);
    serializer_ = std::make_unique<avro_serializer>(registry_client_, so);
    producer_options po;
    po.connection = connection();
    po.delivery_timeout_ms = 5'000;
    producer_ = std::make_unique<producer>(po);
  }

  kafka_connection connection() const {
    kafka_connection c;
    c.bootstrap = broker_->bootstrap();
    return c;
  }
  outbox_relay_options relay_options() const {
    outbox_relay_options o;
    o.conninfo = postgres_->conninfo();
    o.poll_interval_ms = 10;
    o.lock_retry_ms = 50;
    o.retry_backoff_ms = 100;
    o.batch_size = 64;
    return o;
  }
  db::query_result exec(const std::string& sql) {
    auto r = conn_->exec(sql);
    EXPECT_TRUE(r) << sql << ": " << r.error().message();
    return *r;
  }
  std::int64_t count(const std::string& table) { return std::stoll(exec("select count(*) from " + table).value(0, 0)); }
  // Inserts rows n = from..to for topic_ (key "k<n % 3>"); returns their ids.
  std::vector<std::int64_t> insert(int from, int to) {
    auto r =
        exec(fmt::format("insert into substrate.outbox (topic, key, payload) select '{}', 'k' || (n % 3), "
                         "jsonb_build_object('n', n, 'text', 'note ' || n) from generate_series({}, {}) n returning id",
                         topic_, from, to));
    std::vector<std::int64_t> ids;
    for (int i = 0; i < r.rows(); ++i) ids.push_back(std::stoll(r.value(i, 0)));
    return ids;
  }
  bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(20ms);
    }
    return done();
  }
  // Every record of topic_: (outbox id header, partition, decoded JSON).
  struct seen {
    std::int64_t id;
    std::int32_t partition;
    std::optional<std::string> key;
    std::string json;
  };
  std::vector<seen> read_topic() {
    topic_reader reader(connection());
    std::vector<seen> out;
    for (std::int32_t p = 0; p < 2; ++p) {
      auto marks = reader.offsets(topic_, p, 5000);
      EXPECT_TRUE(marks);
      auto records = reader.read_range(topic_, p, marks->low, marks->high, 10'000);
      EXPECT_TRUE(records) << records.error().message();
      for (const auto& r : *records) {
        auto decoded = serializer_->decode({reinterpret_cast<const std::uint8_t*>(r.value->data()), r.value->size()});
        EXPECT_TRUE(decoded) << decoded.error().message();
        out.push_back({std::stoll(r.header(outbox_id_header).value_or("-1")), p, r.key, decoded ? decoded->json : ""});
      }
    }
    return out;
  }

  static testing::temp_dir* dir_;
  static db::managed_postgres* postgres_;
  static testing::broker_process* broker_;
  testing::registry_server registry_;
  registry_client registry_client_{{registry_.url()}};
  std::string topic_;
  std::unique_ptr<db::connection> conn_;
  std::unique_ptr<avro_serializer> serializer_;
  std::unique_ptr<producer> producer_;
};

testing::temp_dir* outbox_relay_test::dir_ = nullptr;
db::managed_postgres* outbox_relay_test::postgres_ = nullptr;
testing::broker_process* outbox_relay_test::broker_ = nullptr;

TEST_F(outbox_relay_test, relays_every_row_once_in_order_per_key_and_deletes_it) {
  const auto ids = insert(1, 150);
  outbox_relay relay(relay_options(), *serializer_, *producer_, connection());
  relay.start();
  ASSERT_TRUE(wait_until([&] { return count("substrate.outbox") == 0; }));
  relay.stop();
  EXPECT_EQ(relay.stats().relayed, 150u);
  auto records = read_topic();
  ASSERT_EQ(records.size(), 150u);
  std::map<std::int64_t, int> times;
  std::map<std::string, std::int64_t> last_id_of_key;
  for (const auto& r : records) {
    ++times[r.id];
    ASSERT_TRUE(r.key);
    // Within a partition, a key's records come in id order.
    EXPECT_GT(r.id, last_id_of_key[*r.key]) << *r.key;
    last_id_of_key[*r.key] = r.id;
  }
  for (const auto id : ids) EXPECT_EQ(times[id], 1) << id;
  const auto first = std::find_if(records.begin(), records.end(), [&](const seen& s) { return s.id == ids[0]; });
  ASSERT_NE(first, records.end());
  EXPECT_EQ(first->json, R"({"n":1,"text":"note 1"})");
  EXPECT_EQ(first->key, "k1");
}

// Rounds read from a floor below which every row is relayed. A row committed after rows with
// larger ids were relayed (its transaction drew its id first) is still found, without waiting for
// a full scan: the floor does not pass it while its writer is open. Once every writer of the
// relayed rows has ended, the floor moves up to them.
TEST_F(outbox_relay_test, a_row_committed_late_with_a_smaller_id_is_relayed_before_the_floor_passes_it) {
  auto o = relay_options();
  o.full_scan_interval_ms = 600'000;  // only the floor finds rows here
  outbox_relay relay(o, *serializer_, *producer_, connection());
  relay.start();
  insert(1, 20);
  ASSERT_TRUE(wait_until([&] { return count("substrate.outbox") == 0; }));
  ASSERT_TRUE(wait_until([&] { return relay.stats().floor_id > 0; }));

  // A writer draws an id and stays open while later rows are written and relayed.
  auto late_writer = db::connection::open(postgres_->conninfo(), 5000);
  ASSERT_TRUE(late_writer);
  ASSERT_TRUE(late_writer->exec("begin"));
  auto late =
      late_writer->exec(fmt::format("insert into substrate.outbox (topic, key, payload) values ('{}', 'late', "
                                    "'{{\"n\": 1000, \"text\": \"late\"}}') returning id",
                                    topic_));
  ASSERT_TRUE(late) << late.error().message();
  const auto late_id = std::stoll(late->value(0, 0));
  const auto after = insert(21, 200);  // several rounds of 64
  // (The open row is not visible here.)
  ASSERT_TRUE(wait_until([&] { return count("substrate.outbox") == 0; }));
  std::this_thread::sleep_for(200ms);  // idle rounds: the floor must still stay below the open row
  EXPECT_LT(relay.stats().floor_id, late_id);

  ASSERT_TRUE(late_writer->exec("commit"));
  ASSERT_TRUE(wait_until([&] { return count("substrate.outbox") == 0; }, 10s));
  ASSERT_TRUE(wait_until([&] { return relay.stats().floor_id >= after.back(); }));
  relay.stop();
  EXPECT_EQ(relay.stats().relayed, 201u);
  auto records = read_topic();
  std::map<std::int64_t, int> times;
  for (const auto& r : records) ++times[r.id];
  EXPECT_EQ(records.size(), 201u);
  EXPECT_EQ(times[late_id], 1);
  for (const auto id : after) EXPECT_EQ(times[id], 1) << id;
}

// The full scan (full_scan_interval_ms) is the floor's backstop: a row below the floor that no
// open writer held (here: inserted with an explicit id, as a restore or a hand-made fix might) is
// never read by the rounds from the floor, and is relayed by the next full scan.
TEST_F(outbox_relay_test, a_row_below_the_floor_is_found_by_the_full_scan_only) {
  const auto below_floor_row = [&](std::int64_t id) {
    exec(
        fmt::format("insert into substrate.outbox (id, topic, key, payload) values ({}, '{}', 'low', "
                    "'{{\"n\": {}, \"text\": \"below the floor\"}}')",
                    id, topic_, id));
  };
  const auto floor_passes = [&](outbox_relay& relay, const std::vector<std::int64_t>& ids) {
    return wait_until([&] { return count("substrate.outbox") == 0 && relay.stats().floor_id >= ids.back(); });
  };

  // Without a full scan in sight, the row waits while later rows are relayed.
  auto without = relay_options();
  without.full_scan_interval_ms = 600'000;
  std::int64_t hidden_id = 0;
  {
    outbox_relay relay(without, *serializer_, *producer_, connection());
    relay.start();
    const auto first = insert(1, 20);
    ASSERT_TRUE(floor_passes(relay, first));
    hidden_id = first.front();  // relayed and deleted: free again, and below the floor
    below_floor_row(hidden_id);
    insert(21, 30);
    ASSERT_TRUE(wait_until([&] { return relay.stats().relayed >= 30; }));
    std::this_thread::sleep_for(300ms);  // more rounds from the floor
    EXPECT_EQ(count("substrate.outbox"), 1) << "only the row below the floor is left";
    relay.stop();
  }
  exec("delete from substrate.outbox");

  // With a full scan every 300 ms, the same kind of row is relayed.
  auto with = relay_options();
  with.full_scan_interval_ms = 300;
  outbox_relay relay(with, *serializer_, *producer_, connection());
  relay.start();
  const auto rows = insert(31, 50);
  ASSERT_TRUE(floor_passes(relay, rows));
  below_floor_row(rows.front());
  EXPECT_TRUE(wait_until([&] { return count("substrate.outbox") == 0; }, 10s)) << "the full scan relays it";
  relay.stop();
  std::map<std::int64_t, int> times;
  for (const auto& r : read_topic()) {
    if (r.key == "low") ++times[r.id];
  }
  EXPECT_EQ(times[rows.front()], 1) << "relayed once, with its own id";
  EXPECT_EQ(times.count(hidden_id) ? times[hidden_id] : 0, 0) << "the first one was deleted unrelayed";
}

TEST_F(outbox_relay_test, rows_already_on_the_topic_after_a_crash_are_not_produced_again) {
  // A relay that produced rows 1..6 and died before deleting them: their records carry the header.
  const auto ids = insert(1, 10);
  for (int i = 0; i < 6; ++i) {
    auto value = serializer_->encode(topic_, fmt::format(R"({{"n":{},"text":"note {}"}})", i + 1, i + 1));
    ASSERT_TRUE(value);
    ASSERT_TRUE(producer_->produce_sync(topic_, fmt::format("k{}", (i + 1) % 3), *value,
                                        {{outbox_id_header, std::to_string(ids[i])}}));
  }
  outbox_relay relay(relay_options(), *serializer_, *producer_, connection());
  relay.start();
  ASSERT_TRUE(wait_until([&] { return count("substrate.outbox") == 0; }));
  relay.stop();
  EXPECT_EQ(relay.stats().recovered, 6u);
  EXPECT_EQ(relay.stats().relayed, 4u);
  std::map<std::int64_t, int> times;
  for (const auto& r : read_topic()) ++times[r.id];
  ASSERT_EQ(times.size(), 10u);
  for (const auto id : ids) EXPECT_EQ(times[id], 1) << id;
}

TEST_F(outbox_relay_test, a_row_that_never_encodes_moves_to_outbox_dead_and_the_rest_go_on) {
  insert(1, 3);
  exec(fmt::format(R"(insert into substrate.outbox (topic, payload) values ('{}', '{{"n":"not a number"}}'))", topic_));
  exec("insert into substrate.outbox (topic, payload) values ('test.no.schema', '{}')");
  insert(4, 5);
  outbox_relay relay(relay_options(), *serializer_, *producer_, connection());
  relay.start();
  ASSERT_TRUE(wait_until([&] { return count("substrate.outbox") == 0; }));
  relay.stop();
  EXPECT_EQ(relay.stats().relayed, 5u);
  EXPECT_EQ(relay.stats().dead, 2u);
  auto dead = exec("select topic, error from substrate.outbox_dead order by id");
  ASSERT_EQ(dead.rows(), 2);
  EXPECT_EQ(dead.value(0, 0), topic_);
  EXPECT_NE(dead.value(0, 1).find("$.n: expected int"), std::string::npos) << dead.value(0, 1);
  EXPECT_EQ(dead.value(1, 0), "test.no.schema");
  EXPECT_NE(dead.value(1, 1).find("test.no.schema-value"), std::string::npos) << dead.value(1, 1);
  EXPECT_EQ(read_topic().size(), 5u);
}

TEST_F(outbox_relay_test, a_second_relay_stands_by_and_takes_over) {
  outbox_relay first(relay_options(), *serializer_, *producer_, connection());
  first.start();
  ASSERT_TRUE(wait_until([&] { return first.stats().active; }));
  outbox_relay second(relay_options(), *serializer_, *producer_, connection());
  second.start();
  insert(1, 20);
  ASSERT_TRUE(wait_until([&] { return count("substrate.outbox") == 0; }));
  EXPECT_FALSE(second.stats().active);
  EXPECT_EQ(second.stats().relayed, 0u);
  first.stop();
  ASSERT_TRUE(wait_until([&] { return second.stats().active; }));
  insert(21, 30);
  ASSERT_TRUE(wait_until([&] { return count("substrate.outbox") == 0; }));
  second.stop();
  EXPECT_EQ(first.stats().relayed, 20u);
  EXPECT_EQ(second.stats().relayed, 10u);
  EXPECT_EQ(read_topic().size(), 30u);
}

TEST_F(outbox_relay_test, a_topic_the_broker_refuses_holds_back_only_its_own_rows) {
  // The broker creates unknown topics on first use (kafka.auto_create_topics), but never one with
  // an invalid name: its rows wait (not dead: the row is fine, the cluster is not), others go on.
  const std::string refused = "test.refused topic";
  exec(fmt::format(R"(insert into substrate.outbox (topic, payload) values ('{}', '{{"n":1}}'))", refused));
  insert(1, 5);
  exec(fmt::format(R"(insert into substrate.outbox (topic, payload) values ('{}', '{{"n":2}}'))", refused));
  insert(6, 8);
  serializer_options so;
  so.local_schemas.emplace(topic_, note_schema);
  so.local_schemas.emplace(refused, note_schema);
  avro_serializer serializer(registry_client_, so);
  outbox_relay relay(relay_options(), serializer, *producer_, connection());
  relay.start();
  ASSERT_TRUE(wait_until([&] { return count("substrate.outbox") == 2; }));
  std::this_thread::sleep_for(300ms);
  relay.stop();
  EXPECT_EQ(count("substrate.outbox"), 2) << "the refused topic's rows wait";
  EXPECT_EQ(count("substrate.outbox_dead"), 0);
  EXPECT_EQ(relay.stats().relayed, 8u);
  EXPECT_EQ(read_topic().size(), 8u);
}

}  // namespace
}  // namespace substrate::bus
