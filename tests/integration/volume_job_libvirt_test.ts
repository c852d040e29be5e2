/**
 * A clone's busy errors side by side with libvirtd 9.0: while `virsh vol-clone` copies a volume
 * in each (evirt over its libvirt socket, libvirtd on qemu:///system, each in its own directory),
 * deleting the source and refreshing the pool fail in both with the same lines, evirt's naming
 * the job after libvirt's words.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "../support/virsh.ts";

/** Large enough that both copies still run while the refused calls are compared. */
const SOURCE_BYTES = 1024 * 1024 * 1024;
const POLL_MS = 5;
const WAIT_MS = 20_000;

async function writeSource(path: string): Promise<void> {
  const chunk = new Uint8Array(1024 * 1024).fill(0x6b);
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    for (let written = 0; written < SOURCE_BYTES; written += chunk.length) {
      let rest = chunk;
      while (rest.length > 0) rest = rest.subarray(await file.write(rest));
    }
  } finally {
    file.close();
  }
}

async function appeared(path: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    if ((await Deno.stat(path).catch(() => undefined)) !== undefined) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`${path} did not appear within ${WAIT_MS} ms`);
}

/** evirt's lines without the job it names (libvirt names none). */
function withoutJob(text: string): string {
  return text.replace(/ \(busy with vol-clone since [^)]*\)/g, "");
}

testIf(
  "a clone's source and pool refuse as libvirtd's do while the clone runs",
  missing("virsh", "qemu-img", LIBVIRTD_SOCKET),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const name = `${ORACLE_PREFIX}voljobs14-${crypto.randomUUID().slice(0, 8)}`;
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const evirt = (...args: string[]) => runVirsh(uri, args);
    let oracleDefined = false;
    try {
      for (const side of ["mine", "theirs"]) {
        await Deno.mkdir(`${base}/${side}`);
        await writeSource(`${base}/${side}/src.raw`);
        await Deno.writeTextFile(
          `${base}/${side}.xml`,
          `<pool type='dir'><name>${name}</name><uuid>${crypto.randomUUID()}</uuid>` +
            `<target><path>${base}/${side}</path></target></pool>`,
        );
      }
      const defined = await oracleVirsh(["pool-define", `${base}/theirs.xml`]);
      oracleDefined = defined.code === 0;
      assert.equal(defined.code, 0, defined.stderr);
      assert.equal((await oracleVirsh(["pool-start", name])).code, 0);
      assert.equal((await evirt("pool-define", `${base}/mine.xml`)).code, 0);
      assert.equal((await evirt("pool-start", name)).code, 0);

      const settled = { mine: false, theirs: false };
      const clone = ["vol-clone", "--pool", name, "src.raw", "copy.raw"];
      const cloning = [
        evirt(...clone).finally(() => settled.mine = true),
        oracleVirsh(clone).finally(() => settled.theirs = true),
      ];
      await appeared(`${base}/mine/copy.raw`);
      await appeared(`${base}/theirs/copy.raw`);
      const compare = async (args: string[]) => {
        const [mine, theirs]: VirshRun[] = [await evirt(...args), await oracleVirsh(args)];
        assert.equal(mine.code, theirs.code, `${args[0]}: ${mine.stderr} / ${theirs.stderr}`);
        assert.equal(withoutJob(mine.stderr), theirs.stderr, `${args[0]}: stderr`);
        assert.match(mine.stderr, /busy with vol-clone since/, `${args[0]} names the job`);
        return theirs;
      };
      const deleted = await compare(["vol-delete", "--pool", name, "src.raw"]);
      assert.match(deleted.stderr, /volume 'src\.raw' is still in use\./);
      const refreshed = await compare(["pool-refresh", name]);
      assert.match(refreshed.stderr, /has asynchronous jobs running/);
      assert.deepEqual(settled, { mine: false, theirs: false }, "both clones ran meanwhile");
      const [mine, theirs] = await Promise.all(cloning);
      assert.equal(mine.code, 0, mine.stderr);
      assert.equal(theirs.code, 0, theirs.stderr);
    } finally {
      if (oracleDefined) {
        await oracleVirsh(["vol-delete", "--pool", name, "copy.raw"]);
        await oracleVirsh(["pool-destroy", name]);
        await oracleVirsh(["pool-undefine", name]);
      }
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
