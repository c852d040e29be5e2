import assert from "node:assert/strict";
import {
  attachTaps,
  closeFds,
  refuseSandboxedScripts,
  runInterfaceScripts,
} from "../../../drivers/qemu/dac_tap.ts";
import { ErrorCode, isVirtError } from "../../../src/model/errors.ts";
import { testIf } from "../../support/environment.ts";
import { qemuDefinition } from "./_qemu_definitions.ts";

function withScript() {
  const definition = qemuDefinition();
  definition.devices.interfaces.push({
    type: "ethernet",
    target: { dev: "tap9" },
    extra: { elements: [{ element: { name: "script", attributes: { path: "/bin/true" } } }] },
  });
  return definition;
}

Deno.test("refuseSandboxedScripts refuses a script QEMU would have to exec, naming it", () => {
  assert.throws(
    () => refuseSandboxedScripts(withScript()),
    (error) =>
      isVirtError(error, ErrorCode.CONFIG_UNSUPPORTED) &&
      error.where === "/domain/devices/interface[1]/script",
  );
  refuseSandboxedScripts(qemuDefinition());
});

Deno.test("runInterfaceScripts reports a failing script as libvirt's child process error", async () => {
  await runInterfaceScripts([{ path: "/bin/true", tap: "tap9" }]);
  await assert.rejects(
    () => runInterfaceScripts([{ path: "/bin/false", tap: "tap9" }]),
    (error) =>
      isVirtError(error, ErrorCode.INTERNAL_ERROR) &&
      error.message.startsWith("Child process (/bin/false tap9) unexpected exit status 1"),
  );
});

testIf(
  "attachTaps hands QEMU an attached tap by descriptor and keeps the script for the service",
  Deno.uid() === 0 ? undefined : "needs root to open /dev/net/tun",
  () => {
    const name = `evdt${Deno.pid % 100000}`;
    const definition = withScript();
    definition.devices.interfaces[0].target = { dev: name };
    const { args, fds, scripts } = attachTaps(definition, [
      "-netdev",
      `tap,id=hostnet0,ifname=${name},script=/bin/true,downscript=no`,
    ]);
    try {
      assert.equal(fds.length, 1);
      assert.deepEqual(args, ["-netdev", `tap,id=hostnet0,fd=${fds[0]}`]);
      assert.deepEqual(scripts, [{ path: "/bin/true", tap: name }]);
      assert.ok(Deno.statSync(`/sys/class/net/${name}`).isDirectory, "the tap exists");
    } finally {
      closeFds(fds);
    }
  },
);
