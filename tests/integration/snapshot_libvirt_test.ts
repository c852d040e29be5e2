/**
 * Snapshots side by side with libvirtd 9.0 (`qemu:///system`): the same test guest on a qcow2
 * disk (one copy each) under libvirtd and under evirt (driven by the real `virsh` over evirt's
 * socket) takes the same snapshots, shut off and running; `snapshot-list` (table, `--parent`,
 * `--tree`), `snapshot-info` and `snapshot-current` print the same (times aside), and
 * `snapshot-dumpxml` gives the same document but for the times, the captured domain
 * definitions (each the domain's own, compared with its `dumpxml --inactive`) and libvirt's
 * `<cookie>` of a running snapshot: the guest CPU its QEMU ran with (libvirt's expansion of the
 * CPU model) and its slirp helper flag, which evirt does not compute and leaves out.
 * Skipped, counted, when libvirtd does not answer.
 *
 * @module
 */

import { guestDomainXml } from "../support/guest_xml.ts";
import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestInitrdPath,
  guestKernelPath,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "../support/virsh.ts";

const skip = missing("virsh", LIBVIRTD_SOCKET, "qemu-system-x86_64", "qemu-img") ??
  guestSkipReason();

function guestXml(name: string, uuid: string, dir: string, side: string): string {
  return guestDomainXml({
    name,
    uuid,
    dir,
    acpi: true,
    onPoweroff: "destroy",
    disk: { path: `${dir}/${side}.qcow2`, format: "qcow2" },
    serial: { path: `${dir}/${side}-serial.log`, append: true },
  });
}

/**
 * Service folders holding the guest's kernel and, per side, a fresh 8 MiB qcow2 disk and the
 * domain's XML (one name and uuid for both sides, prefixed for libvirtd's cleanup).
 */
async function prepareSides(prefix: string, sides: readonly string[]) {
  const dirs = await serviceDirs();
  const dir = dirs.stateDir.replace(/\/state$/, "");
  Deno.copyFileSync(guestKernelPath()!, `${dir}/vmlinux`);
  Deno.copyFileSync(guestInitrdPath, `${dir}/initrd.gz`);
  const name = `${ORACLE_PREFIX}${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const uuid = crypto.randomUUID();
  for (const side of sides) {
    const made = await new Deno.Command("qemu-img", {
      args: ["create", "-f", "qcow2", `${dir}/${side}.qcow2`, "8M"],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(made.success);
    Deno.writeTextFileSync(`${dir}/${side}.xml`, guestXml(name, uuid, dir, side));
  }
  return { dirs, dir, name };
}

/** Times (table cells, seconds) replaced: each side reads its own clock. */
function withoutTimes(text: string): string {
  return text.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, "<time>")
    .replace(/<creationTime>\d+<\/creationTime>/g, "<creationTime/>");
}

/** The snapshot document without its captured definitions and cookie, and those apart. */
function splitDocument(xml: string): { snapshot: string; domains: string[]; cookie: boolean } {
  const domains: string[] = [];
  const cookie = /\n {2}<cookie>/.test(xml);
  const snapshot = xml.replace(/\n {2}<cookie>[^]*?\n {2}<\/cookie>/, "").replace(
    /\n {2}<(domain|inactiveDomain)[ >][^]*?\n {2}<\/\1>/g,
    (block, tag: string) => {
      domains.push(block);
      return `\n  <${tag}/>`;
    },
  );
  return { snapshot: withoutTimes(snapshot), domains, cookie };
}

function ok(run: VirshRun, what: string): string {
  assert.equal(run.code, 0, `${what}: ${run.stderr}`);
  return run.stdout;
}

testIf(
  "snapshots as libvirtd 9.0 takes them: the same lists, info and documents",
  skip,
  async () => {
    const { dirs, dir, name } = await prepareSides("snap16", ["theirs", "ours"]);
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const ours = async (...args: string[]) => ok(await runVirsh(uri, args), `evirt ${args}`);
    const theirs = async (...args: string[]) =>
      ok(await oracleVirsh(args), `libvirtd ${args.join(" ")}`);
    const same = async (...args: string[]) => {
      const [mine, libvirt] = [await ours(...args), await theirs(...args)];
      assert.equal(withoutTimes(mine), withoutTimes(libvirt), args.join(" "));
    };
    const sameDocument = async (snapshot: string) => {
      const mine = splitDocument(await ours("snapshot-dumpxml", name, snapshot));
      const libvirt = splitDocument(await theirs("snapshot-dumpxml", name, snapshot));
      assert.equal(mine.snapshot, libvirt.snapshot, `snapshot-dumpxml ${snapshot}`);
      assert.equal(mine.domains.length, libvirt.domains.length, "captured definitions");
      // Known difference: no <cookie> (see the module).
      assert.equal(mine.cookie, false);
    };
    try {
      ok(await oracleVirsh(["define", `${dir}/theirs.xml`]), "libvirtd define");
      await ours("define", `${dir}/ours.xml`);

      for (const run of [ours, theirs]) {
        await run("snapshot-create-as", name, "off", "--description", "shut off");
      }
      await same("snapshot-list", name);
      await same("snapshot-info", name, "off");
      await sameDocument("off");
      // The captured definition is the domain's own inactive one.
      const captured = splitDocument(await ours("snapshot-dumpxml", name, "off")).domains[0];
      const inactive = await ours("dumpxml", name, "--inactive");
      assert.equal(
        captured.split("\n").map((line) => line.slice(2)).join("\n").trim(),
        inactive.trim(),
      );

      for (const [run, side] of [[ours, "ours"], [theirs, "theirs"]] as const) {
        await run("start", name);
        await waitForSerialMarker(`${dir}/${side}-serial.log`, GUEST_READY_MARKER, {
          timeoutMs: GUEST_BOOT_TIMEOUT_MS,
        });
        await run("snapshot-create-as", name, "up");
      }
      await same("domstate", name, "--reason");
      await same("snapshot-list", name, "--parent");
      await same("snapshot-list", name, "--tree");
      await same("snapshot-info", name, "--current");
      await same("snapshot-current", name, "--name");
      await sameDocument("up");

      for (const run of [ours, theirs]) await run("snapshot-revert", name, "off");
      await same("domstate", name, "--reason");
      await same("snapshot-current", name, "--name");
      for (const run of [ours, theirs]) await run("snapshot-revert", name, "up", "--paused");
      await same("domstate", name, "--reason");
      for (const run of [ours, theirs]) await run("snapshot-delete", name, "off", "--children");
      await same("snapshot-list", name);
    } finally {
      await oracleVirsh(["destroy", name]);
      await oracleVirsh(["undefine", name, "--snapshots-metadata"]);
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "external snapshots with memory as libvirtd 9.0 takes and deletes them: the same answers, refusals and disks",
  skip,
  async () => {
    const { dirs, dir, name } = await prepareSides("extsnap16", ["them", "ours"]);
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const sides = [
      { side: "ours", run: (args: string[]) => runVirsh(uri, args) },
      { side: "them", run: (args: string[]) => oracleVirsh(args) },
    ];
    // Side names of one length, so that virsh's column widths match once they are masked.
    /** Runs `args(side)` on both sides; the outputs, with each side's name and times masked. */
    const both = async (args: (side: string) => string[]) => {
      const runs = [];
      for (const { side, run } of sides) {
        const result = await run(args(side));
        const mask = (text: string) => withoutTimes(text.replaceAll(side, "SIDE"));
        runs.push({ code: result.code, stdout: mask(result.stdout), stderr: mask(result.stderr) });
      }
      return runs;
    };
    const same = async (args: (side: string) => string[], expectCode?: number) => {
      const [mine, libvirt] = await both(args);
      const what = args("SIDE").join(" ");
      assert.deepEqual(mine, libvirt, what);
      if (expectCode !== undefined) assert.equal(mine.code, expectCode, `${what}: ${mine.stderr}`);
    };
    const memspec = (side: string, snapshot: string) =>
      `file=${dir}/${side}-${snapshot}.mem,snapshot=external`;
    const diskspec = (side: string, snapshot: string) =>
      `vda,snapshot=external,file=${dir}/${side}.${snapshot}`;
    try {
      for (const { side, run } of sides) {
        ok(await run(["define", `${dir}/${side}.xml`]), `${side} define`);
        ok(await run(["start", name]), `${side} start`);
        await waitForSerialMarker(`${dir}/${side}-serial.log`, GUEST_READY_MARKER, {
          timeoutMs: GUEST_BOOT_TIMEOUT_MS,
        });
      }
      // A disk asked external without external memory: refused alike.
      await same(
        (side) => ["snapshot-create-as", name, "bad", "--diskspec", diskspec(side, "bad")],
        1,
      );
      for (const snapshot of ["one", "two"]) {
        await same((side) => [
          "snapshot-create-as",
          name,
          snapshot,
          "--memspec",
          memspec(side, snapshot),
          "--diskspec",
          diskspec(side, snapshot),
        ], 0);
      }
      await same(() => ["domstate", name, "--reason"], 0);
      await same(() => ["snapshot-list", name, "--tree"], 0);
      await same(() => ["snapshot-info", name, "two"], 0);
      await same(() => ["domblklist", name], 0);
      const [mine, libvirt] = await both(() => ["snapshot-dumpxml", name, "one"]);
      assert.equal(splitDocument(mine.stdout).snapshot, splitDocument(libvirt.stdout).snapshot);
      // What libvirt 9.0 refuses, refused alike.
      await same(() => ["snapshot-revert", name, "one"], 1);
      await same(() => ["snapshot-delete", name, "one", "--children"], 1);
      // Deleted below the top, then at the top: the disk back on its image.
      await same(() => ["snapshot-delete", name, "one"], 0);
      await same(() => ["domblklist", name], 0);
      await same(() => ["snapshot-list", name], 0);
      await same(() => ["snapshot-delete", name, "two"], 0);
      await same(() => ["domblklist", name], 0);
      await same(() => ["domstate", name, "--reason"], 0);
      for (const side of ["ours", "them"]) {
        for (const snapshot of ["one", "two"]) {
          assert.throws(() => Deno.statSync(`${dir}/${side}.${snapshot}`), Deno.errors.NotFound);
          assert.ok(Deno.statSync(`${dir}/${side}-${snapshot}.mem`).isFile);
        }
      }
    } finally {
      await oracleVirsh(["destroy", name]);
      await oracleVirsh(["undefine", name, "--snapshots-metadata"]);
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
