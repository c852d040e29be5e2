import assert from "node:assert/strict";
import {
  interfaceLink,
  interfaceMac,
  interfaceTarget,
  looksLikeMac,
  sameMac,
  withLinkState,
} from "../../../src/cli/interface_lookup.ts";
import type { XmlElement } from "../../../src/model/xml_extra.ts";

const nic: XmlElement = {
  name: "interface",
  attributes: { type: "user" },
  children: [
    { name: "mac", attributes: { address: "52:54:00:AA:00:01" } },
    { name: "target", attributes: { dev: "vnet3" } },
  ],
};

Deno.test("interface_lookup reads an interface element's MAC, target and link", () => {
  assert.equal(interfaceMac(nic), "52:54:00:AA:00:01");
  assert.equal(interfaceTarget(nic), "vnet3");
  assert.equal(interfaceLink(nic), undefined);
});

Deno.test("withLinkState adds a link after the last child, or changes the one there", () => {
  const down = withLinkState(nic, "down");
  assert.deepEqual(down.children?.at(-1), { name: "link", attributes: { state: "down" } });
  assert.equal(nic.children?.length, 2, "the input is untouched");
  const up = withLinkState(down, "up");
  assert.equal(up.children?.length, 3);
  assert.equal(interfaceLink(up), "up");
});

Deno.test("sameMac ignores case; looksLikeMac takes six hex pairs only", () => {
  assert.ok(sameMac("52:54:00:AA:00:01", "52:54:00:aa:00:01"));
  assert.ok(!sameMac(undefined, "52:54:00:aa:00:01"));
  assert.ok(looksLikeMac("52:54:00:aa:00:01"));
  assert.ok(!looksLikeMac("vnet3"));
  assert.ok(!looksLikeMac("52:54:00:aa:00"));
});
