/**
 * The read-only verbs virsh users run beside `dominfo` print through evirt's libvirt socket what
 * they print against libvirtd 9.0, on the same inactive QEMU domain XML defined in both:
 * `domjobinfo` (with `--completed`), `emulatorpin`, `iothreadinfo`, `schedinfo`, `memtune`,
 * `blkiotune`, `numatune`, the guest-agent queries,
 * `maxvcpus`, `sysinfo` and the refusals of `nodememstats`, `nodecpustats` and `cpu-models`.
 * The same output, or the same error text.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri, type VirshRun } from "../support/virsh.ts";

const LIBVIRTD_SOCKET = "/run/libvirt/libvirt-sock";
const LIBVIRTD_URI = "qemu:///system";

const DOMAIN_XML = (name: string) =>
  `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>2</vcpu>
  <iothreads>2</iothreads>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><memballoon model='none'/></devices>
</domain>
`;

/** Verbs on the domain, compared output for output (or error for error). */
const DOMAIN_VERBS = [
  ["domjobinfo"],
  ["domjobinfo", "--completed"],
  ["emulatorpin"],
  ["emulatorpin", "--config"],
  ["emulatorpin", "--live"],
  ["iothreadinfo"],
  ["iothreadinfo", "--config"],
  ["iothreadinfo", "--live"],
  ["schedinfo"],
  ["schedinfo", "--config"],
  ["schedinfo", "--live"],
  ["memtune"],
  ["memtune", "--config"],
  ["blkiotune"],
  ["numatune"],
  ["numatune", "--live"],
  ["domtime"],
  ["domhostname"],
  ["domfsinfo"],
  ["guestinfo"],
];

/** Host verbs whose output does not move between two runs. */
const HOST_VERBS = [
  ["maxvcpus"],
  ["maxvcpus", "--type", "qemu"],
  ["maxvcpus", "--type", "bogus"],
  ["sysinfo"],
  ["nodememstats", "99"],
  ["nodecpustats", "99"],
  ["cpu-models", "bogus"],
];

/** What a run shows a user: its output, or its error lines. */
function shown(run: VirshRun): string {
  return run.code === 0 ? run.stdout : `exit ${run.code}: ${run.stderr}`;
}

/**
 * Known differences in wording: libvirt prints its `virReportInvalidArg` messages without the
 * `invalid argument:` prefix its other INVALID_ARG errors carry; evirt prefixes them all.
 */
function normalized(text: string): string {
  return text.replace(
    /error: invalid argument: (Invalid cpuNum|cellNum in|unsupported flags)/g,
    "error: $1",
  );
}

testIf(
  "read-only domain and host queries answer through evirt's socket as libvirtd answers",
  missing("virsh", "qemu-system-x86_64", LIBVIRTD_SOCKET),
  async (t) => {
    const name = `rpc12-queries-${crypto.randomUUID().slice(0, 8)}`;
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    const xmlPath = `${dirs.stateDir}/../${name}.xml`;
    const evirt = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    await Deno.writeTextFile(xmlPath, DOMAIN_XML(name));
    let definedInLibvirt = false;
    try {
      for (const uri of [evirt, LIBVIRTD_URI]) {
        const defined = await runVirsh(uri, ["define", xmlPath]);
        assert.equal(defined.code, 0, defined.stderr);
        definedInLibvirt ||= uri === LIBVIRTD_URI;
      }
      for (const verb of [...DOMAIN_VERBS.map((args) => [...args, name]), ...HOST_VERBS]) {
        await t.step(verb.join(" ").replace(name, "<domain>"), async () => {
          const ours = await runVirsh(evirt, verb);
          const theirs = await runVirsh(LIBVIRTD_URI, verb);
          assert.equal(normalized(shown(ours)), normalized(shown(theirs)));
        });
      }
      // Calls that may talk to the guest agent need a read-write connection (libvirt's policy).
      const evirtReadOnly = socketUri(`${dirs.runtimeDir}/libvirt-sock-ro`);
      for (const verb of ["domtime", "domhostname", "domfsinfo", "guestinfo"]) {
        await t.step(`${verb} on a read-only connection`, async () => {
          const ours = await runVirsh(evirtReadOnly, [verb, name]);
          const theirs = await runVirsh(LIBVIRTD_URI, ["-r", verb, name]);
          assert.match(shown(theirs), /read only access prevents/);
          assert.equal(shown(ours), shown(theirs));
        });
      }
    } finally {
      if (definedInLibvirt) await runVirsh(LIBVIRTD_URI, ["undefine", name]);
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "tuning of test:///default's domain answers through evirt's socket as libvirt's test driver",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    const evirt = socketUri(`${dirs.runtimeDir}/libvirt-sock`, "test", "default");
    try {
      for (
        const sequence of [
          "schedinfo test; memtune test; blkiotune test; numatune test",
          "destroy test; schedinfo test --config; memtune test; numatune test --live",
        ]
      ) {
        const ours = await runVirsh(evirt, [sequence]);
        const theirs = await runVirsh("test:///default", [sequence]);
        assert.equal(normalized(shown(ours)), normalized(shown(theirs)), sequence);
      }
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
