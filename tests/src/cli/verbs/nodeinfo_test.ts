import assert from "node:assert/strict";
import { runFresh } from "../_cli_harness.ts";

Deno.test("nodeinfo prints the test host of 16 CPUs in 2 NUMA cells", async () => {
  const result = await runFresh(["nodeinfo"]);
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    "CPU model:           i686\n" +
      "CPU(s):              16\n" +
      "CPU frequency:       1400 MHz\n" +
      "CPU socket(s):       2\n" +
      "Core(s) per socket:  2\n" +
      "Thread(s) per core:  2\n" +
      "NUMA cell(s):        2\n" +
      "Memory size:         3145728 KiB\n\n",
  );
});

Deno.test("nodeinfo --json prints the host view", async () => {
  const host = JSON.parse((await runFresh(["nodeinfo", "--json"])).stdout);
  assert.equal(host.node.cpus, 16);
  assert.equal(host.node.nodes, 2);
});
