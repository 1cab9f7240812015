#include "realtime/source.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "db/connection.h"
#include "realtime/hub.h"
#include "realtime/logger.h"
#include "realtime/pgoutput.h"

namespace substrate::realtime {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::int64_t unix_now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
std::int64_t now_us_since_2000() {
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return us - pgoutput::postgres_epoch_offset_us;
}

// A PostgreSQL array literal of text items: {"a","b\"c"}.
std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (const char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

db::connection open_ordinary(const source_options& o) {
  auto c = db::connection::open(o.conninfo, o.connect_timeout_ms);
  if (!c) throw std::runtime_error(c.error().message());
  return std::move(*c);
}

db::query_result must(result<db::query_result> r, std::string_view what) {
  if (!r) throw std::runtime_error(fmt::format("{}: {}", what, r.error().message()));
  return std::move(*r);
}

struct conn_closer {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_closer>;

conn_ptr open_replication(const source_options& o) {
  const std::string timeout = std::to_string(std::max(1, o.connect_timeout_ms / 1000));
  // The walsender formats values with these settings: UTC ISO timestamps, exact floats.
  const char* keys[] = {"dbname", "replication", "options", "connect_timeout", "application_name", nullptr};
  const char* values[] = {o.conninfo.c_str(),
                          "database",
                          "-c TimeZone=UTC -c DateStyle=ISO,YMD -c IntervalStyle=postgres -c extra_float_digits=3",
                          timeout.c_str(),
                          "substrate realtime",
                          nullptr};
  conn_ptr c(PQconnectdbParams(keys, values, 1));
  if (!c || PQstatus(c.get()) != CONNECTION_OK) {
    throw std::runtime_error(fmt::format("replication connection: {}", c ? PQerrorMessage(c.get()) : "out of memory"));
  }
  return c;
}

bool slot_exists(db::connection& c, const std::string& slot) {
  return must(c.exec("select 1 from pg_replication_slots where slot_name = $1", {slot}), "reading replication slots")
             .rows() > 0;
}

void create_slot(db::connection& c, const std::string& slot) {
  must(c.exec("select pg_create_logical_replication_slot($1, 'pgoutput')", {slot}),
       fmt::format("creating the logical replication slot {}", slot));
}

}  // namespace

source::source(source_options options, hub& h) : options_(std::move(options)), hub_(h) {}

source::~source() {
  stop();
}

void source::start() {
  auto c = open_ordinary(options_);
  auto active = must(c.exec("select active_pid from pg_replication_slots where slot_name = $1", {options_.slot_name}),
                     "reading replication slots");
  if (active.rows() > 0) {
    if (!active.is_null(0, 0)) {
      throw std::runtime_error(fmt::format(
          "the replication slot {} is in use by PostgreSQL backend {} (another substrate on this database?)",
          options_.slot_name, active.value(0, 0)));
    }
    // Left by a run that did not stop cleanly: its changes have no subscribers any more.
    must(c.exec("select pg_drop_replication_slot($1)", {options_.slot_name}), "dropping a stale replication slot");
  }
  create_slot(c, options_.slot_name);
  realtime_log.info("logical replication slot created", {{"slot", options_.slot_name}});
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void source::stop() {
  if (!started_) return;
  started_ = false;
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  // The walsender may hold the slot for a moment after its connection closed.
  for (int attempt = 0; attempt < 40; ++attempt) {
    try {
      auto c = open_ordinary(options_);
      if (!slot_exists(c, options_.slot_name)) return;
      if (c.exec("select pg_drop_replication_slot($1)", {options_.slot_name})) {
        realtime_log.info("logical replication slot dropped", {{"slot", options_.slot_name}});
        return;
      }
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(50ms);
  }
  realtime_log.warn("could not drop the replication slot {}; drop it by hand if substrate does not come back",
                    options_.slot_name);
}

struct source::impl {
  static void stream(source& self);
};

void source::sweep_stale_slots(db::connection& c) {
  const auto& o = options_;
  if (o.stale_slot_prefix.empty() || o.stale_slot_timeout_ms <= 0) return;
  // The prefix as a LIKE pattern (it contains '_', a wildcard).
  std::string pattern;
  for (const char ch : o.stale_slot_prefix) {
    if (ch == '_' || ch == '%' || ch == '\\') pattern += '\\';
    pattern += ch;
  }
  pattern += '%';
  auto r = c.exec(
      "select slot_name from pg_replication_slots where slot_type = 'logical' and not active "
      "and database = current_database() and slot_name like $1 and slot_name <> $2",
      {pattern, o.slot_name});
  if (!r) {
    realtime_log.warn("cannot list replication slots to sweep: {}", r.error().message());
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  std::map<std::string, std::chrono::steady_clock::time_point> seen;
  for (int row = 0; row < r->rows(); ++row) {
    const auto name = r->value(row, 0);
    const auto it = inactive_since_.find(name);
    seen[name] = it == inactive_since_.end() ? now : it->second;
  }
  inactive_since_ = std::move(seen);  // a slot found active again starts over
  for (auto it = inactive_since_.begin(); it != inactive_since_.end();) {
    const auto idle_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - it->second).count();
    if (idle_ms < o.stale_slot_timeout_ms) {
      ++it;
      continue;
    }
    // Fails harmlessly if its instance came back and took the slot in the meantime.
    if (auto dropped = c.exec("select pg_drop_replication_slot($1)", {it->first}); dropped) {
      realtime_log.warn("dropped the replication slot {} of another instance: inactive for {} s or more", it->first,
                        idle_ms / 1000);
    } else {
      realtime_log.warn("cannot drop the stale replication slot {}: {}", it->first, dropped.error().message());
    }
    it = inactive_since_.erase(it);
  }
}

void source::run() {
  int backoff_ms = 100;
  while (!stopping_) {
    try {
      impl::stream(*this);
    } catch (const std::exception& e) {
      if (stopping_) break;
      realtime_log.warn("replication interrupted: {}; reconnecting in {} ms", e.what(), backoff_ms);
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms);
      while (!stopping_ && std::chrono::steady_clock::now() < until) {
        hub_.expire(unix_now_s());
        std::this_thread::sleep_for(50ms);
      }
      backoff_ms = std::min(backoff_ms * 2, 5000);
      continue;
    }
    backoff_ms = 100;
  }
}

void source::impl::stream(source& self) {
  const auto& o = self.options_;
  auto check_conn = open_ordinary(o);
  if (!slot_exists(check_conn, o.slot_name)) {
    // The database lost the slot (restored or recreated): changes since are gone.
    realtime_log.warn("the replication slot {} disappeared; recreating it (changes in between are lost)", o.slot_name);
    create_slot(check_conn, o.slot_name);
  }
  auto repl = open_replication(o);
  const std::string command =
      fmt::format("START_REPLICATION SLOT \"{}\" LOGICAL 0/0 (proto_version '1', publication_names '\"{}\"')",
                  o.slot_name, o.publication);
  {
    PGresult* r = PQexec(repl.get(), command.c_str());
    const auto status = PQresultStatus(r);
    std::string why = PQresultErrorMessage(r);
    PQclear(r);
    if (status != PGRES_COPY_BOTH) throw std::runtime_error("START_REPLICATION: " + why);
  }
  realtime_log.info("streaming changes", {{"slot", o.slot_name}, {"publication", o.publication}});

  std::map<std::uint32_t, std::shared_ptr<const table_info>> tables;
  std::vector<change> pending;  // of the transaction being received
  std::vector<change> ready;    // of committed transactions, not yet delivered
  pgoutput::lsn ready_lsn = 0;  // end of the last committed transaction in `ready`
  std::uint64_t ready_transactions = 0;
  const std::size_t batch_changes_max = std::max<std::size_t>(1, o.batch_changes_max);
  std::int64_t commit_time_us = 0;
  std::uint32_t xid = 0;
  bool in_transaction = false;  // between a Begin and its Commit on the stream
  pgoutput::lsn confirmed = 0;
  auto last_status = std::chrono::steady_clock::now();
  auto last_expire = last_status;
  auto last_sweep = last_status - 1h;

  // Fast shutdown terminates ordinary backends before walsenders: a dead check connection while
  // the replication stream still talks means the server is going down.
  auto shutdown_requested = [](db::connection& c) { return !c.exec("select 1"); };

  auto send_status = [&](bool reply_requested) {
    const auto message = pgoutput::standby_status_update(confirmed, now_us_since_2000(), reply_requested);
    if (PQputCopyData(repl.get(), message.data(), static_cast<int>(message.size())) != 1 || PQflush(repl.get()) != 0) {
      throw std::runtime_error(fmt::format("sending the standby status: {}", PQerrorMessage(repl.get())));
    }
    last_status = std::chrono::steady_clock::now();
  };

  // One statement for every subscriber of every change of the batch (migrations/0010).
  // safe = false: no subtransaction per subscriber, so an error in a policy fails the statement
  // (migrations/0010); the caller then repeats the batch with safe = true.
  auto run_check = [&](const std::vector<check_item>& items,
                       bool safe) -> result<std::vector<std::vector<visibility>>> {
    json arg = json::array();
    for (const auto& item : items) {
      json key = json::object();
      for (const auto& k : row_key(*item.c)) key[k.column] = k.text;
      json subs = json::array();
      for (const auto& sc : item.subscribers) subs.push_back(json::array({sc.role, sc.claims_json}));
      arg.push_back(json{{"xid", item.c->xid}, {"rel", item.c->table->rel.oid}, {"key", key}, {"subs", subs}});
    }
    auto r = check_conn.exec(
        "select item, sub, visible, selectable from substrate.realtime_visibility($1::jsonb, $2::boolean) "
        "order by item, sub",
        {arg.dump(), safe ? "true" : "false"});
    if (!r) return tl::unexpected(r.error());
    std::vector<std::vector<visibility>> out(items.size());
    for (int row = 0; row < r->rows(); ++row) {
      const auto item = std::stoul(r->value(row, 0)) - 1;
      if (item >= out.size()) continue;
      visibility v;
      v.visible = r->value(row, 2) == "t";
      json cols = json::parse(r->value(row, 3), nullptr, false);
      if (cols.is_array()) {
        for (const auto& col : cols) {
          if (col.is_string()) v.selectable.push_back(col.get<std::string>());
        }
      }
      out[item].push_back(std::move(v));
    }
    return out;
  };
  visibility_check check = [&](const std::vector<check_item>& items) {
    auto all = run_check(items, false);
    if (all) return std::move(*all);
    // A dead connection is a reason to reconnect (the batch is resent). An error in a policy:
    // the same batch with a subtransaction per subscriber, where it only hides the row from that
    // subscriber. Any other error of the query (e.g. a table dropped since) hides the failing
    // change from everyone, checked alone.
    if (!check_conn.exec("select 1")) throw std::runtime_error(all.error().message());
    all = run_check(items, true);
    if (all) return std::move(*all);
    if (!check_conn.exec("select 1")) throw std::runtime_error(all.error().message());
    std::vector<std::vector<visibility>> out;
    for (const auto& item : items) {
      auto one = run_check({item}, true);
      if (one) {
        out.push_back(std::move(one->front()));
        continue;
      }
      realtime_log.warn("the visibility check of a change on {}.{} failed: {}", item.c->table->rel.schema,
                        item.c->table->rel.name, one.error().message());
      out.emplace_back(item.subscribers.size());
    }
    return out;
  };

  // Where the time goes, logged at debug every 10 s: how old the oldest change of a batch was when
  // the batch started (commit -> here: WAL flush, walsender, decoding, waiting for the previous
  // batch) and how long the batch took (the visibility query and the fan-out).
  struct {
    std::uint64_t batches = 0, changes = 0;
    std::int64_t age_max_us = 0, took_max_us = 0, took_sum_us = 0;
    std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
  } stats;
  auto deliver_ready = [&] {
    if (ready_transactions == 0) return;
    if (!ready.empty()) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto age_us =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
              .count() -
          ready.front().commit_time_us;
      self.hub_.deliver(ready, check);
      const auto took_us =
          std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
      ++stats.batches;
      stats.changes += ready.size();
      stats.age_max_us = std::max(stats.age_max_us, age_us);
      stats.took_max_us = std::max(stats.took_max_us, took_us);
      stats.took_sum_us += took_us;
      if (t0 - stats.since >= 10s) {
        realtime_log.debug(
            "changes delivered: {} in {} batches; oldest change at batch start max {} ms; batch mean {:.2f} ms, max {} "
            "ms",
            stats.changes, stats.batches, stats.age_max_us / 1000,
            static_cast<double>(stats.took_sum_us) / 1000.0 / static_cast<double>(stats.batches),
            stats.took_max_us / 1000);
        stats = {};
        stats.since = t0;
      }
    }
    ready.clear();
    self.transactions_ += ready_transactions;
    ready_transactions = 0;
    // Handed to the hub: only now may PostgreSQL forget these changes.
    confirmed = std::max(confirmed, ready_lsn);
    send_status(false);
  };

  auto load_table = [&](pgoutput::relation rel) {
    std::vector<std::string> oids;
    for (const auto& col : rel.columns) oids.push_back(std::to_string(col.type_oid));
    auto r =
        must(check_conn.exec("select (select relrowsecurity from pg_class where oid = $1::oid), "
                             "(select coalesce(json_agg(t.typname order by u.n), '[]') "
                             "from unnest($2::oid[]) with ordinality u(oid, n) left join pg_type t on t.oid = u.oid), "
                             "(select coalesce(json_agg(a.attname), '[]') from pg_index i join pg_attribute a "
                             "on a.attrelid = i.indrelid and a.attnum = any(i.indkey) "
                             "where i.indrelid = $1::oid and i.indisprimary)",
                             {std::to_string(rel.oid), array_literal(oids)}),
             "reading a published table's column types");
    auto info = std::make_shared<table_info>();
    info->rls_enabled = !r.is_null(0, 0) && r.value(0, 0) == "t";
    const json types = json::parse(r.value(0, 1), nullptr, false);
    for (std::size_t i = 0; i < rel.columns.size(); ++i) {
      info->type_names.push_back(types.is_array() && i < types.size() && types[i].is_string()
                                     ? types[i].get<std::string>()
                                     : std::string("unknown"));
    }
    // The key of a row is its primary key when there is one: with REPLICA IDENTITY FULL (as
    // user_notifications has) pgoutput marks every column as key, and a NULL column would make
    // the row uncheckable (and a DELETE's old_record must still be the primary key only).
    const json primary_key = json::parse(r.value(0, 2), nullptr, false);
    if (primary_key.is_array() && !primary_key.empty()) {
      for (auto& col : rel.columns) {
        col.key = std::find(primary_key.begin(), primary_key.end(), json(col.name)) != primary_key.end();
      }
    }
    info->rel = std::move(rel);
    tables[info->rel.oid] = info;
  };

  auto table_of = [&](std::uint32_t oid) {
    const auto it = tables.find(oid);
    if (it == tables.end()) throw std::runtime_error(fmt::format("a change for unknown relation {}", oid));
    return it->second;
  };

  auto handle = [&](const pgoutput::message& m) {
    if (const auto* b = std::get_if<pgoutput::begin>(&m)) {
      pending.clear();
      in_transaction = true;
      commit_time_us = b->commit_time_us + pgoutput::postgres_epoch_offset_us;
      xid = b->xid;
    } else if (const auto* rel = std::get_if<pgoutput::relation>(&m)) {
      load_table(*rel);
    } else if (const auto* ins = std::get_if<pgoutput::insert>(&m)) {
      pending.push_back(
          change{table_of(ins->relation_oid), "INSERT", ins->new_tuple, std::nullopt, true, commit_time_us, xid});
    } else if (const auto* up = std::get_if<pgoutput::update>(&m)) {
      pending.push_back(change{table_of(up->relation_oid), "UPDATE", up->new_tuple, up->old_tuple, up->old_is_key_only,
                               commit_time_us, xid});
    } else if (const auto* del = std::get_if<pgoutput::remove>(&m)) {
      pending.push_back(
          change{table_of(del->relation_oid), "DELETE", {}, del->old_tuple, del->old_is_key_only, commit_time_us, xid});
    } else if (const auto* c = std::get_if<pgoutput::commit>(&m)) {
      // Committed: queued for the next batch (delivered when the stream has nothing more to
      // read right now, or at batch_changes_max).
      for (auto& ch : pending) ready.push_back(std::move(ch));
      pending.clear();
      in_transaction = false;
      ready_lsn = c->end_lsn;
      ++ready_transactions;
      if (ready.size() >= batch_changes_max) deliver_ready();
    }
  };

  while (!self.stopping_) {
    char* raw = nullptr;
    const int n = PQgetCopyData(repl.get(), &raw, 1);
    if (n == 0) {
      deliver_ready();  // nothing more to read right now: the batch is complete
      pollfd fd{PQsocket(repl.get()), POLLIN, 0};
      ::poll(&fd, 1, 200);
      if (PQconsumeInput(repl.get()) == 0) {
        throw std::runtime_error(fmt::format("replication connection: {}", PQerrorMessage(repl.get())));
      }
      const auto now = std::chrono::steady_clock::now();
      if (now - last_expire >= 1s) {
        self.hub_.expire(unix_now_s());
        last_expire = now;
      }
      // About once a minute; more often with a short timeout (half of it, at least every second).
      const auto sweep_interval =
          std::clamp<std::chrono::milliseconds>(std::chrono::milliseconds(o.stale_slot_timeout_ms / 2), 1s, 60s);
      if (now - last_sweep >= sweep_interval) {
        self.sweep_stale_slots(check_conn);
        last_sweep = now;
      }
      if (confirmed != 0 && now - last_status >= 10s) send_status(false);
      continue;
    }
    if (n == -1) {
      PGresult* r = PQgetResult(repl.get());
      std::string why = r ? PQresultErrorMessage(r) : "";
      PQclear(r);
      throw std::runtime_error("the replication stream ended: " + why);
    }
    if (n < 0) throw std::runtime_error(fmt::format("replication connection: {}", PQerrorMessage(repl.get())));
    std::unique_ptr<char, decltype(&PQfreemem)> data(raw, &PQfreemem);
    auto env = pgoutput::decode_envelope(std::string_view(raw, static_cast<std::size_t>(n)));
    if (!env) throw std::runtime_error(env.error().message());
    if (const auto* k = std::get_if<pgoutput::keepalive>(&*env)) {
      // The keepalive's position is where the walsender has READ the WAL, which can be inside a
      // transaction whose Begin it has not sent yet: confirming it loses that transaction on a
      // reconnect (the contract test caught exactly that). Only commits are confirmed.
      //
      // Except at a server shutdown: the walsender then waits until the client confirms
      // everything it sent (WalSndDone), and fast shutdown would hang until escalated to
      // immediate. A shutdown has no transaction left running, so when the stream is between
      // transactions and everything received was handed on, a keepalive that asks for a reply
      // right after a quiet period is confirmed once the poll finds the connection closing.
      if (k->reply_requested && !in_transaction && ready_transactions == 0 && pending.empty() &&
          k->wal_end > confirmed && shutdown_requested(check_conn)) {
        confirmed = k->wal_end;
      }
      if (k->reply_requested && confirmed != 0) send_status(false);
      continue;
    }
    const auto& x = std::get<pgoutput::xlog_data>(*env);
    auto m = pgoutput::decode_message(x.payload);
    if (!m) throw std::runtime_error(m.error().message());
    handle(*m);
  }
  deliver_ready();
  if (confirmed != 0) send_status(false);
}

}  // namespace substrate::realtime
