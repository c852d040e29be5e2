import assert from "node:assert/strict";
import { blockStats } from "../../../src/projections/block_stats.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { guestBlockSample } from "./_stats_fixtures.ts";

/** vda and vdb with counters; vdc and the CD-ROM without statistics. */
function sampleWithCounters() {
  const counters = { readRequests: 10, readBytes: 40960, writeRequests: 2, writeBytes: 8192 };
  return guestBlockSample({ vda: counters, vdb: { ...counters, readRequests: 5 } }, [
    "vda",
    "vdb",
  ]);
}

Deno.test("blockStats reports one disk's counters with libvirt's field names in virsh's order", () => {
  assert.deepEqual(blockStats(sampleWithCounters(), 0), [
    ["rd_operations", 10],
    ["rd_bytes", 40960],
    ["wr_operations", 2],
    ["wr_bytes", 8192],
    ["flush_operations", 0],
    ["rd_total_times", 0],
    ["wr_total_times", 0],
    ["flush_total_times", 0],
  ]);
});

Deno.test("blockStats sums every disk with statistics when no disk is named", () => {
  const sums = new Map(blockStats(sampleWithCounters(), undefined));
  assert.equal(sums.get("rd_operations"), 15);
  assert.equal(sums.get("wr_bytes"), 16384);
});

Deno.test("blockStats refuses a named disk the driver has no statistics for", () => {
  assert.throws(
    () => blockStats(sampleWithCounters(), 3),
    (error) =>
      error instanceof VirtError && error.code === ErrorCode.INTERNAL_ERROR &&
      error.message === "cannot find statistics for device 'hdc'",
  );
});
