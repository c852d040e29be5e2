/**
 * `<cputune>`, `<memtune>` and `<blkiotune>` applied to a QEMU process through its control
 * group, as libvirt 9.0 applies them on this host: shares on the domain's group, period and
 * quota on each vCPU's group (holding its thread), memory limits, vCPU and emulator pinning;
 * the group named in the launch's runtime record (the intent) and removed when the guest stops
 * or when recovery finds the launch never ran. Shares the kernel refuses fail the start as
 * libvirt's does (code 8, libvirt's text) and leave nothing, as does a block I/O weight without a
 * weighted I/O scheduler (code 55); where libvirtd answers, the same definitions are started in
 * it: its error for zero shares, and for a tuned guest its `schedinfo`, `vcpupin` and
 * `emulatorpin` output, which evirt's must equal.
 */

import assert from "node:assert/strict";
import { monitorCommand } from "../../actors/guest_commands.ts";
import { Host } from "../../actors/host.ts";
import { QemuDriver } from "../../drivers/qemu/qemu_driver.ts";
import { cgroupOfRecord, type CgroupPaths, createCgroup } from "../../src/host/cgroups.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { applyDomainDefaults } from "../../src/model/domain_defaults.ts";
import { isVirtError } from "../../src/model/errors.ts";
import { parseDomainXml, validateDomain } from "../../src/xml/mod.ts";
import { exists, missing, testIf } from "../support/environment.ts";
import { libvirtdSkipReason, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { withTempDir } from "../support/temp_dir.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

/** Why the cgroup v1 `cpu` and `memory` controllers cannot be used here, if they cannot. */
function cgroupSkipReason(): string | undefined {
  const absent = missing("qemu-system-x86_64", "taskset", "flock");
  if (absent !== undefined) return absent;
  const mountinfo = Deno.readTextFileSync("/proc/self/mountinfo");
  return /- cgroup cgroup \S*\bcpu\b/.test(mountinfo) &&
      /- cgroup cgroup \S*\bmemory\b/.test(mountinfo)
    ? undefined
    : "no cgroup v1 cpu and memory controllers here";
}

const skip = cgroupSkipReason();

function guestXml(name: string, cputune: string, extra = ""): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>131072</memory>
  <vcpu placement='static'>2</vcpu>
  <cputune>${cputune}</cputune>${extra}
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><memballoon model='none'/></devices>
</domain>`;
}

async function withHost(body: (host: Host) => Promise<void>): Promise<void> {
  await withTempDir("evirt-cgroup-", async (dir) => {
    const driver = await QemuDriver.create({
      runtimeDir: `${dir}/run`,
      logDir: `${dir}/log`,
      log: () => {},
    });
    const host = await Host.open({ store: createMemoryStore(), drivers: [driver], log: () => {} });
    try {
      await body(host);
    } finally {
      await host.close();
    }
  }, { searchable: true });
}

function read(path: string): string {
  return Deno.readTextFileSync(path).trim();
}

/** The threads' `Cpus_allowed_list`, by thread id. */
function allowedCpus(pid: number, thread: number): string {
  const status = read(`/proc/${pid}/task/${thread}/status`);
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1] ?? "";
}

testIf(
  "a started QEMU runs in a group with its shares, per-vCPU bandwidth, memory limits and pins",
  skip,
  async () => {
    await withHost(async (host) => {
      const name = `cgroup-tune-${Deno.pid}`;
      const definition = applyDomainDefaults(parseDomainXml(guestXml(
        name,
        "<shares>1500</shares><period>1000000</period><quota>50000</quota>" +
          "<vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='1'/><emulatorpin cpuset='1'/>",
        "<memtune><hard_limit unit='KiB'>1048576</hard_limit>" +
          "<soft_limit unit='KiB'>524288</soft_limit></memtune>",
      )));
      validateDomain(definition);
      await host.define(definition);
      await host.start(name, { paused: true });
      let group: CgroupPaths;
      try {
        const runtime = host.inspect(name).handle!.runtime;
        group = cgroupOfRecord(runtime);
        assert.equal(group.layout, "v1");
        if (group.layout !== "v1" || group.cpu === undefined) throw new Error("no cpu group");
        const cpu: string = group.cpu;
        const pid = Number(runtime.pid);
        assert.equal(read(`${cpu}/cpu.shares`), "1500");
        assert.equal(read(`${group.memory}/memory.limit_in_bytes`), String(1048576 * 1024));
        assert.equal(read(`${group.memory}/memory.soft_limit_in_bytes`), String(524288 * 1024));
        assert.ok(read(`${group.memory}/cgroup.procs`).split("\n").includes(String(pid)));
        const vcpuThreads: number[] = [];
        for (const vcpu of [0, 1]) {
          const folder: string = `${cpu}/vcpu${vcpu}`;
          assert.equal(read(`${folder}/cpu.cfs_period_us`), "1000000");
          assert.equal(read(`${folder}/cpu.cfs_quota_us`), "50000");
          const tasks = read(`${folder}/tasks`).split("\n").map(Number);
          assert.equal(tasks.length, 1, `vcpu${vcpu} holds its thread only`);
          assert.equal(allowedCpus(pid, tasks[0]), String(vcpu));
          vcpuThreads.push(tasks[0]);
        }
        // Every other thread runs where <emulatorpin> says.
        assert.equal(allowedCpus(pid, pid), "1");
        // schedinfo's figures are those applied.
        const tune = host.inspect(name).definition.cputune;
        assert.deepEqual([tune?.shares, tune?.period, tune?.quota], [1500, 1000000, 50000]);
      } finally {
        await host.destroy(name);
      }
      assert.ok(group.layout === "v1" && !exists(group.memory), "the group is removed at stop");
      assert.ok(group.layout === "v1" && group.cpu !== undefined && !exists(group.cpu));
    });
  },
);

const ZERO_SHARES = "<shares>0</shares><period>1000000</period><quota>-1</quota>";

testIf(
  "shares the kernel refuses fail the start as libvirt's (code 8) and leave no group",
  skip,
  async () => {
    await withHost(async (host) => {
      const name = `cgroup-zero-${Deno.pid}`;
      const definition = applyDomainDefaults(parseDomainXml(guestXml(name, ZERO_SHARES)));
      validateDomain(definition);
      await host.define(definition);
      await assert.rejects(
        host.start(name, { paused: true }),
        (error) =>
          isVirtError(error) && error.code === 8 &&
          error.message === "shares '0' must be in range [2, 262144]",
      );
      assert.equal(host.lookup(name).state, 5);
      const own = /^\d+:memory:(.*)$/m.exec(read("/proc/self/cgroup"))?.[1] ?? "/";
      const mount = /\S+ (\S+) \S+ - cgroup cgroup \S*\bmemory\b/.exec(
        Deno.readTextFileSync("/proc/self/mountinfo"),
      );
      const parent = `${mount?.[1] ?? ""}${own === "/" ? "" : own}`;
      const left = [...Deno.readDirSync(parent)].filter((entry) =>
        entry.name.startsWith("evirt-qemu-") &&
        entry.name.endsWith(host.inspect(name).definition.uuid ?? "none")
      );
      assert.deepEqual(left, []);
    });
  },
);

testIf(
  "libvirt 9.0 refuses the same zero shares at start with the same error",
  skip ?? libvirtdSkipReason,
  async () => {
    await withTempDir("evirt-cgroup-oracle-", async (dir) => {
      const name = `${ORACLE_PREFIX}cgroup-zero-${Deno.pid}`;
      const path = `${dir}/guest.xml`;
      await Deno.writeTextFile(path, guestXml(name, ZERO_SHARES));
      const defined = await oracleVirsh(["define", path]);
      assert.equal(defined.code, 0, defined.stderr);
      try {
        const started = await oracleVirsh(["start", "--paused", name]);
        assert.notEqual(started.code, 0);
        assert.match(started.stderr, /invalid argument: shares '0' must be in range \[2, 262144\]/);
      } finally {
        await oracleVirsh(["destroy", name]);
        await oracleVirsh(["undefine", name]);
      }
    }, { searchable: true });
  },
);

testIf(
  "the launch intent names the group, and recovery of a launch whose QEMU never ran removes it",
  skip,
  async () => {
    await withTempDir("evirt-cgroup-recovery-", async (dir) => {
      const driver = await QemuDriver.create({
        runtimeDir: `${dir}/run`,
        logDir: `${dir}/log`,
        log: () => {},
      });
      try {
        const definition = applyDomainDefaults(parseDomainXml(guestXml(
          "cgroup-recovery",
          "<shares>1500</shares>",
        )));
        const request = {
          uuid: "00000000-0000-4000-8000-00000000c9a1",
          name: "cgroup-recovery",
          id: 1,
          definition,
        };
        const planned = driver.plan(request);
        const group = cgroupOfRecord(planned);
        assert.ok(group.layout === "v1" && group.memory.endsWith(`evirt-qemu-${request.uuid}`));
        // What a crash right after the group was made leaves.
        createCgroup(group, { memoryLimitKiB: 0, blkioDevices: [] });
        assert.ok(exists(group.memory));
        assert.equal(await driver.adopt(request, planned, AbortSignal.timeout(10_000)), undefined);
        assert.ok(!exists(group.memory), "recovery removes the group");
      } finally {
        await driver.close();
      }
    }, { searchable: true });
  },
);

/** Verbs compared on the running tuned guest. */
const TUNING_VERBS = [
  ["schedinfo"],
  ["schedinfo", "--live"],
  ["schedinfo", "--config"],
  ["vcpupin"],
  ["emulatorpin"],
  ["emulatorpin", "--live"],
];

testIf(
  "a running tuned guest's schedinfo, vcpupin and emulatorpin print as libvirtd's for the same guest",
  skip ?? libvirtdSkipReason,
  async (t) => {
    const name = `${ORACLE_PREFIX}cgroup-tuned-${Deno.pid}`;
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    const evirt = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const xmlPath = `${dirs.stateDir}/../${name}.xml`;
    await Deno.writeTextFile(
      xmlPath,
      guestXml(
        name,
        "<shares>1500</shares><period>1000000</period><quota>50000</quota>" +
          "<vcpupin vcpu='0' cpuset='0'/><vcpupin vcpu='1' cpuset='1'/><emulatorpin cpuset='1'/>",
      ),
    );
    const made: string[] = [];
    try {
      for (const uri of [evirt, "qemu:///system"]) {
        const defined = await runVirsh(uri, ["define", xmlPath]);
        assert.equal(defined.code, 0, defined.stderr);
        made.push(uri);
        const started = await runVirsh(uri, ["start", "--paused", name]);
        assert.equal(started.code, 0, started.stderr);
      }
      for (const verb of TUNING_VERBS) {
        await t.step(verb.join(" "), async () => {
          const ours = await runVirsh(evirt, [...verb, name]);
          const theirs = await oracleVirsh([...verb, name]);
          assert.equal(ours.stdout, theirs.stdout, ours.stderr);
        });
      }
    } finally {
      for (const uri of made) {
        await runVirsh(uri, ["destroy", name]);
        await runVirsh(uri, ["undefine", name]);
      }
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

/** Whether a block I/O scheduler with weights (bfq, cfq) is offered to the blkio controller. */
function blkioWeightOffered(): boolean {
  const mount = /\S+ (\S+) \S+ - cgroup cgroup \S*\bblkio\b/.exec(
    Deno.readTextFileSync("/proc/self/mountinfo"),
  )?.[1];
  return mount !== undefined &&
    (exists(`${mount}/blkio.bfq.weight`) || exists(`${mount}/blkio.weight`));
}

testIf(
  "a block I/O weight without a weighted I/O scheduler fails the start as libvirt's (code 55)",
  skip ?? (blkioWeightOffered() ? "this host's blkio controller has weights" : undefined),
  async () => {
    await withHost(async (host) => {
      const name = `cgroup-blkio-${Deno.pid}`;
      const definition = applyDomainDefaults(parseDomainXml(guestXml(
        name,
        "<shares>1024</shares>",
        "<blkiotune><weight>300</weight></blkiotune>",
      )));
      validateDomain(definition);
      await host.define(definition);
      await assert.rejects(
        host.start(name, { paused: true }),
        (error) =>
          isVirtError(error) && error.code === 55 &&
          error.message === "blkio device weight is valid only for bfq or cfq scheduler",
      );
      assert.equal(host.lookup(name).state, 5);
    });
  },
);

testIf(
  "a hot-plugged vCPU's thread joins its own group with the definition's bandwidth",
  skip,
  async () => {
    await withHost(async (host) => {
      const name = `cgroup-plug-${Deno.pid}`;
      const definition = applyDomainDefaults(parseDomainXml(
        guestXml(name, "<shares>1500</shares><quota>40000</quota>")
          .replace(
            "<vcpu placement='static'>2</vcpu>",
            "<vcpu placement='static' current='1'>2</vcpu>",
          ),
      ));
      validateDomain(definition);
      await host.define(definition);
      await host.start(name, { paused: true });
      try {
        const group = cgroupOfRecord(host.inspect(name).handle!.runtime);
        if (group.layout !== "v1" || group.cpu === undefined) throw new Error("no cpu group");
        const cpu: string = group.cpu;
        assert.ok(!exists(`${cpu}/vcpu1`));
        const { uuid } = host.lookup(name);
        await host.command("setvcpus", uuid, { count: 2, flags: 1, api: "virDomainSetVcpusFlags" });
        assert.equal(read(`${cpu}/vcpu1/cpu.cfs_quota_us`), "40000");
        assert.equal(read(`${cpu}/vcpu1/tasks`).split("\n").length, 1);
        assert.equal(read(`${cpu}/vcpu0/tasks`).split("\n").length, 1, "vcpu0 keeps its thread");
      } finally {
        await host.destroy(name);
      }
    });
  },
);

testIf(
  "a QEMU that ends by itself leaves no group behind",
  skip,
  async () => {
    await withHost(async (host) => {
      const name = `cgroup-quit-${Deno.pid}`;
      const definition = applyDomainDefaults(
        parseDomainXml(guestXml(name, "<shares>700</shares>")),
      );
      validateDomain(definition);
      await host.define(definition);
      await host.start(name, { paused: true });
      const group = cgroupOfRecord(host.inspect(name).handle!.runtime);
      if (group.layout !== "v1") throw new Error("not v1");
      await monitorCommand(
        host.inspect(name),
        '{"execute":"quit"}',
        { hmp: false },
        AbortSignal.timeout(10_000),
      ).catch(() => {});
      const deadline = Date.now() + 10_000;
      while (host.lookup(name).state !== 5 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(host.lookup(name).state, 5);
      while (exists(group.memory) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(!exists(group.memory), "the group is removed once QEMU is gone");
    });
  },
);
