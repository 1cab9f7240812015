#pragma once
// The private PostgreSQL cluster of an embedded deployment, in <data_dir>/postgres.
//
// Layout under the data dir: postgres/ (PGDATA), run/ (unix socket), log/postgres.log (the
// server's stderr), secrets/postgres-password (superuser password for TCP clients, mode 0600).
//
// Lifecycle (all on the main thread, blocking, at start-up and shutdown only):
//   start()  initialises the cluster on first use (initdb; as the `postgres` user through
//            runuser when substrate runs as root), stops an orphaned server left by a substrate
//            that was killed, starts the server as a direct child (dropping to `postgres` with
//            setuid when root), and waits until it accepts connections.
//   check_exited()  reaps the child if it died; main calls it on SIGCHLD.
//   stop()   fast shutdown (SIGINT), escalating to immediate shutdown after stop_timeout_ms.
// The child gets SIGINT when substrate dies (PR_SET_PDEATHSIG), so a `kill -9` of substrate
// never leaves a server behind that blocks the next start. The caller holds the data-dir lock,
// which is what makes any server found running in this PGDATA an orphan.

#include <optional>
#include <string>

#include <sys/types.h>

#include "core/config.h"

namespace substrate::db {

class managed_postgres {
public:
  managed_postgres(std::string data_dir, core::database_config options);
  ~managed_postgres();
  managed_postgres(const managed_postgres&) = delete;
  managed_postgres& operator=(const managed_postgres&) = delete;

  // Throws std::runtime_error with a message that says what failed and where to look.
  void start();
  void stop();

  // When the server has exited (reaping it), a sentence describing how; else nothing.
  [[nodiscard]] std::optional<std::string> check_exited();

  // libpq keyword/value string for substrate itself (unix socket, superuser).
  [[nodiscard]] std::string conninfo() const;
  // postgresql:// URL for TCP clients, with the superuser password.
  [[nodiscard]] std::string url() const;
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool initialised_now() const { return initialised_now_; }
  [[nodiscard]] const std::string& pgdata() const { return pgdata_; }

private:
  void find_binaries();
  void prepare_directories();
  void initialise_cluster();
  void stop_orphaned_server();
  void launch();
  void wait_until_ready();
  [[nodiscard]] std::string log_tail() const;

  std::string data_dir_;
  core::database_config options_;
  std::string bin_dir_;
  std::string pgdata_;
  std::string socket_dir_;
  std::string log_path_;
  std::string password_;
  uid_t uid_ = 0;  // the server's user: `postgres` when we are root, else ourselves
  gid_t gid_ = 0;
  bool as_root_ = false;
  pid_t pid_ = -1;
  bool initialised_now_ = false;
};

}  // namespace substrate::db
