import assert from "node:assert/strict";
import { formatMac, isMulticastMac, parseMac, randomMac } from "../../../src/model/mac_address.ts";

Deno.test("parseMac() takes one or two hex digits per group and refuses anything else", () => {
  assert.deepEqual(parseMac("12:34:56:78:9A:BC"), [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]);
  assert.deepEqual(parseMac("0:16:3e:1:2:3"), [0, 0x16, 0x3e, 1, 2, 3]);
  assert.equal(parseMac("12:34:56:78:9A"), undefined);
  assert.equal(parseMac("12:34:56:78:9A:BCD"), undefined);
  assert.equal(parseMac("12-34-56-78-9A-BC"), undefined);
  assert.equal(parseMac("zz:34:56:78:9A:BC"), undefined);
});

Deno.test("formatMac() writes lower-case two-digit groups", () => {
  assert.equal(formatMac([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]), "12:34:56:78:9a:bc");
});

Deno.test("isMulticastMac() looks at the low bit of the first byte", () => {
  assert.ok(isMulticastMac(parseMac("01:00:5e:00:00:01")!));
  assert.ok(!isMulticastMac(parseMac("52:54:00:00:00:01")!));
});

Deno.test("randomMac() makes unicast addresses in 52:54:00", () => {
  for (let index = 0; index < 20; index++) {
    const mac = randomMac();
    assert.match(mac, /^52:54:00:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/);
    assert.ok(!isMulticastMac(parseMac(mac)!));
  }
});
