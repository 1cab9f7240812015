#include "stream/processor.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <librdkafka/rdkafkacpp.h>

#include "core/assert.h"
#include "db/errc.h"
#include "stream/errc.h"
#include "stream/logger.h"

namespace substrate::stream {

namespace {

failure_kind classify_sqlstate(std::string_view state) {
  if (state.empty()) return failure_kind::transient;  // no server answer: the connection broke
  if (state == "40001" || state == "40P01") return failure_kind::transient;
  const std::string_view klass = state.substr(0, 2);
  if (klass == "08" || klass == "57" || klass == "53" || klass == "58") return failure_kind::transient;
  // A missing table, column, function or schema, or a missing grant, is the deployment's fault,
  // not the record's: wait for the operator (or a migration) rather than dead-letter everything.
  if (state == "42P01" || state == "42703" || state == "42883" || state == "3F000" || state == "42501") {
    return failure_kind::transient;
  }
  return failure_kind::permanent;
}

}  // namespace

failure_kind classify(const error& e, const db::connection* conn) {
  if (e.code == errc::unavailable) return failure_kind::transient;
  if (e.code == db::errc::connection_failed) return failure_kind::transient;
  if (e.code == db::errc::query_failed && conn != nullptr) {
    if (!conn->is_open()) return failure_kind::transient;
    return classify_sqlstate(conn->last_sqlstate());
  }
  return failure_kind::permanent;
}

// ---------------------------------------------------------------------------------------------
// Deferred rows

// The rows of one batch not yet sent, by statement in order of first appearance. Owned by
// process_partition (one per attempt), used by the effects of that attempt's handlers.
struct deferred_rows {
  struct statement {
    row_insert source;
    std::vector<std::string> pieces;  // `values` split around its parameters: pieces.size() == uses + 1
    std::vector<int> uses;            // the parameter number (1-based) between two pieces
    std::size_t params = 0;           // n of $1..$n
    // `values` is ($1, $2, ... $n), each optionally cast (`$3::jsonb`): the rows can be sent by
    // COPY (which converts each value to its column's type as the cast would).
    bool copyable = false;
  };
  struct row {
    std::size_t statement = 0;
    std::vector<std::optional<std::string>> params;
  };
  std::vector<statement> statements;
  std::vector<row> rows;
  std::uint64_t flushes = 0;
  bool use_copy = true;  // send the rows of copyable statements by COPY
  // The processor's COPY formats per target (processor::copy_formats_); null: text format.
  std::map<std::string, copy_format>* copy_formats = nullptr;
  // The formats this batch sent rows in binary with: checked again before its COMMIT.
  std::vector<copy_format> binary_sent;
  bool copy_refused = false;  // the failure is COPY's (feature not supported: row-level security)
  // A flush failed: the transaction is aborted and the failure belongs to the batch, not to the
  // handler that happened to trigger it.
  std::optional<error> failed;
  std::string failed_sqlstate;
};

namespace {

// PostgreSQL takes at most 65535 parameters per statement.
constexpr std::size_t statement_params_max = 65535;
constexpr std::size_t statement_rows_max = 1000;

// Whether the pieces around the parameters are "(", ", " or "::type, " ... and ")" or "::type)",
// with the parameters $1..$n in order.
bool is_plain_row(const deferred_rows::statement& s) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return v;
  };
  auto cast_then = [&](std::string_view piece, std::string_view then) {
    piece = trim(piece);
    if (!piece.ends_with(then)) return false;
    piece = trim(piece.substr(0, piece.size() - then.size()));
    if (piece.empty()) return true;
    if (!piece.starts_with("::")) return false;
    piece.remove_prefix(2);
    return !piece.empty() && std::all_of(piece.begin(), piece.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    });
  };
  if (s.uses.empty() || trim(s.pieces.front()) != "(") return false;
  for (std::size_t i = 0; i < s.uses.size(); ++i) {
    if (s.uses[i] != static_cast<int>(i) + 1) return false;
    if (!cast_then(s.pieces[i + 1], i + 1 == s.uses.size() ? ")" : ",")) return false;
  }
  return true;
}

// One COPY text-format field: backslash, newline, carriage return and tab escaped, NULL as \N.
void append_copy_field(std::string& out, const std::optional<std::string>& value) {
  if (!value) {
    out += "\\N";
    return;
  }
  // One pass over the bytes, eight at a time while none is special (find_first_of with a set
  // calls memchr on the set for each byte): most values have none and are appended at once.
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  auto has_byte = [&](std::uint64_t w, char c) {
    const std::uint64_t x = w ^ (ones * static_cast<unsigned char>(c));
    return (x - ones) & ~x & highs;
  };
  const char* run = value->data();
  const char* const end = run + value->size();
  const char* c = run;
  while (c != end) {
    if (end - c >= 8) {
      std::uint64_t w;
      std::memcpy(&w, c, 8);
      if ((has_byte(w, '\\') | has_byte(w, '\n') | has_byte(w, '\r') | has_byte(w, '\t')) == 0) {
        c += 8;
        continue;
      }
    }
    const char special = *c;
    if (special == '\\' || special == '\n' || special == '\r' || special == '\t') {
      out.append(run, c);
      out += '\\';
      out += special == '\n' ? 'n' : special == '\r' ? 'r' : special == '\t' ? 't' : '\\';
      run = c + 1;
    }
    ++c;
  }
  out.append(run, end);
}

result<std::size_t> find_or_add(deferred_rows& d, const row_insert& s) {
  for (std::size_t i = 0; i < d.statements.size(); ++i) {
    const auto& known = d.statements[i].source;
    if (known.into == s.into && known.values == s.values) return i;
  }
  deferred_rows::statement parsed;
  parsed.source = s;
  std::string piece;
  for (std::size_t i = 0; i < s.values.size(); ++i) {
    if (s.values[i] == '$' && i + 1 < s.values.size() && s.values[i + 1] >= '1' && s.values[i + 1] <= '9') {
      int number = 0;
      std::size_t j = i + 1;
      while (j < s.values.size() && s.values[j] >= '0' && s.values[j] <= '9' && number < 100000) {
        number = number * 10 + (s.values[j] - '0');
        ++j;
      }
      parsed.pieces.push_back(std::move(piece));
      piece.clear();
      parsed.uses.push_back(number);
      parsed.params = std::max(parsed.params, static_cast<std::size_t>(number));
      i = j - 1;
    } else {
      piece.push_back(s.values[i]);
    }
  }
  parsed.pieces.push_back(std::move(piece));
  parsed.copyable = is_plain_row(parsed);
  if (parsed.params == 0 || parsed.params > statement_params_max) {
    return make_error(errc::invalid_record,
                      fmt::format("insert into {}: the row needs 1 to {} parameters", s.into, statement_params_max));
  }
  d.statements.push_back(std::move(parsed));
  return d.statements.size() - 1;
}

// The multi-row INSERTs of statement `s`'s rows.
void coalesce(const deferred_rows& d, std::size_t s, std::vector<db::connection::pipelined>& out) {
  const auto& statement = d.statements[s];
  const std::size_t rows_max = std::min(statement_rows_max, statement_params_max / statement.params);
  db::connection::pipelined* current = nullptr;
  std::size_t rows = 0;
  for (const auto& row : d.rows) {
    if (row.statement != s) continue;
    if (current == nullptr || rows == rows_max) {
      out.emplace_back();
      current = &out.back();
      current->sql = fmt::format("insert into {} values ", statement.source.into);
      rows = 0;
    }
    if (rows > 0) current->sql += ", ";
    const std::size_t base = current->params.size();
    for (std::size_t i = 0; i < statement.uses.size(); ++i) {
      current->sql += statement.pieces[i];
      current->sql += '$';
      current->sql += std::to_string(base + static_cast<std::size_t>(statement.uses[i]));
    }
    current->sql += statement.pieces.back();
    current->params.insert(current->params.end(), row.params.begin(), row.params.end());
    ++rows;
  }
}

// The COPY text of statement `s`'s rows.
std::string copy_data(const deferred_rows& d, std::size_t s) {
  std::size_t size = 0;
  for (const auto& row : d.rows) {
    if (row.statement != s) continue;
    for (const auto& p : row.params) size += (p ? p->size() : 2) + 1;
  }
  std::string out;
  out.reserve(size + size / 16);  // a few escapes
  for (const auto& row : d.rows) {
    if (row.statement != s) continue;
    for (std::size_t i = 0; i < row.params.size(); ++i) {
      if (i > 0) out += '\t';
      append_copy_field(out, row.params[i]);
    }
    out += '\n';
  }
  return out;
}

// The COPY format of `into` ("table (a, b, ...)"): binary when every column is text, varchar,
// json or jsonb (the values are then sent as they are, jsonb after its version byte, and the
// server skips the text format's line and field parsing and unescaping); text for other types,
// whose binary forms differ from their text, and for names this does not resolve.
result<copy_format> read_copy_format(db::connection& conn, const std::string& into, std::size_t params) {
  copy_format out;
  const auto open = into.find('(');
  if (open == std::string::npos || into.back() != ')') return out;
  out.table = into.substr(0, open);
  while (!out.table.empty() && out.table.back() == ' ') out.table.pop_back();
  out.columns = "{";
  std::size_t count = 0;
  std::string_view list(into);
  list = list.substr(open + 1, list.size() - open - 2);
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    // Only plain lower-case names (what PostgreSQL folds an unquoted identifier to).
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        })) {
      return out;
    }
    if (count++ > 0) out.columns += ',';
    out.columns += name;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  out.columns += '}';
  if (count != params) return out;
  // to_regclass: an unknown table is a null, not an error that would abort the transaction.
  auto types = conn.exec(
      "select a.atttypid::int from unnest($2::text[]) with ordinality as c(name, n) "
      "left join pg_attribute a on a.attrelid = to_regclass($1) and a.attname = c.name and a.attnum > 0 "
      "and not a.attisdropped order by c.n",
      {out.table, out.columns});
  if (!types) return tl::unexpected(types.error());
  out.types = "{";
  for (int row = 0; row < types->rows(); ++row) {
    if (types->is_null(row, 0)) return out;
    const std::string oid = types->value(row, 0);
    // text, varchar, json: the value's bytes; jsonb: version 1, then its text.
    if (oid != "25" && oid != "1043" && oid != "114" && oid != "3802") return out;
    out.jsonb.push_back(oid == "3802");
    if (row > 0) out.types += ',';
    out.types += oid;
  }
  out.types += '}';
  out.binary = out.jsonb.size() == params;
  return out;
}

// Fails (division by zero) unless the columns still have the types a binary COPY was chosen
// for: before the COMMIT of a batch that used it, while the COPY's lock on the table keeps them.
constexpr const char* copy_format_check_sql =
    "select 1 / (bool_and(a.atttypid is not distinct from c.oid) and count(*) = cardinality($3::oid[]))::int "
    "from unnest($2::text[], $3::oid[]) as c(name, oid) "
    "left join pg_attribute a on a.attrelid = to_regclass($1) and a.attname = c.name and a.attnum > 0 "
    "and not a.attisdropped";

void append_be(std::string& out, std::uint32_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

// The binary COPY data of statement `s`'s rows (header, rows, trailer); empty without rows.
std::string copy_binary_data(const deferred_rows& d, std::size_t s, const std::vector<bool>& jsonb) {
  std::size_t size = 0;
  std::size_t rows = 0;
  for (const auto& row : d.rows) {
    if (row.statement != s) continue;
    ++rows;
    size += 2;
    for (const auto& p : row.params) size += 5 + (p ? p->size() : 0);
  }
  if (rows == 0) return {};
  static constexpr char header[] = "PGCOPY\n\377\r\n\0";  // 11 bytes, then flags and extension length
  std::string out;
  out.reserve(size + 19 + 2);
  out.append(header, 11);
  append_be(out, 0, 4);
  append_be(out, 0, 4);
  for (const auto& row : d.rows) {
    if (row.statement != s) continue;
    append_be(out, static_cast<std::uint32_t>(row.params.size()), 2);
    for (std::size_t i = 0; i < row.params.size(); ++i) {
      const auto& value = row.params[i];
      if (!value) {
        append_be(out, 0xffffffffU, 4);  // -1: NULL
        continue;
      }
      const bool version = jsonb[i];
      append_be(out, static_cast<std::uint32_t>(value->size() + (version ? 1 : 0)), 4);
      if (version) out += '\x01';
      out += *value;
    }
  }
  append_be(out, 0xffffU, 2);  // -1: the end
  return out;
}

}  // namespace

namespace {

error ahead_of_transaction(std::string_view what) {
  return error{errc::needs_transaction, fmt::format("effects::{} ahead of the transaction", what)};
}

}  // namespace

db::connection& effects::db() {
  SUBSTRATE_ASSERT(conn_ != nullptr,
                   "processor {}: effects::db() in a handler run ahead of its transaction (rows_only handlers "
                   "only call insert and emit)",
                   processor_);
  return *conn_;
}

result<void> effects::flush() {
  if (conn_ == nullptr) return tl::unexpected(ahead_of_transaction("flush"));
  if (deferred_ == nullptr) return {};
  auto& d = *deferred_;
  if (d.failed) return tl::unexpected(*d.failed);
  if (d.rows.empty()) return {};
  sent_ = true;
  ++d.flushes;
  // Statement by statement in order of first appearance: consecutive INSERTs pipelined together,
  // COPYs (which a pipeline cannot carry) on their own.
  std::vector<db::connection::pipelined> pipeline;
  auto fail = [&](std::string sqlstate, std::string message) -> result<void> {
    d.rows.clear();
    d.failed_sqlstate = std::move(sqlstate);
    d.failed = error{db::errc::query_failed, std::move(message)};
    return tl::unexpected(*d.failed);
  };
  auto send_pipeline = [&]() -> result<void> {
    if (pipeline.empty()) return {};
    db::server_error failure;
    const bool sent = conn_->exec_pipeline(pipeline, failure).has_value();
    pipeline.clear();
    if (!sent) {
      return fail(failure.sqlstate,
                  failure.detail.empty() ? failure.message : failure.message + " (" + failure.detail + ")");
    }
    return {};
  };
  for (std::size_t s = 0; s < d.statements.size(); ++s) {
    const auto& statement = d.statements[s];
    if (!(statement.copyable && d.use_copy)) {
      coalesce(d, s, pipeline);
      continue;
    }
    if (auto sent = send_pipeline(); !sent) return sent;
    const copy_format* format = nullptr;
    if (d.copy_formats != nullptr) {
      auto known = d.copy_formats->find(statement.source.into);
      if (known == d.copy_formats->end()) {
        auto read = read_copy_format(*conn_, statement.source.into, statement.params);
        if (!read) return fail(conn_->last_sqlstate(), read.error().context);
        known = d.copy_formats->emplace(statement.source.into, std::move(*read)).first;
      }
      format = &known->second;
    }
    const bool in_binary = format != nullptr && format->binary;
    const std::string data = in_binary ? copy_binary_data(d, s, format->jsonb) : copy_data(d, s);
    if (data.empty()) continue;
    auto copied = conn_->copy_in(
        fmt::format("copy {} from stdin{}", statement.source.into, in_binary ? " (format binary)" : ""), data);
    if (in_binary && copied) d.binary_sent.push_back(*format);
    if (!copied) {
      // The column types may have changed since they were read: read them again next time.
      if (d.copy_formats != nullptr) d.copy_formats->erase(statement.source.into);
      // Row-level security active for this user: COPY cannot be used, INSERT can.
      d.copy_refused = conn_->last_sqlstate() == "0A000";
      return fail(conn_->last_sqlstate(), copied.error().context);
    }
  }
  if (auto sent = send_pipeline(); !sent) return sent;
  d.rows.clear();
  return {};
}

result<db::query_result> effects::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params) {
  if (conn_ == nullptr) return tl::unexpected(ahead_of_transaction("exec"));
  if (auto flushed = flush(); !flushed) return tl::unexpected(flushed.error());
  sent_ = true;
  return conn_->exec(sql, params);
}

result<void> effects::insert(const row_insert& statement, std::vector<std::optional<std::string>> params) {
  if (deferred_ == nullptr) {
    sent_ = true;
    auto inserted = conn_->exec(fmt::format("insert into {} values {}", statement.into, statement.values), params);
    if (!inserted) return tl::unexpected(inserted.error());
    return {};
  }
  auto index = find_or_add(*deferred_, statement);
  if (!index) return tl::unexpected(index.error());
  if (params.size() != deferred_->statements[*index].params) {
    return make_error(errc::invalid_record, fmt::format("insert into {}: {} parameters for a row of {}", statement.into,
                                                        params.size(), deferred_->statements[*index].params));
  }
  deferred_->rows.push_back({*index, std::move(params)});
  return {};
}

result<void> effects::emit(const std::string& topic, const std::optional<std::string>& key,
                           const std::string& payload_json) {
  static const row_insert outbox{"substrate.outbox (topic, key, payload)", "($1, $2, $3::jsonb)"};
  if (auto inserted = insert(outbox, {topic, key, payload_json}); !inserted) return inserted;
  ++emitted_;
  return {};
}

result<void> effects::schedule(const std::string& key, std::chrono::system_clock::time_point fire_at,
                               const std::string& payload_json) {
  const auto fire_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(fire_at.time_since_epoch()).count();
  auto upserted = exec(
      "insert into substrate.stream_timers (processor, key, fire_at, payload) "
      "values ($1, $2, to_timestamp($3::bigint / 1000.0), $4::jsonb) "
      "on conflict (processor, key) do update set fire_at = excluded.fire_at, payload = excluded.payload, "
      "attempts = 0, last_error = null",
      {processor_, key, std::to_string(fire_at_ms), payload_json});
  if (!upserted) return tl::unexpected(upserted.error());
  return {};
}

result<void> effects::cancel(const std::string& key) {
  auto deleted = exec("delete from substrate.stream_timers where processor = $1 and key = $2", {processor_, key});
  if (!deleted) return tl::unexpected(deleted.error());
  return {};
}

// ---------------------------------------------------------------------------------------------

struct processor::pending {
  std::unique_ptr<RdKafka::Message> message;
  std::string json;
  bool decoded = false;
  bool dead = false;
  bool failure_counted = false;  // in substrate_stream_records_failed_total
  bool dead_letter_sent = false;
  std::string error;
  // The handler ran ahead of the transaction: the rows it added (statement numbers of the
  // partition batch's `ahead`) and its output records.
  bool ahead = false;
  std::vector<deferred_rows::row> rows;
  std::uint64_t emitted = 0;
};

// One poll's records of one partition, in order.
struct processor::partition_batch {
  std::string topic;
  std::int32_t partition = 0;
  std::vector<pending> records;
  deferred_rows ahead;  // the statements of the rows of handlers run ahead (its rows stay empty)
};

// The hand-off between the consume thread and the database thread: at most one prepared poll
// waits while the database thread applies the one before (and the consume thread prepares the
// one after), which bounds the records in memory to three polls.
struct processor::stage {
  std::mutex mutex;
  std::condition_variable changed;
  std::optional<std::vector<partition_batch>> next;
  bool busy = false;  // the database thread works on a poll
  bool done = false;  // the database thread has exited
};

struct processor::kafka : public RdKafka::RebalanceCb, public RdKafka::DeliveryReportCb {
  processor* owner = nullptr;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  std::unique_ptr<RdKafka::Producer> producer;  // dead letters
  std::set<std::pair<std::string, std::int32_t>> assigned;
  int delivery_failures = 0;  // delivery reports run inside flush() on the consume thread
  std::string delivery_error;

  void rebalance_cb(RdKafka::KafkaConsumer* c, RdKafka::ErrorCode err,
                    std::vector<RdKafka::TopicPartition*>& partitions) override {
    // What the database thread has in hand finishes first (committed, or given up when stopping):
    // the stored positions are read after it, the connection is free for on_assign, and this
    // member applies nothing of a revoked partition once the callback returned.
    owner->drain();
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      std::vector<std::pair<std::string, std::int32_t>> list;
      for (auto* p : partitions) list.emplace_back(p->topic(), p->partition());
      std::vector<std::int64_t> offsets(list.size(), -1);
      owner->on_assign(list, offsets);
      for (std::size_t i = 0; i < partitions.size(); ++i) {
        partitions[i]->set_offset(offsets[i] >= 0 ? offsets[i] : RdKafka::Topic::OFFSET_INVALID);
        assigned.emplace(list[i]);
      }
      c->assign(partitions);
    } else {
      for (auto* p : partitions) assigned.erase({p->topic(), p->partition()});
      c->unassign();
    }
    std::vector<std::string> names;
    for (const auto& [topic, partition] : assigned) names.push_back(fmt::format("{}/{}", topic, partition));
    std::lock_guard lock(owner->assignment_mutex_);
    owner->assignment_ = std::move(names);
  }

  void dr_cb(RdKafka::Message& message) override {
    if (message.err() != RdKafka::ERR_NO_ERROR) {
      ++delivery_failures;
      delivery_error = message.errstr();
    }
  }
};

namespace {

std::unique_ptr<RdKafka::Conf> make_conf(const runtime_options& options) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string error;
  auto set = [&](const std::string& key, const std::string& value) {
    if (conf->set(key, value, error) != RdKafka::Conf::CONF_OK) {
      throw std::runtime_error(fmt::format("stream: kafka property {}: {}", key, error));
    }
  };
  set("bootstrap.servers", options.bootstrap);
  for (const auto& [key, value] : options.kafka_properties) set(key, value);
  return conf;
}

std::string default_dead_letter_topic(std::string_view topic) {
  return fmt::format("{}.dlq", topic);
}

}  // namespace

processor::processor(processor_definition definition, runtime_options options, probe& metrics)
    : definition_(std::move(definition)),
      options_(std::move(options)),
      metrics_(metrics.for_processor(definition_.name)),
      kafka_(std::make_unique<kafka>()),
      stage_(std::make_unique<stage>()) {
  if (definition_.name.empty()) throw std::invalid_argument("stream: a processor needs a name");
  if (definition_.group_id.empty()) definition_.group_id = definition_.name;
  if (definition_.handlers.empty())
    throw std::invalid_argument("stream: processor " + definition_.name + " has no input");
  if (definition_.decode && !options_.decode) {
    throw std::invalid_argument("stream: processor " + definition_.name + " decodes but no decoder is configured");
  }
  if (!options_.dead_letter_topic) options_.dead_letter_topic = default_dead_letter_topic;
  kafka_->owner = this;
}

processor::~processor() {
  stop();
}

std::vector<std::string> processor::assignment() const {
  std::lock_guard lock(assignment_mutex_);
  return assignment_;
}

void processor::start() {
  if (running_.exchange(true)) return;
  std::string error;
  auto consumer_conf = make_conf(options_);
  auto set = [&](RdKafka::Conf& conf, const std::string& key, const std::string& value) {
    if (conf.set(key, value, error) != RdKafka::Conf::CONF_OK) {
      throw std::runtime_error(fmt::format("stream: kafka property {}: {}", key, error));
    }
  };
  set(*consumer_conf, "group.id", definition_.group_id);
  set(*consumer_conf, "client.id", "substrate-" + definition_.name);
  set(*consumer_conf, "enable.auto.commit", "false");
  set(*consumer_conf, "enable.auto.offset.store", "false");
  set(*consumer_conf, "auto.offset.reset", "earliest");
  set(*consumer_conf, "enable.partition.eof", "false");
  for (const auto& [key, value] : options_.consumer_properties) set(*consumer_conf, key, value);
  if (consumer_conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(kafka_.get()), error) !=
      RdKafka::Conf::CONF_OK) {
    throw std::runtime_error("stream: rebalance_cb: " + error);
  }
  kafka_->consumer.reset(RdKafka::KafkaConsumer::create(consumer_conf.get(), error));
  if (!kafka_->consumer) throw std::runtime_error("stream: cannot create consumer: " + error);

  auto producer_conf = make_conf(options_);
  set(*producer_conf, "client.id", "substrate-" + definition_.name + "-dlq");
  set(*producer_conf, "enable.idempotence", "true");
  set(*producer_conf, "acks", "all");
  if (producer_conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(kafka_.get()), error) !=
      RdKafka::Conf::CONF_OK) {
    throw std::runtime_error("stream: dr_cb: " + error);
  }
  kafka_->producer.reset(RdKafka::Producer::create(producer_conf.get(), error));
  if (!kafka_->producer) throw std::runtime_error("stream: cannot create producer: " + error);

  std::vector<std::string> topics;
  for (const auto& [topic, handler] : definition_.handlers) topics.push_back(topic);
  if (auto err = kafka_->consumer->subscribe(topics); err != RdKafka::ERR_NO_ERROR) {
    throw std::runtime_error("stream: subscribe: " + RdKafka::err2str(err));
  }
  stream_log.info("processor started", {{"processor", definition_.name}, {"group", definition_.group_id}});
  consumer_thread_ = std::thread([this] { consume_loop(); });
  if (definition_.on_timer) timer_thread_ = std::thread([this] { timer_loop(); });
}

void processor::stop() {
  if (!running_.exchange(false)) return;
  wake_.notify_all();
  {
    // Under the stage's mutex, so a thread between its predicate and its wait sees running_.
    std::lock_guard lock(stage_->mutex);
  }
  stage_->changed.notify_all();
  if (consumer_thread_.joinable()) consumer_thread_.join();
  if (timer_thread_.joinable()) timer_thread_.join();
  stream_log.info("processor stopped", {{"processor", definition_.name}});
}

bool processor::ensure_connection(std::optional<db::connection>& conn) {
  if (conn && conn->is_open()) return true;
  conn.reset();
  auto opened = db::connection::open(options_.conninfo, options_.connect_timeout_ms);
  if (!opened) {
    stream_log.warn("database unavailable, retrying",
                    {{"processor", definition_.name}, {"error", opened.error().message()}});
    return false;
  }
  conn.emplace(std::move(*opened));
  if (&conn == &conn_) copy_formats_.clear();  // read the column types again on this connection
  return true;
}

// Sleeps `delay_ms` (interrupted by stop) and doubles it up to the maximum. False when stopping.
bool processor::backoff(int& delay_ms) {
  std::unique_lock lock(wake_mutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(delay_ms), [this] { return !running_.load(); });
  delay_ms = std::min(delay_ms * 2, options_.retry_backoff_max_ms);
  return running_.load();
}

void processor::on_assign(const std::vector<std::pair<std::string, std::int32_t>>& partitions,
                          std::vector<std::int64_t>& offsets) {
  // The database is the source of truth for positions; when it cannot be read now, the committed
  // Kafka offsets are used and the offsets table still skips what was already processed.
  if (!ensure_connection(conn_)) return;
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    auto row = conn_->exec(
        "select next_offset from substrate.stream_offsets where processor = $1 and topic = $2 and partition = $3",
        {definition_.name, partitions[i].first, std::to_string(partitions[i].second)});
    if (!row) {
      stream_log.warn("cannot read stored offsets, starting from the committed ones",
                      {{"processor", definition_.name}, {"error", row.error().message()}});
      return;
    }
    if (row->rows() == 1) offsets[i] = std::stoll(row->value(0, 0));
  }
  stream_log.info("partitions assigned", {{"processor", definition_.name}, {"count", partitions.size()}});
}

namespace {

// The outcome of one attempt at a partition batch: done, or run again (a record was found to
// be permanently failing and is now excluded).
enum class attempt { done, again };

}  // namespace

result<void> processor::process_partition(partition_batch& work) {
  auto& conn = *conn_;
  auto& batch = work.records;
  const std::string& topic = work.topic;
  const std::int32_t partition = work.partition;
  const std::string partition_text = std::to_string(partition);
  auto rollback = [&] {
    if (conn.is_open()) (void)conn.exec("rollback");
  };
  // A pipeline that failed: rolled back, or, without an answer from the server (its state is
  // unknown), the connection goes (closing it aborts the transaction) and the batch is retried.
  auto pipeline_failed = [&](std::string_view what, const db::server_error& failure) -> result<void> {
    copy_formats_.clear();  // a column type may have changed: read them again
    if (failure.sqlstate.empty()) {
      conn_.reset();
    } else {
      rollback();
    }
    return make_error(db::errc::query_failed, fmt::format("{}: {}", what, failure.message));
  };
  // Coalesced first; after a permanent failure of the coalesced rows (which record's row failed
  // is unknown) the batch runs again record by record, which finds the record to dead-letter.
  bool coalesced = options_.coalesce_inserts;
  for (;;) {
    const auto started = std::chrono::steady_clock::now();
    // BEGIN and the offsets row in one round trip, the upsert prepared once per connection.
    db::server_error failure;
    auto opened = conn.exec_pipeline(
        {{"begin", {}, false},
         {"insert into substrate.stream_offsets (processor, topic, partition, next_offset) values ($1, $2, $3, 0) "
          "on conflict (processor, topic, partition) do update set next_offset = substrate.stream_offsets.next_offset "
          "returning next_offset",
          {definition_.name, topic, partition_text},
          true}},
        failure);
    if (!opened) return pipeline_failed("reading the stored offset", failure);
    const std::int64_t next_offset = std::stoll(opened->back().value(0, 0));
    deferred_rows deferred;
    deferred.use_copy = !copy_refused_;
    deferred.copy_formats = &copy_formats_;
    deferred_rows* rows = coalesced ? &deferred : nullptr;
    // Statement numbers of work.ahead -> of `deferred` (assigned in order of first use here).
    std::vector<std::optional<std::size_t>> ahead_statements(work.ahead.statements.size());
    // A failure of the coalesced rows: transient, or permanent (then record by record).
    auto coalesced_failed = [&]() -> std::optional<error> {
      const error e = *deferred.failed;
      if (deferred.failed_sqlstate.empty()) {
        // No answer from the server: the pipeline's state is unknown, so the connection goes
        // (closing it aborts the transaction) and the batch is retried on a new one.
        conn_.reset();
        return e;
      }
      const bool transient = !conn.is_open() || classify_sqlstate(deferred.failed_sqlstate) == failure_kind::transient;
      rollback();
      if (transient) return e;
      if (deferred.copy_refused) {
        copy_refused_ = true;
        stream_log.warn("COPY refused (row-level security applies to this user), using multi-row INSERTs",
                        {{"processor", definition_.name}, {"error", e.message()}});
        return std::nullopt;
      }
      stream_log.warn("a coalesced batch failed, running it again record by record",
                      {{"processor", definition_.name}, {"topic", topic}, {"partition", partition}});
      coalesced = false;
      return std::nullopt;
    };
    std::uint64_t out = 0;
    std::uint64_t processed = 0;
    std::uint64_t skipped = 0;
    attempt outcome = attempt::done;
    for (auto& p : batch) {
      const std::int64_t offset = p.message->offset();
      if (offset < next_offset) {
        ++skipped;
        continue;
      }
      ++processed;
      if (p.dead) {
        if (!p.failure_counted) metrics_.failed->increment();
        p.failure_counted = true;
        continue;
      }
      if (p.ahead && rows != nullptr) {
        // The handler ran ahead of this transaction: its rows join the batch's as if it ran here
        // (handlers that only add rows do not depend on what the transaction sees). They are
        // moved: an attempt that runs again runs this handler again, in the transaction.
        for (auto& row : p.rows) {
          auto& mapped = ahead_statements[row.statement];
          if (!mapped) {
            const auto& statement = work.ahead.statements[row.statement];
            for (std::size_t i = 0; i < deferred.statements.size() && !mapped; ++i) {
              const auto& known = deferred.statements[i].source;
              if (known.into == statement.source.into && known.values == statement.source.values) mapped = i;
            }
            if (!mapped) {
              deferred.statements.push_back(statement);
              mapped = deferred.statements.size() - 1;
            }
          }
          deferred.rows.push_back({*mapped, std::move(row.params)});
        }
        p.rows.clear();
        p.ahead = false;
        out += p.emitted;
        continue;
      }
      if (definition_.decode && !p.decoded) {
        auto json = options_.decode(
            topic,
            std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(p.message->payload()), p.message->len()));
        if (!json) {
          if (classify(json.error(), nullptr) == failure_kind::transient) {
            rollback();
            return tl::unexpected(json.error());
          }
          p.dead = true;
          p.error = json.error().message();
          p.failure_counted = true;
          metrics_.failed->increment();
          continue;
        }
        p.json = std::move(*json);
        p.decoded = true;
      }
      const auto handler = definition_.handlers.find(topic);
      if (handler == definition_.handlers.end()) {
        p.dead = true;
        p.error = "no handler for topic " + topic;
        p.failure_counted = true;
        metrics_.failed->increment();
        continue;
      }
      input_record record;
      record.topic = topic;
      record.partition = partition;
      record.offset = offset;
      record.timestamp_ms = p.message->timestamp().timestamp;
      if (p.message->key()) record.key = std::string_view(*p.message->key());
      record.value =
          std::span<const std::uint8_t>(static_cast<const std::uint8_t*>(p.message->payload()), p.message->len());
      record.json = p.json;
      const std::size_t rows_before = deferred.rows.size();
      effects fx(conn, definition_.name, rows);
      auto handled = handler->second(fx, record);
      if (deferred.failed) {
        // An exec of this handler sent the earlier records' rows, and they failed.
        if (auto e = coalesced_failed()) return tl::unexpected(*e);
        outcome = attempt::again;
        break;
      }
      if (!handled) {
        const auto kind = classify(handled.error(), &conn);
        if (kind == failure_kind::transient) {
          rollback();
          return tl::unexpected(handled.error());
        }
        p.dead = true;
        p.error = handled.error().message();
        p.failure_counted = true;
        metrics_.failed->increment();
        if (!fx.sent()) {
          // Nothing of this record reached the database: drop its deferred rows and go on.
          deferred.rows.resize(rows_before);
          continue;
        }
        rollback();
        outcome = attempt::again;
        break;
      }
      out += fx.emitted();
    }
    if (outcome == attempt::again) continue;
    if (rows != nullptr) {
      effects fx(conn, definition_.name, rows);
      if (auto flushed = fx.flush(); !flushed) {
        if (auto e = coalesced_failed()) return tl::unexpected(*e);
        continue;
      }
    }

    // Dead letters are produced (and acknowledged) before the commit: a crash in between
    // produces them again on redelivery (at-least-once for the dead-letter topic only).
    int dead_letters = 0;
    for (auto& p : batch) {
      if (!p.dead || p.dead_letter_sent || p.message->offset() < next_offset) continue;
      std::unique_ptr<RdKafka::Headers> headers(RdKafka::Headers::create());
      headers->add("substrate.error", p.error);
      headers->add("substrate.processor", definition_.name);
      headers->add("substrate.source.topic", topic);
      headers->add("substrate.source.partition", partition_text);
      headers->add("substrate.source.offset", std::to_string(p.message->offset()));
      const std::string* key = p.message->key();
      auto err =
          kafka_->producer->produce(options_.dead_letter_topic(topic), RdKafka::Topic::PARTITION_UA,
                                    RdKafka::Producer::RK_MSG_COPY, p.message->payload(), p.message->len(),
                                    key ? key->data() : nullptr, key ? key->size() : 0, 0, headers.get(), nullptr);
      if (err != RdKafka::ERR_NO_ERROR) {
        rollback();
        return make_error(errc::unavailable, "dead-letter produce: " + RdKafka::err2str(err));
      }
      (void)headers.release();  // owned by librdkafka after a successful produce
      ++dead_letters;
    }
    if (dead_letters > 0) {
      kafka_->delivery_failures = 0;
      const auto flushed = kafka_->producer->flush(30000);
      if (flushed != RdKafka::ERR_NO_ERROR || kafka_->delivery_failures > 0) {
        rollback();
        return make_error(errc::unavailable,
                          "dead-letter delivery: " +
                              (kafka_->delivery_failures > 0 ? kafka_->delivery_error : RdKafka::err2str(flushed)));
      }
      for (auto& p : batch) {
        if (p.dead && p.message->offset() >= next_offset) p.dead_letter_sent = true;
      }
      stream_log.warn(
          "records dead-lettered",
          {{"processor", definition_.name}, {"topic", topic}, {"partition", partition}, {"count", dead_letters}});
    }

    // The offsets row advanced and COMMIT in one round trip (the update prepared once per
    // connection). A failed update leaves the COMMIT unrun and the transaction aborted.
    const std::int64_t last = batch.back().message->offset();
    std::vector<db::connection::pipelined> closing;
    // A binary COPY is only right while its columns have the types it was chosen for (a text
    // column altered to an integer would take four bytes of text as a number): checked here,
    // under the lock the COPY holds until the COMMIT; a change fails the batch, which is retried
    // with the types read again.
    for (const auto& format : deferred.binary_sent) {
      closing.push_back({copy_format_check_sql, {format.table, format.columns, format.types}, true});
    }
    if (last >= next_offset) {
      closing.push_back(
          {"update substrate.stream_offsets set next_offset = $4, updated_at = now() "
           "where processor = $1 and topic = $2 and partition = $3",
           {definition_.name, topic, partition_text, std::to_string(last + 1)},
           true});
    }
    closing.push_back({"commit", {}, false});
    if (auto committed = conn.exec_pipeline(closing, failure); !committed) {
      if (failure.statement >= 0 && static_cast<std::size_t>(failure.statement) < deferred.binary_sent.size()) {
        failure.message = "a column's type changed under a binary COPY (" + failure.message + ")";
      }
      // A failed COMMIT may or may not have committed; either way a retry is safe (the offsets
      // row tells which records are done).
      return pipeline_failed("committing the batch", failure);
    }
    metrics_.in->increment(processed);
    metrics_.skipped->increment(skipped);
    metrics_.out->increment(out);
    metrics_.dead_lettered->increment(static_cast<std::uint64_t>(dead_letters));
    metrics_.latency->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return {};
  }
}

void processor::prepare(partition_batch& batch) {
  const bool ahead = definition_.rows_only && options_.coalesce_inserts && !ahead_refused_;
  const auto handler = definition_.handlers.find(batch.topic);
  for (auto& p : batch.records) {
    const std::span<const std::uint8_t> value(static_cast<const std::uint8_t*>(p.message->payload()), p.message->len());
    if (definition_.decode) {
      auto json = options_.decode(batch.topic, value);
      if (!json) {
        // Transient (the registry cannot be asked now): decoded again in the transaction.
        if (classify(json.error(), nullptr) == failure_kind::permanent) {
          p.dead = true;
          p.error = json.error().message();
        }
        continue;
      }
      p.json = std::move(*json);
      p.decoded = true;
    }
    if (!ahead || ahead_refused_ || handler == definition_.handlers.end()) continue;
    input_record record;
    record.topic = batch.topic;
    record.partition = batch.partition;
    record.offset = p.message->offset();
    record.timestamp_ms = p.message->timestamp().timestamp;
    if (p.message->key()) record.key = std::string_view(*p.message->key());
    record.value = value;
    record.json = p.json;
    const std::size_t rows_before = batch.ahead.rows.size();
    effects fx(definition_.name, batch.ahead);
    auto handled = handler->second(fx, record);
    if (!handled) {
      batch.ahead.rows.resize(rows_before);
      if (handled.error().code == errc::needs_transaction) {
        // The definition says rows_only but a handler asked for the database: from now on its
        // handlers run in their transactions only (correct, without the overlap).
        ahead_refused_ = true;
        stream_log.warn("a rows_only handler needs its transaction; running handlers in their transactions",
                        {{"processor", definition_.name}, {"error", handled.error().message()}});
      } else if (classify(handled.error(), nullptr) == failure_kind::permanent) {
        // Nothing was sent: as in the transaction, the record is dead-lettered and the rest goes on.
        p.dead = true;
        p.error = handled.error().message();
      }
      continue;  // else transient: the handler runs again in the transaction
    }
    p.rows.assign(std::make_move_iterator(batch.ahead.rows.begin() + static_cast<std::ptrdiff_t>(rows_before)),
                  std::make_move_iterator(batch.ahead.rows.end()));
    batch.ahead.rows.resize(rows_before);
    p.emitted = fx.emitted();
    p.ahead = true;
  }
}

void processor::drain() {
  std::unique_lock lock(stage_->mutex);
  stage_->changed.wait(lock, [this] { return stage_->done || (!stage_->next && !stage_->busy); });
}

void processor::apply(std::vector<partition_batch>& batches) {
  std::vector<RdKafka::TopicPartition*> commits;
  for (auto& batch : batches) {
    int delay_ms = options_.retry_backoff_initial_ms;
    bool done = false;
    while (running_) {
      if (!ensure_connection(conn_)) {
        metrics_.retries->increment();
        backoff(delay_ms);
        continue;
      }
      auto processed = process_partition(batch);
      if (processed) {
        done = true;
        break;
      }
      metrics_.retries->increment();
      stream_log.warn("transient failure, retrying the batch", {{"processor", definition_.name},
                                                                {"topic", batch.topic},
                                                                {"partition", batch.partition},
                                                                {"error", processed.error().message()},
                                                                {"retry_in_ms", delay_ms}});
      if (conn_ && !conn_->is_open()) conn_.reset();
      backoff(delay_ms);
    }
    if (!done) break;
    commits.push_back(
        RdKafka::TopicPartition::create(batch.topic, batch.partition, batch.records.back().message->offset() + 1));
  }
  if (!commits.empty()) {
    // Asynchronous: the offsets table is the source of truth, the Kafka commit is for lag and tooling.
    kafka_->consumer->commitAsync(commits);
    RdKafka::TopicPartition::destroy(commits);
  }
}

void processor::database_loop() {
  for (;;) {
    std::vector<partition_batch> batches;
    {
      std::unique_lock lock(stage_->mutex);
      stage_->changed.wait(lock, [this] { return stage_->next.has_value() || !running_; });
      if (!running_) break;  // what was polled and not applied is read again after a restart
      batches = std::move(*stage_->next);
      stage_->next.reset();
      stage_->busy = true;
    }
    stage_->changed.notify_all();
    apply(batches);
    {
      std::lock_guard lock(stage_->mutex);
      stage_->busy = false;
    }
    stage_->changed.notify_all();
  }
  {
    std::lock_guard lock(stage_->mutex);
    stage_->busy = false;
    stage_->done = true;
  }
  stage_->changed.notify_all();
}

void processor::consume_loop() {
  auto& consumer = *kafka_->consumer;
  database_thread_ = std::thread([this] { database_loop(); });
  while (running_) {
    std::vector<std::unique_ptr<RdKafka::Message>> polled;
    int timeout_ms = options_.poll_timeout_ms;
    while (polled.size() < options_.batch_records_max) {
      std::unique_ptr<RdKafka::Message> message(consumer.consume(timeout_ms));
      timeout_ms = 0;
      if (!message || message->err() == RdKafka::ERR__TIMED_OUT) break;
      if (message->err() == RdKafka::ERR__PARTITION_EOF) continue;
      if (message->err() != RdKafka::ERR_NO_ERROR) {
        stream_log.warn("consumer error", {{"processor", definition_.name}, {"error", message->errstr()}});
        break;
      }
      polled.push_back(std::move(message));
    }
    // Group by partition, keeping order; records of partitions revoked meanwhile are dropped
    // (the new owner reads them again).
    std::map<std::pair<std::string, std::int32_t>, std::vector<pending>> by_partition;
    for (auto& message : polled) {
      std::pair<std::string, std::int32_t> tp{message->topic_name(), message->partition()};
      if (!kafka_->assigned.contains(tp)) continue;
      pending p;
      p.message = std::move(message);
      by_partition[tp].push_back(std::move(p));
    }
    if (!by_partition.empty()) {
      std::vector<partition_batch> batches;
      batches.reserve(by_partition.size());
      for (auto& [tp, records] : by_partition) {
        batches.emplace_back();
        batches.back().topic = tp.first;
        batches.back().partition = tp.second;
        batches.back().records = std::move(records);
        prepare(batches.back());
      }
      // Hand off once the database thread has taken the previous poll (it may still apply it).
      std::unique_lock lock(stage_->mutex);
      stage_->changed.wait(lock, [this] { return !stage_->next || stage_->done || !running_; });
      if (stage_->done || !running_) break;
      stage_->next = std::move(batches);
      lock.unlock();
      stage_->changed.notify_all();
    }
    // Lag: high watermark - position over the assigned partitions (cached watermarks, no request).
    std::int64_t lag = 0;
    std::vector<RdKafka::TopicPartition*> positions;
    for (const auto& [topic, partition] : kafka_->assigned)
      positions.push_back(RdKafka::TopicPartition::create(topic, partition));
    if (!positions.empty() && consumer.position(positions) == RdKafka::ERR_NO_ERROR) {
      for (auto* p : positions) {
        std::int64_t low = 0;
        std::int64_t high = 0;
        if (p->offset() >= 0 &&
            consumer.get_watermark_offsets(p->topic(), p->partition(), &low, &high) == RdKafka::ERR_NO_ERROR &&
            high > p->offset()) {
          lag += high - p->offset();
        }
      }
    }
    RdKafka::TopicPartition::destroy(positions);
    metrics_.lag->set(static_cast<double>(lag));
  }
  // The database thread stops after the transaction in hand (running_ is false). A poll it did
  // not take is dropped here, before the consumer closes (its records are read again later).
  if (database_thread_.joinable()) database_thread_.join();
  stage_->next.reset();
  // Leave the group: the revoke callback runs inside close().
  consumer.close();
  kafka_->producer->flush(5000);
  conn_.reset();
}

// ---------------------------------------------------------------------------------------------
// Timers

result<int> processor::fire_due_timers() {
  auto& conn = *timer_conn_;
  std::set<std::string> failed;
  for (;;) {
    if (auto begun = conn.exec("begin"); !begun) return tl::unexpected(begun.error());
    auto due = conn.exec(
        "select key, payload::text, (extract(epoch from fire_at) * 1000)::bigint from substrate.stream_timers "
        "where processor = $1 and fire_at <= now() order by fire_at limit $2 for update skip locked",
        {definition_.name, std::to_string(options_.timer_batch_max)});
    if (!due) {
      auto e = due.error();
      (void)conn.exec("rollback");
      return tl::unexpected(e);
    }
    int fired = 0;
    bool again = false;
    for (int row = 0; row < due->rows(); ++row) {
      timer t{due->value(row, 0), due->value(row, 1), std::stoll(due->value(row, 2))};
      if (failed.contains(t.key)) continue;
      // Deleted first, so a handler may schedule the same key again (a periodic timer).
      auto deleted =
          conn.exec("delete from substrate.stream_timers where processor = $1 and key = $2", {definition_.name, t.key});
      effects fx(conn, definition_.name);
      auto handled = deleted ? definition_.on_timer(fx, t) : result<void>(tl::unexpected(deleted.error()));
      if (!handled) {
        const auto kind = classify(handled.error(), &conn);
        const auto e = handled.error();
        if (conn.is_open()) (void)conn.exec("rollback");
        if (kind == failure_kind::transient) return tl::unexpected(e);
        // Permanent: the timer stays, marked, and is tried again later with backoff.
        failed.insert(t.key);
        metrics_.failed->increment();
        stream_log.error("timer handler failed, retrying it later",
                         {{"processor", definition_.name}, {"timer", t.key}, {"error", e.message()}});
        auto marked = conn.exec(
            "update substrate.stream_timers set attempts = attempts + 1, last_error = $3, "
            "fire_at = now() + least(interval '1 hour', interval '1 second' * power(2, least(attempts, 12))) "
            "where processor = $1 and key = $2",
            {definition_.name, t.key, e.message()});
        if (!marked) return tl::unexpected(marked.error());
        again = true;
        break;
      }
      metrics_.out->increment(fx.emitted());
      ++fired;
    }
    if (again) continue;
    if (auto committed = conn.exec("commit"); !committed) {
      auto e = committed.error();
      if (conn.is_open()) (void)conn.exec("rollback");
      return tl::unexpected(e);
    }
    metrics_.timers_fired->increment(static_cast<std::uint64_t>(fired));
    return fired;
  }
}

void processor::timer_loop() {
  int delay_ms = options_.retry_backoff_initial_ms;
  while (running_) {
    if (!ensure_connection(timer_conn_)) {
      metrics_.retries->increment();
      backoff(delay_ms);
      continue;
    }
    auto fired = fire_due_timers();
    if (!fired) {
      metrics_.retries->increment();
      stream_log.warn("timer loop failed, retrying",
                      {{"processor", definition_.name}, {"error", fired.error().message()}});
      if (!timer_conn_->is_open()) timer_conn_.reset();
      backoff(delay_ms);
      continue;
    }
    delay_ms = options_.retry_backoff_initial_ms;
    if (static_cast<std::size_t>(*fired) >= options_.timer_batch_max) continue;  // more may be due
    std::unique_lock lock(wake_mutex_);
    wake_.wait_for(lock, std::chrono::milliseconds(options_.timer_poll_interval_ms),
                   [this] { return !running_.load(); });
  }
  timer_conn_.reset();
}

}  // namespace substrate::stream
