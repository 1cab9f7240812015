#include "libavro_codec.h"

#include <avro.h>
#include <simdjson.h>

#include <cstdlib>

struct libavro_codec::impl {
  explicit impl(const std::string& schema_json) {
    if (avro_schema_from_json_length(schema_json.data(), schema_json.size(), &schema_) != 0) std::abort();
    iface_ = avro_generic_class_from_schema(schema_);
    avro_generic_value_new(iface_, &value_);
    writer_ = avro_writer_memory(buffer_, sizeof buffer_);
    reader_ = avro_reader_memory(buffer_, 0);
  }
  ~impl() {
    avro_writer_free(writer_);
    avro_reader_free(reader_);
    avro_value_decref(&value_);
    avro_value_iface_decref(iface_);
    avro_schema_decref(schema_);
  }

  bool encode(std::string_view json, std::string& out) {
    simdjson::dom::element root;
    if (parser_.parse(json.data(), json.size()).get(root)) return false;
    avro_value_reset(&value_);
    if (!set(&value_, root)) return false;
    avro_writer_memory_set_dest(writer_, buffer_, sizeof buffer_);
    if (avro_value_write(writer_, &value_) != 0) return false;
    out.append(buffer_, static_cast<std::size_t>(avro_writer_tell(writer_)));
    return true;
  }

  bool decode(const std::string& bytes, std::string& out) {
    avro_reader_memory_set_source(reader_, bytes.data(), static_cast<int64_t>(bytes.size()));
    avro_value_reset(&value_);
    if (avro_value_read(reader_, &value_) != 0) return false;
    char* text = nullptr;
    if (avro_value_to_json(&value_, 1, &text) != 0) return false;
    out.append(text);
    std::free(text);
    return true;
  }

  bool set(avro_value_t* v, simdjson::dom::element el) {
    avro_schema_t s = avro_value_get_schema(v);
    switch (avro_typeof(s)) {
      case AVRO_RECORD: {
        simdjson::dom::object obj;
        if (el.get_object().get(obj)) return false;
        for (auto [key, item] : obj) {
          key_.assign(key);
          avro_value_t field;
          if (avro_value_get_by_name(v, key_.c_str(), &field, nullptr) != 0) continue;
          if (!set(&field, item)) return false;
        }
        return true;
      }
      case AVRO_UNION: {
        // Plain values only (the nullable unions of our schemas).
        for (size_t i = 0; i < avro_schema_union_size(s); ++i) {
          bool is_null = avro_typeof(avro_schema_union_branch(s, static_cast<int>(i))) == AVRO_NULL;
          if (is_null != el.is_null()) continue;
          avro_value_t branch;
          if (avro_value_set_branch(v, static_cast<int>(i), &branch) != 0) return false;
          return set(&branch, el);
        }
        return false;
      }
      case AVRO_NULL:
        return avro_value_set_null(v) == 0;
      case AVRO_STRING: {
        std::string_view str;
        if (el.get_string().get(str)) return false;
        key_.assign(str);
        return avro_value_set_string_len(v, key_.c_str(), key_.size() + 1) == 0;
      }
      case AVRO_ENUM: {
        std::string_view str;
        if (el.get_string().get(str)) return false;
        key_.assign(str);
        int symbol = avro_schema_enum_get_by_name(s, key_.c_str());
        return symbol >= 0 && avro_value_set_enum(v, symbol) == 0;
      }
      case AVRO_INT32: {
        int64_t n;
        return !el.get_int64().get(n) && avro_value_set_int(v, static_cast<int32_t>(n)) == 0;
      }
      case AVRO_INT64: {
        int64_t n;
        return !el.get_int64().get(n) && avro_value_set_long(v, n) == 0;
      }
      default:
        return false;  // not needed for the benchmark's schemas
    }
  }

  avro_schema_t schema_{};
  avro_value_iface_t* iface_{};
  avro_value_t value_{};
  avro_writer_t writer_{};
  avro_reader_t reader_{};
  simdjson::dom::parser parser_;
  std::string key_;
  char buffer_[1 << 16];
};

libavro_codec::libavro_codec(const std::string& schema_json) : impl_(std::make_unique<impl>(schema_json)) {}
libavro_codec::~libavro_codec() = default;
bool libavro_codec::encode(std::string_view json, std::string& out) {
  return impl_->encode(json, out);
}
bool libavro_codec::decode(const std::string& bytes, std::string& out) {
  return impl_->decode(bytes, out);
}
