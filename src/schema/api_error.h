#pragma once
// A failure as the Confluent REST API reports it: an error code and a sentence. The HTTP status is
// the code's first three digits (40401 -> 404); codes of three digits are the status itself (409).
// The codes this registry answers (kafka-compat.md 7.2 and Confluent's `Errors`):
//   40401 subject not found, 40402 version not found, 40403 schema not found,
//   40404 subject soft-deleted, 40405 subject not soft-deleted before a permanent delete,
//   40406 version soft-deleted, 40407 version not soft-deleted before a permanent delete,
//   40408 no subject-level compatibility configured, 409 incompatible schema,
//   42201 invalid schema, 42202 invalid version, 42203 invalid compatibility level,
//   400 malformed request body, 415 unsupported content type,
//   50001 store error, 50002 store timeout, 50003 not ready (still reading `_schemas`).

#include <string>

namespace substrate::schema {

struct api_error {
  int code = 50001;
  std::string message;

  [[nodiscard]] int http_status() const {
    int status = code;
    while (status >= 1000) status /= 10;
    return status;
  }
};

}  // namespace substrate::schema
