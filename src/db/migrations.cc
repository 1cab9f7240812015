#include "db/migrations.h"

#include <map>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "db/logger.h"

namespace substrate::db {

// Arbitrary constant naming substrate's migration lock among advisory locks.
constexpr long long migration_lock_key = 0x5355425354524154;  // "SUBSTRAT"

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < length; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

result<migration_report> apply_migrations(connection& conn, const std::vector<migration>& migrations) {
  auto step = [&](const std::string& sql) { return conn.exec(sql); };
  if (auto r = step("select pg_advisory_lock(" + std::to_string(migration_lock_key) + ")"); !r)
    return tl::unexpected(r.error());
  struct unlock {
    connection& conn;
    ~unlock() { (void)conn.exec("select pg_advisory_unlock(" + std::to_string(migration_lock_key) + ")"); }
  } guard{conn};

  if (auto r = step("create table if not exists public.substrate_migrations ("
                    " version integer primary key,"
                    " name text not null,"
                    " checksum text not null,"
                    " applied_at timestamptz not null default now())");
      !r) {
    return tl::unexpected(r.error());
  }
  auto recorded = conn.exec("select version, name, checksum from public.substrate_migrations order by version");
  if (!recorded) return tl::unexpected(recorded.error());
  std::map<int, std::pair<std::string, std::string>> applied;
  for (int row = 0; row < recorded->rows(); ++row) {
    applied[std::stoi(recorded->value(row, 0))] = {recorded->value(row, 1), recorded->value(row, 2)};
  }

  std::map<int, const migration*> known;
  for (const auto& m : migrations) known[m.version] = &m;
  for (const auto& [version, entry] : applied) {
    if (!known.contains(version)) {
      return make_error(errc::migration_unknown,
                        fmt::format("migration {} ({}) is recorded in substrate_migrations but is not part of this "
                                    "binary; the database was migrated by a newer substrate",
                                    version, entry.first));
    }
  }

  migration_report report;
  for (const auto& m : migrations) {
    const std::string checksum = sha256_hex(m.sql);
    if (const auto it = applied.find(m.version); it != applied.end()) {
      if (it->second.second != checksum) {
        return make_error(errc::migration_changed,
                          fmt::format("migration {} was changed after it was applied (recorded checksum {}, file {}); "
                                      "restore the original file and put the change in a new migration",
                                      m.name, it->second.second.substr(0, 12), checksum.substr(0, 12)));
      }
      ++report.already_applied;
      continue;
    }
    if (auto r = step("begin"); !r) return tl::unexpected(r.error());
    auto body = conn.exec(m.sql);
    if (!body) {
      (void)step("rollback");
      return make_error(errc::migration_failed, fmt::format("{}: {}", m.name, body.error().context));
    }
    auto record = conn.exec("insert into public.substrate_migrations (version, name, checksum) values ($1, $2, $3)",
                            {std::to_string(m.version), m.name, checksum});
    if (!record) {
      (void)step("rollback");
      return make_error(errc::migration_failed, fmt::format("{}: {}", m.name, record.error().context));
    }
    if (auto r = step("commit"); !r)
      return make_error(errc::migration_failed, fmt::format("{}: {}", m.name, r.error().context));
    db_log.info("applied migration {}", m.name);
    ++report.applied;
  }
  return report;
}

}  // namespace substrate::db
