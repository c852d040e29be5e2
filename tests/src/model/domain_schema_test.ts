import assert from "node:assert/strict";
import { type ChildSpec, DOMAIN, type ElementSpec } from "../../../src/model/domain_schema.ts";

function walk(spec: ElementSpec, seen: Set<ElementSpec>, visit: (spec: ElementSpec) => void): void {
  if (seen.has(spec)) return;
  seen.add(spec);
  visit(spec);
  for (const child of spec.children) {
    if (child.kind === "object" || child.kind === "wrapped") walk(child.spec(), seen, visit);
  }
}

Deno.test("DOMAIN names each field and each child element once per element", () => {
  walk(DOMAIN, new Set(), (spec) => {
    const xml = spec.children.map((child) => child.xml);
    assert.equal(new Set(xml).size, xml.length, `children ${xml}`);
    const fields = [
      ...spec.attributes.map((value) => value.field),
      ...(spec.text === undefined ? [] : [spec.text.field]),
      ...spec.children.flatMap((child: ChildSpec) =>
        child.kind === "flat"
          ? [...child.attributes, ...(child.text === undefined ? [] : [child.text])].map((value) =>
            value.field
          )
          : [child.field]
      ),
    ];
    assert.equal(new Set(fields).size, fields.length, `fields ${fields}`);
    assert.ok(!fields.includes("extra"), "extra is reserved");
  });
});

Deno.test("DOMAIN starts with the elements libvirt writes first", () => {
  assert.deepStrictEqual(DOMAIN.children.slice(0, 3).map((child) => child.xml), [
    "name",
    "uuid",
    "genid",
  ]);
  assert.equal(DOMAIN.children.at(-1)?.xml, "devices");
});
