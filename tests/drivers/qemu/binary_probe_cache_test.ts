import assert from "node:assert/strict";
import { BinaryProbeCache } from "../../../drivers/qemu/binary_probe_cache.ts";
import { resolveEmulator } from "../../../drivers/qemu/qemu_capabilities.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";

/** A cache over a temporary directory searched as PATH, counting resolutions and probes. */
function cacheOver(dir: string) {
  const counts = { resolved: 0, probed: 0 };
  const cache = new BinaryProbeCache(
    4,
    (name) => {
      counts.resolved++;
      return resolveEmulator(name, `/nonexistent:${dir}`);
    },
    (path) => {
      counts.probed++;
      return Promise.resolve(`${path} #${counts.probed}`);
    },
  );
  return { cache, counts };
}

function writeExecutable(path: string, text: string): void {
  Deno.writeTextFileSync(path, text);
  Deno.chmodSync(path, 0o755);
}

Deno.test("BinaryProbeCache resolves a name once while its file remains, probes once per stamp", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    writeExecutable(`${dir}/qemu-fake`, "#!/bin/sh\n");
    const { cache, counts } = cacheOver(dir);
    assert.equal(await cache.get("qemu-fake"), `${dir}/qemu-fake #1`);
    assert.equal(await cache.get("qemu-fake"), `${dir}/qemu-fake #1`);
    assert.deepEqual(counts, { resolved: 1, probed: 1 });
    // An upgraded binary (another size) at the remembered path is probed again, unresolved.
    writeExecutable(`${dir}/qemu-fake`, "#!/bin/sh\n# upgraded\n");
    assert.equal(await cache.get("qemu-fake"), `${dir}/qemu-fake #2`);
    assert.deepEqual(counts, { resolved: 1, probed: 2 });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("BinaryProbeCache resolves again when the remembered file is gone or not executable", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    writeExecutable(`${dir}/qemu-fake`, "#!/bin/sh\n");
    const { cache, counts } = cacheOver(dir);
    await cache.get("qemu-fake");
    Deno.chmodSync(`${dir}/qemu-fake`, 0o644);
    await assert.rejects(
      cache.get("qemu-fake"),
      (error: unknown) => isVirtError(error, ErrorCode.SYSTEM_ERROR),
    );
    assert.equal(counts.resolved, 2);
    Deno.removeSync(`${dir}/qemu-fake`);
    await assert.rejects(
      cache.get("qemu-fake"),
      (error: unknown) => isVirtError(error, ErrorCode.SYSTEM_ERROR),
    );
    assert.equal(counts.resolved, 3);
    // Installed again: found and probed again.
    writeExecutable(`${dir}/qemu-fake`, "#!/bin/sh\n# again\n");
    assert.equal(await cache.get("qemu-fake"), `${dir}/qemu-fake #2`);
    assert.deepEqual(counts, { resolved: 4, probed: 2 });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
