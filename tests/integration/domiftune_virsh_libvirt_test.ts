/**
 * `domiftune` side by side: the same commands run by virsh against evirt's libvirt socket, by
 * evirt's own CLI, and by virsh against libvirtd 9.0 (`qemu:///system`) on the same inactive
 * QEMU domain print the same output and the same errors — reads of a network and a bridge
 * interface by MAC, `--config` changes (a named direction replaced, `0` removing it, a floor),
 * an unknown interface, `--live` of an inactive domain, malformed rates — and leave the same
 * persistent `<bandwidth>` elements. The libvirtd domain is undefined and the service stopped
 * in `finally`.
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

const NETWORK_MAC = "52:54:00:6d:00:01";
const BRIDGE_MAC = "52:54:00:6d:00:02";

function domainXml(name: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='network'>
      <mac address='${NETWORK_MAC}'/>
      <source network='default'/>
      <bandwidth>
        <inbound average='100' peak='200' burst='10'/>
      </bandwidth>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='${BRIDGE_MAC}'/>
      <source bridge='br9'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
`;
}

function evirt(service: ServiceProcess, ...args: string[]): Promise<CliRun> {
  return runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
}

/** The `<bandwidth>` elements of a domain XML, as text. */
function bandwidths(xml: string): string[] {
  return [...xml.matchAll(/<bandwidth>[\s\S]*?<\/bandwidth>/g)].map((match) => match[0]);
}

testIf(
  "virsh domiftune answers over evirt's socket as libvirtd 9.0 answers for the same inactive domain",
  skip,
  async () => {
    const dirs = await serviceDirs();
    const dir = dirs.stateDir.replace(/\/state$/, "");
    const name = `${ORACLE_PREFIX}iftune-${crypto.randomUUID().slice(0, 8)}`;
    Deno.writeTextFileSync(`${dir}/domain.xml`, domainXml(name));
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
        ["domiftune", name, NETWORK_MAC],
        ["domiftune", name, NETWORK_MAC, "--config"],
        ["domiftune", name, BRIDGE_MAC, "--config"],
        ["domiftune", name, "nosuch", "--config"],
        ["domiftune", name, NETWORK_MAC, "--live"],
        ["domiftune", name, NETWORK_MAC, "--live", "--inbound", "5"],
        [
          "domiftune",
          name,
          NETWORK_MAC,
          "--config",
          "--inbound",
          "300,400,20,50",
          "--outbound",
          "7",
        ],
        ["domiftune", name, NETWORK_MAC, "--config"],
        ["domiftune", name, NETWORK_MAC.toUpperCase(), "--config", "--outbound", "9,0,4"],
        ["domiftune", name, NETWORK_MAC],
        ["domiftune", name, BRIDGE_MAC, "--config", "--inbound", "300,0,0,50"],
        ["domiftune", name, BRIDGE_MAC, "--config"],
        ["domiftune", name, NETWORK_MAC, "--config", "--inbound", "0"],
        ["domiftune", name, NETWORK_MAC, "--config"],
        ["domiftune", name, NETWORK_MAC, "--config", "--inbound", "0,5"],
        ["domiftune", name, "nosuch", "--config", "--inbound", "5"],
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
        const what = args.join(" ");
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
      assert.equal(refusals, 5, "libvirtd refused what it refuses");
      const [ours, theirs] = [
        await runVirsh(uri, ["dumpxml", "--inactive", name]),
        await oracleVirsh(["dumpxml", "--inactive", name]),
      ];
      assert.deepEqual(bandwidths(ours.stdout), bandwidths(theirs.stdout));
      const cli = await evirt(service, "dumpxml", "--inactive", twin);
      assert.deepEqual(bandwidths(cli.stdout), bandwidths(theirs.stdout), "evirt's CLI");
      assert.equal(bandwidths(theirs.stdout).length, 2);
    } finally {
      if (defined) await oracleVirsh(["undefine", name]);
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
