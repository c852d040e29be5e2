/**
 * The interface verbs side by side: the same commands run by virsh against evirt's libvirt
 * socket, by evirt's own CLI, and by virsh against libvirtd 9.0 (`qemu:///system`) on the same
 * inactive QEMU domain print the same output and the same errors (attach-interface's own
 * refusals, detach-interface by type and MAC, domif-getlink and domif-setlink, attach-device,
 * detach-device and update-device of an `<interface>` with `--config`, `--live` of an inactive
 * domain), and leave the same persistent `<interface>` elements (addresses included:
 * define-time completion; MACs libvirt generates are masked). The libvirtd domain is undefined
 * and the service stopped in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { LIBVIRTD_SOCKET, ORACLE_PREFIX, oracleVirsh } from "../support/libvirtd.ts";
import { type CliRun, runEvirt } from "../support/cli_process.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

const skip = missing("virsh", LIBVIRTD_SOCKET, "qemu-system-x86_64");

const FIRST = "52:54:00:6a:00:01";
const SECOND = "52:54:00:6a:00:02";

function domainXml(name: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='user'>
      <mac address='${FIRST}'/>
      <model type='virtio'/>
    </interface>
    <interface type='user'>
      <mac address='${SECOND}'/>
    </interface>
  </devices>
</domain>
`;
}

function evirt(service: ServiceProcess, ...args: string[]): Promise<CliRun> {
  return runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
}

/** The `<interface>` elements of a domain XML, as text, generated MACs masked. */
function interfaces(xml: string): string[] {
  return [...xml.matchAll(/<interface [\s\S]*?<\/interface>/g)].map((match) =>
    match[0].replace(
      /52:54:00(:[0-9a-f]{2}){3}/g,
      (mac) => mac.startsWith("52:54:00:6a") ? mac : "GENERATED",
    )
  );
}

testIf(
  "virsh's interface verbs answer over evirt's socket as libvirtd 9.0 answers for the same inactive domain",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    const name = `${ORACLE_PREFIX}ifhp-${crypto.randomUUID().slice(0, 8)}`;
    Deno.writeTextFileSync(`${dir}/domain.xml`, domainXml(name));
    const nic = (file: string, body: string) =>
      Deno.writeTextFileSync(`${dir}/${file}`, `<interface type='user'>${body}</interface>\n`);
    nic("third.xml", "<mac address='52:54:00:6a:00:03'/><model type='e1000'/>");
    nic("nomac.xml", "<model type='virtio'/>");
    nic("missing.xml", "<mac address='52:54:00:6a:00:99'/>");
    nic("down.xml", `<mac address='${FIRST}'/><model type='virtio'/><link state='down'/>`);
    nic("badmac.xml", "<mac address='01:54:00:6a:00:07'/>");
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
        ["attach-interface", name, "user", "x", "--config"],
        ["attach-interface", name, "bogus", "x", "--config"],
        ["attach-interface", name, "vhostuser", "/tmp/s", "--config"],
        ["attach-interface", name, "vhostuser", "/tmp/s", "--source-mode", "sideways"],
        ["attach-interface", name, "network", "default", "--inbound", "abc", "--config"],
        ["attach-interface", name, "network", "default", "--current", "--persistent"],
        ["attach-interface", name, "network", "default", "--current", "--live"],
        ["attach-interface", name, "bridge", "br0", "--model", "virtio", "--print-xml"],
        ["attach-interface", name, "hostdev", "zz", "--config"],
        ["attach-interface", name, "network", "default", "--live"],
        ["attach-device", name, `${dir}/third.xml`, "--config"],
        ["attach-device", name, `${dir}/nomac.xml`, "--config"],
        ["attach-device", name, `${dir}/badmac.xml`, "--config"],
        ["attach-device", name, `${dir}/third.xml`, "--live"],
        ["detach-interface", name, "user", "--config"],
        ["detach-interface", name, "network", "--config"],
        ["detach-interface", name, "network", "--config", "--mac", FIRST],
        ["detach-interface", name, "user", "--config", "--mac", "52:54:00:6a:00:99"],
        ["detach-interface", name, "user", "--mac", SECOND],
        ["detach-interface", name, "user", "--config", "--mac", "52:54:00:6A:00:03"],
        ["detach-device", name, `${dir}/missing.xml`, "--config"],
        ["detach-device", name, `${dir}/nomac.xml`, "--config"],
        ["domif-getlink", name, FIRST],
        ["domif-getlink", name, FIRST, "--config"],
        ["domif-getlink", name, "52:54:00:6a:00:99"],
        ["domif-getlink", name, "vnet7"],
        ["domif-setlink", name, FIRST, "sideways"],
        ["domif-setlink", name, "52:54:00:6a:00:99", "up"],
        ["domif-setlink", name, "vnet7", "up", "--config"],
        ["domif-setlink", name, SECOND, "down"],
        ["domif-getlink", name, SECOND],
        ["domif-setlink", name, SECOND, "up", "--config"],
        ["domif-getlink", name, SECOND, "--persistent"],
        ["update-device", name, `${dir}/down.xml`, "--config"],
        ["update-device", name, `${dir}/missing.xml`, "--config"],
        ["domif-getlink", name, FIRST],
        ["detach-interface", name, "user", "--persistent", "--mac", FIRST],
      ];
      // evirt's own CLI runs the same commands on a twin domain of the service.
      const twin = `${name}-cli`;
      Deno.writeTextFileSync(`${dir}/twin.xml`, domainXml(twin));
      assert.equal((await evirt(service, "define", `${dir}/twin.xml`)).code, 0);
      let refusals = 0;
      for (const args of commands) {
        const [ours, theirs] = [await runVirsh(uri, args), await oracleVirsh(args)];
        if (theirs.code !== 0) refusals++;
        const cli = await evirt(service, ...args.map((arg) => arg === name ? twin : arg));
        const what = args.join(" ").replaceAll(dir, "DIR");
        for (const [who, run] of [["virsh over evirt", ours], ["evirt", cli]] as const) {
          assert.equal(run.code, theirs.code, `${who}: ${what}: exit code\n${run.stderr}`);
          assert.equal(run.stdout, theirs.stdout, `${who}: ${what}: stdout`);
          assert.equal(
            run.stderr.replaceAll(twin, name),
            theirs.stderr,
            `${who}: ${what}: stderr`,
          );
        }
      }
      // The refusals compared above are libvirt's own, not a silent pass of both sides.
      assert.equal(refusals, 24, "libvirtd refused what it refuses");
      const [ours, theirs] = [
        await runVirsh(uri, ["dumpxml", "--inactive", name]),
        await oracleVirsh(["dumpxml", "--inactive", name]),
      ];
      assert.deepEqual(interfaces(ours.stdout), interfaces(theirs.stdout));
      const cli = await evirt(service, "dumpxml", "--inactive", twin);
      assert.deepEqual(interfaces(cli.stdout), interfaces(theirs.stdout), "evirt's CLI");
      assert.equal(interfaces(ours.stdout).length, 2, "the second, and the one without a MAC");
    } finally {
      if (defined) await oracleVirsh(["undefine", name]);
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
