/**
 * The real `virsh snapshot-*` drives the real evirt service over libvirt's protocol on a
 * test-hypervisor domain: it creates, lists (table, `--parent`, `--tree`, filters), reads,
 * reverts and deletes snapshots, and evirt's own CLI prints the same; the tree is in the log, so
 * it is the same after the service restarts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliRun, runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { assertSameOutput, runVirsh, socketUri } from "../support/virsh.ts";

const DOMAIN_XML = (dir: string) =>
  `<domain type='test'>
  <name>snap</name>
  <memory unit='KiB'>1048576</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='${dir}/snap.img'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>
`;

function evirt(service: ServiceProcess, ...args: string[]): Promise<CliRun> {
  return runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
}

/** The reads compared between virsh (over the protocol) and evirt's CLI (over HTTP). */
const READS: string[][] = [
  ["snapshot-list", "snap"],
  ["snapshot-list", "snap", "--parent"],
  ["snapshot-list", "snap", "--tree"],
  ["snapshot-list", "snap", "--roots"],
  ["snapshot-list", "snap", "--leaves", "--name"],
  ["snapshot-list", "snap", "--from", "s1", "--descendants", "--name"],
  ["snapshot-list", "snap", "--inactive", "--name"],
  ["snapshot-list", "snap", "--active", "--name"],
  ["snapshot-info", "snap", "s1"],
  ["snapshot-info", "snap", "--current"],
  ["snapshot-current", "snap", "--name"],
  ["snapshot-parent", "snap", "s3"],
  ["snapshot-dumpxml", "snap", "s2"],
];

testIf(
  "virsh snapshot-* drives evirt over libvirt's protocol; the tree survives a restart",
  missing("virsh"),
  async (t) => {
    const dirs = await serviceDirs();
    const base = dirs.stateDir.replace(/\/state$/, "");
    let service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    const virsh = async (...args: string[]) => {
      const run = await runVirsh(uri, args);
      assert.equal(run.code, 0, `virsh ${args.join(" ")}: ${run.stderr}`);
      return run.stdout;
    };
    const sameReads = async () => {
      for (const args of READS) {
        const [left, right] = [await runVirsh(uri, args), await evirt(service, ...args)];
        assert.equal(left.code, 0, `virsh ${args.join(" ")}: ${left.stderr}`);
        assert.equal(right.code, 0, `evirt ${args.join(" ")}: ${right.stderr}`);
        assertSameOutput(left.stdout, right.stdout, args.join(" "));
      }
    };
    try {
      await Deno.writeFile(`${base}/snap.img`, new Uint8Array(1 << 20));
      await Deno.writeTextFile(`${base}/snap.xml`, DOMAIN_XML(base));
      await virsh("define", `${base}/snap.xml`);

      await t.step("create a tree, shut off and running", async () => {
        assert.equal(
          await virsh("snapshot-create-as", "snap", "s1", "--description", "off"),
          "Domain snapshot s1 created\n",
        );
        await virsh("start", "snap");
        await virsh("snapshot-create-as", "snap", "s2");
        await virsh("snapshot-revert", "snap", "s1");
        await virsh("snapshot-create-as", "snap", "s3");
        assert.match(await virsh("snapshot-list", "snap", "--tree"), /^s1\n {2}\|\n {2}\+- s2\n/);
        await sameReads();
      });

      await t.step("revert to a running snapshot runs the domain (from snapshot)", async () => {
        await virsh("snapshot-revert", "snap", "s2");
        assert.equal(await virsh("domstate", "snap", "--reason"), "running (from snapshot)\n\n");
        await virsh("snapshot-revert", "snap", "s2", "--paused");
        assert.equal(await virsh("domstate", "snap", "--reason"), "paused (from snapshot)\n\n");
        await virsh("snapshot-revert", "snap", "s1");
        assert.equal(await virsh("domstate", "snap", "--reason"), "shut off (from snapshot)\n\n");
      });

      await t.step("bad input is refused with libvirt's codes, nothing changed", async () => {
        const before = await virsh("snapshot-list", "snap", "--name");
        const missingOne = await runVirsh(uri, ["snapshot-revert", "snap", "nope"]);
        assert.notEqual(missingOne.code, 0);
        assert.match(missingOne.stderr, /no domain snapshot with matching name 'nope'/);
        const duplicate = await runVirsh(uri, ["snapshot-create-as", "snap", "s1"]);
        assert.match(duplicate.stderr, /domain moment s1 already exists/);
        const undefine = await runVirsh(uri, ["undefine", "snap"]);
        assert.match(undefine.stderr, /cannot delete inactive domain with 3 snapshots/);
        assert.equal(await virsh("snapshot-list", "snap", "--name"), before);
      });

      await t.step("the tree is the same after a restart", async () => {
        const before = await virsh("snapshot-list", "snap", "--parent");
        await service.stop("SIGTERM");
        service = await startServiceProcess(dirs);
        assert.equal(await virsh("snapshot-list", "snap", "--parent"), before);
        assert.equal(await virsh("snapshot-current", "snap", "--name"), "s1\n");
        await sameReads();
      });

      await t.step("delete with --children-only and --children", async () => {
        assert.equal(
          await virsh("snapshot-delete", "snap", "s1", "--children-only"),
          "Domain snapshot s1 children deleted\n\n",
        );
        assert.equal(await virsh("snapshot-list", "snap", "--name"), "s1\n\n");
        await virsh("snapshot-create-as", "snap", "s4");
        await virsh("snapshot-delete", "snap", "s1", "--children");
        assert.equal(await virsh("snapshot-list", "snap", "--name"), "\n");
      });
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
