import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

Deno.test("vcpuinfo prints each vCPU of the running test domain", async () => {
  const result = await runFresh(["vcpuinfo", "test"]);
  assert.equal(result.code, 0);
  const blocks = result.stdout.trimEnd().split("\n\n");
  assert.equal(blocks.length, 2);
  assert.match(
    blocks[1],
    // libvirt's test driver: the last host CPU, and a CPU map of 8.
    /^VCPU: {11}1\nCPU: {12}15\nState: {10}running\nCPU time: {7}\d+\.\ds\nCPU Affinity: {3}y{8}$/,
  );
});

Deno.test("vcpuinfo --pretty prints the affinity as ranges", async () => {
  const result = await runFresh(["vcpuinfo", "test", "--pretty"]);
  assert.match(result.stdout, /^CPU Affinity: {3}0-7 \(out of 8\)$/m);
});

Deno.test("vcpuinfo of a shut off domain prints N/A", async () => {
  await withHarness(async (harness) => {
    await harness.run("destroy", "test");
    const result = await harness.run("vcpuinfo", "test");
    assert.equal(
      result.stdout.split("\n\n")[0],
      "VCPU:           0\nCPU:            N/A\nState:          N/A\nCPU time        N/A\n" +
        "CPU Affinity:   yyyyyyyy",
    );
  });
});
