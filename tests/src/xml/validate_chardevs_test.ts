import assert from "node:assert/strict";
import { type Chardev, emptyDevices } from "../../../src/model/domain.ts";
import { VirtError } from "../../../src/model/errors.ts";
import { validateChardevs } from "../../../src/xml/validate_chardevs.ts";

function check(channel: Chardev): string | undefined {
  const devices = emptyDevices();
  devices.channels.push(channel);
  try {
    validateChardevs(devices);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof VirtError);
    return error.message;
  }
}

const virtio = { type: "virtio", name: "org.example.0" };

Deno.test("validateChardevs accepts complete sources", () => {
  assert.equal(
    check({ type: "tcp", sources: [{ mode: "connect", host: "h", service: "1" }], target: virtio }),
    undefined,
  );
  assert.equal(
    check({
      type: "udp",
      sources: [{ mode: "bind", service: "2" }, { service: "1" }],
      target: virtio,
    }),
    undefined,
  );
  assert.equal(check({ type: "pty", sources: [], target: virtio }), undefined);
});

Deno.test("validateChardevs refuses tcp sources without host or service", () => {
  assert.equal(
    check({ type: "tcp", sources: [{ service: "1" }], target: virtio }),
    "Missing source host attribute for char device",
  );
  assert.equal(
    check({ type: "tcp", sources: [{ host: "h" }], target: virtio }),
    "Missing source service attribute for char device",
  );
});

Deno.test("validateChardevs refuses more sources than the type takes", () => {
  assert.match(
    check({ type: "tcp", sources: [{ host: "h", service: "1" }, { host: "h", service: "2" }] })!,
    /only one source/,
  );
  assert.match(
    check({ type: "udp", sources: [{ service: "1" }, { service: "2" }] })!,
    /one bind and one connect/,
  );
});

Deno.test("validateChardevs lets libvirt generate only virtio and xen channel socket paths", () => {
  assert.equal(check({ type: "unix", sources: [], target: virtio }), undefined);
  assert.equal(
    check({ type: "unix", sources: [], target: { type: "guestfwd" } }),
    "Missing source path attribute for char device",
  );
  assert.equal(
    check({ type: "file", sources: [{}] }),
    "Missing source path attribute for char device",
  );
});

Deno.test("validateChardevs allows reconnect only when connecting, with a timeout", () => {
  const source = { host: "h", service: "1" };
  assert.match(
    check({
      type: "tcp",
      sources: [{ ...source, mode: "bind", reconnect: { enabled: "yes", timeout: 5 } }],
    })!,
    /only for connect mode/,
  );
  assert.match(
    check({ type: "tcp", sources: [{ ...source, reconnect: { enabled: "yes" } }] })!,
    /missing timeout/,
  );
  assert.equal(
    check({ type: "tcp", sources: [{ ...source, reconnect: { enabled: "no" } }] }),
    undefined,
  );
});
