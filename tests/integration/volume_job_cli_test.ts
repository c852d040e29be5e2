/**
 * Volume jobs end to end: while `virsh vol-clone` runs over evirt's libvirt socket, the clone's
 * source refuses a delete at once with libvirt's busy error naming the job, `evirt vol-job`
 * shows the job's bytes, and `evirt vol-job --cancel` stops it: virsh reports the abort and the
 * half-made copy is gone from the directory and the list.
 *
 * @module
 */

import assert from "node:assert/strict";
import { StorageClient } from "../../src/client/storage_client.ts";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

/** Large enough that the clone still runs while two CLI children start and answer. */
const SOURCE_BYTES = 1024 * 1024 * 1024;
const POLL_MS = 5;
const WAIT_MS = 20_000;

testIf(
  "vol-job shows and cancels a running clone; the clone's source is busy meanwhile",
  missing("virsh", "qemu-img"),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const poolDir = `${base}/images`;
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    let service: ServiceProcess | undefined = await startServiceProcess(dirs);
    const evirt = (...args: string[]) =>
      runEvirt(args, { ...service!.env, EVIRT_DEFAULT_URI: "evirt:///system" });
    try {
      await Deno.writeTextFile(
        `${base}/pool.xml`,
        `<pool type='dir'><name>p</name><target><path>${poolDir}</path></target></pool>`,
      );
      for (const args of [["pool-define", `${base}/pool.xml`], ["pool-start", "p", "--build"]]) {
        const run = await runVirsh(uri, args);
        assert.equal(run.code, 0, run.stderr);
      }
      const chunk = new Uint8Array(1024 * 1024).fill(0x3c);
      const file = await Deno.open(`${poolDir}/src.raw`, { write: true, createNew: true });
      for (let written = 0; written < SOURCE_BYTES; written += chunk.length) {
        let rest = chunk;
        while (rest.length > 0) rest = rest.subarray(await file.write(rest));
      }
      file.close();
      assert.equal((await runVirsh(uri, ["pool-refresh", "p"])).code, 0);
      // The CLI is compiled once before the clone, so its runs below start quickly.
      assert.equal((await evirt("vol-job", "--pool", "p", "src.raw")).code, 0);

      const cloning = runVirsh(uri, ["vol-clone", "--pool", "p", "src.raw", "copy.raw"]);
      const storage = new StorageClient(service.client);
      const deadline = Date.now() + WAIT_MS;
      while (Date.now() < deadline) {
        const view = await storage.volumeJob("p", "copy.raw").catch(() => undefined);
        if (view?.job != null && view.job.bytesDone > 0) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      const deleting = await runVirsh(uri, ["vol-delete", "--pool", "p", "src.raw"]);
      assert.notEqual(deleting.code, 0);
      assert.match(deleting.stderr, /volume 'src\.raw' is still in use\..*vol-clone/);
      const shown = await evirt("vol-job", "--pool", "p", "copy.raw");
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /^Job type: +vol-clone$/m);
      assert.match(shown.stdout, /^Bytes total: +1073741824$/m);
      const done = Number(/^Bytes done: +(\d+)$/m.exec(shown.stdout)?.[1]);
      assert.ok(done > 0 && done <= SOURCE_BYTES, shown.stdout);
      const cancelled = await evirt("vol-job", "--pool", "p", "copy.raw", "--cancel");
      assert.equal(cancelled.code, 0, cancelled.stderr);
      assert.equal(cancelled.stdout, "Job vol-clone of vol copy.raw cancelled\n\n");
      const cloned = await cloning;
      assert.notEqual(cloned.code, 0);
      assert.match(cloned.stderr, /operation aborted/);
      assert.deepEqual([...Deno.readDirSync(poolDir)].map((entry) => entry.name), ["src.raw"]);
      const listed = await evirt("vol-list", "p");
      assert.doesNotMatch(listed.stdout, /copy\.raw/);
      // The source is free again.
      assert.equal((await runVirsh(uri, ["vol-delete", "--pool", "p", "src.raw"])).code, 0);
    } finally {
      await service?.stop("SIGTERM");
      service = undefined;
      await removeServiceDirs(dirs);
    }
  },
);
