import assert from "node:assert/strict";
import { crc32 } from "node:zlib";
import {
  checksumText,
  crc32Combine,
  factChecksum,
  factChecksumOfBody,
  snapshotChecksum,
} from "../../../src/log/fact_checksum.ts";

const FACT = {
  position: 7,
  stream: "domain/web",
  version: 2,
  type: "domain.started",
  schemaVersion: 1,
  timestampMs: 1700000000000,
  bodyJson: '{"reason":"booted","name":"é"}',
};

Deno.test("factChecksum() is CRC-32 of the fields' UTF-8 text, each followed by a line feed", () => {
  // The check value of CRC-32/ISO-HDLC: the function is the standard one.
  assert.equal(crc32("123456789"), 0xcbf43926);
  const text = "7\ndomain/web\n2\ndomain.started\n1\n1700000000000\n" +
    '{"reason":"booted","name":"é"}\n';
  assert.equal(factChecksum(FACT), crc32(new TextEncoder().encode(text)));
});

Deno.test("factChecksum() changes with every field", () => {
  const base = factChecksum(FACT);
  const changed = [
    { position: 8 },
    { stream: "domain/wex" },
    { version: 3 },
    { type: "domain.stopped" },
    { schemaVersion: 2 },
    { timestampMs: 1700000000001 },
    { bodyJson: '{"reason":"booted","name":"e"}' },
  ];
  for (const change of changed) {
    assert.notEqual(factChecksum({ ...FACT, ...change }), base, JSON.stringify(change));
  }
});

Deno.test("snapshotChecksum() covers position, time and state", () => {
  const snapshot = { position: 3, timestampMs: 5, stateJson: "{}" };
  assert.equal(snapshotChecksum(snapshot), crc32("3\n5\n{}\n"));
  assert.notEqual(snapshotChecksum({ ...snapshot, position: 4 }), snapshotChecksum(snapshot));
});

Deno.test("checksumText() prints eight hex digits", () => {
  assert.equal(checksumText(0), "0x00000000");
  assert.equal(checksumText(0xcbf43926), "0xcbf43926");
});

Deno.test("crc32Combine gives the CRC-32 of two texts joined, from each one's CRC and length", () => {
  const encoder = new TextEncoder();
  const texts = ["", "a", "é日本\u{1f600}", "x".repeat(1000), "0123456789".repeat(12_345)];
  for (const first of texts) {
    for (const second of texts) {
      assert.equal(
        crc32Combine(crc32(first), crc32(second), encoder.encode(second).length),
        crc32(first + second),
        `${first.length} + ${second.length}`,
      );
    }
  }
});

Deno.test("factChecksumOfBody equals factChecksum of the same fact", () => {
  const fact = {
    position: 7,
    stream: "domain/x",
    version: 3,
    type: "domain.defined",
    schemaVersion: 2,
    timestampMs: 1234,
  };
  const bodyJson = JSON.stringify({ definition: { name: "vé", list: [1, 2] }, detail: "added" });
  const body = { crc: crc32(bodyJson), bytes: new TextEncoder().encode(bodyJson).length };
  assert.equal(factChecksumOfBody(fact, body), factChecksum({ ...fact, bodyJson }));
});
