import assert from "node:assert/strict";
import { addConsoleCompat } from "../../../src/model/console_compat.ts";
import { type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";

function guest(): DomainDefinition {
  return {
    type: "qemu",
    name: "vm",
    memoryKiB: 1,
    vcpus: 1,
    os: { type: "hvm", boot: [] },
    devices: emptyDevices(),
  };
}

Deno.test("addConsoleCompat gives a lone serial port a console that names it", () => {
  const def = guest();
  def.devices.serials.push({ type: "pty", sources: [] });
  addConsoleCompat(def, { serialTargetType: "isa-serial" });
  assert.deepEqual(def.devices.consoles, [{
    type: "pty",
    sources: [],
    target: { type: "serial", port: 0 },
  }]);
  assert.deepEqual(def.devices.serials[0].target, {
    type: "isa-serial",
    port: 0,
    model: "isa-serial",
  });
});

Deno.test("addConsoleCompat replaces a console whose source differs from serial port 0", () => {
  const def = guest();
  def.devices.serials.push({ type: "pty", sources: [] });
  def.devices.consoles.push({ type: "file", sources: [{ path: "/tmp/x" }] });
  addConsoleCompat(def);
  assert.equal(def.devices.consoles[0].type, "pty");
  assert.deepEqual(def.devices.consoles[0].sources, []);
});

Deno.test("addConsoleCompat leaves a guest that is not hvm alone", () => {
  const def = guest();
  def.os.type = "xen";
  def.devices.consoles.push({ type: "pty", sources: [] });
  addConsoleCompat(def);
  assert.deepEqual(def.devices.serials, []);
});
