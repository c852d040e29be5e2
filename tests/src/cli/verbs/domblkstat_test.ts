import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

Deno.test("domblkstat prints a disk's counters with virsh's legacy names", async () => {
  const result = await runFresh(["domblkstat", "test", "vda"]);
  assert.equal(result.code, 0);
  // libvirt's test driver keeps these five counters only.
  assert.match(
    result.stdout,
    /^vda rd_req \d+\nvda rd_bytes \d+\nvda wr_req \d+\nvda wr_bytes \d+\nvda errs \d+\n\n$/,
  );
});

Deno.test("domblkstat without a disk is refused by the test hypervisor, as libvirt's", async () => {
  const result = await runFresh(["domblkstat", "test"]);
  assert.equal(result.code, 1);
  assert.equal(
    result.stderr,
    "error: Failed to get block stats test \n" +
      "error: Operation not supported: summary statistics are not supported yet\n",
  );
});

Deno.test("domblkstat --human explains each field", async () => {
  const result = await runFresh(["domblkstat", "test", "vda", "--human"]);
  assert.match(result.stdout, /^Device: vda\n number of read operations: {6}\d+\n/);
});

Deno.test("domblkstat refuses a shut off domain and an unknown disk", async () => {
  const unknown = await runFresh(["domblkstat", "test", "vdz"]);
  assert.equal(
    unknown.stderr,
    "error: Failed to get block stats test vdz\nerror: invalid argument: invalid path: vdz\n",
  );
  await withHarness(async (harness) => {
    await harness.run("destroy", "test");
    const result = await harness.run("domblkstat", "test", "vda");
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      "error: Failed to get block stats test vda\n" +
        "error: Requested operation is not valid: domain is not running\n",
    );
  });
});
