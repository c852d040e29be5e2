/**
 * `domjobinfo`'s lines as virsh 9.0 prints them from a job's statistics, and the progress line
 * `save --verbose` and `managedsave --verbose` draw while the job runs (`\rSave: [ 42 %]`).
 *
 * @module
 */

import type { DomainJobView } from "../client/save_client.ts";
import { prettyCapacity } from "./storage_layouts.ts";

/** virsh's names of `virDomainJobType`. */
const JOB_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: "None",
  1: "Bounded",
  2: "Unbounded",
  3: "Completed",
  4: "Failed",
  5: "Cancelled",
};

/** virsh's names of the job operations evirt runs. */
const OPERATION_NAMES = {
  save: "Save",
  restore: "Restore",
  migration_in: "Incoming migration",
  migration_out: "Outgoing migration",
} as const;

/** One line: the label in 17 columns, then the value (`%-17s %s`). */
function line(label: string, value: string): string {
  return `${label.padEnd(17)} ${value}\n`;
}

/** A number in 12 columns, as virsh's `%-12llu`. */
function column(value: number): string {
  return String(value).padEnd(12);
}

/**
 * `domjobinfo`'s lines (without the blank line every verb ends with).
 *
 * @example
 * ```ts
 * import { formatDomainJob } from "./job_layouts.ts";
 * console.log(formatDomainJob({ type: 0, job: null })); // "Job type:         None        \n"
 * ```
 */
export function formatDomainJob(view: DomainJobView): string {
  const lines = [line("Job type:", (JOB_TYPE_NAMES[view.type] ?? "Unknown").padEnd(12))];
  const job = view.job;
  if (job === null) return lines.join("");
  const size = (bytes: number) => prettyCapacity(bytes, 3);
  lines.push(
    line("Operation:", OPERATION_NAMES[job.operation].padEnd(12)),
    line("Time elapsed:", `${column(job.timeElapsedMs)} ms`),
    line("Data processed:", size(job.dataProcessed)),
    line("Data remaining:", size(job.dataRemaining)),
    line("Data total:", size(job.dataTotal)),
    line("Memory processed:", size(job.memoryProcessed)),
    line("Memory remaining:", size(job.memoryRemaining)),
    line("Memory total:", size(job.memoryTotal)),
  );
  if (job.memoryBps > 0) lines.push(line("Memory bandwidth:", `${size(job.memoryBps)}/s`));
  lines.push(line("Dirty rate:", `${column(job.memoryDirtyRate)} pages/s`));
  if (job.memoryPageSize > 0) {
    lines.push(line("Page size:", `${column(job.memoryPageSize)} bytes`));
  }
  lines.push(
    line("Iteration:", column(job.memoryIteration)),
    line("Postcopy requests:", column(job.memoryPostcopyRequests)),
    line("Constant pages:", column(job.memoryConstant)),
    line("Normal pages:", column(job.memoryNormal)),
    line("Normal data:", size(job.memoryNormalBytes)),
  );
  if (job.downtimeMs !== undefined) {
    const label = job.status === "completed" ? "Total downtime:" : "Expected downtime:";
    lines.push(line(label, `${column(job.downtimeMs)} ms`));
  }
  if (job.setupTimeMs > 0) lines.push(line("Setup time:", `${column(job.setupTimeMs)} ms`));
  return lines.join("");
}

/**
 * virsh's progress line of a job with `remaining` of `total` bytes left: the percentage done,
 * 100 once nothing remains.
 *
 * @example
 * ```ts
 * import { jobProgressLine } from "./job_layouts.ts";
 * console.log(JSON.stringify(jobProgressLine("Save", 58, 100))); // "\rSave: [ 42 %]"
 * ```
 */
export function jobProgressLine(label: string, remaining: number, total: number): string {
  const percent = remaining === 0 || total === 0
    ? 100
    : Math.max(0, Math.min(100, Math.trunc(100 - (remaining * 100) / total)));
  return `\r${label}: [${String(percent).padStart(3)} %]`;
}
