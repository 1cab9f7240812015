// The avsc side of bench/avro/run: the same records and the same two directions as avro_bench
// (JSON text -> Avro bytes, Avro bytes -> JSON text), in the same process shape.
//
//   node bench/avro/avsc_bench.mjs SCHEMA RECORDS SECONDS
//
// Prints "avsc encode <ops/s>" and "avsc decode <ops/s>". Encoding is JSON.parse + toBuffer,
// decoding fromBuffer + JSON.stringify: what a Node service does with a request body and a
// consumed record. avsc comes from tests/contract/node_modules (installed by install-deps).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tests/contract/package.json'));
const avro = require('avsc');

const [schemaFile, recordsFile, secondsText] = process.argv.slice(2);
if (!secondsText) {
  console.error('usage: avsc_bench.mjs SCHEMA RECORDS SECONDS');
  process.exit(1);
}
const type = avro.Type.forSchema(JSON.parse(fs.readFileSync(schemaFile, 'utf8')));
const records = JSON.parse(fs.readFileSync(recordsFile, 'utf8')).map((r) => JSON.stringify(r));
const encoded = records.map((r) => type.toBuffer(JSON.parse(r)));
const seconds = Number(secondsText);

// Same shape as avro_bench's measure(): a warm-up (which also lets V8 optimise), then batches of
// 256 between clock reads.
function measure(op) {
  for (let i = 0; i < 10000; ++i) op(i);
  let count = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 256; ++i) op(count + i);
    count += 256;
    now = process.hrtime.bigint();
  }
  return count / (Number(now - start) / 1e9);
}

let sink = 0;
const encodeRate = measure((i) => {
  sink += type.toBuffer(JSON.parse(records[i % records.length])).length;
});
const decodeRate = measure((i) => {
  sink += JSON.stringify(type.fromBuffer(encoded[i % encoded.length])).length;
});
console.log(`avsc encode ${encodeRate.toFixed(0)}`);
console.log(`avsc decode ${decodeRate.toFixed(0)}`);
if (sink === 0) console.log('(nothing encoded)');
