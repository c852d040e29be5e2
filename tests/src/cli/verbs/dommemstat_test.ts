import assert from "node:assert/strict";
import { runFresh, withHarness } from "../_cli_harness.ts";

Deno.test("dommemstat prints libvirt's test driver's figures", async () => {
  const result = await runFresh(["dommemstat", "test"]);
  assert.equal(result.code, 0);
  assert.equal(
    result.stdout,
    "actual 2097152\nswap_in 0\nswap_out 0\nmajor_fault 0\nminor_fault 0\nunused 1048576\n" +
      "available 2097152\nusable 1048576\nlast_update 627319920\ndisk_caches 262144\n" +
      "hugetlb_pgalloc 0\nhugetlb_pgfail 0\nrss 1048576\n\n",
  );
});

Deno.test("dommemstat of a shut off domain fails as virsh", async () => {
  await withHarness(async (harness) => {
    await harness.run("destroy", "test");
    const result = await harness.run("dommemstat", "test");
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      "error: Failed to get memory statistics for domain test\n" +
        "error: Requested operation is not valid: domain is not running\n",
    );
  });
});
