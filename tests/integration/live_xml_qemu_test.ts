/**
 * The live XML of a real QEMU guest shows the runtime facts libvirt 9.0 shows, in libvirt's
 * shape: the `id`, each image of a qcow2 overlay's backing chain with libvirt's node indexes
 * (and QEMU given one read-only node per image), the pty of the serial port and console (`tty`),
 * the socket path of a guest agent channel, the VNC port and listen address, `<resource>`. The
 * same definition runs in libvirtd (when it answers on `qemu:///system`) and the two live XMLs
 * are compared fact by fact; `virsh vncdisplay`, `ttyconsole` and `domdisplay` over evirt's
 * libvirt socket print what evirt's own CLI prints; and a restarted service shows the same live
 * XML without asking QEMU. Every QEMU is ended in `finally`, the libvirtd guest destroyed.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { BackingStore, DomainDefinition } from "../../src/model/domain.ts";
import { parseDomainXml } from "../../src/xml/mod.ts";
import { runChild } from "../support/child_process.ts";
import { runEvirt } from "../support/cli_process.ts";
import { missing, testIf } from "../support/environment.ts";
import { guestInitrdPath, guestKernelPath, guestSkipReason } from "../support/guest.ts";
import {
  removeServiceDirs,
  serviceDirs,
  type ServiceProcess,
  startServiceProcess,
} from "../support/service_process.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import { runVirsh, socketUri } from "../support/virsh.ts";

const LIBVIRT_URI = "qemu:///system";

function domainXml(name: string, dir: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>${guestKernelPath()}</kernel>
    <initrd>${guestInitrdPath}</initrd>
    <cmdline>console=ttyS0 quiet panic=-1</cmdline>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${dir}/top.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'>
      <source mode='bind'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <graphics type='vnc' port='-1' autoport='yes'/>
  </devices>
</domain>
`;
}

/** A pty path reads `pty`, so two instances with different ptys compare equal. */
function ptyShape(path: string | undefined): string | undefined {
  return path !== undefined && /^\/dev\/pts\/\d+$/.test(path) ? "pty" : path;
}

function chainShape(store: BackingStore | undefined): unknown[] {
  const layers: unknown[] = [];
  for (let next = store; next !== undefined; next = next.backingStore) {
    if (next.source === undefined && next.type === undefined) {
      layers.push("end");
      break;
    }
    layers.push({
      type: next.type,
      index: next.index,
      format: next.format,
      file: next.source?.file,
    });
  }
  return layers;
}

/** The runtime facts of a live definition, with values that differ per instance masked. */
function runtimeFacts(live: DomainDefinition) {
  const { devices } = live;
  const resource = live.extra?.elements?.find(({ element }) => element.name === "resource");
  return {
    id: typeof live.id,
    disks: devices.disks.map((disk) => ({
      sourceIndex: disk.source?.index,
      chain: chainShape(disk.backingStore),
    })),
    serials: devices.serials.map((serial) => ptyShape(serial.sources[0]?.path)),
    consoles: devices.consoles.map((console) => ({
      tty: ptyShape(console.tty),
      source: ptyShape(console.sources[0]?.path),
    })),
    channels: devices.channels.map((channel) => ({
      mode: channel.sources[0]?.mode,
      socket: channel.sources[0]?.path?.split("/").at(-1),
    })),
    graphics: devices.graphics.map((graphics) => ({
      portTaken: (graphics.port ?? -1) >= 5900,
      websocketTaken: graphics.websocket === undefined ? undefined : graphics.websocket >= 5700,
      autoport: graphics.autoport,
      listen: graphics.listen,
      listens: graphics.listens.map((listen) => ({ type: listen.type, address: listen.address })),
    })),
    resource: resource?.element.children?.map((child) =>
      typeof child === "string" ? "text" : child.name
    ),
    seclabels: (live.extra?.elements ?? []).filter(({ element }) => element.name === "seclabel")
      .map(({ element }) => ({
        ...element.attributes,
        ...Object.fromEntries(
          (element.children ?? []).flatMap((child) =>
            typeof child === "string" ? [] : [[child.name, child.children?.join("")]]
          ),
        ),
      })),
  };
}

async function qemuImg(...args: string[]): Promise<void> {
  const run = await runChild("qemu-img", args, {}, 30_000);
  assert.equal(run.code, 0, `qemu-img ${args.join(" ")}: ${run.stderr}`);
}

/** A qcow2 overlay on a qcow2 layer on a raw base, in a folder libvirt's QEMU user can enter. */
async function imageChain(dir: string): Promise<void> {
  await Deno.chmod(dir, 0o755);
  await qemuImg("create", "-f", "raw", `${dir}/base.raw`, "64M");
  await qemuImg("create", "-f", "qcow2", "-b", `${dir}/base.raw`, "-F", "raw", `${dir}/mid.qcow2`);
  await qemuImg(
    "create",
    "-f",
    "qcow2",
    "-b",
    `${dir}/mid.qcow2`,
    "-F",
    "qcow2",
    `${dir}/top.qcow2`,
  );
}

/** The live XML libvirtd shows for the same definition, or a reason it cannot. */
async function libvirtLiveXml(
  xml: string,
  name: string,
  dir: string,
): Promise<{ xml: string; vncdisplay: string; domdisplay: string } | string> {
  const probe = await runVirsh(LIBVIRT_URI, ["uri"]);
  if (probe.code !== 0) return `libvirtd does not answer on ${LIBVIRT_URI}: ${probe.stderr.trim()}`;
  await Deno.writeTextFile(`${dir}/libvirt.xml`, xml);
  const created = await runVirsh(LIBVIRT_URI, ["create", `${dir}/libvirt.xml`]);
  if (created.code !== 0) return `libvirtd refused the guest: ${created.stderr.trim()}`;
  try {
    const live = await runVirsh(LIBVIRT_URI, ["dumpxml", name]);
    const vnc = await runVirsh(LIBVIRT_URI, ["vncdisplay", name]);
    const display = await runVirsh(LIBVIRT_URI, ["domdisplay", name]);
    assert.equal(live.code, 0, live.stderr);
    return { xml: live.stdout, vncdisplay: vnc.stdout, domdisplay: display.stdout };
  } finally {
    await runVirsh(LIBVIRT_URI, ["destroy", name]);
  }
}

function evirt(service: ServiceProcess, ...args: string[]) {
  return runEvirt(args, { ...service.env, EVIRT_DEFAULT_URI: "evirt:///system" });
}

testIf(
  "the live XML of a QEMU guest shows libvirt's runtime facts, in libvirt's shape, across a service restart",
  guestSkipReason() ?? missing("qemu-system-x86_64", "qemu-img", "virsh"),
  async (t) => {
    const dirs = await serviceDirs();
    // Its own folder: libvirt's QEMU user must reach the images (the service's folder is 0700).
    const imageDir = await Deno.makeTempDir({ prefix: "evirt-livexml-" });
    await imageChain(imageDir);
    const name = `evirt-livexml-${crypto.randomUUID().slice(0, 8)}`;
    const xml = domainXml(name, imageDir);
    // libvirtd first: QEMU locks the images, so the two guests cannot run at once.
    const libvirt = await libvirtLiveXml(xml, name, imageDir);
    let service = await startServiceProcess(dirs);
    const uri = socketUri(`${dirs.runtimeDir}/libvirt-sock`);
    try {
      await Deno.writeTextFile(`${imageDir}/evirt.xml`, xml);
      const defined = await evirt(service, "define", `${imageDir}/evirt.xml`);
      assert.equal(defined.code, 0, defined.stderr);
      const started = await evirt(service, "start", name);
      assert.equal(started.code, 0, started.stderr);
      const dumped = await evirt(service, "dumpxml", name);
      assert.equal(dumped.code, 0, dumped.stderr);
      const live = parseDomainXml(dumped.stdout);
      const facts = runtimeFacts(live);

      await t.step("the facts are there", () => {
        assert.deepEqual(facts.disks, [{
          sourceIndex: 1,
          chain: [
            { type: "file", index: 2, format: "qcow2", file: `${imageDir}/mid.qcow2` },
            { type: "file", index: 3, format: "raw", file: `${imageDir}/base.raw` },
            "end",
          ],
        }]);
        assert.equal(facts.id, "number");
        assert.deepEqual(facts.serials, ["pty"]);
        assert.deepEqual(facts.consoles, [{ tty: "pty", source: "pty" }]);
        assert.deepEqual(facts.channels, [{ mode: "bind", socket: "org.qemu.guest_agent.0" }]);
        assert.deepEqual(facts.graphics, [{
          portTaken: true,
          websocketTaken: undefined,
          autoport: "yes",
          listen: "127.0.0.1",
          listens: [{ type: "address", address: "127.0.0.1" }],
        }]);
        assert.deepEqual(facts.resource, ["partition"]);
        if (Deno.uid() === 0) {
          // A root service runs QEMU as its DAC user and shows the label, as libvirt's.
          assert.deepEqual(facts.seclabels.map(({ type, model }) => [type, model]), [[
            "dynamic",
            "dac",
          ]]);
        }
      });

      await t.step("QEMU got one read-only node per backing image", async () => {
        const [pid] = serviceQemuPids(dirs.runtimeDir);
        const argv = (await Deno.readTextFile(`/proc/${pid}/cmdline`)).split("\0");
        const nodes = argv.flatMap((arg, index) =>
          arg === "-blockdev" ? [JSON.parse(argv[index + 1])] : []
        );
        const files = nodes.filter((node) => node.driver === "file");
        assert.deepEqual(
          files.map((node) => [node.filename, node["read-only"]]),
          [
            [`${imageDir}/base.raw`, true],
            [`${imageDir}/mid.qcow2`, true],
            [`${imageDir}/top.qcow2`, false],
          ],
        );
      });

      if (typeof libvirt === "string") console.error(`skip: comparison with libvirtd: ${libvirt}`);
      await t.step({
        name: "libvirt shows the same facts in the same places",
        ignore: typeof libvirt === "string",
        fn: () => {
          if (typeof libvirt === "string") return;
          assert.deepEqual(facts, runtimeFacts(parseDomainXml(libvirt.xml)));
          assert.match(libvirt.vncdisplay, /^127\.0\.0\.1:\d+\n\n$/);
          assert.match(libvirt.domdisplay, /^vnc:\/\/127\.0\.0\.1:\d+\n$/);
        },
      });

      await t.step(
        "virsh reads the displays and the tty over evirt's socket as evirt's CLI",
        async () => {
          for (const verb of ["vncdisplay", "ttyconsole", "domdisplay"]) {
            const [left, right] = [
              await runVirsh(uri, [verb, name]),
              await evirt(service, verb, name),
            ];
            assert.equal(left.code, 0, `virsh ${verb}: ${left.stderr}`);
            assert.equal(right.code, 0, `evirt ${verb}: ${right.stderr}`);
            assert.equal(right.stdout, left.stdout, verb);
          }
          const tty = await evirt(service, "ttyconsole", name);
          assert.equal(tty.stdout, `${live.devices.consoles[0].tty}\n\n`);
          const vnc = await evirt(service, "vncdisplay", name);
          assert.equal(vnc.stdout, `127.0.0.1:${live.devices.graphics[0].port! - 5900}\n\n`);
        },
      );

      await t.step("a restarted service shows the same live XML", async () => {
        await service.stop("SIGTERM");
        service = await startServiceProcess(dirs);
        const again = await evirt(service, "dumpxml", name);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(again.stdout, dumped.stdout);
      });

      await t.step(
        "the live XML defined again starts, with its runtime facts named anew",
        async () => {
          assert.equal((await evirt(service, "destroy", name)).code, 0);
          await Deno.writeTextFile(`${imageDir}/live.xml`, dumped.stdout);
          const redefined = await evirt(service, "define", `${imageDir}/live.xml`);
          assert.equal(redefined.code, 0, redefined.stderr);
          const restarted = await evirt(service, "start", name);
          assert.equal(restarted.code, 0, restarted.stderr);
          const again = parseDomainXml((await evirt(service, "dumpxml", name)).stdout);
          assert.deepEqual(runtimeFacts(again), facts);
          assert.notEqual(
            again.devices.channels[0].sources[0].path,
            live.devices.channels[0].sources[0].path,
          );
        },
      );

      const destroyed = await evirt(service, "destroy", name);
      assert.equal(destroyed.code, 0, destroyed.stderr);
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
      await Deno.remove(imageDir, { recursive: true });
    }
  },
);

function secondDomainXml(name: string, dir: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>${guestKernelPath()}</kernel>
    <initrd>${guestInitrdPath}</initrd>
  </os>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${dir}/base.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${dir}/solo.qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/><readonly/></disk>
    <console type='pty'><target type='virtio' port='0'/></console>
    <channel type='unix'><source mode='bind'/><target type='virtio'/></channel>
    <graphics type='vnc' port='-1' autoport='yes' listen='0.0.0.0' websocket='-1'/>
  </devices>
</domain>
`;
}

testIf(
  "the live XML numbers disks, names an unnamed channel and shows a wildcard VNC as libvirt",
  guestSkipReason() ?? missing("qemu-system-x86_64", "qemu-img", "virsh"),
  async (t) => {
    const dirs = await serviceDirs();
    const imageDir = await Deno.makeTempDir({ prefix: "evirt-livexml-" });
    await Deno.chmod(imageDir, 0o755);
    await qemuImg("create", "-f", "raw", `${imageDir}/base.raw`, "16M");
    await qemuImg("create", "-f", "qcow2", `${imageDir}/solo.qcow2`, "16M");
    const name = `evirt-livexml-${crypto.randomUUID().slice(0, 8)}`;
    const xml = secondDomainXml(name, imageDir);
    const libvirt = await libvirtLiveXml(xml, name, imageDir);
    const service = await startServiceProcess(dirs);
    try {
      await Deno.writeTextFile(`${imageDir}/evirt.xml`, xml);
      const created = await evirt(service, "create", `${imageDir}/evirt.xml`);
      assert.equal(created.code, 0, created.stderr);
      const dumped = await evirt(service, "dumpxml", name);
      assert.equal(dumped.code, 0, dumped.stderr);
      const facts = runtimeFacts(parseDomainXml(dumped.stdout));
      await t.step("the facts are there", () => {
        assert.deepEqual(facts.disks, [
          { sourceIndex: 3, chain: ["end"] },
          { sourceIndex: 2, chain: ["end"] },
          { sourceIndex: undefined, chain: [] },
        ]);
        assert.deepEqual(facts.consoles, [{ tty: "pty", source: "pty" }]);
        assert.deepEqual(facts.channels, [{ mode: "bind", socket: "vioser-00-00-01.sock" }]);
        assert.deepEqual(facts.graphics, [{
          portTaken: true,
          websocketTaken: true,
          autoport: "yes",
          listen: "0.0.0.0",
          listens: [{ type: "address", address: "0.0.0.0" }],
        }]);
      });
      if (typeof libvirt === "string") console.error(`skip: comparison with libvirtd: ${libvirt}`);
      await t.step({
        name: "libvirt shows the same facts in the same places",
        ignore: typeof libvirt === "string",
        fn: () => {
          if (typeof libvirt === "string") return;
          assert.deepEqual(facts, runtimeFacts(parseDomainXml(libvirt.xml)));
          assert.match(libvirt.vncdisplay, /^:\d+\n\n$/);
          assert.match(libvirt.domdisplay, /^vnc:\/\/localhost:\d+\n$/);
        },
      });
      await t.step("evirt's display verbs print libvirt's shapes", async () => {
        assert.match((await evirt(service, "vncdisplay", name)).stdout, /^:\d+\n\n$/);
        assert.match(
          (await evirt(service, "domdisplay", name)).stdout,
          /^vnc:\/\/localhost:\d+\n$/,
        );
        assert.match((await evirt(service, "ttyconsole", name)).stdout, /^\/dev\/pts\/\d+\n\n$/);
      });
      const destroyed = await evirt(service, "destroy", name);
      assert.equal(destroyed.code, 0, destroyed.stderr);
    } finally {
      await killQemus(serviceQemuPids(dirs.runtimeDir));
      await service.stop("SIGTERM");
      await removeServiceDirs(dirs);
      await Deno.remove(imageDir, { recursive: true });
    }
  },
);
