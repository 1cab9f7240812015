// Feeds arbitrary bytes through the RecordBatch checks that guard the log: the header parser,
// the read-path validator (CRC), the producer-batch validator Produce runs before anything is
// appended (magic, CRC, counts, sizes, exactly one batch), and the record decoder that
// compaction and ListOffsets use. Invariants checked, each an abort when broken:
// - the validators only narrow: producer-valid => valid => header parses, with equal headers;
// - a producer-valid batch is exactly the input; rewriting its baseOffset keeps it valid with
//   the same CRC (the one in-place change the log makes);
// - an uncompressed valid batch whose records decode re-encodes (batch_builder, with the same
//   header fields) into a valid batch that decodes to the same records.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "log/record_batch.h"
#include "log/records.h"

namespace {

using namespace substrate::log;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "record_batch_fuzz: %s\n", what);
  std::abort();
}

bool same_header(const batch_header& a, const batch_header& b) {
  return a.base_offset == b.base_offset && a.batch_length == b.batch_length && a.magic == b.magic && a.crc == b.crc &&
         a.attributes == b.attributes && a.last_offset_delta == b.last_offset_delta &&
         a.base_timestamp == b.base_timestamp && a.max_timestamp == b.max_timestamp && a.producer_id == b.producer_id &&
         a.producer_epoch == b.producer_epoch && a.base_sequence == b.base_sequence && a.record_count == b.record_count;
}

bool same_records(const std::vector<record_view>& a, const std::vector<record_view>& b, const batch_header& ha,
                  const batch_header& hb) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].key != b[i].key || a[i].value != b[i].value || a[i].offset_delta != b[i].offset_delta ||
        record_timestamp(ha, a[i]) != record_timestamp(hb, b[i]) || a[i].headers.size() != b[i].headers.size()) {
      return false;
    }
    for (std::size_t h = 0; h < a[i].headers.size(); ++h) {
      if (a[i].headers[h].key != b[i].headers[h].key || a[i].headers[h].value != b[i].headers[h].value) return false;
    }
  }
  return true;
}

void check_round_trip(std::span<const std::byte> batch, const batch_header& header) {
  if (header.is_compressed()) return;
  auto records = decode_records(batch);
  if (!records) return;
  if (records->size() != static_cast<std::size_t>(header.record_count)) fail("decoded count differs from the header");
  batch_builder builder;
  builder.base_offset(header.base_offset)
      .partition_leader_epoch(header.partition_leader_epoch)
      .attributes(header.attributes)
      .producer(header.producer_id, header.producer_epoch, header.base_sequence)
      .base_timestamp(header.base_timestamp)
      .max_timestamp(header.max_timestamp)
      .last_offset_delta(header.last_offset_delta);
  for (const auto& r : *records) builder.add(r.key, r.value, record_timestamp(header, r), r.headers, r.offset_delta);
  const auto rebuilt = builder.build();
  auto rebuilt_header = validate_batch(rebuilt);
  if (!rebuilt_header) fail("a re-encoded batch does not validate");
  if (rebuilt_header->last_offset_delta != header.last_offset_delta ||
      rebuilt_header->record_count != header.record_count || rebuilt_header->base_offset != header.base_offset) {
    fail("re-encoding changed the header");
  }
  auto again = decode_records(rebuilt);
  if (!again) fail("a re-encoded batch does not decode");
  if (!same_records(*records, *again, header, *rebuilt_header)) fail("re-encoding changed the records");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::byte> input(reinterpret_cast<const std::byte*>(data),
                                     reinterpret_cast<const std::byte*>(data) + size);
  auto parsed = parse_batch_header(input);
  auto valid = validate_batch(input);
  auto producer = validate_producer_batch(input);
  if (valid && (!parsed || !same_header(*parsed, *valid))) fail("validate_batch accepted what the parser did not");
  if (producer && (!valid || !same_header(*producer, *valid))) fail("a producer batch that is not a valid batch");
  if (valid) {
    if (valid->size_bytes() > input.size()) fail("a valid batch larger than its bytes");
    if (valid->crc != compute_batch_crc(std::span(input).first(valid->size_bytes()))) fail("CRC accepted but wrong");
    check_round_trip(std::span(input).first(valid->size_bytes()), *valid);
  }
  if (producer) {
    if (producer->size_bytes() != input.size()) fail("a producer batch is not exactly its bytes");
    if (producer->record_count <= 0 || producer->last_offset_delta + 1 != producer->record_count) {
      fail("a producer batch with inconsistent counts");
    }
    std::vector<std::byte> stored = input;
    set_base_offset(stored, 4711);
    auto after = validate_producer_batch(stored);
    if (!after || after->base_offset != 4711 || after->crc != producer->crc)
      fail("rewriting baseOffset broke the batch");
  }
  return 0;
}
