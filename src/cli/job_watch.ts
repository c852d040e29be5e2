/**
 * `save --verbose` and `managedsave --verbose`: while the call runs, its job's progress is
 * polled (`domjobinfo`) and drawn on stderr as virsh draws it (`\rSave: [ 42 %]`, then
 * `[100 %]` once the call succeeded) — on a terminal only, as every progress line of the CLI.
 * Without `--verbose`, or off a terminal, the usual progress line.
 *
 * @module
 */

import { SaveClient } from "../client/save_client.ts";
import { jobProgressLine } from "./job_layouts.ts";
import type { VerbContext } from "./verb.ts";

/** How often the job is asked for, in ms (virsh: 500). */
export const JOB_WATCH_POLL_MS = 500;

/**
 * Runs `call` (a save of `reference`) and, with `verbose` on a terminal, draws its progress.
 *
 * @returns What `call` resolves to.
 */
export async function watchJob<T>(
  context: VerbContext,
  reference: string,
  options: { label: string; verbose: boolean; quietLabel: string },
  call: Promise<T>,
): Promise<T> {
  if (!options.verbose || !context.io.stderrIsTerminal) {
    return await context.progress.during(options.quietLabel, call);
  }
  const jobs = new SaveClient(context.client);
  let done = false;
  const settled = call.finally(() => {
    done = true;
  });
  const polling = (async () => {
    while (!done) {
      const view = await jobs.jobInfo(reference).catch(() => null);
      const job = view?.job ?? null;
      // Drawn once the job knows its size, as virsh.
      if (!done && job !== null && job.dataTotal > 0) {
        context.io.stderr(jobProgressLine(options.label, job.dataRemaining, job.dataTotal));
      }
      await Promise.race([
        settled.catch(() => {}),
        new Promise((resolve) => setTimeout(resolve, JOB_WATCH_POLL_MS)),
      ]);
    }
  })();
  try {
    const result = await settled;
    context.io.stderr(jobProgressLine(options.label, 0, 1));
    return result;
  } finally {
    await polling;
  }
}
