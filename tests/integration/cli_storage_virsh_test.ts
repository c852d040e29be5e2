/**
 * evirt's own CLI (`evirt pool-*`, `vol-*` over evirt's HTTP API) prints what `virsh` prints for
 * the running libvirtd 9.0 on the same pool XML and the same directory: infos, lists, paths,
 * keys, XML, the success messages of every change, and the failure lines of refused commands;
 * uploads and downloads move the same bytes (and virsh downloads over evirt's libvirt socket).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliRun, runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

/** Sizes that move while other programs write to the same file system are masked. */
function maskSizes(text: string): string {
  return text.replace(/\d+(\.\d+)? (B|KiB|MiB|GiB|TiB|PiB)\b/g, "<size>")
    .replace(/<(capacity|allocation|available) unit='bytes'>\d+</g, "<$1 unit='bytes'><size><")
    .replace(/<timestamps>[\s\S]*?<\/timestamps>/g, "<timestamps/>");
}

function assertSame(mine: CliRun, theirs: CliRun, what: string, mask = false): void {
  const clean = (text: string) => mask ? maskSizes(text) : text;
  assert.equal(mine.code, theirs.code, `${what}: exit codes (${mine.stderr} / ${theirs.stderr})`);
  assert.equal(clean(mine.stdout), clean(theirs.stdout), `${what}: stdout`);
  assert.equal(mine.stderr, theirs.stderr, `${what}: stderr`);
}

testIf(
  "evirt's pool and vol verbs print what virsh prints for libvirtd on the same pool",
  missing("virsh", "qemu-img", LIBVIRTD_SOCKET),
  async (t) => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const mineDir = `${base}/evirt1`;
    const theirDir = `${base}/virsh1`;
    const name = `${ORACLE_PREFIX}storcli14-${crypto.randomUUID().slice(0, 8)}`;
    const uuid = crypto.randomUUID();
    const service = await startServiceProcess(dirs);
    const evirt = (args: string[]) =>
      runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
    // Each side has its own directory of the same name length (the same XML but for its path):
    // the paths printed are mapped from one to the other before comparing.
    const both = async (...args: string[]): Promise<[CliRun, CliRun]> => {
      const mine = await evirt(args.map((arg) => arg.replaceAll(theirDir, mineDir)));
      const theirs = await oracleVirsh(args);
      const map = (run: CliRun) => ({
        ...run,
        stdout: run.stdout.replaceAll(mineDir, theirDir),
        stderr: run.stderr.replaceAll(mineDir, theirDir),
      });
      return [map(mine), theirs];
    };
    const same = async (args: string[], mask = false) =>
      assertSame(...await both(...args), args.join(" "), mask);
    let oracleDefined = false;
    try {
      await Deno.chmod(base, 0o755);
      for (const dir of [mineDir, theirDir]) {
        await Deno.mkdir(dir, { mode: 0o755 });
        await Deno.chmod(dir, 0o755);
        const raw = await Deno.open(`${dir}/a.raw`, { write: true, create: true, mode: 0o644 });
        await raw.truncate(1 << 20);
        raw.close();
      }
      const xmlFor = (dir: string) =>
        `<pool type='dir'><name>${name}</name><uuid>${uuid}</uuid>` +
        `<target><path>${dir}</path><permissions><mode>0755</mode></permissions></target></pool>`;
      const xmlPath = `${base}/pool.xml`;
      await Deno.writeTextFile(xmlPath, xmlFor(theirDir));
      await Deno.writeTextFile(`${base}/pool-mine.xml`, xmlFor(mineDir));

      await t.step("define, build, start, autostart print the same", async () => {
        const mine = await evirt(["pool-define", `${base}/pool-mine.xml`]);
        const theirs = await oracleVirsh(["pool-define", xmlPath]);
        oracleDefined = theirs.code === 0;
        assert.equal(theirs.code, 0, theirs.stderr);
        assert.equal(mine.stdout, `Pool ${name} defined from ${base}/pool-mine.xml\n\n`);
        assertSame(
          { ...mine, stdout: mine.stdout.replace("pool-mine.xml", "pool.xml") },
          theirs,
          "pool-define",
        );
        for (const verb of ["pool-build", "pool-start", "pool-autostart"]) await same([verb, name]);
        await same(["pool-autostart", "--disable", name]);
        await same(["pool-autostart", uuid]);
        await same(["pool-autostart", "--disable", name]);
      });

      await t.step("infos, lists and XML print the same", async () => {
        await same(["pool-info", name], true);
        await same(["pool-info", uuid], true);
        await same(["vol-list", name]);
        await same(["vol-list", "--details", name], true);
        await same(["pool-dumpxml", "--inactive", name], true);
        await same(["pool-dumpxml", name], true);
        const line = (text: string) => text.split("\n").find((each) => each.includes(name)) ?? "";
        const [mine, theirs] = await both("pool-list", "--all", "--details");
        // The table's column widths follow every pool listed, and libvirtd may hold pools of its
        // own: the pool's row is compared field by field.
        const fields = (text: string) => maskSizes(line(text)).trim().split(/\s+/);
        assert.deepEqual(fields(mine.stdout), fields(theirs.stdout));
        const [names] = await both("pool-list", "--name");
        assert.ok(names.stdout.split("\n").some((each) => each.trim() === name), names.stdout);
      });

      await t.step("volume verbs print the same", async () => {
        await same(["vol-create-as", name, "b.qcow2", "10M", "--format", "qcow2"]);
        await same(["vol-create-as", name, "c.qcow2", "1G", "--format", "qcow2", "--print-xml"]);
        await same([
          "vol-create-as",
          name,
          "d.qcow2",
          "2M",
          "--format",
          "qcow2",
          "--backing-vol",
          "a.raw",
          "--backing-vol-format",
          "raw",
        ]);
        await same(["vol-clone", "--pool", name, "a.raw", "e.raw"]);
        await same(["vol-resize", "--pool", name, "e.raw", "2M"]);
        await same(["vol-resize", "--pool", name, "e.raw", "+1M", "--delta"]);
        await same(["vol-resize", "--pool", name, "e.raw", "1M"]);
        await same(["vol-wipe", "--pool", name, "e.raw"]);
        // libvirtd shows a created volume's qcow2 details only once a refresh has probed it.
        await same(["pool-refresh", name]);
        for (const volume of ["a.raw", "b.qcow2", "d.qcow2", "e.raw"]) {
          for (const verb of ["vol-info", "vol-path", "vol-key", "vol-dumpxml"]) {
            await same([verb, "--pool", name, volume], verb === "vol-dumpxml");
          }
          await same(["vol-info", "--bytes", "--physical", "--pool", name, volume]);
          const path = `${theirDir}/${volume}`;
          for (const verb of ["vol-info", "vol-name", "vol-pool", "vol-key"]) {
            await same([verb, path]);
          }
          await same(["vol-pool", "--uuid", path]);
        }
        await same(["vol-list", "--details", name], true);
        await same(["vol-delete", "--pool", name, "e.raw"]);
        await same(["vol-delete", `${theirDir}/d.qcow2`]);
        await same(["vol-list", name]);
      });

      await t.step("vol-upload and vol-download move the same bytes", async () => {
        const source = `${base}/upload.img`;
        const bytes = new Uint8Array(1 << 20);
        bytes.fill(7, 0, 65536);
        bytes.fill(3, bytes.length - 4096);
        await Deno.writeFile(source, bytes);
        await same(["vol-upload", "--pool", name, "a.raw", source]);
        await same([
          "vol-upload",
          "--pool",
          name,
          "a.raw",
          source,
          "--offset",
          "4096",
          "--length",
          "512",
        ]);
        const expected = bytes.slice();
        expected.set(bytes.subarray(0, 512), 4096);
        for (const sparse of [[], ["--sparse"]]) {
          // Each side downloads to its own file (the path maps as the pool's does).
          const target = `${theirDir}-down-${sparse.length}.img`;
          const [mine, theirs] = await both(
            "vol-download",
            "--pool",
            name,
            "a.raw",
            target,
            ...sparse,
          );
          assertSame(mine, theirs, `vol-download ${sparse.join(" ")}`);
          assert.deepEqual(await Deno.readFile(target), expected, "libvirtd's download");
          const own = target.replace(theirDir, mineDir);
          assert.deepEqual(await Deno.readFile(own), expected, "evirt's download");
          if (sparse.length > 0) {
            const holes = await Deno.stat(own);
            assert.ok(holes.blocks! * 512 < bytes.length, `sparse: ${holes.blocks! * 512} bytes`);
          }
        }
        // virsh over evirt's libvirt socket downloads the same bytes (virStorageVolDownload).
        const overRpc = await runVirsh(socketUri(`${dirs.runtimeDir}/libvirt-sock`), [
          "vol-download",
          "--pool",
          name,
          "a.raw",
          `${base}/rpc-down.img`,
        ]);
        assert.equal(overRpc.code, 0, overRpc.stderr);
        assert.deepEqual(await Deno.readFile(`${base}/rpc-down.img`), expected);
        await same(["vol-download", "--pool", name, "a.raw", `${base}/no/such/dir`]);
        await same(["vol-upload", "--pool", name, "a.raw", `${base}/no-such-file`]);
      });

      await t.step("refused commands fail with virsh's lines", async () => {
        for (
          const args of [
            ["pool-info", "nope"],
            ["pool-start", name],
            ["pool-undefine", name],
            ["pool-start", "nope"],
            ["vol-info", "nope"],
            ["vol-info", "--pool", name, "nope"],
            ["vol-info", "--pool", "nope", "a.raw"],
            ["vol-name", "nope"],
            ["vol-pool", "nope"],
            ["vol-path", "--pool", name, "nope"],
            ["vol-delete", "--pool", name, "nope"],
            ["vol-create-as", name, "x.raw", "1Q"],
            ["vol-create-as", name, "x.raw", "-1"],
            ["vol-create-as", name, "a.raw", "1M"],
            ["vol-create-as", name, "x/y", "1M"],
            ["vol-resize", "--pool", name, "a.raw", "512K"],
            ["vol-resize", "--pool", name, "a.raw", "1x"],
            ["vol-wipe", "--pool", name, "a.raw", "--algorithm", "foo"],
            ["pool-list", "--details", "--uuid"],
          ]
        ) {
          await same(args);
        }
      });

      await t.step("destroy, delete and undefine print the same", async () => {
        await same(["vol-delete", "--pool", name, "a.raw"]);
        await same(["vol-delete", "--pool", name, "b.qcow2"]);
        await same(["pool-refresh", name]);
        await same(["pool-destroy", name]);
        await same(["pool-info", name]);
        await same(["vol-list", name]);
        await same(["pool-delete", name]);
        await same(["pool-undefine", name]);
        oracleDefined = false;
        await same(["pool-info", name]);
      });
    } finally {
      if (oracleDefined) {
        await oracleVirsh(["pool-destroy", name]);
        await oracleVirsh(["pool-undefine", name]);
      }
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
