import assert from "node:assert/strict";
import {
  diskController,
  diskNameIndex,
  driveAddressOf,
} from "../../../drivers/qemu/disk_arguments.ts";
import type { Disk } from "../../../src/model/domain.ts";
import { assertRefused, build, valuesOf, withDevices } from "./_qemu_definitions.ts";

function fileDisk(dev: string, bus: string, extra: Partial<Disk> = {}): Disk {
  return {
    type: "file",
    source: { file: `/images/${dev}.img`, hosts: [] },
    target: { dev, bus },
    ...extra,
  };
}

Deno.test("diskNameIndex reads the letters after the prefix in base 26", () => {
  assert.equal(diskNameIndex("vda"), 0);
  assert.equal(diskNameIndex("hdd"), 3);
  assert.equal(diskNameIndex("sdz"), 25);
  assert.equal(diskNameIndex("sdaa"), 26);
  assert.equal(diskNameIndex("nvme0n1"), undefined);
});

Deno.test("driveAddressOf derives IDE, SATA and SCSI places from the target name", () => {
  assert.deepEqual(driveAddressOf(fileDisk("hdc", "ide"), "w"), {
    controller: 0,
    bus: 1,
    target: 0,
    unit: 0,
  });
  assert.deepEqual(driveAddressOf(fileDisk("sdh", "sata"), "w"), {
    controller: 1,
    bus: 0,
    target: 0,
    unit: 1,
  });
  assert.deepEqual(driveAddressOf(fileDisk("sdb", "scsi"), "w"), {
    controller: 0,
    bus: 0,
    target: 0,
    unit: 1,
  });
  const addressed = fileDisk("hda", "ide", {
    address: { type: "drive", controller: 0, bus: 1, target: 0, unit: 1 },
  });
  assert.deepEqual(driveAddressOf(addressed, "w"), { controller: 0, bus: 1, target: 0, unit: 1 });
});

Deno.test("diskController names the controller a disk needs, none for virtio", () => {
  assert.deepEqual(diskController(fileDisk("sdc", "scsi"), "w"), { type: "scsi", index: 0 });
  assert.equal(diskController(fileDisk("vda", "virtio"), "w"), undefined);
});

Deno.test("addDiskArguments writes a protocol node, a format node and the device", () => {
  const definition = withDevices((devices) =>
    devices.disks.push(fileDisk("vda", "virtio", {
      driver: { type: "qcow2", cache: "none", io: "native", discard: "unmap" },
      serial: "S1",
      boot: { order: 1 },
    }))
  );
  const line = build(definition);
  const nodes = valuesOf(line.args, "-blockdev").map((text) => JSON.parse(text));
  assert.deepEqual(nodes, [
    {
      driver: "file",
      filename: "/images/vda.img",
      "node-name": "drive0-storage",
      "read-only": false,
      cache: { direct: true, "no-flush": false },
      aio: "native",
      discard: "unmap",
    },
    {
      driver: "qcow2",
      file: "drive0-storage",
      "node-name": "drive0-format",
      "read-only": false,
      cache: { direct: true, "no-flush": false },
      discard: "unmap",
    },
  ]);
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "virtio-blk-pci,bus=pci.0,addr=0x2,drive=drive0-format,id=virtio-disk0,bootindex=1,write-cache=on,serial=S1",
  ]);
  assert.deepEqual(line.hostPaths, [
    { path: "/images/vda.img", kind: "file", where: "/domain/devices/disk[1]/source/@file" },
  ]);
  assert.deepEqual(line.blockNodes, [
    {
      nodeName: "drive0-format",
      alias: "virtio-disk0",
      targetDev: "vda",
      sourcePath: "/images/vda.img",
    },
  ]);
});

Deno.test("addDiskArguments puts IDE disks and an empty CD-ROM on the i440fx IDE buses", () => {
  const definition = withDevices((devices) => {
    devices.disks.push({
      type: "block",
      source: { dev: "/dev/sdx", hosts: [] },
      target: { dev: "hda", bus: "ide" },
    });
    devices.disks.push({ type: "file", device: "cdrom", target: { dev: "hdc", bus: "ide" } });
  });
  const line = build(definition);
  assert.equal(JSON.parse(valuesOf(line.args, "-blockdev")[0]).driver, "host_device");
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "ide-hd,bus=ide.0,unit=0,drive=drive0-format,id=ide0-0-0",
    "ide-cd,bus=ide.1,unit=0,id=ide0-1-0",
  ]);
  assert.equal(line.hostPaths[0].kind, "block");
});

Deno.test("addDiskArguments uses q35's AHCI ports for SATA and refuses IDE there", () => {
  const q35 = { os: { type: "hvm", machine: "q35", boot: [] } };
  const sata = build(withDevices((devices) => devices.disks.push(fileDisk("sdb", "sata")), q35));
  assert.deepEqual(valuesOf(sata.args, "-device"), [
    "ide-hd,bus=ide.1,drive=drive0-format,id=sata0-0-1",
  ]);
  assertRefused(
    withDevices((devices) => devices.disks.push(fileDisk("hda", "ide")), q35),
    "/domain/devices/disk[1]/target/@bus",
  );
});

Deno.test("addDiskArguments adds the SCSI controller a SCSI disk needs, LSI by default", () => {
  const line = build(withDevices((devices) => devices.disks.push(fileDisk("sda", "scsi"))));
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "lsi,id=scsi0,bus=pci.0,addr=0x2",
    "scsi-hd,bus=scsi0.0,scsi-id=0,drive=drive0-format,id=scsi0-0-0-0",
  ]);
  const virtio = build(withDevices((devices) => {
    devices.controllers.push({ type: "scsi", index: 0, model: "virtio-scsi" });
    devices.disks.push(fileDisk("sdb", "scsi"));
  }));
  assert.deepEqual(valuesOf(virtio.args, "-device"), [
    "virtio-scsi-pci,id=scsi0,bus=pci.0,addr=0x2",
    "scsi-hd,bus=scsi0.0,channel=0,scsi-id=0,lun=1,drive=drive0-format,id=scsi0-0-0-1",
  ]);
});

Deno.test("addDiskArguments sets read-only nodes for CD-ROMs and refuses read-only IDE disks", () => {
  const cdrom = build(
    withDevices((devices) =>
      devices.disks.push(fileDisk("hdc", "ide", { device: "cdrom", driver: { type: "raw" } }))
    ),
  );
  assert.equal(JSON.parse(valuesOf(cdrom.args, "-blockdev")[1])["read-only"], true);
  assertRefused(
    withDevices((devices) => devices.disks.push(fileDisk("hda", "ide", { readonly: true }))),
    "/domain/devices/disk[1]/readonly",
  );
});

Deno.test("addDiskArguments refuses disk types, formats and options it cannot express", () => {
  const refusals: [Disk, string][] = [
    [{
      type: "network",
      source: { protocol: "nbd", hosts: [] },
      target: { dev: "vda", bus: "virtio" },
    }, "/@type"],
    [fileDisk("vda", "virtio", { driver: { type: "luks2" } }), "/driver/@type"],
    [fileDisk("vda", "virtio", { driver: { cache: "sometimes" } }), "/driver/@cache"],
    [fileDisk("vda", "virtio", { driver: { io: "native" } }), "/driver/@io"],
    [fileDisk("vda", "virtio", { device: "lun" }), "/@device"],
    [fileDisk("vda", "xen"), "/target/@bus"],
    [
      fileDisk("vda", "virtio", { extra: { elements: [{ element: { name: "iotune" } }] } }),
      "/iotune",
    ],
    [
      fileDisk("vda", "virtio", { backingStore: { type: "file", format: "raw" } }),
      "/backingStore/source",
    ],
    [
      fileDisk("vda", "virtio", {
        driver: { type: "qcow2" },
        backingStore: { type: "network", format: "raw", source: { name: "x", hosts: [] } },
      }),
      "/backingStore/@type",
    ],
    [
      fileDisk("vda", "virtio", {
        driver: { type: "qcow2" },
        backingStore: { type: "file", format: "luks2", source: { file: "/b", hosts: [] } },
      }),
      "/backingStore/format/@type",
    ],
    [{ type: "file", target: { dev: "vda", bus: "virtio" } }, "/source"],
  ];
  for (const [disk, path] of refusals) {
    assertRefused(
      withDevices((devices) => devices.disks.push(disk)),
      `/domain/devices/disk[1]${path}`,
    );
  }
});

Deno.test("addDiskArguments gives QEMU one read-only node pair per backing image, bottom first", () => {
  const line = build(withDevices((devices) =>
    devices.disks.push(fileDisk("vda", "virtio", {
      driver: { type: "qcow2" },
      backingStore: {
        type: "file",
        format: "qcow2",
        source: { file: "/images/mid.qcow2", hosts: [] },
        backingStore: {
          type: "file",
          format: "raw",
          source: { file: "/images/base.raw", hosts: [] },
          backingStore: {},
        },
      },
    }))
  ));
  const nodes = valuesOf(line.args, "-blockdev").map((text) => JSON.parse(text));
  assert.deepEqual(nodes.map((node) => [node["node-name"], node.filename ?? node.file]), [
    ["drive0-b2-storage", "/images/base.raw"],
    ["drive0-b2-format", "drive0-b2-storage"],
    ["drive0-b1-storage", "/images/mid.qcow2"],
    ["drive0-b1-format", "drive0-b1-storage"],
    ["drive0-storage", "/images/vda.img"],
    ["drive0-format", "drive0-storage"],
  ]);
  assert.deepEqual(nodes.slice(0, 4).map((node) => node["read-only"]), [true, true, true, true]);
  // A raw node takes no `backing`; each qcow2 node names the node below it.
  assert.equal("backing" in nodes[1], false);
  assert.equal(nodes[3].backing, "drive0-b2-format");
  assert.equal(nodes[5].backing, "drive0-b1-format");
  assert.equal(nodes[5]["read-only"], false);
  assert.deepEqual(
    line.hostPaths.map((each) => each.path),
    ["/images/vda.img", "/images/base.raw", "/images/mid.qcow2"],
  );
});

Deno.test("addDiskArguments closes a chain known to end and leaves an unknown one to QEMU", () => {
  const closed = build(
    withDevices((devices) =>
      devices.disks.push(fileDisk("vda", "virtio", { driver: { type: "qcow2" }, backingStore: {} }))
    ),
  );
  const [, closedFormat] = valuesOf(closed.args, "-blockdev").map((text) => JSON.parse(text));
  assert.equal(closedFormat.backing, null);
  const open = build(
    withDevices((devices) =>
      devices.disks.push(fileDisk("vda", "virtio", { driver: { type: "qcow2" } }))
    ),
  );
  const [, openFormat] = valuesOf(open.args, "-blockdev").map((text) => JSON.parse(text));
  assert.equal("backing" in openFormat, false);
  const raw = build(
    withDevices((devices) =>
      devices.disks.push(fileDisk("vda", "virtio", { driver: { type: "raw" }, backingStore: {} }))
    ),
  );
  const [, rawFormat] = valuesOf(raw.args, "-blockdev").map((text) => JSON.parse(text));
  assert.equal("backing" in rawFormat, false);
});
