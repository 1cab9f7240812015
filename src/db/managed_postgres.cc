#include "db/managed_postgres.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <openssl/rand.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "db/connection.h"
#include "db/logger.h"

namespace substrate::db {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

[[noreturn]] void fail(const std::string& message) {
  throw std::runtime_error(message);
}

std::string random_password() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof bytes) != 1) fail("cannot generate a random password (OpenSSL RAND_bytes failed)");
  std::string out;
  for (const unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_private_file(const std::string& path, const std::string& content, uid_t uid, gid_t gid) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  const bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
                  ::fsync(fd) == 0 && ::fchown(fd, uid, gid) == 0;
  ::close(fd);
  if (!ok) fail(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
}

void make_directory(const std::string& path, mode_t mode, uid_t uid, gid_t gid) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) fail(fmt::format("cannot create directory {}: {}", path, ec.message()));
  if (::chmod(path.c_str(), mode) != 0 || ::chown(path.c_str(), uid, gid) != 0) {
    fail(fmt::format("cannot set owner and mode of {}: {}", path, std::strerror(errno)));
  }
}

struct child_options {
  int death_signal = SIGKILL;                     // sent to the child when substrate dies
  bool own_process_group = false;                 // keep terminal signals (Ctrl-C) away from the child
  std::optional<std::pair<uid_t, gid_t>> run_as;  // drop root to this user before exec
};

// Starts `argv` with stdin from /dev/null, stdout and stderr appended to `log_path`, all signals
// unblocked, and a parent-death signal, so a child never outlives a killed substrate.
pid_t spawn_child(const std::vector<std::string>& argv, const std::string& log_path, const child_options& options) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log_fd < 0) fail(fmt::format("cannot open {}: {}", log_path, std::strerror(errno)));
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) fail(fmt::format("fork failed: {}", std::strerror(errno)));
  if (child == 0) {
    // Only async-signal-safe calls from here to execv.
    if (options.own_process_group) ::setpgid(0, 0);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    if (options.run_as) {
      const auto [uid, gid] = *options.run_as;
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(126);
    }
    // After setuid, which clears the parent-death signal; then make sure the parent did not die
    // before it was set.
    ::prctl(PR_SET_PDEATHSIG, options.death_signal);
    if (::getppid() != parent) ::_exit(125);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  return child;
}

// Runs a program to completion (see spawn_child); returns its wait status.
int run_and_wait(const std::vector<std::string>& argv, const std::string& log_path) {
  const pid_t child = spawn_child(argv, log_path, {});
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return "stopped";
}

bool process_alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

}  // namespace

managed_postgres::managed_postgres(std::string data_dir, core::database_config options)
    : data_dir_(fs::absolute(data_dir).lexically_normal().string()), options_(std::move(options)) {
  if (data_dir_.size() > 1 && data_dir_.back() == '/') data_dir_.pop_back();
  pgdata_ = data_dir_ + "/postgres";
  socket_dir_ = data_dir_ + "/run";
  log_path_ = data_dir_ + "/log/postgres.log";
}

managed_postgres::~managed_postgres() {
  if (pid_ > 0) stop();
}

void managed_postgres::find_binaries() {
  if (!options_.bin_dir.empty()) {
    bin_dir_ = options_.bin_dir;
  } else {
    // Debian installs each major version under /usr/lib/postgresql/<major>/bin; take the newest.
    int best = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
      const int major = std::atoi(entry.path().filename().c_str());
      if (major > best && fs::exists(entry.path() / "bin" / "postgres")) {
        best = major;
        bin_dir_ = (entry.path() / "bin").string();
      }
    }
    if (bin_dir_.empty()) {
      fail(
          "no PostgreSQL server found under /usr/lib/postgresql; run `make deps` (Debian package "
          "postgresql-15), set database.bin_dir, or use an external server with database.url");
    }
  }
  for (const char* tool : {"postgres", "initdb"}) {
    if (::access((bin_dir_ + "/" + tool).c_str(), X_OK) != 0) {
      fail(fmt::format("{}/{} is missing or not executable (database.bin_dir)", bin_dir_, tool));
    }
  }
}

void managed_postgres::prepare_directories() {
  as_root_ = ::geteuid() == 0;
  if (as_root_) {
    // PostgreSQL refuses to run as root: the cluster belongs to the `postgres` user.
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) fail("running as root, but there is no `postgres` user to run PostgreSQL as (install postgresql-15)");
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    // That user must be able to reach the data dir: every ancestor needs search permission.
    for (fs::path dir = data_dir_; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
      struct stat st {};
      if (::stat(dir.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH) && st.st_uid != uid_) {
        fail(
            fmt::format("the postgres user cannot enter {} (mode {:o}), so it cannot reach the data dir {}; use a "
                        "data dir it can reach (e.g. under /var/lib or /tmp) or `chmod o+x {}`",
                        dir.string(), st.st_mode & 07777, data_dir_, dir.string()));
      }
    }
  } else {
    uid_ = ::geteuid();
    gid_ = ::getegid();
  }
  make_directory(data_dir_ + "/run", 0700, uid_, gid_);
  make_directory(data_dir_ + "/log", 0750, ::geteuid(), ::getegid());
  make_directory(data_dir_ + "/secrets", 0700, ::geteuid(), ::getegid());
  const std::string password_path = data_dir_ + "/secrets/postgres-password";
  if (fs::exists(password_path)) {
    password_ = read_file(password_path);
    while (!password_.empty() && (password_.back() == '\n' || password_.back() == ' ')) password_.pop_back();
  }
}

void managed_postgres::initialise_cluster() {
  if (fs::exists(pgdata_ + "/PG_VERSION")) return;
  // initdb writes into a scratch directory that is renamed into place only when complete, so a
  // crash during initialisation never leaves a half-made cluster that a later start trusts.
  const std::string scratch = data_dir_ + "/postgres.initdb";
  std::error_code ec;
  fs::remove_all(scratch, ec);
  make_directory(scratch, 0700, uid_, gid_);
  if (password_.empty()) {
    password_ = random_password();
    write_private_file(data_dir_ + "/secrets/postgres-password", password_ + "\n", ::geteuid(), ::getegid());
  }
  const std::string pwfile = scratch + ".pw";
  write_private_file(pwfile, password_ + "\n", uid_, gid_);
  db_log.info("initialising a new PostgreSQL cluster in {}", pgdata_);
  std::vector<std::string> argv;
  if (as_root_) argv = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  for (const std::string& arg : std::vector<std::string>{
           bin_dir_ + "/initdb", "--pgdata=" + scratch, "--username=postgres", "--pwfile=" + pwfile,
           "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"}) {
    argv.push_back(arg);
  }
  const int status = run_and_wait(argv, log_path_);
  fs::remove(pwfile, ec);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fail(fmt::format("initdb {}; its output is in {}:\n{}", describe_status(status), log_path_, log_tail()));
  }
  fs::rename(scratch, pgdata_, ec);
  if (ec) fail(fmt::format("cannot move the new cluster into {}: {}", pgdata_, ec.message()));
  initialised_now_ = true;
}

void managed_postgres::stop_orphaned_server() {
  const std::string pid_file = pgdata_ + "/postmaster.pid";
  if (!fs::exists(pid_file)) return;
  const pid_t orphan = static_cast<pid_t>(std::atol(read_file(pid_file).c_str()));
  if (!process_alive(orphan)) return;  // stale file: PostgreSQL itself handles that
  // The pid must be a postgres process; a reused pid belonging to something else is left alone.
  const std::string command = read_file(fmt::format("/proc/{}/comm", orphan));
  if (command.find("postgres") == std::string::npos) return;
  db_log.warn("a PostgreSQL server (pid {}) from an earlier run still owns {}; stopping it first", orphan, pgdata_);
  ::kill(orphan, SIGINT);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.stop_timeout_ms);
  while (process_alive(orphan) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  if (process_alive(orphan)) {
    ::kill(orphan, SIGQUIT);
    std::this_thread::sleep_for(2s);
    if (process_alive(orphan)) ::kill(orphan, SIGKILL);
  }
  while (process_alive(orphan)) std::this_thread::sleep_for(20ms);
}

void managed_postgres::launch() {
  std::vector<std::string> argv = {bin_dir_ + "/postgres", "-D", pgdata_};
  auto setting = [&](const std::string& name, const std::string& value) {
    argv.push_back("-c");
    argv.push_back(name + "=" + value);
  };
  setting("listen_addresses", options_.listen_address);
  setting("port", std::to_string(options_.port));
  setting("unix_socket_directories", socket_dir_);
  setting("wal_level", "logical");
  setting("max_replication_slots", std::to_string(options_.max_replication_slots));
  setting("max_wal_senders", std::to_string(options_.max_wal_senders));
  setting("max_connections", std::to_string(options_.max_connections));
  setting("shared_buffers", std::to_string(options_.shared_buffers_mb) + "MB");
  setting("logging_collector", "off");
  child_options child;
  child.death_signal = SIGINT;     // fast shutdown when substrate dies
  child.own_process_group = true;  // Ctrl-C reaches substrate, which then stops the server in order
  if (as_root_) child.run_as = std::make_pair(uid_, gid_);
  pid_ = spawn_child(argv, log_path_, child);
}

void managed_postgres::wait_until_ready() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.start_timeout_ms);
  while (true) {
    if (auto exited = check_exited()) {
      fail(fmt::format("PostgreSQL {} during start-up; its log {} ends with:\n{}", *exited, log_path_, log_tail()));
    }
    if (!ping(conninfo(), 1000)) return;
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      fail(fmt::format("PostgreSQL did not accept connections within {} ms (database.start_timeout_ms); see {}",
                       options_.start_timeout_ms, log_path_));
    }
    std::this_thread::sleep_for(10ms);
  }
}

void managed_postgres::start() {
  find_binaries();
  prepare_directories();
  initialise_cluster();
  stop_orphaned_server();
  launch();
  wait_until_ready();
  db_log.info("PostgreSQL ready", {{"pid", pid_}, {"port", options_.port}, {"pgdata", pgdata_}});
}

std::optional<std::string> managed_postgres::check_exited() {
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped != pid_) return std::nullopt;
  pid_ = -1;
  return describe_status(status);
}

void managed_postgres::stop() {
  if (pid_ <= 0) return;
  // SIGINT is PostgreSQL's fast shutdown: roll back open transactions, checkpoint, exit.
  ::kill(pid_, SIGINT);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.stop_timeout_ms);
  while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
    if (check_exited()) {
      db_log.info("PostgreSQL stopped");
      return;
    }
    std::this_thread::sleep_for(10ms);
  }
  db_log.warn("PostgreSQL did not stop within {} ms; requesting an immediate shutdown", options_.stop_timeout_ms);
  ::kill(pid_, SIGQUIT);
  for (int i = 0; i < 500 && pid_ > 0; ++i) {
    if (check_exited()) return;
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string managed_postgres::conninfo() const {
  return fmt::format("host={} port={} dbname=postgres user=postgres application_name=substrate", socket_dir_,
                     options_.port);
}

std::string managed_postgres::url() const {
  return fmt::format("postgresql://postgres:{}@{}:{}/postgres", password_, options_.listen_address, options_.port);
}

std::string managed_postgres::log_tail() const {
  const std::string text = read_file(log_path_);
  std::size_t start = text.size();
  for (int lines = 0; lines <= 15 && start > 0; ++lines) {
    const auto newline = text.rfind('\n', start - 1);
    if (newline == std::string::npos) {
      start = 0;
      break;
    }
    start = newline;
  }
  return text.substr(start == 0 ? 0 : start + 1);
}

}  // namespace substrate::db
