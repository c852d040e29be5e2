import assert from "node:assert/strict";
import { ADDRESS, type ElementSpec } from "../../../src/model/domain_schema.ts";
import { encodeElement } from "../../../src/xml/element_encode.ts";

const SPEC: ElementSpec = {
  attributes: [{ xml: "type", field: "type", value: "string" }],
  children: [
    { kind: "flat", xml: "mac", attributes: [{ xml: "address", field: "mac", value: "string" }] },
    { kind: "flag", xml: "readonly", field: "readonly" },
  ],
};

Deno.test("encodeElement writes typed fields in the mapping's order", () => {
  assert.deepStrictEqual(encodeElement(SPEC, { readonly: true, mac: "m", type: "t" }, "x"), {
    name: "x",
    attributes: { type: "t" },
    children: [{ name: "mac", attributes: { address: "m" } }, { name: "readonly" }],
  });
});

Deno.test("encodeElement puts extras back: attributes, leftovers and placed elements", () => {
  const element = encodeElement(SPEC, {
    type: "t",
    mac: "m",
    readonly: true,
    extra: {
      attributes: { z: "1", type: "stale" },
      children: { mac: { attributes: { check: "no" } } },
      elements: [{ element: { name: "first" } }, { after: "mac", element: { name: "middle" } }],
    },
  }, "x");
  assert.deepStrictEqual(element, {
    name: "x",
    attributes: { type: "t", z: "1" },
    children: [
      { name: "first" },
      { name: "mac", attributes: { address: "m", check: "no" } },
      { name: "middle" },
      { name: "readonly" },
    ],
  });
});

Deno.test("encodeElement drops leftovers of a flattened value that was edited away", () => {
  const element = encodeElement(SPEC, {
    extra: { children: { mac: { attributes: { check: "no" } } } },
  }, "x");
  assert.deepStrictEqual(element, { name: "x" });
});

Deno.test("encodeElement writes a PCI address in libvirt's hex form and other addresses as given", () => {
  assert.deepStrictEqual(
    encodeElement(ADDRESS, { type: "pci", domain: 0, bus: 1, slot: 31, function: 7 }, "address")
      .attributes,
    {
      type: "pci",
      domain: "0x0000",
      bus: "0x01",
      slot: "0x1f",
      function: "0x7",
    },
  );
  assert.deepStrictEqual(
    encodeElement(ADDRESS, {
      type: "dimm",
      extra: { attributes: { slot: "0", base: "0x100000000" } },
    }, "address").attributes,
    { type: "dimm", slot: "0", base: "0x100000000" },
  );
});
