/**
 * The real `virsh` drives evirt's storage pools over libvirt's protocol, side by side with the
 * running libvirtd 9.0 on the same pool XML and the same directory: `pool-list --all
 * --details`, `pool-info`, `vol-list --details`, `vol-info`, `vol-path`, `vol-key`, `vol-name`,
 * `vol-pool` print the same; volumes made by one are seen the same way by the other; refused
 * commands fail with the same message.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "../support/virsh.ts";

/** Sizes that move while other programs write to the same file system are masked. */
function maskSizes(text: string): string {
  return text.replace(/\d+(\.\d+)? (B|KiB|MiB|GiB|TiB|PiB)\b/g, "<size>");
}

function assertSame(left: VirshRun, right: VirshRun, what: string, mask = false): void {
  const clean = (text: string) => mask ? maskSizes(text) : text;
  assert.equal(left.code, right.code, `${what}: exit codes (${left.stderr} / ${right.stderr})`);
  assert.equal(clean(left.stdout), clean(right.stdout), `${what}: stdout`);
  assert.equal(left.stderr, right.stderr, `${what}: stderr`);
}

testIf(
  "virsh sees evirt's dir pool as it sees libvirtd's on the same XML and directory",
  missing("virsh", "qemu-img", LIBVIRTD_SOCKET),
  async (t) => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const poolDir = `${base}/images`;
    const name = `${ORACLE_PREFIX}storage14-${crypto.randomUUID().slice(0, 8)}`;
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const evirt = (...args: string[]) => runVirsh(uri, args);
    const both = async (...args: string[]) => [await evirt(...args), await oracleVirsh(args)];
    let oracleDefined = false;
    try {
      await Deno.mkdir(`${poolDir}/sub`, { recursive: true });
      await Deno.writeFile(`${poolDir}/.hidden`, new TextEncoder().encode("hi\n"));
      const raw = await Deno.open(`${poolDir}/a.raw`, { write: true, create: true });
      await raw.truncate(1 << 20);
      raw.close();
      const made = await new Deno.Command("qemu-img", {
        args: [
          "create",
          "-q",
          "-f",
          "qcow2",
          "-b",
          `${poolDir}/a.raw`,
          "-F",
          "raw",
          `${poolDir}/b.qcow2`,
          "2M",
        ],
      }).output();
      assert.equal(made.code, 0);
      const old = await new Deno.Command("qemu-img", {
        args: ["create", "-q", "-f", "qcow2", "-o", "compat=0.10", `${poolDir}/c2.qcow2`, "3M"],
      }).output();
      assert.equal(old.code, 0);
      const xmlPath = `${base}/pool.xml`;
      await Deno.writeTextFile(
        xmlPath,
        `<pool type='dir'><name>${name}</name><uuid>${crypto.randomUUID()}</uuid>` +
          `<target><path>${poolDir}</path></target></pool>`,
      );

      await t.step("define and start", async () => {
        const [mine, theirs] = await both("pool-define", xmlPath);
        oracleDefined = theirs.code === 0;
        assertSame(mine, theirs, "pool-define");
        assertSame(...await both("pool-start", name) as [VirshRun, VirshRun], "pool-start");
      });

      await t.step("lists and infos print the same", async () => {
        const [mine] = await both("pool-list", "--all", "--details");
        const theirs = await oracleVirsh(["pool-list", "--all", "--details", "--type", "dir"]);
        const line = (text: string) => text.split("\n").find((each) => each.includes(name)) ?? "";
        // Column widths follow the widest entry, and libvirtd lists other pools too.
        const words = (text: string) => text.split("\n")[0].trim().split(/\s+/);
        assert.deepEqual(words(mine.stdout), words(theirs.stdout), "header");
        const cells = (text: string) => maskSizes(line(text)).trim().split(/\s{2,}/);
        assert.deepEqual(cells(mine.stdout), cells(theirs.stdout));
        assertSame(...await both("pool-info", name) as [VirshRun, VirshRun], "pool-info", true);
        assertSame(
          ...await both("vol-list", "--details", name) as [VirshRun, VirshRun],
          "vol-list",
        );
        assertSame(...await both("vol-list", name) as [VirshRun, VirshRun], "vol-list plain");
        for (const volume of ["a.raw", "b.qcow2", "c2.qcow2", "sub", ".hidden"]) {
          for (const verb of ["vol-info", "vol-path", "vol-key", "vol-dumpxml"]) {
            const [left, right] = await both(verb, "--pool", name, volume);
            assertSame(left, right, `${verb} ${volume}`);
          }
        }
        const path = `${poolDir}/b.qcow2`;
        assertSame(...await both("vol-name", path) as [VirshRun, VirshRun], "vol-name");
        assertSame(...await both("vol-pool", path) as [VirshRun, VirshRun], "vol-pool");
      });

      await t.step("a volume evirt makes is seen by libvirtd as evirt sees it", async () => {
        const created = await evirt("vol-create-as", name, "c.qcow2", "10M", "--format", "qcow2");
        assert.equal(created.code, 0, created.stderr);
        assert.equal(created.stdout, "Vol c.qcow2 created\n\n");
        await oracleVirsh(["pool-refresh", name]);
        const [left, right] = await both("vol-info", "--pool", name, "c.qcow2");
        assertSame(left, right, "vol-info c.qcow2");
        const [mineXml, theirXml] = await both("vol-dumpxml", "--pool", name, "c.qcow2");
        assertSame(mineXml, theirXml, "vol-dumpxml c.qcow2");
        assert.equal((await evirt("vol-resize", "--pool", name, "c.qcow2", "20M")).code, 0);
        await oracleVirsh(["pool-refresh", name]);
        assertSame(
          ...await both("vol-info", "--pool", name, "c.qcow2") as [VirshRun, VirshRun],
          "after resize",
        );
        const cloned = await evirt("vol-clone", "--pool", name, "a.raw", "a-copy.raw");
        assert.equal(cloned.code, 0, cloned.stderr);
        assert.equal(cloned.stdout, "Vol a-copy.raw cloned from a.raw\n\n");
        await oracleVirsh(["pool-refresh", name]);
        assertSame(
          ...await both("vol-info", "--pool", name, "a-copy.raw") as [VirshRun, VirshRun],
          "vol-info of a clone",
        );
        // qemu-img writes the first block (it probes alignment there); the rest stays a hole.
        const copied = await Deno.stat(`${poolDir}/a-copy.raw`);
        assert.ok(copied.blocks! * 512 <= 4096, `holes kept: ${copied.blocks! * 512} bytes`);
        assert.equal((await evirt("vol-delete", "--pool", name, "a-copy.raw")).code, 0);
        const deleted = await evirt("vol-delete", "--pool", name, "c.qcow2");
        assert.equal(deleted.stdout, "Vol c.qcow2 deleted\n\n");
        await oracleVirsh(["pool-refresh", name]);
        assertSame(...await both("vol-list", name) as [VirshRun, VirshRun], "after delete");
      });

      await t.step("the read-only socket lists but refuses every change (code 29)", async () => {
        const readOnly = socketUri(`${dirs.runtimeDir}/libvirt-sock-ro`);
        const listed = await runVirsh(readOnly, ["vol-list", name]);
        assert.equal(listed.code, 0, listed.stderr);
        for (
          const [args, api] of [
            [["pool-destroy", name], "virStoragePoolDestroy"],
            [["vol-create-as", name, "ro", "1M"], "virStorageVolCreateXML"],
            [["vol-delete", "--pool", name, "a.raw"], "virStorageVolDelete"],
          ] as const
        ) {
          const refused = await runVirsh(readOnly, [...args]);
          assert.notEqual(refused.code, 0);
          assert.match(
            refused.stderr,
            new RegExp(`operation forbidden: read only access prevents ${api}`),
          );
        }
      });

      await t.step("refused commands fail with libvirt's messages", async () => {
        for (
          const args of [
            ["pool-start", name],
            ["pool-undefine", name],
            ["pool-delete", name],
            ["pool-build", name],
            ["vol-create-as", name, "x/y", "1M"],
            ["vol-create-as", name, "a.raw", "1M"],
            ["vol-create-as", name, "bad", "1M", "--format", "nonsense"],
            ["vol-resize", "--pool", name, "a.raw", "512K"],
            ["vol-info", "--pool", name, "missing"],
          ]
        ) {
          assertSame(...await both(...args) as [VirshRun, VirshRun], args.join(" "));
        }
      });

      await t.step("destroy, then inactive refusals", async () => {
        assertSame(...await both("pool-destroy", name) as [VirshRun, VirshRun], "pool-destroy");
        for (const args of [["pool-destroy", name], ["vol-list", name], ["pool-refresh", name]]) {
          assertSame(...await both(...args) as [VirshRun, VirshRun], args.join(" "));
        }
        const [mine] = await both("pool-list", "--all");
        assert.match(mine.stdout, new RegExp(`${name}\\s+inactive\\s+no`));
      });

      await t.step("autostart, transient pools", async () => {
        assertSame(...await both("pool-autostart", name) as [VirshRun, VirshRun], "pool-autostart");
        const listed = await evirt("pool-list", "--all", "--autostart", "--name");
        assert.equal(listed.stdout, `${name}\n\n`);
        const transientXml = `${base}/transient.xml`;
        const transient = `${name}-t`;
        await Deno.mkdir(`${base}/transient`);
        await Deno.writeTextFile(
          transientXml,
          `<pool type='dir'><name>${transient}</name><target><path>${base}/transient</path>` +
            `</target></pool>`,
        );
        const created = await evirt("pool-create", transientXml);
        assert.equal(created.stdout, `Pool ${transient} created from ${transientXml}\n\n`);
        const transients = await evirt("pool-list", "--transient", "--name");
        assert.equal(transients.stdout, `${transient}\n\n`);
        const refused = await evirt("pool-autostart", transient);
        assert.match(refused.stderr, /cannot set autostart for transient pool/);
        assert.equal((await evirt("pool-destroy", transient)).code, 0);
        const after = await evirt("pool-list", "--all", "--name");
        assert.equal(after.stdout, `${name}\n\n`, "a transient pool is gone once stopped");
      });

      await t.step("pool-capabilities names dir, fs, logical as supported", async () => {
        const capabilities = await evirt("pool-capabilities");
        assert.equal(capabilities.code, 0, capabilities.stderr);
        const supported = [...capabilities.stdout.matchAll(/type='([a-z-]+)' supported='yes'/g)]
          .map((match) => match[1]);
        assert.deepEqual(supported, ["dir", "fs", "logical"]);
      });

      await t.step("undefine", async () => {
        assertSame(...await both("pool-undefine", name) as [VirshRun, VirshRun], "pool-undefine");
        oracleDefined = false;
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

/** Runs `virsh pool-event` until it times out and returns its lines. */
async function poolEvents(
  uri: string,
  event: string,
  seconds: number,
): Promise<Deno.CommandOutput> {
  return await new Deno.Command("virsh", {
    args: ["-c", uri, "pool-event", "--event", event, "--loop", "--timeout", String(seconds)],
    env: { LIBVIRT_DEFAULT_URI: "", VIRSH_DEFAULT_CONNECT_URI: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout((seconds + 20) * 1000),
  }).output();
}

testIf(
  "virsh pool-event prints evirt's pool events as it prints libvirtd's",
  missing("virsh", LIBVIRTD_SOCKET),
  async () => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    const name = `${ORACLE_PREFIX}storage14-ev-${crypto.randomUUID().slice(0, 8)}`;
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    let oracleDefined = false;
    try {
      const xmlPath = `${base}/pool.xml`;
      await Deno.writeTextFile(
        xmlPath,
        `<pool type='dir'><name>${name}</name><uuid>${crypto.randomUUID()}</uuid>` +
          `<target><path>${base}/events-pool</path></target></pool>`,
      );
      const watching = [
        poolEvents(uri, "lifecycle", 12),
        poolEvents("qemu:///system", "lifecycle", 12),
        poolEvents(uri, "refresh", 12),
        poolEvents("qemu:///system", "refresh", 12),
      ];
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      for (const run of [(args: string[]) => runVirsh(uri, args), oracleVirsh]) {
        for (
          const args of [
            ["pool-define", xmlPath],
            ["pool-build", name],
            ["pool-start", name],
            ["pool-refresh", name],
            ["pool-destroy", name],
            ["pool-delete", name],
            ["pool-undefine", name],
          ]
        ) {
          const done = await run(args);
          assert.equal(done.code, 0, `${args.join(" ")}: ${done.stderr}`);
          if (run === oracleVirsh) oracleDefined = args[0] !== "pool-undefine";
        }
      }
      const outputs = await Promise.all(watching);
      const [mine, theirs, myRefreshes, theirRefreshes] = outputs.map((output) =>
        new TextDecoder().decode(output.stdout).split("\n").filter((line) => line.includes(name))
      );
      assert.ok(mine.length >= 6, new TextDecoder().decode(outputs[0].stderr));
      assert.deepEqual(mine, theirs);
      assert.equal(myRefreshes.length, 1, new TextDecoder().decode(outputs[2].stderr));
      assert.deepEqual(myRefreshes, theirRefreshes);
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
