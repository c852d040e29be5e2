import assert from "node:assert/strict";
import { formatDomainJob, jobProgressLine } from "../../../src/cli/job_layouts.ts";
import type { DomainJobView } from "../../../src/client/save_client.ts";

/** A completed save's figures, as libvirtd 9.0 printed them for the test guest. */
const COMPLETED: DomainJobView = {
  type: 3,
  job: {
    operation: "save",
    status: "completed",
    timeElapsedMs: 1201,
    dataTotal: 134_750_208,
    dataProcessed: 36_446_000,
    dataRemaining: 0,
    memoryTotal: 134_750_208,
    memoryProcessed: 36_446_000,
    memoryRemaining: 0,
    memoryConstant: 24070,
    memoryNormal: 8828,
    memoryNormalBytes: 8828 * 4096,
    memoryBps: 41_118_000,
    memoryDirtyRate: 0,
    memoryPageSize: 4096,
    memoryIteration: 3,
    memoryPostcopyRequests: 0,
    setupTimeMs: 10,
    downtimeMs: 1191,
  },
};

Deno.test("domjobinfo without a job prints virsh's one line", () => {
  assert.equal(formatDomainJob({ type: 0, job: null }), "Job type:         None        \n");
});

Deno.test("domjobinfo --completed of a save prints virsh 9.0's lines", () => {
  assert.equal(
    formatDomainJob(COMPLETED),
    [
      "Job type:         Completed   ",
      "Operation:        Save        ",
      "Time elapsed:     1201         ms",
      "Data processed:   34.758 MiB",
      "Data remaining:   0.000 B",
      "Data total:       128.508 MiB",
      "Memory processed: 34.758 MiB",
      "Memory remaining: 0.000 B",
      "Memory total:     128.508 MiB",
      "Memory bandwidth: 39.213 MiB/s",
      "Dirty rate:       0            pages/s",
      "Page size:        4096         bytes",
      "Iteration:        3           ",
      "Postcopy requests: 0           ",
      "Constant pages:   24070       ",
      "Normal pages:     8828        ",
      "Normal data:      34.484 MiB",
      "Total downtime:   1191         ms",
      "Setup time:       10           ms",
      "",
    ].join("\n"),
  );
});

Deno.test("a running job's downtime is the expected one", () => {
  const running: DomainJobView = {
    type: 2,
    job: { ...COMPLETED.job!, status: "active", dataRemaining: 5 },
  };
  const text = formatDomainJob(running);
  const lines = text.split("\n");
  assert.equal(lines[0], "Job type:         Unbounded   ");
  assert.ok(lines.includes("Expected downtime: 1191         ms"), text);
});

Deno.test("the progress line counts done percent, 100 once nothing remains", () => {
  assert.equal(jobProgressLine("Save", 58, 100), "\rSave: [ 42 %]");
  assert.equal(jobProgressLine("Save", 100, 100), "\rSave: [  0 %]");
  assert.equal(jobProgressLine("Managedsave", 0, 1), "\rManagedsave: [100 %]");
});
