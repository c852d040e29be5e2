import assert from "node:assert/strict";
import { commandRuling, rulesFamily } from "../../actors/command_rules.ts";
import type { DomainCommandName } from "../../actors/domain_machine.ts";

type Expected = "machine" | "run" | "nothing" | [number, string];

function outcome(
  family: "qemu" | "test",
  command: DomainCommandName,
  path: string,
): Expected {
  const ruling = commandRuling(family, command, path, {
    name: "foo",
    persistent: !path.endsWith("(transient)"),
  });
  if (ruling === undefined) return "machine";
  if (ruling.kind === "refuse") return [ruling.error.code, ruling.error.message];
  return ruling.kind;
}

// Rows: libvirt 9.0's answers, observed with `virsh -c test:///default` and the QEMU driver.
const ROWS: [DomainCommandName, string, Expected, Expected][] = [
  // command, state path, QEMU driver, test driver
  ["suspend", "active.running", "machine", "machine"],
  ["suspend", "active.paused", "nothing", [1, "domain 'foo' not running"]],
  ["suspend", "shutoff", "machine", [1, "domain 'foo' not running"]],
  ["resume", "active.running", [55, "domain is already running"], [1, "domain 'foo' not paused"]],
  ["resume", "active.paused", "machine", "run"],
  ["resume", "active.pmsuspended", [55, "domain is pmsuspended"], [1, "domain 'foo' not paused"]],
  ["resume", "shutoff", "machine", [1, "domain 'foo' not paused"]],
  ["shutdown", "active.running", "machine", "machine"],
  ["shutdown", "active.paused", "machine", "run"],
  ["shutdown", "shutoff", "machine", [1, "domain 'foo' not running"]],
  ["destroy", "shutoff", "machine", "machine"],
  ["reboot", "shutoff", "machine", "machine"],
  ["reset", "shutoff", "machine", "machine"],
  ["start", "active.running", "machine", "machine"],
  ["undefine", "active.running", "machine", "machine"],
  ["undefine", "active.running (transient)", "machine", "nothing"],
  ["autostart", "active.running (transient)", "machine", "run"],
];

for (const [command, path, qemu, test] of ROWS) {
  Deno.test(`${command} in ${path}: QEMU and test drivers answer as libvirt's`, () => {
    assert.deepEqual(outcome("qemu", command, path), qemu, "QEMU driver");
    assert.deepEqual(outcome("test", command, path), test, "test driver");
  });
}

Deno.test("only the test hypervisor answers as libvirt's test driver", () => {
  assert.equal(rulesFamily("test"), "test");
  assert.equal(rulesFamily("qemu"), "qemu");
});
