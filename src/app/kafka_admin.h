#pragma once
// `substrate kafka user|acl ...`: edit the built-in broker's users and ACLs in a data dir
// (kafka/security; docs/formats/kafka-security.md). They work whether or not a broker runs on
// the data dir: the files are replaced atomically and a running broker picks the change up
// (users at the next login, ACLs within a second).
//
// Each function prints for people (stdout: results; stderr: errors) and returns the exit
// status: 0 done, 1 failed (the message says why).

#include <cstdint>
#include <string>
#include <vector>

namespace substrate::app {

int kafka_user_add(const std::string& data_dir, const std::string& name, bool password_stdin, std::int32_t iterations);
int kafka_user_list(const std::string& data_dir);
int kafka_user_delete(const std::string& data_dir, const std::string& name);

// One ACL (add) or a filter (list, delete): empty fields match anything in list/delete.
struct acl_options {
  std::string principal;                // User:<name> or User:*; --user NAME is User:NAME
  std::string topic;                    // --topic NAME
  std::string group;                    // --group NAME
  bool cluster = false;                 // --cluster
  bool prefixed = false;                // --prefixed: the name is a prefix
  std::vector<std::string> operations;  // read, write, create, delete, describe, all, ...
  bool deny = false;                    // --deny: a DENY entry (add) / only DENY entries (delete)
};
int kafka_acl_add(const std::string& data_dir, const acl_options& options);
int kafka_acl_list(const std::string& data_dir, const acl_options& filter);
int kafka_acl_delete(const std::string& data_dir, const acl_options& filter);

}  // namespace substrate::app
