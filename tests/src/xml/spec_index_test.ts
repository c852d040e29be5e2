import assert from "node:assert/strict";
import { DEVICES, DOMAIN } from "../../../src/model/domain_schema.ts";
import { childSpec, specIndex } from "../../../src/xml/spec_index.ts";

Deno.test("specIndex builds the lookups of a description once", () => {
  assert.equal(specIndex(DOMAIN), specIndex(DOMAIN));
  assert.equal(specIndex(DOMAIN).children.get("memory")?.kind, "flat");
  assert.equal(specIndex(DOMAIN).ranks.get("name"), 0);
});

Deno.test("specIndex knows which attribute a unit belongs to", () => {
  const disks = DEVICES.children.find((child) => child.xml === "disk")!;
  assert.equal(disks.kind, "object");
  const maxMemory = specIndex(DOMAIN).children.get("maxMemory")!;
  assert.equal(
    specIndex(childSpec(maxMemory as typeof maxMemory & { kind: "object" })).unitOwners.get("unit"),
    "#text",
  );
});

Deno.test("specIndex refuses a description that names a child twice", () => {
  assert.throws(
    () =>
      specIndex({
        attributes: [],
        children: [{ kind: "flag", xml: "a", field: "a" }, { kind: "flag", xml: "a", field: "b" }],
      }),
    /names child <a> twice/,
  );
});

Deno.test("childSpec resolves a nested description once", () => {
  const child = specIndex(DOMAIN).children.get("os") as
    & { kind: "object"; spec: () => never }
    & Parameters<typeof childSpec>[0];
  assert.equal(childSpec(child), childSpec(child));
});
