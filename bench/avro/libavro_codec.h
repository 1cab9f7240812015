#pragma once
// Apache Avro C (libavro) doing what our json_encoder/json_decoder do, for the measurement
// behind docs/decisions/0002-avro.md. libavro has no JSON -> Avro path, so JSON is parsed with
// simdjson and copied into a generic value field by field; Avro -> JSON uses
// avro_value_to_json. Built only when libavro-dev is installed (it is not a dependency).
//
// A separate translation unit compiled without src/ on the include path: libavro's <avro.h>
// includes <avro/schema.h>, which would otherwise find ours.
#include <memory>
#include <string>
#include <string_view>

class libavro_codec {
public:
  explicit libavro_codec(const std::string& schema_json);
  ~libavro_codec();
  bool encode(std::string_view json, std::string& out);
  bool decode(const std::string& bytes, std::string& out);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};
