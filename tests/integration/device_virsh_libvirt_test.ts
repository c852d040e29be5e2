/**
 * The device verbs through virsh and evirt's CLI, side by side: the same commands run by virsh
 * against evirt's libvirt socket, by evirt's own CLI, and by virsh against libvirtd 9.0 (`qemu:///system`) on the same inactive QEMU domain
 * print the same output and the same errors (attach-disk, a target in use, `--live` of an
 * inactive domain, detach-disk of a missing target, change-media insert and eject, an eject of
 * an empty drive, update-device and detach-device of a missing target), and leave the same
 * persistent `<disk>` elements (addresses included: define-time completion). The libvirtd domain
 * is undefined and the service stopped in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_SOCKET, oracleVirsh } from "../support/libvirtd.ts";
import { type CliRun, runEvirt } from "../support/cli_process.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

const skip = missing("virsh", LIBVIRTD_SOCKET, "qemu-system-x86_64");

function domainXml(name: string, dir: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='${dir}/a.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
  </devices>
</domain>
`;
}

function evirt(service: ServiceProcess, ...args: string[]): Promise<CliRun> {
  return runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
}

/** The `<disk>` elements of a domain XML, as text. */
function disks(xml: string): string[] {
  return [...xml.matchAll(/<disk [\s\S]*?<\/disk>/g)].map((match) => match[0]);
}

testIf(
  "virsh's device verbs answer over evirt's socket as libvirtd 9.0 answers for the same inactive domain",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    const name = `hotplug14-${crypto.randomUUID().slice(0, 8)}`;
    for (const image of ["a.img", "b.img", "c.iso"]) {
      Deno.writeFileSync(`${dir}/${image}`, new Uint8Array(1024 * 1024));
    }
    Deno.writeTextFileSync(`${dir}/domain.xml`, domainXml(name, dir));
    Deno.writeTextFileSync(
      `${dir}/vdz.xml`,
      `<disk type='file' device='disk'><source file='${dir}/b.img'/><target dev='vdz' bus='virtio'/></disk>\n`,
    );
    const service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    let defined = false;
    try {
      const [left, right] = [
        await runVirsh(uri, ["define", `${dir}/domain.xml`]),
        await oracleVirsh(["define", `${dir}/domain.xml`]),
      ];
      defined = right.code === 0;
      assert.equal(left.code, 0, left.stderr);
      assert.equal(right.code, 0, right.stderr);
      const commands = [
        ["attach-disk", name, `${dir}/b.img`, "vdb", "--config"],
        ["attach-disk", name, `${dir}/b.img`, "vdb", "--config"],
        ["attach-disk", name, `${dir}/b.img`, "vdc", "--live"],
        ["attach-disk", name, `${dir}/b.img`, "vdc", "--persistent"],
        ["detach-disk", name, "vdz", "--config"],
        ["detach-disk", name, "vdc", "--config"],
        ["change-media", name, "hdc", `${dir}/c.iso`, "--insert", "--config"],
        ["change-media", name, "hdc", `${dir}/c.iso`, "--insert", "--config"],
        ["change-media", name, "hdc", "--eject", "--config"],
        ["change-media", name, "hdc", "--eject", "--config"],
        ["change-media", name, "vda", "--eject", "--config"],
        ["update-device", name, `${dir}/vdz.xml`, "--config"],
        ["detach-device", name, `${dir}/vdz.xml`, "--config"],
        ["detach-device", name, `${dir}/vdz.xml`],
        ["detach-device", name, `${dir}/vdz.xml`, "--config", "--current"],
        ["detach-device-alias", name, "nosuch", "--config"],
        ["detach-device-alias", name, "nosuch"],
        ["detach-device-alias", name, "ua-x", "--live"],
      ];
      // evirt's own CLI runs the same commands on a twin domain of the service.
      const twin = `${name}-cli`;
      Deno.writeTextFileSync(`${dir}/twin.xml`, domainXml(twin, dir));
      assert.equal((await evirt(service, "define", `${dir}/twin.xml`)).code, 0);
      for (const args of commands) {
        const [ours, theirs] = [await runVirsh(uri, args), await oracleVirsh(args)];
        const cli = await evirt(service, ...args.map((arg) => arg === name ? twin : arg));
        const what = args.join(" ").replaceAll(dir, "DIR");
        for (const [who, run] of [["virsh over evirt", ours], ["evirt", cli]] as const) {
          assert.equal(run.code, theirs.code, `${who}: ${what}: exit code\n${run.stderr}`);
          assert.equal(run.stdout, theirs.stdout, `${who}: ${what}: stdout`);
          assert.equal(run.stderr, theirs.stderr, `${who}: ${what}: stderr`);
        }
      }
      const [ours, theirs] = [
        await runVirsh(uri, ["dumpxml", "--inactive", name]),
        await oracleVirsh(["dumpxml", "--inactive", name]),
      ];
      assert.deepEqual(disks(ours.stdout), disks(theirs.stdout));
      const cli = await evirt(service, "dumpxml", "--inactive", `${name}-cli`);
      assert.deepEqual(disks(cli.stdout), disks(theirs.stdout), "evirt's CLI");
      assert.equal(disks(ours.stdout).length, 3, "vda, vdb and the cdrom");
    } finally {
      if (defined) await oracleVirsh(["undefine", name]);
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
