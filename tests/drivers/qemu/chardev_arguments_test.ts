import assert from "node:assert/strict";
import { characterDeviceControllers } from "../../../drivers/qemu/chardev_arguments.ts";
import { emptyDevices } from "../../../src/model/domain.ts";
import { assertRefused, build, valuesOf, withDevices } from "./_qemu_definitions.ts";

Deno.test("addCharacterDeviceArguments makes a pty serial an isa-serial port 0 and notes its pty", () => {
  const line = build(withDevices((devices) => devices.serials.push({ type: "pty", sources: [] })));
  assert.deepEqual(valuesOf(line.args, "-chardev").slice(1), ["pty,id=charserial0"]);
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "isa-serial,chardev=charserial0,id=serial0,index=0",
  ]);
  assert.deepEqual(line.ptyChardevs, [{
    chardevId: "charserial0",
    alias: "serial0",
    console: true,
    place: { list: "serials", index: 0 },
  }]);
});

Deno.test("addCharacterDeviceArguments notes a serial console as sharing the serial's chardev", () => {
  const line = build(withDevices((devices) => {
    devices.serials.push({ type: "pty", sources: [], target: { port: 0 } });
    devices.consoles.push({ type: "pty", sources: [], target: { type: "serial", port: 0 } });
  }));
  assert.deepEqual(line.sharedConsoles, [{ index: 0, chardevId: "charserial0" }]);
});

Deno.test("addCharacterDeviceArguments names a channel's socket as libvirt: its name, else its port", () => {
  const line = build(withDevices((devices) => {
    devices.channels.push({
      type: "unix",
      sources: [{ mode: "bind" }],
      target: { type: "virtio", name: "org.qemu.guest_agent.0" },
    });
    devices.channels.push({ type: "unix", sources: [], target: { type: "virtio" } });
  }));
  const runtimeDir = line.chardevSockets[0].path.slice(
    0,
    -"/channel/org.qemu.guest_agent.0".length,
  );
  assert.deepEqual(line.chardevSockets, [
    { place: { list: "channels", index: 0 }, path: `${runtimeDir}/channel/org.qemu.guest_agent.0` },
    { place: { list: "channels", index: 1 }, path: `${runtimeDir}/channel/vioser-00-00-02.sock` },
  ]);
  assert.ok(
    valuesOf(line.args, "-chardev").some((value) =>
      value.includes(`path=${runtimeDir}/channel/org.qemu.guest_agent.0`)
    ),
  );
});

Deno.test("addCharacterDeviceArguments refuses a channel name that cannot name a socket", () => {
  assertRefused(
    withDevices((devices) =>
      devices.channels.push({
        type: "unix",
        sources: [{ mode: "bind" }],
        target: { type: "virtio", name: "../escape" },
      })
    ),
    "/domain/devices/channel[1]/target/@name",
  );
});

Deno.test("addCharacterDeviceArguments lets a serial console share the serial port of its number", () => {
  const line = build(withDevices((devices) => {
    devices.serials.push({ type: "pty", sources: [], target: { port: 0 } });
    devices.consoles.push({ type: "pty", sources: [], target: { type: "serial", port: 0 } });
  }));
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "isa-serial,chardev=charserial0,id=serial0,index=0",
  ]);
});

Deno.test("addCharacterDeviceArguments creates the serial port a console without one needs", () => {
  const line = build(withDevices((devices) => devices.consoles.push({ type: "pty", sources: [] })));
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "isa-serial,chardev=charserial0,id=serial0,index=0",
  ]);
  assert.equal(line.ptyChardevs[0].console, true);
});

Deno.test("addCharacterDeviceArguments puts a virtio console on an added virtio-serial controller", () => {
  const line = build(
    withDevices((devices) =>
      devices.consoles.push({ type: "pty", sources: [], target: { type: "virtio" } })
    ),
  );
  assert.deepEqual(valuesOf(line.args, "-device"), [
    "virtio-serial-pci,id=virtio-serial0,bus=pci.0,addr=0x2",
    "virtconsole,bus=virtio-serial0.0,nr=0,chardev=charconsole0,id=console0",
  ]);
});

Deno.test("addCharacterDeviceArguments writes file, unix and tcp backends with their sources", () => {
  const line = build(withDevices((devices) => {
    devices.serials.push({
      type: "file",
      sources: [{ path: "/var/log/vm,serial.log", append: "on" }],
      log: { file: "/var/log/vm-serial.log", append: "off" },
    });
    devices.serials.push({
      type: "unix",
      sources: [{ mode: "bind", path: "/run/vm/serial.sock" }],
    });
    devices.serials.push({ type: "unix", sources: [{ mode: "connect", path: "/run/peer.sock" }] });
    devices.serials.push({
      type: "tcp",
      sources: [{ mode: "bind", host: "127.0.0.1", service: "4555" }],
      protocol: "telnet",
    });
  }));
  assert.deepEqual(valuesOf(line.args, "-chardev").slice(1), [
    "file,id=charserial0,path=/var/log/vm,,serial.log,append=on,logfile=/var/log/vm-serial.log,logappend=off",
    "socket,id=charserial1,path=/run/vm/serial.sock,server=on,wait=off",
    "socket,id=charserial2,path=/run/peer.sock,server=off",
    "socket,id=charserial3,host=127.0.0.1,port=4555,telnet=on,server=on,wait=off",
  ]);
  assert.deepEqual(line.hostPaths.map((each) => each.kind), [
    "creatable",
    "creatable",
    "creatable",
    "socket",
  ]);
});

Deno.test("addCharacterDeviceArguments adds virtio channels with their names and ports", () => {
  const line = build(withDevices((devices) =>
    devices.channels.push({
      type: "unix",
      sources: [{ mode: "bind", path: "/run/vm/agent.sock" }],
      target: { type: "virtio", name: "org.qemu.guest_agent.0" },
      address: { type: "virtio-serial", controller: 0, bus: 0, port: "1" },
    })
  ));
  assert.deepEqual(valuesOf(line.args, "-device").slice(1), [
    "virtserialport,bus=virtio-serial0.0,nr=1,chardev=charchannel0,id=channel0,name=org.qemu.guest_agent.0",
  ]);
});

Deno.test("addCharacterDeviceArguments numbers serials without a port from the lowest free one", () => {
  const line = build(withDevices((devices) => {
    devices.serials.push({ type: "null", sources: [] });
    devices.serials.push({ type: "null", sources: [], target: { port: 2 } });
    devices.serials.push({ type: "null", sources: [] });
    devices.serials.push({ type: "null", sources: [] });
  }));
  assert.deepEqual(
    valuesOf(line.args, "-device").map((device) => device.match(/index=(\d+)/)?.[1]),
    ["0", "2", "1", "3"],
  );
});

Deno.test("addCharacterDeviceArguments gives unaddressed channels the lowest free port from 1", () => {
  const line = build(withDevices((devices) => {
    const channel = (port?: string) => ({
      type: "pty",
      sources: [],
      target: { type: "virtio" },
      ...(port === undefined ? {} : { address: { type: "virtio-serial", controller: 0, port } }),
    });
    devices.channels.push(channel(), channel("2"), channel(), channel());
  }));
  assert.deepEqual(
    valuesOf(line.args, "-device").slice(1).map((device) => device.match(/nr=(\d+)/)?.[1]),
    ["1", "2", "3", "4"],
  );
});

Deno.test("addCharacterDeviceArguments refuses backends and targets it cannot run", () => {
  assertRefused(
    withDevices((devices) => devices.serials.push({ type: "spicevmc", sources: [] })),
    "/domain/devices/serial[1]/@type",
  );
  assertRefused(
    withDevices((devices) =>
      devices.consoles.push({ type: "pty", sources: [], target: { type: "xen" } })
    ),
    "/domain/devices/console[1]/target/@type",
  );
  assertRefused(
    withDevices((devices) =>
      devices.channels.push({
        type: "pty",
        sources: [],
        target: { type: "guestfwd", address: "10.0.2.1" },
      })
    ),
    "/domain/devices/channel[1]/target/@address",
  );
});

Deno.test("characterDeviceControllers asks for virtio-serial and USB controllers", () => {
  const devices = emptyDevices();
  devices.channels.push({
    type: "pty",
    sources: [],
    target: { type: "virtio" },
    address: { type: "virtio-serial", controller: 1 },
  });
  devices.serials.push({ type: "pty", sources: [], target: { type: "usb-serial" } });
  assert.deepEqual(characterDeviceControllers(devices), [
    { type: "virtio-serial", index: 1 },
    { type: "usb", index: 0 },
  ]);
});
