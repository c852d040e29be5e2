/**
 * Volume jobs on the command line: `vol-job` shows the job a volume is busy with (a create,
 * clone, wipe, upload or download: bytes done of the total, since when) or, with `--cancel`,
 * cancels it; and the progress line the long verbs (`vol-clone`, `vol-create-from`,
 * `vol-create-as`, `vol-wipe`) show on a terminal while their job runs, read from the same job
 * view. virsh has neither: libvirt's storage calls block with no job of their own.
 *
 * @module
 */

import type { VolumeJobView } from "../api/storage_views.ts";
import type { VerbArguments } from "./arguments.ts";
import { PROGRESS_TICK_MS } from "./progress.ts";
import { findVolume, poolCommand, storageOf, VOLUME_OPTIONS } from "./storage_verb_support.ts";
import type { Verb, VerbContext } from "./verb.ts";

const MIB = 1024 * 1024;

/**
 * The progress label of a job: what it does, MiB done of the total and the percentage.
 *
 * @example
 * ```ts
 * import { jobProgressLabel } from "./volume_job_verbs.ts";
 * console.log(jobProgressLabel("cloning", { name: "vol-clone", sinceMs: 0, bytesDone: 3 * 1048576, bytesTotal: 12 * 1048576, cancelled: false }));
 * // "cloning 3 of 12 MiB (25%)"
 * ```
 */
export function jobProgressLabel(
  doing: string,
  job: NonNullable<VolumeJobView["job"]>,
): string {
  const done = (job.bytesDone / MIB).toFixed(0);
  if (job.bytesTotal <= 0) return `${doing} ${done} MiB`;
  const percent = Math.min(100, Math.floor(job.bytesDone * 100 / job.bytesTotal));
  return `${doing} ${done} of ${(job.bytesTotal / MIB).toFixed(0)} MiB (${percent}%)`;
}

/**
 * Shows the progress line while `promise` (a long volume call) runs: on a terminal only, the
 * volume's job is read every {@linkcode PROGRESS_TICK_MS} and its bytes shown.
 *
 * @returns What `promise` resolves to.
 */
export async function duringVolumeJob<T>(
  context: VerbContext,
  target: { pool: string; volume: string },
  doing: string,
  promise: Promise<T>,
): Promise<T> {
  if (!context.io.stderrIsTerminal) return await promise;
  const storage = storageOf(context);
  context.progress.start(doing);
  let polling = true;
  const poll = async () => {
    while (polling) {
      await new Promise((resolve) => setTimeout(resolve, PROGRESS_TICK_MS));
      if (!polling) break;
      // A view that fails (the job just ended) leaves the label as it was.
      const view = await storage.volumeJob(target.pool, target.volume).catch(() => undefined);
      if (view?.job != null) context.progress.relabel(jobProgressLabel(doing, view.job));
    }
  };
  const polled = poll();
  try {
    return await promise;
  } finally {
    polling = false;
    context.progress.stop();
    await polled;
  }
}

/** The layout of `vol-job` (one field a line, as `domjobinfo`). */
export function formatVolumeJob(view: VolumeJobView): string {
  const job = view.job;
  if (job === null) return "Job type:       None\n";
  const rows: [string, string][] = [
    ["Job type", job.name],
    ["Since", new Date(job.sinceMs).toISOString()],
    ["Bytes done", String(job.bytesDone)],
    ["Bytes total", job.bytesTotal > 0 ? String(job.bytesTotal) : "unknown"],
  ];
  if (job.cancelled) rows.push(["Cancelled", "yes"]);
  return rows.map(([name, value]) => `${(name + ":").padEnd(16)}${value}\n`).join("");
}

async function jobTarget(
  context: VerbContext,
  args: VerbArguments,
): Promise<{ pool: string; volume: string }> {
  const name = args.required("vol");
  const pool = args.text("pool");
  // A volume being made is not found by lookups: with --pool it is named directly.
  if (pool !== undefined) return { pool, volume: name };
  const found = await findVolume(context, name, undefined);
  return { pool: found.poolUuid, volume: found.name };
}

/** The `vol-job` verb: show (or `--cancel`) the job a volume is busy with. */
export const volJobVerb: Verb = {
  name: "vol-job",
  summary: "show or cancel the job a volume is busy with (evirt)",
  json: true,
  options: [...VOLUME_OPTIONS, {
    name: "cancel",
    kind: "bool",
    help: "cancel the job (a volume being made is removed; a wiped or uploaded one stays)",
  }],
  async run(context: VerbContext, args: VerbArguments) {
    const target = await jobTarget(context, args);
    const storage = storageOf(context);
    const cancel = args.flag("cancel");
    const view = await poolCommand(
      target.pool,
      cancel ? `Failed to cancel the job of vol ${target.volume}` : undefined,
      () =>
        cancel
          ? storage.cancelVolumeJob(target.pool, target.volume)
          : storage.volumeJob(target.pool, target.volume),
    );
    if (args.flag("json")) {
      context.json(view);
      return;
    }
    if (cancel) {
      context.printExtra(`Job ${view.job?.name} of vol ${target.volume} cancelled\n`);
      return;
    }
    context.print(formatVolumeJob(view));
  },
};
