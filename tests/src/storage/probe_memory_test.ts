import assert from "node:assert/strict";
import { PROBE_SETTLED_MS, ProbeMemory } from "../../../src/storage/probe_memory.ts";
import type { EntryStat, ProbedVolume } from "../../../src/storage/volume_probe.ts";
import { scanPoolDirectorySync } from "../../../src/storage/dir_pool.ts";
import { withTempDir } from "../../support/temp_dir.ts";

const NOW_MS = 1_700_000_000_000;

function stat(extra: Partial<EntryStat> = {}): EntryStat {
  return {
    isFile: true,
    isDirectory: false,
    sizeBytes: 10,
    blocks: 8,
    mode: 0o600,
    uid: 0,
    gid: 0,
    identity: "1:2",
    times: "1:1",
    changedMs: NOW_MS - 10 * PROBE_SETTLED_MS,
    ...extra,
  };
}

const PROBED: ProbedVolume = {
  record: {
    name: "a",
    type: "file",
    path: "/p/a",
    format: "raw",
    capacityBytes: 10,
    allocationBytes: 4096,
  },
  mode: 0o600,
  owner: 0,
  group: 0,
};

function remembered(memory: ProbeMemory): void {
  const scan = memory.begin("/p", NOW_MS);
  scan.keep("a", stat(), PROBED);
  memory.end("/p", scan);
}

Deno.test("ProbeMemory gives back the probe of an entry whose stamp is the same", () => {
  const memory = new ProbeMemory();
  remembered(memory);
  assert.equal(memory.begin("/p", NOW_MS).recall("a", stat()), PROBED);
});

Deno.test("ProbeMemory reads again an entry whose size, inode or times changed", () => {
  const memory = new ProbeMemory();
  remembered(memory);
  const scan = memory.begin("/p", NOW_MS);
  assert.equal(scan.recall("a", stat({ sizeBytes: 11 })), undefined);
  assert.equal(scan.recall("a", stat({ identity: "1:3" })), undefined);
  assert.equal(scan.recall("a", stat({ times: "1:2" })), undefined);
});

Deno.test("ProbeMemory reads again an entry changed just before the scan (racily clean)", () => {
  const memory = new ProbeMemory();
  remembered(memory);
  const recent = stat({ changedMs: NOW_MS - PROBE_SETTLED_MS / 2 });
  assert.equal(memory.begin("/p", NOW_MS).recall("a", recent), undefined);
});

Deno.test("ProbeMemory forgets the entries a scan did not see", () => {
  const memory = new ProbeMemory();
  remembered(memory);
  memory.end("/p", memory.begin("/p", NOW_MS));
  assert.equal(memory.begin("/p", NOW_MS).recall("a", stat()), undefined);
});

Deno.test("scanPoolDirectorySync with memory sees a file rewritten as qcow2", async () => {
  await withTempDir("evirt-probe-", async (dir) => {
    const memory = new ProbeMemory();
    await Deno.writeFile(`${dir}/a`, new Uint8Array(512));
    assert.equal(scanPoolDirectorySync(dir, memory)[0].record.format, "raw");
    // A qcow2 header over the raw bytes: same size, new content, new mtime and ctime.
    const header = new Uint8Array(512);
    header.set([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 2]);
    new DataView(header.buffer).setBigUint64(24, 1048576n);
    new DataView(header.buffer).setUint32(20, 16);
    await Deno.writeFile(`${dir}/a`, header);
    const again = scanPoolDirectorySync(dir, memory)[0].record;
    assert.equal(again.format, "qcow2");
    assert.equal(again.capacityBytes, 1048576);
  });
});
