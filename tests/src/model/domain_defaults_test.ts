import assert from "node:assert/strict";
import { applyDomainDefaults } from "../../../src/model/domain_defaults.ts";
import { type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";
import { parseDomainXml } from "../../../src/xml/mod.ts";

const fixed = {
  generateUuid: () => "00000000-0000-4000-8000-000000000001",
  generateMac: () => "52:54:00:00:00:99",
};

function minimal(): DomainDefinition {
  return {
    type: "qemu",
    name: "d",
    memoryKiB: 2048,
    vcpus: 0,
    os: { type: "hvm", boot: [] },
    devices: emptyDevices(),
  };
}

Deno.test("applyDomainDefaults fills in what libvirt fills in at define", () => {
  const def = applyDomainDefaults(minimal(), fixed);
  assert.equal(def.uuid, "00000000-0000-4000-8000-000000000001");
  assert.equal(def.currentMemoryKiB, 2048);
  assert.equal(def.vcpus, 1);
  assert.deepStrictEqual(def.vcpu, { placement: "static" });
  assert.deepStrictEqual([def.os.arch, def.os.boot], ["x86_64", ["hd"]]);
  assert.deepStrictEqual(def.clock, { offset: "utc", timers: [] });
  assert.deepStrictEqual([def.onPoweroff, def.onReboot, def.onCrash], [
    "destroy",
    "restart",
    "destroy",
  ]);
});

Deno.test("applyDomainDefaults does not change its input", () => {
  const input = minimal();
  const copy = structuredClone(input);
  applyDomainDefaults(input, fixed);
  assert.deepStrictEqual(input, copy);
});

Deno.test("applyDomainDefaults writes a UUID in canonical form and keeps given values", () => {
  const def = minimal();
  def.uuid = "C7A5FDBDEDAF9455926AD65C16DB1809";
  def.currentMemoryKiB = 1024;
  def.onCrash = "preserve";
  def.os.arch = "aarch64";
  const result = applyDomainDefaults(def, fixed);
  assert.equal(result.uuid, "c7a5fdbd-edaf-9455-926a-d65c16db1809");
  assert.deepStrictEqual([result.currentMemoryKiB, result.onCrash, result.os.arch], [
    1024,
    "preserve",
    "aarch64",
  ]);
});

Deno.test("applyDomainDefaults boots from hd only when no device has a boot order", () => {
  const def = minimal();
  def.devices.disks.push({
    source: { file: "/a", hosts: [] },
    target: { dev: "vda" },
    boot: { order: 1 },
  });
  assert.deepStrictEqual(applyDomainDefaults(def, fixed).os.boot, []);
});

Deno.test("applyDomainDefaults takes memory from NUMA cells and orders them by id", () => {
  const def = minimal();
  def.cpu = {
    features: [],
    numa: { cells: [{ id: 1, memoryKiB: 1024 }, { id: 0, memoryKiB: 512 }] },
  };
  const result = applyDomainDefaults(def, fixed);
  assert.equal(result.memoryKiB, 1536);
  assert.deepStrictEqual(result.cpu?.numa?.cells.map((cell) => cell.id), [0, 1]);
});

Deno.test("applyDomainDefaults expands schedulers per id and trims tunes to the vCPU count", () => {
  const def = minimal();
  def.vcpus = 2;
  def.cputune = {
    vcpupins: [],
    iothreadpins: [],
    vcpuscheds: [{ vcpus: "0-3", scheduler: "fifo", priority: 1 }],
    iothreadscheds: [{ iothreads: "3,1", scheduler: "batch" }],
    cachetunes: [{ vcpus: "0-3", caches: [], monitors: [] }, {
      vcpus: "9",
      caches: [],
      monitors: [],
    }],
    memorytunes: [],
  };
  const tune = applyDomainDefaults(def, fixed).cputune!;
  assert.deepStrictEqual(tune.vcpuscheds.map((sched) => sched.vcpus), ["0", "1"]);
  assert.deepStrictEqual(tune.iothreadscheds.map((sched) => sched.iothreads), ["1", "3"]);
  assert.deepStrictEqual(tune.cachetunes.map((cache) => cache.vcpus), ["0-1"]);
});

Deno.test("applyDomainDefaults adds the controllers and addresses libvirt adds", () => {
  const def = parseDomainXml(
    `<domain type='qemu'><name>d</name><memory>1024</memory><os><type>hvm</type></os><devices>
    <controller type='usb'/><controller type='usb' index='0' model='none'/>
    <smartcard mode='host'/>
    <channel type='pty'><target type='virtio' name='a.b'/></channel>
    <interface type='user'/></devices></domain>`,
  );
  const devices = applyDomainDefaults(def, fixed).devices;
  assert.deepStrictEqual(devices.controllers.map((item) => `${item.type}:${item.index}`), [
    "usb:1",
    "usb:0",
    "virtio-serial:0",
    "ccid:0",
  ]);
  assert.deepStrictEqual(devices.smartcards[0].address, { type: "ccid", controller: 0, slot: 0 });
  assert.equal(devices.interfaces[0].mac, "52:54:00:00:00:99");
});

Deno.test("applyDomainDefaults gives VNC a listen and an automatic port, and echoes the first listen address", () => {
  const def = minimal();
  def.devices.graphics.push({ type: "vnc", listens: [] }, {
    type: "vnc",
    port: 5901,
    listens: [{ type: "address", address: "::1" }],
  });
  const [automatic, fixedPort] = applyDomainDefaults(def, fixed).devices.graphics;
  assert.deepStrictEqual(automatic, {
    type: "vnc",
    port: -1,
    autoport: "yes",
    listens: [{ type: "address" }],
  });
  assert.deepStrictEqual([fixedPort.port, fixedPort.autoport, fixedPort.listen], [
    5901,
    "no",
    "::1",
  ]);
});

Deno.test("applyDomainDefaults normalises character device sources as libvirt does", () => {
  const def = minimal();
  def.devices.serials.push(
    { type: "tcp", sources: [{ host: "h", service: "1" }] },
    { type: "udp", sources: [{ service: "1" }, { mode: "bind", service: "2" }] },
    { type: "unix", sources: [{ mode: "connect" }, { path: "/s" }] },
  );
  const [tcp, udp, unix] = applyDomainDefaults(def, fixed).devices.serials;
  assert.deepStrictEqual([tcp.sources[0].mode, tcp.protocol], ["connect", "raw"]);
  assert.deepStrictEqual(udp.sources.map((source) => source.mode), ["bind", "connect"]);
  assert.deepStrictEqual(unix.sources, [{ path: "/s", mode: "connect" }]);
});

Deno.test("applyDomainDefaults makes the first video the primary one", () => {
  const def = minimal();
  def.devices.videos.push({ model: { type: "vga" } }, { model: { type: "qxl", primary: "yes" } });
  const videos = applyDomainDefaults(def, fixed).devices.videos;
  assert.deepStrictEqual(videos.map((video) => video.model?.type), ["qxl", "vga"]);
});

Deno.test("applyDomainDefaults refuses a scheduler that names a vCPU twice", () => {
  const def = minimal();
  def.vcpus = 4;
  def.cputune = {
    vcpupins: [],
    iothreadpins: [],
    vcpuscheds: [{ vcpus: "0-1", scheduler: "fifo" }, { vcpus: "1", scheduler: "idle" }],
    iothreadscheds: [],
    cachetunes: [],
    memorytunes: [],
  };
  assert.throws(
    () => applyDomainDefaults(def, fixed),
    (error: Error & { code?: number; where?: string }) =>
      error.code === 27 && error.where === "/domain/cputune/vcpusched[2]",
  );
});

Deno.test("applyDomainDefaults gives USB2 companions without an index their group's, as libvirt", () => {
  const def = parseDomainXml(
    `<domain type='qemu'><name>d</name><memory>1024</memory><os><type machine='q35'>hvm</type></os><devices>
    <controller type='usb' model='ich9-ehci1'/><controller type='usb' model='ich9-uhci1'/>
    <controller type='usb' model='ich9-uhci2'/><controller type='usb' model='ich9-ehci1'/>
    <controller type='usb' model='ich9-uhci1'/><controller type='usb' model='ich9-uhci1'/>
    <controller type='usb' model='nec-xhci'/><controller type='usb' model='ich9-uhci1'/>
    </devices></domain>`,
  );
  const devices = applyDomainDefaults(def, fixed).devices;
  assert.deepStrictEqual(
    devices.controllers.filter((item) => item.type === "usb").map((item) =>
      `${item.model}:${item.index}`
    ),
    [
      "ich9-ehci1:0",
      "ich9-uhci1:0",
      "ich9-uhci2:0",
      "ich9-ehci1:1",
      "ich9-uhci1:1",
      // A second UHCI1 cannot join group 1: it starts its own; after the xHCI a new one too.
      "ich9-uhci1:2",
      "nec-xhci:3",
      "ich9-uhci1:4",
    ],
  );
});
