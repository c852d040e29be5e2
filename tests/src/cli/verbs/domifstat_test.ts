import assert from "node:assert/strict";
import { runFresh } from "../_cli_harness.ts";

Deno.test("domifstat prints the eight counters of an interface named by device or MAC", async () => {
  for (const name of ["testnet0", "aa:bb:cc:dd:ee:ff"]) {
    const result = await runFresh(["domifstat", "test", name]);
    assert.equal(result.code, 0);
    const fields = result.stdout.trim().split("\n").map((line) => line.split(" "));
    assert.deepEqual(
      fields.map(([device, field]) => `${device} ${field}`),
      [
        "rx_bytes",
        "rx_packets",
        "rx_errs",
        "rx_drop",
        "tx_bytes",
        "tx_packets",
        "tx_errs",
        "tx_drop",
      ].map((field) => `${name} ${field}`),
    );
    assert.ok(fields.every(([, , value]) => /^\d+$/.test(value)));
  }
});

Deno.test("domifstat of an unknown interface fails as virsh", async () => {
  const result = await runFresh(["domifstat", "test", "vnet9"]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "error: Failed to get interface stats test vnet9\n" +
      "error: invalid argument: 'vnet9' is not a known interface\n",
  );
});

Deno.test("domifstat requires the interface", async () => {
  const result = await runFresh(["domifstat", "test"]);
  assert.equal(result.stderr, "error: command 'domifstat' requires <interface> option\n");
});
