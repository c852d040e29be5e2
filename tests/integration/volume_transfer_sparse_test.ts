/**
 * Sparse uploads and downloads keep every byte and every hole: files with data at the start,
 * the end and unaligned offsets, all hole, or with no hole, go up to a volume and back down
 * through evirt's CLI (`vol-upload --sparse`, `vol-download --sparse`) and through the real
 * `virsh` speaking libvirt's protocol to evirt's socket (holes as hole messages both ways);
 * each copy equals the source byte for byte and takes no more blocks than it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import {
  allocatedBytes,
  sparseBytes,
  type SparseShape,
  sparseShapes,
  writeSparseFile,
} from "../support/sparse_files.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

/** The copy at `path` holds `shape`'s bytes and no more blocks than `source`. */
async function assertSameSparse(path: string, source: string, shape: SparseShape, what: string) {
  assert.deepEqual(await Deno.readFile(path), sparseBytes(shape), `${what}: bytes`);
  const copy = await allocatedBytes(path);
  const original = await allocatedBytes(source);
  assert.ok(copy <= original, `${what}: ${copy} bytes allocated, the source ${original}`);
  if (shape.data.length === 0) assert.equal(copy, 0, `${what}: all hole`);
}

testIf(
  "sparse uploads and downloads keep bytes and holes through the CLI and through virsh",
  missing("virsh"),
  async (t) => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    const env = { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" };
    const evirt = async (...args: string[]) => {
      const run = await runEvirt(args, env);
      assert.equal(run.code, 0, `evirt ${args.join(" ")}: ${run.stderr}`);
    };
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const virsh = async (...args: string[]) => {
      const run = await runVirsh(uri, args);
      assert.equal(run.code, 0, `virsh ${args.join(" ")}: ${run.stderr}`);
    };
    try {
      await Deno.writeTextFile(
        `${base}/pool.xml`,
        `<pool type='dir'><name>sparse</name><target><path>${base}/pool</path></target></pool>`,
      );
      await evirt("pool-create", `${base}/pool.xml`, "--build");
      for (const [index, shape] of sparseShapes().entries()) {
        const source = `${base}/source-${index}.img`;
        await writeSparseFile(source, shape);
        await t.step(`evirt vol-upload/vol-download --sparse: ${shape.name}`, async () => {
          const volume = `cli-${index}.raw`;
          await evirt("vol-create-as", "sparse", volume, "1");
          await evirt("vol-upload", "--pool", "sparse", volume, source, "--sparse");
          await assertSameSparse(`${base}/pool/${volume}`, source, shape, "uploaded");
          const down = `${base}/cli-down-${index}.img`;
          await evirt("vol-download", "--pool", "sparse", volume, down, "--sparse");
          await assertSameSparse(down, source, shape, "downloaded");
        });
        await t.step(`virsh vol-upload/vol-download --sparse on evirt: ${shape.name}`, async () => {
          const volume = `rpc-${index}.raw`;
          await evirt("vol-create-as", "sparse", volume, "1");
          await virsh("vol-upload", "--pool", "sparse", volume, source, "--sparse");
          await assertSameSparse(`${base}/pool/${volume}`, source, shape, "uploaded by virsh");
          const down = `${base}/rpc-down-${index}.img`;
          await virsh("vol-download", "--pool", "sparse", volume, down, "--sparse");
          await assertSameSparse(down, source, shape, "downloaded by virsh");
          // Without --sparse the same bytes come down, every one written.
          const plain = `${base}/rpc-plain-${index}.img`;
          await virsh("vol-download", "--pool", "sparse", volume, plain);
          assert.deepEqual(await Deno.readFile(plain), sparseBytes(shape), "plain download");
          // A plain upload at an offset writes every byte it is sent, the rest stays.
          await Deno.writeFile(`${base}/patch.bin`, new Uint8Array([1, 2, 3, 4]));
          await virsh(
            "vol-upload",
            "--pool",
            "sparse",
            volume,
            `${base}/patch.bin`,
            "--offset",
            "3",
          );
          const patched = sparseBytes(shape);
          patched.set([1, 2, 3, 4], 3);
          assert.deepEqual(await Deno.readFile(`${base}/pool/${volume}`), patched, "patched");
        });
      }
    } finally {
      await runEvirt(["pool-destroy", "sparse"], env).catch(() => {});
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
