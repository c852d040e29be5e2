/**
 * `virsh schedinfo --set` over libvirt's protocol to the evirt service, and evirt's own CLI
 * (`virDomainSetSchedulerParameters[Flags]`, 58 and 219): on the service's test hypervisor it
 * answers as virsh's own `test:///default` (libvirt's test driver checks `weight` and keeps
 * nothing); on a real QEMU guest it answers as libvirtd 9.0 on the same guest XML — the output,
 * the errors and exit codes of live, config and refused settings, and the `schedinfo` that
 * follows each.
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { libvirtdSkipReason, ORACLE_PREFIX } from "../support/libvirtd.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { assertSameAsTestDriver, evirtTestDriver } from "../support/test_driver_oracle.ts";
import { evirtOn } from "../support/cli_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";
import { schedGuestXml } from "../support/sched_guest_xml.ts";

const TEST_SEQUENCES = [
  "schedinfo test --set weight=10; schedinfo test",
  "schedinfo test --set weight=-1",
  "schedinfo test --set cpu_shares=5",
  "schedinfo test --set weight=10 --live",
  "schedinfo test --set weight=10 --config",
];

testIf(
  "virsh over libvirt's protocol and evirt's CLI: schedinfo --set answers as libvirt's test driver",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    try {
      const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`, "test", "default");
      await assertSameAsTestDriver(TEST_SEQUENCES, (sequence) => runVirsh(uri, [sequence]));
      await assertSameAsTestDriver(TEST_SEQUENCES, (sequence) => evirtTestDriver(sequence));
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

/** `schedinfo` runs, in order, on the same running guest of each side. */
const QEMU_RUNS = [
  ["--set", "cpu_shares=700", "--live"],
  ["--set", "vcpu_period=200000"],
  ["--set", "vcpu_quota=30000", "--live"],
  ["--set", "vcpu_period=999"],
  ["--set", "vcpu_quota=-5"],
  ["--set", "cpu_shares=1"],
  ["--set", "cpu_shares=300000", "--live"],
  ["--set", "cpu_shares=abc"],
  ["--set", "bogus=1"],
  ["--set", "vcpu_quota=0", "--live"],
  ["--set", "emulator_period=50000"],
  ["--set", "emulator_quota=20000", "--live"],
  ["--set", "cpu_shares=1", "--config"],
  ["--set", "global_quota=5000", "--config"],
  ["--set", "vcpu_quota=-1", "--config"],
  ["--set", "cpu_shares=900", "--live", "--config"],
  ["--set", "cpu_shares=800", "--current"],
  ["--live"],
  ["--config"],
];

testIf(
  "virsh schedinfo --set on a running QEMU guest answers as libvirtd 9.0's on the same guest",
  missing("qemu-system-x86_64") ?? libvirtdSkipReason ??
    (/- cgroup cgroup \S*\bcpu\b/.test(Deno.readTextFileSync("/proc/self/mountinfo"))
      ? undefined
      : "no cgroup v1 cpu controller here"),
  async (t) => {
    const name = `${ORACLE_PREFIX}sched-set-${Deno.pid}`;
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    const evirt = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const xmlPath = `${dirs.stateDir}/../${name}.xml`;
    await Deno.writeTextFile(xmlPath, schedGuestXml(name));
    const made: string[] = [];
    try {
      for (const uri of [evirt, "qemu:///system"]) {
        const defined = await runVirsh(uri, ["define", xmlPath]);
        assert.equal(defined.code, 0, defined.stderr);
        made.push(uri);
        const started = await runVirsh(uri, ["start", "--paused", name]);
        assert.equal(started.code, 0, started.stderr);
      }
      for (const args of QEMU_RUNS) {
        await t.step(args.join(" "), async () => {
          const ours = await runVirsh(evirt, ["schedinfo", name, ...args]);
          // evirt's CLI over its HTTP API (each setting given twice leaves it the same).
          const cli = await evirtOn(service, ["schedinfo", name, ...args]);
          const theirs = await runVirsh("qemu:///system", ["schedinfo", name, ...args]);
          const answer = (run: typeof ours) => ({
            stdout: run.stdout,
            stderr: run.stderr,
            code: run.code,
          });
          assert.deepEqual(answer(ours), answer(theirs), "virsh over evirt's socket");
          assert.deepEqual(answer(cli), answer(theirs), "evirt's CLI");
        });
      }
    } finally {
      for (const uri of made) {
        await runVirsh(uri, ["destroy", name]);
        await runVirsh(uri, ["undefine", name]);
      }
      await Deno.remove(xmlPath).catch(() => {});
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
