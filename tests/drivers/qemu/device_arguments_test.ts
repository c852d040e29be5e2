import assert from "node:assert/strict";
import { deviceControllers } from "../../../drivers/qemu/device_arguments.ts";
import { emptyDevices } from "../../../src/model/domain.ts";
import { assertRefused, build, valuesOf, withDevices } from "./_qemu_definitions.ts";

Deno.test("addDeviceArguments adds nothing for PS/2 inputs and USB devices for USB inputs", () => {
  const line = build(withDevices((devices) => {
    devices.inputs.push({ type: "mouse", bus: "ps2" }, { type: "keyboard", bus: "ps2" });
    devices.inputs.push({ type: "tablet", bus: "usb" });
  }));
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "piix3-usb-uhci,id=usb,bus=pci.0,addr=0x1.0x2",
    "usb-tablet,id=input2,bus=usb.0",
  ]);
});

Deno.test("addDeviceArguments makes VNC listen on an automatic display with a default VGA card", () => {
  const line = build(
    withDevices((devices) =>
      devices.graphics.push({ type: "vnc", port: -1, autoport: "yes", listens: [] })
    ),
  );
  assert.deepEqual(valuesOf(line.args, "-vnc"), ["127.0.0.1:0,to=99"]);
  assert.deepEqual(valuesOf(line.args, "-display"), []);
  assert.deepEqual(valuesOf(line.args, "-device"), ["VGA,id=video0,bus=pci.0,addr=0x2"]);
  const fixed = build(
    withDevices((devices) =>
      devices.graphics.push({
        type: "vnc",
        port: 5903,
        autoport: "no",
        listen: "0.0.0.0",
        listens: [],
      })
    ),
  );
  assert.deepEqual(valuesOf(fixed.args, "-vnc"), ["0.0.0.0:3"]);
});

Deno.test("addDeviceArguments refuses other graphics and a VNC password", () => {
  assertRefused(
    withDevices((devices) => devices.graphics.push({ type: "sdl", listens: [] })),
    "/domain/devices/graphics[1]/@type",
  );
  assertRefused(
    withDevices((devices) => devices.graphics.push({ type: "vnc", passwd: "secret", listens: [] })),
    "/domain/devices/graphics[1]/@passwd",
  );
});

Deno.test("addDeviceArguments maps video models with their memory sizes", () => {
  const line = build(withDevices((devices) => {
    devices.videos.push({
      model: { type: "qxl", ram: 65536, vram: 32768, vgamem: 16384, heads: 1 },
    });
    devices.videos.push({ model: { type: "virtio" } });
  }));
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "qxl-vga,id=video0,ram_size=67108864,vram_size=33554432,vgamem_mb=16,max_outputs=1,bus=pci.0,addr=0x2",
    "virtio-gpu-pci,id=video1,bus=pci.0,addr=0x3",
  ]);
});

Deno.test("addDeviceArguments adds sound with an audio backend of type none", () => {
  const line = build(withDevices((devices) => {
    devices.sounds.push({ model: "ich9", codecs: [] });
    devices.extra = {
      elements: [{ element: { name: "audio", attributes: { id: "1", type: "none" } } }],
    };
  }));
  assert.deepEqual(valuesOf(line.args, "-audiodev"), ["none,id=audio1"]);
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "ich9-intel-hda,id=sound0,bus=pci.0,addr=0x2",
    "hda-duplex,id=sound0-codec0,bus=sound0.0,cad=0,audiodev=audio1",
  ]);
  assertRefused(
    withDevices((devices) => {
      devices.extra = {
        elements: [{ element: { name: "audio", attributes: { id: "1", type: "pulseaudio" } } }],
      };
    }),
    "/domain/devices/audio[1]/@type",
  );
});

Deno.test("addDeviceArguments sets the watchdog device and its action", () => {
  const line = build(
    withDevices((devices) => devices.watchdogs.push({ model: "i6300esb", action: "pause" })),
  );
  assert.deepEqual(valuesOf(line.args, "-device"), ["i6300esb,id=watchdog0,bus=pci.0,addr=0x2"]);
  assert.deepEqual(valuesOf(line.args, "-action"), ["watchdog=pause"]);
  assertRefused(
    withDevices((devices) => devices.watchdogs.push({ model: "i6300esb", action: "dump" })),
    "/domain/devices/watchdog[1]/@action",
  );
});

Deno.test("addDeviceArguments adds the balloon and returns its statistics period", () => {
  const line = build(
    withDevices((devices) =>
      devices.memballoon = { model: "virtio", autodeflate: "on", statsPeriod: 10 }
    ),
  );
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "virtio-balloon-pci,id=balloon0,deflate-on-oom=on,bus=pci.0,addr=0x2",
  ]);
  assert.deepEqual(line.runtime, { balloonStatsPeriodSeconds: 10 });
  assert.equal(line.balloon, true);
  assert.equal(
    build(withDevices((devices) => devices.memballoon = { model: "none" })).balloon,
    false,
  );
});

Deno.test("addDeviceArguments adds an rng with its backend object and rate", () => {
  const line = build(
    withDevices((devices) =>
      devices.rngs.push({
        model: "virtio",
        rate: { bytes: 1234 },
        backend: { model: "random", path: "/dev/hwrng", sources: [] },
      })
    ),
  );
  assert.deepEqual(valuesOf(line.args, "-object"), ["rng-random,id=objrng0,filename=/dev/hwrng"]);
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "virtio-rng-pci,rng=objrng0,id=rng0,max-bytes=1234,period=1000,bus=pci.0,addr=0x2",
  ]);
  assert.deepEqual(line.hostPaths, [{
    path: "/dev/hwrng",
    kind: "char",
    where: "/domain/devices/rng[1]/backend",
  }]);
});

Deno.test("addDeviceArguments adds pvpanic for an isa panic device", () => {
  const line = build(withDevices((devices) => {
    devices.extra = {
      elements: [{
        element: {
          name: "panic",
          attributes: { model: "isa" },
          children: [{ name: "address", attributes: { type: "isa", iobase: "0x505" } }],
        },
      }],
    };
  }));
  assert.deepEqual(valuesOf(line.args, "-device"), ["pvpanic,ioport=1285"]);
});

Deno.test("addDeviceArguments refuses host devices and unknown device elements", () => {
  assertRefused(
    withDevices((devices) => devices.hostdevs.push({ mode: "subsystem", type: "pci" })),
    "/domain/devices/hostdev[1]",
  );
  assertRefused(
    withDevices((devices) => {
      devices.filesystems = [{ type: "mount" }];
    }),
    "/domain/devices/filesystem[1]/source",
  );
});

Deno.test("deviceControllers asks for a USB controller for USB inputs", () => {
  const devices = emptyDevices();
  assert.deepEqual(deviceControllers(devices), []);
  devices.inputs.push({ type: "mouse", bus: "usb" });
  assert.deepEqual(deviceControllers(devices), [{ type: "usb", index: 0 }]);
});
