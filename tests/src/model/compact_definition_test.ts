import assert from "node:assert/strict";
import {
  compactBytes,
  compactDefinition,
  compactPartsOf,
  DECODED_CACHE_MAX_CHARS,
  definitionFromParts,
  isCompactDefinition,
  isCompactPart,
  plainFromParts,
  withPart,
} from "../../../src/model/compact_definition.ts";
import type { DomainDefinition } from "../../../src/model/domain.ts";
import { testDefinition } from "../../support/domains.ts";

function large(name: string, chars: number): DomainDefinition {
  return { ...testDefinition(name), description: `${name}:`.padEnd(chars, "x") };
}

Deno.test("compactDefinition leaves a small definition as it is", () => {
  const definition = testDefinition("small");
  assert.equal(compactDefinition(definition), definition);
  assert.equal(isCompactDefinition(definition), false);
});

Deno.test("compactDefinition keeps a large part deflated behind a getter, as a plain definition reads", () => {
  const definition = large("big", 4 * 1024 * 1024);
  const kept = compactDefinition(definition);
  assert.ok(isCompactDefinition(kept));
  assert.ok(compactBytes(kept) < 64 * 1024, `${compactBytes(kept)} bytes kept`);
  // The same plain definition gives the same compact one; a compact one stays as it is.
  assert.equal(compactDefinition(definition), kept);
  assert.equal(compactDefinition(kept), kept);
  assert.deepEqual(Object.keys(kept), Object.keys(definition));
  assert.equal(JSON.stringify(kept), JSON.stringify(definition));
  assert.deepEqual({ ...kept }, definition);
  assert.deepEqual(structuredClone(kept), definition);
  assert.equal(kept.description, definition.description);
  assert.equal(kept.name, "big");
  assert.throws(() => {
    (kept as { description?: string }).description = "changed";
  }, /read-only/);
});

Deno.test("compactDefinition keeps large device lists deflated too", () => {
  const definition = testDefinition("many");
  const serials = Array.from({ length: 5000 }, () => ({ type: "null" }));
  const withDevices = {
    ...definition,
    devices: { ...definition.devices, serials },
  } as DomainDefinition;
  const kept = compactDefinition(withDevices);
  assert.ok(isCompactDefinition(kept));
  assert.deepEqual(kept.devices, withDevices.devices);
});

Deno.test("parts read after they left the bounded cache decode again, equal", () => {
  const chars = DECODED_CACHE_MAX_CHARS / 2;
  const definitions = ["a", "b", "c"].map((name) => large(name, chars));
  const kept = definitions.map(compactDefinition);
  // Three parts of half the cache each: reading all three drops the first.
  const first = kept[0].description;
  kept[1].description;
  kept[2].description;
  const again = kept[0].description;
  assert.equal(again, first);
  assert.equal(again, definitions[0].description);
});

Deno.test("a large devices part is split: its small children stay plain, its large lists deflated", () => {
  const definition = testDefinition("split");
  const serials = Array.from({ length: 5000 }, () => ({ type: "null" }));
  const withDevices = {
    ...definition,
    devices: { ...definition.devices, emulator: "/usr/bin/qemu", serials },
  } as DomainDefinition;
  const kept = compactDefinition(withDevices);
  assert.ok(isCompactPart(kept, "devices"));
  const devices = kept.devices as unknown as DomainDefinition;
  assert.ok(isCompactPart(devices, "serials"));
  assert.equal(isCompactPart(devices, "emulator"), false);
  assert.equal(kept.devices.emulator, "/usr/bin/qemu");
  assert.deepEqual(kept, withDevices);
  assert.ok(compactBytes(kept) > 0 && compactBytes(kept) < 10_000, `${compactBytes(kept)}`);
});

Deno.test("a key whose value has no JSON text is left out of the text, as JSON.stringify does", () => {
  const serials = Array.from({ length: 5000 }, () => ({ type: "null" }));
  for (
    const devices of [
      // Small devices, kept plain; large ones, split with the missing member inside.
      { ...testDefinition("gaps").devices, emulator: undefined },
      { ...testDefinition("gaps").devices, emulator: undefined, serials },
    ]
  ) {
    const definition = {
      ...large("gaps", 100_000),
      title: undefined,
      devices,
    } as unknown as DomainDefinition;
    const kept = compactDefinition(definition);
    assert.ok(isCompactDefinition(kept));
    assert.equal(JSON.stringify(kept), JSON.stringify(definition));
  }
});

Deno.test("withPart replaces one part and keeps the others deflated", () => {
  const definition = large("parts", 200_000);
  const kept = compactDefinition(definition);
  const devices = { ...definition.devices, emulator: "/usr/bin/other" };
  const changed = withPart(kept, "devices", devices);
  assert.ok(isCompactPart(changed, "description"));
  assert.deepEqual(Object.keys(changed), Object.keys(definition));
  assert.deepEqual(changed, { ...definition, devices });
  // A large new part is kept as compactDefinition keeps it: split, its large list deflated.
  const serials = Array.from({ length: 5000 }, () => ({ type: "null" }));
  const grown = withPart(kept, "devices", { ...definition.devices, serials } as never);
  assert.ok(isCompactPart(grown, "devices"));
  assert.ok(isCompactPart(grown.devices as unknown as DomainDefinition, "serials"));
  assert.ok(compactBytes(grown) < compactBytes(kept) + 10_000, `${compactBytes(grown)}`);
  assert.deepEqual(grown, { ...definition, devices: { ...definition.devices, serials } });
  // A plain definition gives a plain copy.
  const plain = withPart(testDefinition("plain"), "name", "renamed");
  assert.equal(plain.name, "renamed");
  assert.equal(isCompactDefinition(plain), false);
});

Deno.test("compactPartsOf gives a compact definition's parts as kept; plainFromParts reads them back whole", () => {
  assert.equal(compactPartsOf(testDefinition("plain")), undefined);
  const serials = Array.from({ length: 5000 }, () => ({ type: "null" }));
  const definition = {
    ...large("form", 200_000),
    devices: { ...testDefinition("form").devices, emulator: "/usr/bin/qemu", serials },
  } as DomainDefinition;
  const kept = compactDefinition(definition);
  const form = compactPartsOf(kept)!;
  // Small: the description and the serial list stay deflated.
  const deflatedBytes = (parts: typeof form): number =>
    parts.reduce(
      (sum, [, , deflated, nested]) =>
        sum + (deflated?.bytes.byteLength ?? 0) +
        (nested === undefined ? 0 : deflatedBytes(nested)),
      0,
    );
  assert.ok(deflatedBytes(form) > 0 && deflatedBytes(form) < 20_000, `${deflatedBytes(form)}`);
  const sent = structuredClone(form);
  const plain = plainFromParts(sent);
  assert.equal(isCompactDefinition(plain), false);
  assert.deepEqual(plain, definition);
  assert.deepEqual(definitionFromParts(sent), definition);
});
