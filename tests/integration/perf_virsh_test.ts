/**
 * `virsh perf` (virDomainGetPerfEvents, virDomainSetPerfEvents) through evirt's libvirt socket,
 * beside libvirt 9.0 itself:
 *
 * - on evirt's test hypervisor beside libvirt's own test driver (`test:///default`, in virsh's
 *   process): the same lines, flags checked and refused alike, `<perf>` in the XML alike;
 * - on a real QEMU guest beside libvirtd 9.0's QEMU driver (`qemu:///system`), the same guest
 *   defined and started in both: every `perf` call gives the same stdout, stderr and exit code
 *   — the host's real counters are opened (or refused by this host's kernel with the same
 *   errno) — the live and persistent `<perf>` agree, `domstats --perf` has the same keys, and a
 *   start with events in the persistent definition counts them (or fails) alike.
 *
 * @module
 */

import { guestDomainXml } from "../support/guest_xml.ts";
import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { guestInitrdPath, guestKernelPath, guestSkipReason } from "../support/guest.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { assertSameAsTestDriver } from "../support/test_driver_oracle.ts";
import { assertSameOutput, runVirsh, socketUri, type VirshRun } from "../support/virsh.ts";

testIf(
  "virsh perf on evirt's test hypervisor answers as libvirt's test driver",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    try {
      const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`, "test", "default");
      await assertSameAsTestDriver(
        [
          "perf test",
          "perf test --live",
          "perf test --config",
          "perf test --live --config",
          "perf nosuch",
          "perf test --enable cpu_clock,cpu_cycles; perf test; perf test --config",
          "perf test --enable cpu_clock --disable task_clock --config; perf test --config",
          "perf test --enable foo; perf test --enable cmt,cmt; perf test --enable a --disable a",
          "perf test --enable cpu_clock --live --config",
          "perf test --enable cpu_clock; dumpxml test --xpath //perf",
          "destroy test; perf test --live; perf test --enable page_faults --live",
          "destroy test; perf test --disable cmt; perf test; dumpxml test --xpath //perf",
        ],
        (sequence) => runVirsh(uri, [sequence]),
      );
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

function guestXml(name: string, dir: string): string {
  return guestDomainXml({ name, dir, cmdline: "console=ttyS0" });
}

/** The `<perf>` element of a dumpxml (empty when there is none). */
function perfElement(run: VirshRun): string {
  return /<perf>[\s\S]*?<\/perf>/.exec(run.stdout)?.[0] ?? "";
}

/** The keys of a `domstats` output (values are the host's live counts). */
function statsKeys(run: VirshRun): string[] {
  return run.stdout.split("\n").filter((line) => line.includes("=")).map((line) =>
    line.trim().split("=")[0]
  );
}

testIf(
  "virsh perf on a running QEMU guest answers as libvirtd 9.0: the same counters, refusals and XML",
  missing("virsh", LIBVIRTD_SOCKET, "qemu-system-x86_64") ?? guestSkipReason(),
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    Deno.chmodSync(dir, 0o755);
    Deno.copyFileSync(guestKernelPath()!, `${dir}/vmlinux`);
    Deno.copyFileSync(guestInitrdPath, `${dir}/initrd.gz`);
    const name = `${ORACLE_PREFIX}perf-${crypto.randomUUID().slice(0, 8)}`;
    Deno.writeTextFileSync(`${dir}/guest.xml`, guestXml(name, dir));
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const both = async (args: string[]) => {
      const expected = await oracleVirsh(args);
      const actual = await runVirsh(uri, args);
      return { expected, actual };
    };
    const same = async (args: string[]) => {
      const { expected, actual } = await both(args);
      const what = args.join(" ");
      assert.equal(actual.stderr, expected.stderr, what);
      assertSameOutput(actual.stdout, expected.stdout, what);
      assert.equal(actual.code, expected.code, what);
    };
    try {
      await same(["define", `${dir}/guest.xml`]);
      await same(["start", name]);
      for (
        const args of [
          [name],
          [name, "--enable", "cpu_clock,task_clock"],
          [name, "--enable", "cpu_cycles"],
          [name, "--enable", "cmt"],
          [name, "--enable", "foo"],
          [name, "--enable", "cpu_clock", "--disable", "cpu_clock"],
          [name, "--enable", "page_faults,cpu_cycles,context_switches"],
          [name],
          [name, "--config"],
          [name, "--disable", "task_clock", "--live"],
          [name, "--enable", "context_switches", "--config"],
          [name, "--enable", "cpu_migrations", "--live", "--config"],
          [name, "--config"],
          [name, "--live"],
          [name, "--live", "--config"],
        ]
      ) {
        await same(["perf", ...args]);
      }
      const live = await both(["dumpxml", name]);
      assert.equal(perfElement(live.actual), perfElement(live.expected), "live <perf>");
      assert.notEqual(perfElement(live.actual), "");
      const config = await both(["dumpxml", "--inactive", name]);
      assert.equal(perfElement(config.actual), perfElement(config.expected), "persistent <perf>");
      const stats = await both(["domstats", "--perf", name]);
      assert.deepEqual(statsKeys(stats.actual), statsKeys(stats.expected), "domstats --perf");
      assert.ok(statsKeys(stats.actual).includes("perf.cpu_clock"));
      const counted = /perf\.cpu_clock=(\d+)/.exec(stats.actual.stdout);
      assert.ok(counted !== null && Number(counted[1]) > 0, "the host counted QEMU's CPU time");
      await same(["destroy", name]);
      await same(["perf", name, "--live"]);
      // A start counts what the persistent definition enables (cpu_cycles: refused alike where
      // the host has no hardware counters).
      await same(["perf", name, "--enable", "cpu_cycles", "--config"]);
      await same(["start", name]);
      await same(["perf", name, "--disable", "cpu_cycles", "--config"]);
      await same(["start", name]);
      await same(["perf", name]);
      const restarted = await both(["domstats", "--perf", name]);
      assert.deepEqual(statsKeys(restarted.actual), statsKeys(restarted.expected));
    } finally {
      await oracleVirsh(["destroy", name]);
      await oracleVirsh(["undefine", name]);
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
