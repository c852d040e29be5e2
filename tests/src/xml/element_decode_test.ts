import assert from "node:assert/strict";
import { type ElementSpec } from "../../../src/model/domain_schema.ts";
import { decodeElement } from "../../../src/xml/element_decode.ts";
import { readXml } from "../../../src/xml/xml_reader.ts";
import type { XmlExtra } from "../../../src/model/xml_extra.ts";

const SPEC: ElementSpec = {
  attributes: [{ xml: "type", field: "type", value: "string", required: true }],
  children: [
    { kind: "flat", xml: "mac", attributes: [{ xml: "address", field: "mac", value: "string" }] },
    { kind: "list", xml: "boot", field: "boot", attribute: "dev", value: "string" },
    { kind: "flag", xml: "readonly", field: "readonly" },
    {
      kind: "object",
      xml: "item",
      field: "items",
      many: true,
      spec: () => ({ attributes: [{ xml: "n", field: "n", value: "uint" }], children: [] }),
    },
  ],
};

const decode = (text: string) =>
  decodeElement(SPEC, readXml(text), "/x") as Record<string, unknown> & { extra?: XmlExtra };

Deno.test("decodeElement maps attributes and children to typed fields and always gives arrays", () => {
  assert.deepStrictEqual(decode("<x type='t'><mac address='m'/><readonly/><item n='1'/></x>"), {
    type: "t",
    mac: "m",
    readonly: true,
    items: [{ n: 1 }],
    boot: [],
  });
});

Deno.test("decodeElement keeps unknown attributes and elements with the sibling they followed", () => {
  const model = decode("<x type='t' z='1'><new/><mac address='m'/><other a='b'>t</other></x>");
  assert.deepStrictEqual(model.extra, {
    attributes: { z: "1" },
    elements: [{ element: { name: "new" } }, {
      after: "mac",
      element: { name: "other", attributes: { a: "b" }, children: ["t"] },
    }],
  });
});

Deno.test("decodeElement keeps what a flattened child had beyond its value", () => {
  const model = decode(
    "<x type='t'><mac address='m' check='no'><note/></mac><boot dev='hd'/><boot dev='cd' x='1'/></x>",
  );
  assert.deepStrictEqual(model.extra, {
    children: {
      mac: { attributes: { check: "no" }, elements: [{ element: { name: "note" } }] },
      "boot[2]": { attributes: { x: "1" } },
    },
  });
});

Deno.test("decodeElement keeps verbatim a repeated single element and a flattened one without value", () => {
  const model = decode("<x type='t'><readonly/><readonly/><mac/></x>");
  assert.equal(model.mac, undefined);
  assert.deepStrictEqual(model.extra?.elements, [
    { after: "readonly", element: { name: "readonly" } },
    { after: "readonly[2]", element: { name: "mac" } },
  ]);
});

Deno.test("decodeElement anchors kept elements as the formatter will reorder their typed siblings", () => {
  // <item> comes after <mac> in the mapping's order, so the formatter moves it there.
  const model = decode("<x type='t'><item n='1'/><keep/><mac address='m'/></x>");
  assert.deepStrictEqual(model.extra?.elements, [{ after: "item", element: { name: "keep" } }]);
});

Deno.test("decodeElement refuses a missing required attribute with the element path", () => {
  assert.throws(
    () => decode("<x/>"),
    (error: Error & { code: number; where: string }) =>
      error.code === 27 && error.where === "/x" &&
      error.message === "missing required attribute 'type' in element 'x'",
  );
});
