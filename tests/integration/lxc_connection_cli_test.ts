/**
 * The LXC driver's connection URI through the real CLI and real virsh against the real
 * service: `-c lxc:///system` (evirt) and `lxc+unix:///system?socket=…` (virsh over evirt's
 * libvirt socket) see only containers, as libvirt's per-driver connections do, while
 * `evirt:///system` and `qemu+unix://…` still see the test domain.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type CliRun, runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

const EMPTY_LIST = " Id   Name   State\n--------------------\n\n";

Deno.test("evirt -c lxc:///system lists and finds only containers", async () => {
  const dirs = await serviceDirs();
  const service = await startServiceProcess(dirs);
  const evirt = (uri: string, ...args: string[]): Promise<CliRun> =>
    runEvirt(["-c", uri, ...args], service.env);
  try {
    await service.client.define({
      xml: "<domain type='test'><name>web</name><memory unit='MiB'>64</memory>" +
        "<os><type>hvm</type></os></domain>",
    });
    const all = await evirt("evirt:///system", "list", "--all");
    assert.match(all.stdout, /web\s+shut off/);
    const containers = await evirt("lxc:///system", "list", "--all");
    assert.equal(containers.code, 0, containers.stderr);
    assert.equal(containers.stdout, EMPTY_LIST);
    const info = await evirt("lxc:///system", "dominfo", "web");
    assert.notEqual(info.code, 0);
    assert.equal(info.stderr, "error: failed to get domain 'web'\n");
  } finally {
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
});

testIf(
  "virsh over evirt's socket: lxc+unix sees only containers, qemu+unix the rest",
  missing("virsh"),
  async () => {
    const dirs = await serviceDirs();
    const service = await startServiceProcess(dirs);
    const socket = `${dirs.runtimeDir}/libvirt-sock`;
    try {
      await service.client.define({
        xml: "<domain type='test'><name>web</name><memory unit='MiB'>64</memory>" +
          "<os><type>hvm</type></os></domain>",
      });
      const lxc = socketUri(socket, "lxc");
      assert.equal((await runVirsh(lxc, ["list", "--all"])).stdout, EMPTY_LIST);
      const info = await runVirsh(lxc, ["dominfo", "web"]);
      assert.equal(info.stderr, "error: failed to get domain 'web'\n");
      const qemu = await runVirsh(socketUri(socket), ["list", "--all", "--name"]);
      assert.equal(qemu.stdout, "web\n\n");
    } finally {
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
    }
  },
);
