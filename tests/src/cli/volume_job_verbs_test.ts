import assert from "node:assert/strict";
import { formatVolumeJob, jobProgressLabel } from "../../../src/cli/volume_job_verbs.ts";

const job = {
  name: "vol-clone",
  sinceMs: Date.UTC(2026, 0, 2, 3, 4, 5),
  bytesDone: 3 * 1048576,
  bytesTotal: 12 * 1048576,
  cancelled: false,
};

Deno.test("jobProgressLabel shows MiB done of the total and the percentage", () => {
  assert.equal(jobProgressLabel("cloning", job), "cloning 3 of 12 MiB (25%)");
  assert.equal(jobProgressLabel("uploading", { ...job, bytesTotal: 0 }), "uploading 3 MiB");
});

Deno.test("formatVolumeJob prints one field a line, or None for an idle volume", () => {
  assert.equal(
    formatVolumeJob({ pool: "p", volume: "v", job }),
    "Job type:       vol-clone\nSince:          2026-01-02T03:04:05.000Z\n" +
      "Bytes done:     3145728\nBytes total:    12582912\n",
  );
  assert.equal(formatVolumeJob({ pool: "p", volume: "v", job: null }), "Job type:       None\n");
});
