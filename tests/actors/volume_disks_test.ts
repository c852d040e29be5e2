/**
 * Volume disks at start: each `<disk type='volume'>` launches as its volume's file or block
 * device, other disks and definitions without volume disks are left as they are, and a volume
 * is found in use by its pool and name or by its path.
 *
 * @module
 */

import assert from "node:assert/strict";
import { usesVolume, withVolumeDisks } from "../../actors/volume_disks.ts";
import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { emptyDevices } from "../../src/model/domain.ts";
import { ErrorCode, isVirtError, VirtError } from "../../src/model/errors.ts";

function definitionWith(disks: Disk[]): DomainDefinition {
  return {
    type: "kvm",
    name: "d",
    devices: { ...emptyDevices(), disks },
  } as unknown as DomainDefinition;
}

const volumeDisk = (pool: string, volume: string, dev = "vda"): Disk =>
  ({
    type: "volume",
    device: "disk",
    source: { pool, volume, mode: "host", hosts: [] },
    target: { dev },
  }) as unknown as Disk;

Deno.test("withVolumeDisks launches volume disks as their files or block devices", () => {
  const file = { type: "file", source: { file: "/x.img", hosts: [] }, target: { dev: "vdc" } };
  const definition = definitionWith([
    volumeDisk("p", "a.qcow2"),
    volumeDisk("p", "b", "vdb"),
    file as unknown as Disk,
  ]);
  const launched = withVolumeDisks(definition, (pool, volume) => ({
    type: volume === "b" ? "block" : "file",
    path: `/${pool}/${volume}`,
  }));
  const [a, b, c] = launched.devices.disks;
  assert.equal(a.type, "file");
  assert.equal(a.source?.file, "/p/a.qcow2");
  assert.equal(a.source?.pool, undefined);
  assert.equal(a.source?.mode, undefined);
  assert.equal(b.type, "block");
  assert.equal(b.source?.dev, "/p/b");
  assert.equal(c, definition.devices.disks[2]);
  // The definition given is not changed.
  assert.equal(definition.devices.disks[0].type, "volume");
  assert.equal(definition.devices.disks[0].source?.pool, "p");
});

Deno.test("withVolumeDisks leaves a definition without volume disks as it is", () => {
  const definition = definitionWith([]);
  assert.equal(withVolumeDisks(definition, undefined), definition);
});

Deno.test("withVolumeDisks passes the resolver's errors and refuses without storage", () => {
  const definition = definitionWith([volumeDisk("nope", "a")]);
  assert.throws(
    () =>
      withVolumeDisks(definition, () => {
        throw new VirtError(ErrorCode.NO_STORAGE_POOL, "no storage pool with matching name 'nope'");
      }),
    (error) => isVirtError(error, ErrorCode.NO_STORAGE_POOL),
  );
  assert.throws(
    () => withVolumeDisks(definition, undefined),
    (error) => isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED),
  );
});

Deno.test("usesVolume finds a volume by pool and name, or by its path", () => {
  const definition = definitionWith([
    volumeDisk("p", "a"),
    {
      type: "file",
      source: { file: "/p/b", hosts: [] },
      target: { dev: "vdb" },
    } as unknown as Disk,
  ]);
  assert.equal(usesVolume(definition, "p", "a", "/p/a"), true);
  assert.equal(usesVolume(definition, "p", "b", "/p/b"), true);
  assert.equal(usesVolume(definition, "q", "a", "/q/a"), false);
});
