import assert from "node:assert/strict";
import {
  effectivePrefix,
  formatIp,
  inNetwork,
  lastOf,
  netmaskOfPrefix,
  networkOf,
  networksOverlap,
  parseIp,
  prefixOfNetmask,
} from "../../../src/model/ip_address.ts";

function canonical(text: string): string | undefined {
  const address = parseIp(text);
  return address === undefined ? undefined : formatIp(address);
}

Deno.test("parseIp() reads dotted quads and refuses octets over 255", () => {
  assert.deepEqual(parseIp("192.168.122.1"), { family: "ipv4", value: 0xc0a87a01n });
  assert.equal(parseIp("192.168.122.256"), undefined);
  assert.equal(parseIp("1.2.3.4.5"), undefined);
  assert.equal(parseIp("1..2"), undefined);
  assert.equal(parseIp("1.2.3.x"), undefined);
});

Deno.test("parseIp() reads IPv4 as glibc's inet_aton does: short, octal and hex forms", () => {
  assert.equal(canonical("010.0.0.1"), "8.0.0.1");
  assert.equal(canonical("10.1"), "10.0.0.1");
  assert.equal(canonical("192.168.1"), "192.168.0.1");
  assert.equal(canonical("0x7f.1"), "127.0.0.1");
  assert.equal(canonical("3232266753"), "192.168.122.1");
  assert.equal(parseIp("10.0.0.09"), undefined);
  assert.equal(parseIp("10.256.1"), undefined);
  assert.equal(parseIp("10.0.65536"), undefined);
});

Deno.test("parseIp() reads IPv6 with :: and an IPv4 tail, and refuses malformed ones", () => {
  assert.equal(parseIp("::1")?.value, 1n);
  assert.equal(parseIp("::")?.value, 0n);
  assert.equal(parseIp("::ffff:1.2.3.4")?.value, 0xffff01020304n);
  assert.equal(parseIp("1::2::3"), undefined);
  assert.equal(parseIp("1:2:3:4:5:6:7:8:9"), undefined);
  assert.equal(parseIp("12345::"), undefined);
  assert.equal(parseIp("example.com"), undefined);
});

Deno.test("formatIp() writes IPv6 as inet_ntop does", () => {
  assert.equal(canonical("2001:DB8:AC10:FD01:0:0:0:1"), "2001:db8:ac10:fd01::1");
  assert.equal(canonical("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
  assert.equal(canonical("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
  assert.equal(canonical("fd8f:1391:3a82:150::c0a8:9603"), "fd8f:1391:3a82:150::c0a8:9603");
  assert.equal(canonical("::ffff:10.0.0.1"), "::ffff:10.0.0.1");
  assert.equal(canonical("0:0:0:0:0:0:0:1"), "::1");
  assert.equal(canonical("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
  assert.equal(canonical("::10.0.0.1"), "::10.0.0.1");
  assert.equal(canonical("::1:2"), "::0.1.0.2");
});

Deno.test("netmaskOfPrefix() and prefixOfNetmask() are inverse, and a broken mask has none", () => {
  assert.equal(netmaskOfPrefix("ipv4", 24), 0xffffff00n);
  assert.equal(prefixOfNetmask(parseIp("255.255.255.0")!), 24);
  assert.equal(prefixOfNetmask(parseIp("255.0.255.0")!), undefined);
});

Deno.test("effectivePrefix() falls back to the class of an IPv4 address and 64 for IPv6", () => {
  assert.equal(effectivePrefix(parseIp("10.24.10.1")!, undefined, undefined), 8);
  assert.equal(effectivePrefix(parseIp("172.16.0.1")!, undefined, undefined), 16);
  assert.equal(effectivePrefix(parseIp("192.168.1.1")!, undefined, undefined), 24);
  assert.equal(effectivePrefix(parseIp("224.0.0.1")!, undefined, undefined), undefined);
  assert.equal(effectivePrefix(parseIp("2001:db8::1")!, undefined, undefined), 64);
  assert.equal(effectivePrefix(parseIp("10.0.0.1")!, parseIp("255.255.0.0"), undefined), 16);
});

Deno.test("inNetwork(), networkOf() and lastOf() bound a network", () => {
  const gateway = parseIp("192.168.122.1")!;
  assert.equal(formatIp(networkOf(gateway, 24)), "192.168.122.0");
  assert.equal(formatIp(lastOf(gateway, 24)), "192.168.122.255");
  assert.ok(inNetwork(parseIp("192.168.122.200")!, gateway, 24));
  assert.ok(!inNetwork(parseIp("192.168.123.1")!, gateway, 24));
  assert.ok(!inNetwork(parseIp("::1")!, gateway, 24));
});

Deno.test("networksOverlap() finds a network inside another", () => {
  assert.ok(networksOverlap(parseIp("10.0.0.1")!, 8, parseIp("10.1.0.1")!, 16));
  assert.ok(!networksOverlap(parseIp("10.0.0.1")!, 16, parseIp("10.1.0.1")!, 16));
});
