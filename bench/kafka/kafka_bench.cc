// bench_kafka: the measuring programs of bench/kafka/run (see bench/README.md).
//
//   bench_kafka disk --dir DIR --write-bytes N --writes-per-sync N --seconds S [--files N]
//                    [--segment-bytes N]
//       The disk ceiling: --files threads (one per partition), each appending N-byte blocks with
//       pwrite into segment files preallocated with fallocate (--segment-bytes, default 128 MiB,
//       the broker's segment.bytes; a full one rolls to a new one, never overwritten), one
//       fdatasync after every --writes-per-sync writes, for S seconds: the pattern of the
//       broker's group commit (batches appended back to back, one fdatasync per group).
//       sync_ms is the mean time of one write group + fdatasync per file (sync_p50_ms and
//       sync_p99_ms its distribution). --index-files N (a
//       diagnostic, not the ceiling) also appends an entry to N small files per partition and
//       fdatasyncs them after each group, as the broker syncs its offset and time indexes.
//   bench_kafka produce --bootstrap HOST:PORT --topic T --seconds S [--warmup S]
//                       [--record-bytes N] [--rate RECORDS_PER_SECOND] [--linger-ms N]
//                       [--producers N] [--config KEY=VALUE,...]
//       librdkafka (C API) producer, acks=all, default batching (unless --linger-ms), 1 KiB
//       records with no key. Without --rate as fast as the queue allows; with it, evenly paced.
//       --producers N runs N librdkafka instances on N threads, each with 1/N of the rate;
//       --config sets further librdkafka properties.
//       Latency is from produce() to the delivery report, for records sent after the warm-up.
//       Also prints the client's own CPU seconds (user + system).
//   bench_kafka consume --bootstrap HOST:PORT --topic T --partitions N
//       Reads every partition from the start to its high watermark (simple consumer).
//
// Each prints one line of key=value pairs on stdout, for the run script. Exit 0 when the
// measurement completed, whatever the numbers; 1 when it could not run.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <sys/resource.h>

namespace {

using steady = std::chrono::steady_clock;

std::map<std::string, std::string> parse_flags(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) {
      std::fprintf(stderr, "bench_kafka: expected a --flag, got %s\n", argv[i]);
      std::exit(1);
    }
    flags[name.substr(2)] = argv[i + 1];
  }
  return flags;
}

std::string flag(const std::map<std::string, std::string>& flags, const std::string& name,
                 const char* fallback = nullptr) {
  auto it = flags.find(name);
  if (it != flags.end()) return it->second;
  if (fallback) return fallback;
  std::fprintf(stderr, "bench_kafka: --%s is required\n", name.c_str());
  std::exit(1);
}

double seconds_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  const auto at = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(at), values.end());
  return values[at];
}

struct disk_stats {
  std::uint64_t writes = 0;
  std::uint64_t syncs = 0;
  std::uint64_t segments = 0;
  std::vector<double> group_ms;  // each write group + its fdatasync(s)
  std::string error;
};

// One partition's data file, written the way that is cheapest for the disk (the ceiling): segments
// of `segment_bytes` reserved whole with fallocate when they are created (the broker reserves
// 1 MiB steps ahead of its writes, so it commits a size change a little more often), batches appended with
// pwrite back to back, one fdatasync after each group of `writes_per_sync`.
// With index_files > 0 (a diagnostic, not the ceiling), each group also appends one small entry
// to that many other files and fdatasyncs them after the data file, as the broker's sync does
// with the segment's offset and time indexes.
void write_one_partition(const std::string& prefix, std::size_t write_bytes, int writes_per_sync,
                         std::uint64_t segment_bytes, int index_files, steady::time_point until, disk_stats& stats) {
  std::vector<char> block(write_bytes, 'd');
  std::vector<int> indexes;
  for (int i = 0; i < index_files; ++i) {
    const std::string path = prefix + ".index" + std::to_string(i);
    indexes.push_back(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
    if (indexes.back() < 0) {
      stats.error = "open " + path + ": " + std::strerror(errno);
      return;
    }
  }
  const char entry[12] = {};
  int fd = -1;
  std::uint64_t position = 0;
  auto fail = [&](const char* what, const std::string& path) {
    stats.error = std::string(what) + " " + path + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
  };
  while (steady::now() < until) {
    const auto group_start = steady::now();
    for (int i = 0; i < writes_per_sync; ++i) {
      if (fd < 0 || position + write_bytes > segment_bytes) {
        if (fd >= 0) ::close(fd);
        const std::string path = prefix + "." + std::to_string(stats.segments++);
        fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) return fail("open", path);
        if (::fallocate(fd, 0, 0, static_cast<off_t>(segment_bytes)) != 0) return fail("fallocate", path);
        position = 0;
      }
      if (::pwrite(fd, block.data(), block.size(), static_cast<off_t>(position)) != static_cast<ssize_t>(block.size()))
        return fail("pwrite", prefix);
      position += write_bytes;
      ++stats.writes;
    }
    if (::fdatasync(fd) != 0) return fail("fdatasync", prefix);
    for (int index : indexes) {
      if (::write(index, entry, sizeof(entry)) != static_cast<ssize_t>(sizeof(entry)) || ::fdatasync(index) != 0)
        return fail("index write", prefix);
    }
    stats.group_ms.push_back(1000 * seconds_since(group_start));
    ++stats.syncs;
  }
  if (fd >= 0) ::close(fd);
  for (int index : indexes) ::close(index);
}

int run_disk(const std::map<std::string, std::string>& flags) {
  const std::string dir = flag(flags, "dir");
  const std::size_t write_bytes = std::max<std::size_t>(1, std::stoul(flag(flags, "write-bytes")));
  const int writes_per_sync = std::max(1, std::stoi(flag(flags, "writes-per-sync")));
  const double seconds = std::stod(flag(flags, "seconds"));
  const int files = std::max(1, std::stoi(flag(flags, "files", "1")));
  const int index_files = std::max(0, std::stoi(flag(flags, "index-files", "0")));
  const auto segment_bytes =
      std::max<std::uint64_t>(write_bytes, std::stoull(flag(flags, "segment-bytes", "134217728")));
  std::vector<disk_stats> stats(static_cast<std::size_t>(files));
  const auto start = steady::now();
  const auto until = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int f = 0; f < files; ++f) {
    threads.emplace_back([&, f] {
      write_one_partition(dir + "/partition-" + std::to_string(f), write_bytes, writes_per_sync, segment_bytes,
                          index_files, until, stats[static_cast<std::size_t>(f)]);
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed = seconds_since(start);
  disk_stats total;
  for (const auto& s : stats) {
    total.writes += s.writes;
    total.syncs += s.syncs;
    total.segments += s.segments;
    if (!s.error.empty()) total.error = s.error;
    total.group_ms.insert(total.group_ms.end(), s.group_ms.begin(), s.group_ms.end());
  }
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ignored)) std::filesystem::remove(entry, ignored);
  if (!total.error.empty()) {
    std::fprintf(stderr, "bench_kafka disk: %s\n", total.error.c_str());
    return 1;
  }
  std::printf("disk bytes_per_second=%.0f writes=%" PRIu64 " syncs=%" PRIu64 " segments=%" PRIu64
              " write_bytes=%zu writes_per_sync=%d files=%d index_files=%d sync_ms=%.3f sync_p50_ms=%.3f"
              " sync_p99_ms=%.3f\n",
              static_cast<double>(total.writes * write_bytes) / elapsed, total.writes, total.syncs, total.segments,
              write_bytes, writes_per_sync, files, index_files,
              total.syncs ? 1000.0 * elapsed * files / static_cast<double>(total.syncs) : 0.0,
              percentile(total.group_ms, 0.5), percentile(total.group_ms, 0.99));
  return 0;
}

rd_kafka_conf_t* make_config(const std::string& bootstrap) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof(error)) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "3", error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "bench_kafka: %s\n", error);
    std::exit(1);
  }
  return conf;
}

struct produce_stats {
  steady::time_point measure_from;
  steady::time_point measure_until;
  std::uint64_t acked_in_window = 0;
  std::uint64_t acked = 0;
  std::uint64_t failed = 0;
  std::uint64_t sent = 0;
  int unflushed = 0;
  std::string failure;
  std::vector<double> latencies_ms;  // records sent after the warm-up
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto& stats = *static_cast<produce_stats*>(opaque);
  if (m->err) {
    ++stats.failed;
    stats.failure = rd_kafka_err2str(m->err);
    return;
  }
  ++stats.acked;
  const auto now = steady::now();
  const steady::time_point sent{steady::duration(reinterpret_cast<std::intptr_t>(m->_private))};
  if (now >= stats.measure_from && now < stats.measure_until) ++stats.acked_in_window;
  if (sent >= stats.measure_from)
    stats.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - sent).count());
}

// One librdkafka producer instance (its own connections and I/O threads), driven from the
// calling thread: as fast as its queue allows (rate 0) or evenly paced at `rate` records/s.
// Returns false (with a message on stderr) when it could not run.
bool produce_with_one_instance(const std::map<std::string, std::string>& flags, const std::string& value, double rate,
                               steady::time_point start, produce_stats& stats) {
  const std::string topic = flag(flags, "topic");
  rd_kafka_conf_t* conf = make_config(flag(flags, "bootstrap"));
  char error[512];
  // acks=all; everything else is librdkafka's default batching (linger.ms 5, batch.size 1 MB).
  if (rd_kafka_conf_set(conf, "acks", "all", error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "bench_kafka: %s\n", error);
    return false;
  }
  if (auto linger = flags.find("linger-ms");
      linger != flags.end() &&
      rd_kafka_conf_set(conf, "linger.ms", linger->second.c_str(), error, sizeof(error)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "bench_kafka: %s\n", error);
    return false;
  }
  // --config k=v,k=v: further librdkafka properties (the latency runs' settings, e.g.
  // socket.nagle.disable=true), set after the defaults above.
  const std::string extra = flag(flags, "config", "");
  for (std::size_t at = 0; at < extra.size();) {
    const auto comma = std::min(extra.find(',', at), extra.size());
    const std::string item = extra.substr(at, comma - at);
    at = comma + 1;
    const auto eq = item.find('=');
    if (item.empty()) continue;
    if (eq == std::string::npos || rd_kafka_conf_set(conf, item.substr(0, eq).c_str(), item.substr(eq + 1).c_str(),
                                                     error, sizeof(error)) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "bench_kafka: --config %s: %s\n", item.c_str(),
                   eq == std::string::npos ? "expected key=value" : error);
      rd_kafka_conf_destroy(conf);
      return false;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, &stats);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (!rk) {
    std::fprintf(stderr, "bench_kafka: %s\n", error);
    return false;
  }
  while (steady::now() < stats.measure_until) {
    const std::uint64_t due = rate > 0 ? static_cast<std::uint64_t>(seconds_since(start) * rate) : UINT64_MAX;
    while (stats.sent < due) {
      const auto now = steady::now();
      const auto err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<std::intptr_t>(now.time_since_epoch().count()))),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      if (err) {
        std::fprintf(stderr, "bench_kafka: produce: %s\n", rd_kafka_err2str(err));
        rd_kafka_destroy(rk);
        return false;
      }
      ++stats.sent;
      if (stats.sent % 256 == 0) rd_kafka_poll(rk, 0);
    }
    rd_kafka_poll(rk, rate > 0 ? 0 : 1);
    if (rate > 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  rd_kafka_flush(rk, 30'000);
  stats.unflushed = rd_kafka_outq_len(rk);
  rd_kafka_destroy(rk);
  return true;
}

int run_produce(const std::map<std::string, std::string>& flags) {
  const double seconds = std::stod(flag(flags, "seconds"));
  const double warmup = std::stod(flag(flags, "warmup", "1"));
  const std::size_t record_bytes = std::stoul(flag(flags, "record-bytes", "1024"));
  const double rate = std::stod(flag(flags, "rate", "0"));
  const int producers = std::max(1, std::stoi(flag(flags, "producers", "1")));
  std::string value(record_bytes, 'r');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + (i * 7) % 26);
  const auto start = steady::now();
  std::vector<produce_stats> stats(static_cast<std::size_t>(producers));
  for (auto& s : stats) {
    s.measure_from = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(warmup));
    s.measure_until = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(seconds));
  }
  // Each instance on its own thread with its share of the rate: more than one only helps when one
  // librdkafka instance (its application thread and broker threads) cannot keep the broker busy.
  std::vector<char> ok(stats.size(), 0);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < stats.size(); ++i) {
    threads.emplace_back(
        [&, i] { ok[i] = produce_with_one_instance(flags, value, rate / producers, start, stats[i]); });
  }
  for (auto& t : threads) t.join();
  if (std::find(ok.begin(), ok.end(), 0) != ok.end()) return 1;
  produce_stats total;
  for (auto& s : stats) {
    total.acked_in_window += s.acked_in_window;
    total.acked += s.acked;
    total.failed += s.failed;
    total.sent += s.sent;
    total.unflushed += s.unflushed;
    if (!s.failure.empty()) total.failure = s.failure;
    total.latencies_ms.insert(total.latencies_ms.end(), s.latencies_ms.begin(), s.latencies_ms.end());
  }
  const double window = seconds - warmup;
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const double cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                             static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  std::printf("produce records_per_second=%.0f bytes_per_second=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f sent=%" PRIu64
              " acked=%" PRIu64 " failed=%" PRIu64 " unflushed=%d cpu_seconds=%.2f producers=%d\n",
              static_cast<double>(total.acked_in_window) / window,
              static_cast<double>(total.acked_in_window * record_bytes) / window, percentile(total.latencies_ms, 0.50),
              percentile(total.latencies_ms, 0.99), percentile(total.latencies_ms, 0.999), total.sent, total.acked,
              total.failed, total.unflushed, cpu_seconds, producers);
  if (total.failed > 0)
    std::fprintf(stderr, "bench_kafka: %" PRIu64 " failed: %s\n", total.failed, total.failure.c_str());
  return 0;
}

int run_consume(const std::map<std::string, std::string>& flags) {
  const std::string topic = flag(flags, "topic");
  const int partitions = std::stoi(flag(flags, "partitions"));
  rd_kafka_conf_t* conf = make_config(flag(flags, "bootstrap"));
  char error[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof(error));
  if (!rk) {
    std::fprintf(stderr, "bench_kafka: %s\n", error);
    return 1;
  }
  std::vector<std::int64_t> high(static_cast<std::size_t>(partitions), 0);
  std::int64_t expected = 0;
  for (int p = 0; p < partitions; ++p) {
    std::int64_t low = 0;
    if (auto err =
            rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high[static_cast<std::size_t>(p)], 10'000)) {
      std::fprintf(stderr, "bench_kafka: watermarks: %s\n", rd_kafka_err2str(err));
      return 1;
    }
    expected += high[static_cast<std::size_t>(p)] - low;
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  const auto start = steady::now();
  for (int p = 0; p < partitions; ++p) rd_kafka_consume_start_queue(rkt, p, RD_KAFKA_OFFSET_BEGINNING, queue);
  std::int64_t records = 0;
  std::uint64_t bytes = 0;
  std::vector<rd_kafka_message_t*> batch(4096);
  while (records < expected && seconds_since(start) < 60) {
    const auto n = rd_kafka_consume_batch_queue(queue, 1000, batch.data(), batch.size());
    for (ssize_t i = 0; i < n; ++i) {
      if (!batch[static_cast<std::size_t>(i)]->err) {
        ++records;
        bytes += batch[static_cast<std::size_t>(i)]->len;
      }
      rd_kafka_message_destroy(batch[static_cast<std::size_t>(i)]);
    }
  }
  const double elapsed = seconds_since(start);
  for (int p = 0; p < partitions; ++p) rd_kafka_consume_stop(rkt, p);
  rd_kafka_queue_destroy(queue);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  std::printf("consume records_per_second=%.0f bytes_per_second=%.0f records=%" PRId64 " expected=%" PRId64 "\n",
              static_cast<double>(records) / elapsed, static_cast<double>(bytes) / elapsed, records, expected);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const auto flags = parse_flags(argc, argv);
  if (mode == "disk") return run_disk(flags);
  if (mode == "produce") return run_produce(flags);
  if (mode == "consume") return run_consume(flags);
  std::fprintf(stderr, "usage: bench_kafka disk|produce|consume --flag value ... (see kafka_bench.cc)\n");
  return 1;
}
