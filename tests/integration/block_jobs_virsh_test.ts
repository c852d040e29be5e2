/**
 * Block jobs through virsh 9.0 over libvirt's protocol to the evirt service (its QEMU driver
 * and a real guest): `blockcommit --active --pivot --wait --verbose`, `blockpull --wait`,
 * `blockcopy --transient-job --pivot` (virDomainBlockCopy) and a copy held back by a bandwidth
 * limit that `blockjob --info` reports (virsh's progress line and limit), `blockjob --bandwidth`
 * changes and `blockjob --abort` ends; `dumpxml` then names the copy. Beside it, libvirtd 9.0 and
 * evirt answer the refusals on an inactive domain (an unknown disk, a commit whose chain is not
 * known, a pull, a copy, `blockjob`) with the same virsh output and exit code; libvirt's test
 * driver and evirt's test hypervisor refuse block jobs alike (code 3).
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import {
  GUEST_BOOT_TIMEOUT_MS,
  GUEST_READY_MARKER,
  guestKernelCmdline,
  guestSkipReason,
  waitForSerialMarker,
} from "../support/guest.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { assertSameAsTestDriver } from "../support/test_driver_oracle.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";
import { runEvirt } from "../support/cli_process.ts";
import { guestDefinition } from "./_qemu_guest.ts";

const LIBVIRT_URI = "qemu:///system";
const MIB = 1024 * 1024;

async function qemuImg(...args: string[]): Promise<void> {
  const output = await new Deno.Command("qemu-img", { args, stdout: "null", stderr: "piped" })
    .output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
}

/** A raw base under a qcow2 overlay; `filled`: every byte written (a copy must move them all). */
async function overlay(
  dir: string,
  name: string,
  filled = false,
): Promise<{ base: string; top: string }> {
  const base = `${dir}/${name}-base.raw`;
  const top = `${dir}/${name}-top.qcow2`;
  using file = Deno.openSync(base, { create: true, write: true });
  file.truncateSync(16 * MIB);
  if (filled) file.writeSync(new Uint8Array(16 * MIB).fill(0xab));
  await qemuImg("create", "-q", "-f", "qcow2", "-F", "raw", "-b", base, top);
  Deno.chmodSync(base, 0o600);
  Deno.chmodSync(top, 0o600);
  return { base, top };
}

/** The refusals compared with libvirtd on an inactive domain named `name`. */
function refusals(name: string, dir: string): string[][] {
  return [
    ["blockcommit", name, "vdz"],
    ["blockcommit", name, "vda"],
    ["blockcommit", name, "vda", "--active"],
    ["blockpull", name, "vda"],
    ["blockcopy", name, "vda", `${dir}/never.qcow2`],
    ["blockcopy", name, "vda", `${dir}/never.qcow2`, "--transient-job"],
    ["blockjob", name, "vda", "--info"],
    ["blockjob", name, "vda", "--abort"],
    ["blockjob", name, "vda", "--bandwidth", "5"],
  ];
}

function inactiveXml(name: string, top: string): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>` +
    `<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>` +
    `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>` +
    `<source file='${top}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
}

testIf(
  "virsh block jobs on a running guest through evirt's libvirt socket; refusals as libvirtd 9.0",
  guestSkipReason() ?? missing("qemu-system-x86_64", "qemu-img", "virsh"),
  async (t) => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    try {
      const vda = await overlay(dir, "vda");
      const vdb = await overlay(dir, "vdb", true);
      const serial = `${dir}/serial.log`;
      const definition = guestDefinition("bjv", { serial: { file: serial } });
      definition.os.cmdline = guestKernelCmdline();
      for (const [target, images] of [["vda", vda], ["vdb", vdb]] as const) {
        definition.devices.disks.push({
          type: "file",
          device: "disk",
          driver: { name: "qemu", type: "qcow2" },
          source: { file: images.top, hosts: [] },
          target: { dev: target, bus: "virtio" },
        });
      }
      await service.client.define({ definition });

      await t.step("refusals on an inactive domain answer as libvirtd 9.0", async (step) => {
        const name = `evirt-bj-${Deno.pid}`;
        const xml = `${dir}/inactive.xml`;
        await Deno.writeTextFile(xml, inactiveXml(name, vda.top));
        assert.equal((await runVirsh(uri, ["define", xml])).code, 0);
        const probe = await runVirsh(LIBVIRT_URI, ["uri"]);
        if (probe.code !== 0) {
          console.log(`skip: libvirtd does not answer on ${LIBVIRT_URI}: ${probe.stderr.trim()}`);
          return;
        }
        assert.equal((await runVirsh(LIBVIRT_URI, ["define", xml])).code, 0);
        try {
          for (const args of refusals(name, dir)) {
            const expected = await runVirsh(LIBVIRT_URI, args);
            const actual = await runVirsh(uri, args);
            assert.equal(actual.stderr, expected.stderr, args.join(" "));
            assert.equal(actual.stdout, expected.stdout, args.join(" "));
            assert.equal(actual.code, expected.code, args.join(" "));
          }
        } finally {
          await runVirsh(LIBVIRT_URI, ["undefine", name]);
        }
        assert.ok(step.name.length > 0);
      });

      assert.equal((await runVirsh(uri, ["start", "bjv"])).code, 0);
      await waitForSerialMarker(serial, GUEST_READY_MARKER, { timeoutMs: GUEST_BOOT_TIMEOUT_MS });

      const unknown = await runVirsh(uri, ["blockcommit", "bjv", "vdz", "--active"]);
      assert.equal(unknown.stderr, "error: invalid argument: disk 'vdz' not found in domain\n");
      assert.equal(unknown.code, 1);

      const commit = await runVirsh(uri, [
        "blockcommit",
        "bjv",
        "vda",
        "--active",
        "--pivot",
        "--verbose",
      ]);
      assert.equal(commit.code, 0, commit.stderr);
      assert.equal(commit.stdout, "\nSuccessfully pivoted\n");
      assert.match(commit.stderr, /Block commit: \[100 %\]/);
      assert.match(
        (await runVirsh(uri, ["dumpxml", "bjv"])).stdout,
        new RegExp(`<source file='${vda.base}'`),
      );

      const pull = await runVirsh(uri, ["blockpull", "bjv", "vdb", "--wait"]);
      assert.equal(pull.code, 0, pull.stderr);
      assert.equal(pull.stdout, "\nPull complete\n");
      assert.doesNotMatch((await runVirsh(uri, ["dumpxml", "bjv"])).stdout, new RegExp(vdb.base));

      // A copy held back by a limit of 64 KiB/s: its progress and limit, a new limit, an abort.
      const slow = `${dir}/slow.qcow2`;
      const started = await runVirsh(uri, [
        "blockcopy",
        "bjv",
        "vdb",
        slow,
        "--transient-job",
        "--bandwidth",
        "65536",
        "--bytes",
        // A small buffer (typed parameters: virDomainBlockCopy) makes the limit hold from the
        // start; QEMU's default buffer moves this small disk in one burst.
        "--buf-size",
        "65536",
      ]);
      assert.equal(started.stdout, "Block Copy started\n", started.stderr);
      // While it runs the live XML has libvirt's <mirror> (not ready: no `ready`), the inactive
      // XML none.
      const mirrored = (await runVirsh(uri, ["dumpxml", "bjv"])).stdout;
      assert.match(
        mirrored,
        new RegExp(
          `<mirror type='file' file='${slow}' format='qcow2' job='copy'>\\s*` +
            `<format type='qcow2'/>\\s*<source file='${slow}' index='\\d+'/>\\s*</mirror>\\s*` +
            `<target dev='vdb'`,
        ),
      );
      assert.doesNotMatch(
        (await runVirsh(uri, ["dumpxml", "bjv", "--inactive"])).stdout,
        /<mirror/,
      );
      const info = await runVirsh(uri, ["blockjob", "bjv", "vdb", "--info"]);
      assert.equal(info.code, 0, info.stderr);
      assert.match(info.stderr, /^\rBlock Copy: \[ *\d+ %\]$/);
      assert.equal(info.stdout, "    Bandwidth limit: 65536 bytes/s (64.000 KiB/s)\n\n");
      const ours = await runEvirt(["blockjob", "bjv", "vdb", "--info"], {
        ...service.env,
        EVIRT_DEFAULT_URI: "evirt:///system",
      });
      assert.equal(ours.stdout, info.stdout, ours.stderr);
      const faster = ["blockjob", "bjv", "vdb", "--bandwidth", "131072", "--bytes"];
      assert.equal((await runVirsh(uri, faster)).code, 0);
      const raw = await runVirsh(uri, ["blockjob", "bjv", "vdb", "--raw"]);
      assert.match(raw.stdout, /^ type=Block Copy\n bandwidth=1\n cur=\d+\n end=16777216\n\n$/);
      const busy = await runVirsh(uri, ["blockpull", "bjv", "vdb"]);
      assert.equal(
        busy.stderr,
        "error: block copy still active: disk 'vdb' already in active block job\n",
      );
      const early = await runVirsh(uri, ["blockjob", "bjv", "vdb", "--pivot"]);
      assert.equal(
        early.stderr,
        "error: block copy still active: block job 'vdb' not ready for pivot yet\n",
      );
      assert.equal((await runVirsh(uri, ["blockjob", "bjv", "vdb", "--abort"])).code, 0);
      const none = await runVirsh(uri, ["blockjob", "bjv", "vdb", "--info"]);
      assert.equal(none.stdout, "No current block job for vdb\n");

      const copy = `${dir}/copy.qcow2`;
      const copied = await runVirsh(uri, [
        "blockcopy",
        "bjv",
        "vda",
        copy,
        "--transient-job",
        "--pivot",
        "--format",
        "qcow2",
      ]);
      assert.equal(copied.code, 0, copied.stderr);
      assert.equal(copied.stdout, "\nSuccessfully pivoted\n");
      const xml = (await runVirsh(uri, ["dumpxml", "bjv"])).stdout;
      assert.match(xml, new RegExp(`<driver name='qemu' type='qcow2'/>\\s*<source file='${copy}'`));
    } finally {
      const pids = serviceQemuPids(dirs.runtimeDir);
      await service.stop("SIGTERM");
      await killQemus(pids);
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "virsh block jobs on evirt's test hypervisor are refused as libvirt's test driver refuses them",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    try {
      const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`, "test", "default");
      await assertSameAsTestDriver(
        [
          "blockcommit test vda",
          "blockpull test vda",
          "blockcopy test vda /tmp/evirt-never.img",
          "blockcopy test vda /tmp/evirt-never.img --transient-job",
          "blockjob test vda --info",
          "blockjob test vda --abort",
          "blockjob test vda --bandwidth 5",
        ],
        (sequence) => runVirsh(uri, [sequence]),
      );
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
