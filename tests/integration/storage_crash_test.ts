/**
 * Restart safety of storage pools: the service is SIGKILLed while it zero-fills a new volume,
 * while it clones one (`virsh vol-clone`, qemu-img running) and while it takes an upload; after
 * the restart the log, the pool's directory and what virsh lists agree — the half-written file
 * is gone and no volume is counted that was not completed, a volume being uploaded stays with
 * what was written and the log says the upload did not finish — and a file made behind the
 * service's back while it was down appears after the restart.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";
import { StorageClient } from "../../src/client/storage_client.ts";

/** The volume is large enough that its zero-fill is still running when the kill lands. */
const VOLUME_BYTES = 512 * 1024 * 1024;
const KILL_POLL_MS = 2;
const KILL_WAIT_MS = 20_000;

testIf(
  "a volume create cut by SIGKILL leaves no half volume after the restart",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const poolDir = `${base}/images`;
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const virsh = async (...args: string[]) => {
      const run = await runVirsh(uri, args);
      assert.equal(run.code, 0, `virsh ${args.join(" ")}: ${run.stderr}`);
      return run.stdout;
    };
    let service: ServiceProcess | undefined = await startServiceProcess(dirs);
    try {
      await Deno.writeTextFile(
        `${base}/pool.xml`,
        `<pool type='dir'><name>p</name><target><path>${poolDir}</path></target></pool>`,
      );
      await virsh("pool-define", `${base}/pool.xml`);
      await virsh("pool-start", "p", "--build");
      // Allocation = capacity: the whole file is zero-filled, which takes a while.
      const creating = runVirsh(uri, ["vol-create-as", "p", "big", String(VOLUME_BYTES)]);
      const deadline = Date.now() + KILL_WAIT_MS;
      let killedMidway = false;
      while (Date.now() < deadline) {
        const stat = await Deno.stat(`${poolDir}/big`).catch(() => undefined);
        const allocated = (stat?.blocks ?? 0) * 512;
        if (allocated > 0 && allocated < VOLUME_BYTES) {
          await service.stop("SIGKILL");
          killedMidway = true;
          break;
        }
        if (allocated >= VOLUME_BYTES) break;
        await new Promise((resolve) => setTimeout(resolve, KILL_POLL_MS));
      }
      const created = await creating;
      if (!killedMidway) await service.stop("SIGKILL");
      service = undefined;
      await Deno.writeFile(`${poolDir}/made-while-down.img`, new Uint8Array(4096));

      service = await startServiceProcess(dirs);
      const listed = await virsh("vol-list", "p");
      const names = listed.split("\n").slice(2).map((line) => line.trim().split(/\s+/)[0])
        .filter((name) => name !== "");
      const onDisk = [...Deno.readDirSync(poolDir)].map((entry) => entry.name).sort();
      assert.deepEqual(names, onDisk, "virsh lists exactly what is in the directory");
      assert.ok(names.includes("made-while-down.img"));
      if (killedMidway) {
        assert.notEqual(created.code, 0, "the interrupted create did not report success");
        assert.ok(!names.includes("big"), "no half-written volume");
      } else {
        // The create finished before the kill could land: then it is complete and listed.
        assert.equal((await Deno.stat(`${poolDir}/big`)).blocks! * 512, VOLUME_BYTES);
      }
      console.log(`killed midway: ${killedMidway}`);
    } finally {
      await service?.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

/** The volumes virsh lists in pool `p`. */
async function listed(uri: string): Promise<string[]> {
  const run = await runVirsh(uri, ["vol-list", "p"]);
  assert.equal(run.code, 0, run.stderr);
  return run.stdout.split("\n").slice(2).map((line) => line.trim().split(/\s+/)[0])
    .filter((name) => name !== "");
}

/** A pool `p` on a fresh service, with a source volume of non-zero bytes. */
async function withSourcePool(
  fn: (rig: {
    poolDir: string;
    uri: string;
    service: () => ServiceProcess;
    restart: () => Promise<void>;
  }) => Promise<void>,
): Promise<void> {
  const dirs = await serviceDirs();
  const base = dirs.stateDir.replace(/\/state$/, "");
  const poolDir = `${base}/images`;
  const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
  let service: ServiceProcess | undefined = await startServiceProcess(dirs);
  try {
    await Deno.writeTextFile(
      `${base}/pool.xml`,
      `<pool type='dir'><name>p</name><target><path>${poolDir}</path></target></pool>`,
    );
    for (const args of [["pool-define", `${base}/pool.xml`], ["pool-start", "p", "--build"]]) {
      const run = await runVirsh(uri, args);
      assert.equal(run.code, 0, run.stderr);
    }
    const chunk = new Uint8Array(1024 * 1024).fill(0x5a);
    const file = await Deno.open(`${poolDir}/src.raw`, { write: true, createNew: true });
    for (let written = 0; written < VOLUME_BYTES; written += chunk.length) {
      let rest = chunk;
      while (rest.length > 0) rest = rest.subarray(await file.write(rest));
    }
    file.close();
    assert.equal((await runVirsh(uri, ["pool-refresh", "p"])).code, 0);
    await fn({
      poolDir,
      uri,
      service: () => service!,
      restart: async () => {
        await service?.stop("SIGKILL");
        service = undefined;
        service = await startServiceProcess(dirs);
      },
    });
  } finally {
    await service?.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
}

/** Waits until the volume has a job with bytes done (the job is under way). */
async function jobUnderWay(storage: StorageClient, volume: string): Promise<boolean> {
  const deadline = Date.now() + KILL_WAIT_MS;
  let seen = false;
  while (Date.now() < deadline) {
    const view = await storage.volumeJob("p", volume).catch(() => undefined);
    if (view?.job != null && view.job.bytesDone > 0) return true;
    // No job yet is a job not begun; no job after one was seen is a job that ended.
    if (view?.job != null) seen = true;
    else if (view !== undefined && seen) return false;
    await new Promise((resolve) => setTimeout(resolve, KILL_POLL_MS));
  }
  return false;
}

testIf(
  "a clone cut by SIGKILL is removed at the restart and never listed",
  missing("virsh", "qemu-img"),
  async () => {
    await withSourcePool(async ({ poolDir, uri, service, restart }) => {
      const storage = new StorageClient(service().client);
      const cloning = runVirsh(uri, ["vol-clone", "--pool", "p", "src.raw", "copy.raw"]);
      const midway = await jobUnderWay(storage, "copy.raw");
      await restart();
      const cloned = await cloning;
      const names = await listed(uri);
      const onDisk = [...Deno.readDirSync(poolDir)].map((entry) => entry.name).sort();
      assert.deepEqual(names, onDisk, "virsh lists exactly what is in the directory");
      if (midway) {
        assert.notEqual(cloned.code, 0, "the interrupted clone did not report success");
        assert.deepEqual(names, ["src.raw"], "no half-written copy");
        assert.match(service().log(), /ending the clone of volume 'copy\.raw' cut by a restart/);
      } else {
        // The clone finished before the kill could land: then it is complete and listed.
        assert.deepEqual(names, ["copy.raw", "src.raw"]);
      }
      assert.equal((await runVirsh(uri, ["pool-refresh", "p"])).code, 0);
      assert.deepEqual(await listed(uri), names, "pool-refresh agrees");
      console.log(`killed midway: ${midway}`);
    });
  },
);

testIf(
  "an upload cut by SIGKILL leaves its volume, recorded as not finished",
  missing("virsh"),
  async () => {
    await withSourcePool(async ({ poolDir, uri, service, restart }) => {
      const storage = new StorageClient(service().client);
      // A stream that sends 4 MiB, then waits: the upload is under way when the kill lands.
      const chunk = new Uint8Array(1024 * 1024).fill(0x11);
      let sent = 0;
      let release = () => {};
      const held = new Promise<void>((resolve) => release = resolve);
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          if (sent >= 4) {
            await held;
            controller.close();
            return;
          }
          sent++;
          controller.enqueue(chunk);
        },
      }, { highWaterMark: 0 });
      const uploading = storage.upload("p", "src.raw", stream).catch((error) => error);
      assert.ok(await jobUnderWay(storage, "src.raw"), "the upload was under way");
      await restart();
      release();
      assert.ok((await uploading) instanceof Error, "the cut upload did not report success");
      const names = await listed(uri);
      assert.deepEqual(names, ["src.raw"], "the volume stays");
      const head = (await Deno.readFile(`${poolDir}/src.raw`)).subarray(0, 4);
      assert.deepEqual([...head], [0x11, 0x11, 0x11, 0x11], "with what was written");
      assert.match(service().log(), /ending the upload of volume 'src\.raw' cut by a restart/);
      // The volume is free again: a new upload runs.
      const again = await storage.upload(
        "p",
        "src.raw",
        new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array(4096)), c.close()) }),
        { size: 4096 },
      );
      assert.equal(again.bytes, 4096);
      assert.equal((await runVirsh(uri, ["pool-refresh", "p"])).code, 0);
      assert.deepEqual(await listed(uri), names, "pool-refresh agrees");
    });
  },
);
