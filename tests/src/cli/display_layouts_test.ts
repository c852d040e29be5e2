import assert from "node:assert/strict";
import { displayUri, ttyConsole, vncDisplay } from "../../../src/cli/display_layouts.ts";
import { emptyDevices, type Graphics } from "../../../src/model/domain.ts";

const vnc = (fields: Partial<Graphics>): Graphics => ({ type: "vnc", listens: [], ...fields });

Deno.test("vncDisplay prints address:display, or :display for every address", () => {
  assert.equal(vncDisplay([vnc({ port: 5900, listen: "127.0.0.1" })]), "127.0.0.1:0");
  assert.equal(vncDisplay([vnc({ port: 5903, listen: "0.0.0.0" })]), ":3");
  assert.equal(
    vncDisplay([vnc({ port: 5901, listens: [{ type: "address", address: "10.0.0.1" }] })]),
    "10.0.0.1:1",
  );
  assert.equal(vncDisplay([vnc({ port: 5900 })]), ":0");
  assert.equal(vncDisplay([vnc({ socket: "/s" })]), undefined);
  assert.equal(vncDisplay([]), undefined);
});

Deno.test("displayUri builds virsh's URIs: host, wildcard, IPv6, socket, password, TLS port", () => {
  assert.equal(
    displayUri([vnc({ port: 5900, listen: "127.0.0.1" })], "vnc", undefined),
    "vnc://127.0.0.1:0",
  );
  assert.equal(
    displayUri([vnc({ port: 5900, listen: "0.0.0.0" })], "vnc", undefined),
    "vnc://localhost:0",
  );
  assert.equal(
    displayUri([vnc({ port: 5900, listen: "::" })], "vnc", "host.example"),
    "vnc://host.example:0",
  );
  assert.equal(
    displayUri([vnc({ port: 5901, listen: "fe80::1" })], "vnc", undefined),
    "vnc://[fe80::1]:1",
  );
  assert.equal(
    displayUri([vnc({ listens: [{ type: "socket", socket: "/run/vnc.sock" }] })], "vnc", undefined),
    "vnc+unix:///run/vnc.sock",
  );
  assert.equal(
    displayUri([vnc({ port: 5900, listen: "127.0.0.1", passwd: "secret" })], "vnc", undefined),
    "vnc://:secret@127.0.0.1:0",
  );
  const spice: Graphics = { type: "spice", port: 5901, tlsPort: 5902, passwd: "p", listens: [] };
  assert.equal(
    displayUri([spice], "spice", undefined),
    "spice://localhost:5901?tls-port=5902&password=p",
  );
  assert.equal(displayUri([vnc({ port: 5900 })], "spice", undefined), undefined);
  assert.equal(displayUri([vnc({ listens: [] })], "vnc", undefined), undefined);
});

Deno.test("displayUri reports a D-Bus address virsh does not handle", () => {
  const dbus = (address: string): Graphics => ({
    type: "dbus",
    listens: [],
    extra: { attributes: { address } },
  });
  assert.equal(
    displayUri([dbus("unix:path=/run/d.sock")], "dbus", undefined),
    "dbus+unix:///run/d.sock",
  );
  assert.deepEqual(displayUri([dbus("tcp:host=x")], "dbus", undefined), {
    message: "'tcp:host=x' D-Bus address is not handled",
  });
});

Deno.test("ttyConsole prints the first console's tty, or nothing", () => {
  const definition = (tty?: string) => ({
    type: "qemu",
    name: "vm",
    memoryKiB: 1,
    vcpus: 1,
    os: { type: "hvm", boot: [] },
    devices: {
      ...emptyDevices(),
      consoles: [{ type: "pty", sources: [], ...(tty ? { tty } : {}) }],
    },
  });
  assert.equal(ttyConsole(definition("/dev/pts/9")), "/dev/pts/9");
  assert.equal(ttyConsole(definition()), undefined);
});
