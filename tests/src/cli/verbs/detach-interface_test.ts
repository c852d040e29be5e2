import assert from "node:assert/strict";
import { errorLines } from "../../../../src/cli/command_failure.ts";
import { pickInterface } from "../../../../src/cli/verbs/detach-interface.ts";
import { runFresh } from "../_cli_harness.ts";

Deno.test("detach-interface says which type it found none of, then that it failed", async () => {
  const result = await runFresh(["detach-interface", "test", "bridge"]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "error: No interface found whose type is bridge\nerror: Failed to detach interface\n",
  );
});

Deno.test("pickInterface picks by type, then by MAC, with virsh's refusals", () => {
  const nic = (type: string, mac: string) => ({
    name: "interface",
    attributes: { type },
    children: [{ name: "mac", attributes: { address: mac } }],
  });
  const list = [
    nic("user", "52:54:00:00:00:01"),
    nic("user", "52:54:00:00:00:01"),
    nic("network", "52:54:00:00:00:02"),
  ];
  assert.equal(pickInterface(list, "network", undefined), list[2]);
  assert.equal(pickInterface(list, "network", "52:54:00:00:00:02"), list[2]);
  const refused = (type: string, mac: string | undefined) => {
    try {
      pickInterface(list, type, mac);
    } catch (error) {
      return errorLines(error);
    }
    throw new Error("not refused");
  };
  assert.deepEqual(refused("user", undefined), [
    "Domain has 2 interfaces. Please specify which one to detach using --mac",
    "Failed to detach interface",
  ]);
  assert.deepEqual(refused("user", "52:54:00:00:00:01"), [
    "Domain has multiple interfaces matching MAC address 52:54:00:00:00:01. You must use detach-device and specify the device pci address to remove it.",
    "Failed to detach interface",
  ]);
  assert.deepEqual(refused("network", "52:54:00:00:00:09"), [
    "No interface with MAC address 52:54:00:00:00:09 was found",
    "Failed to detach interface",
  ]);
});
