/**
 * Finding the QEMU of a start that a crash interrupted: its intent (runtime folder, pid file,
 * claim file) is in the log, but perhaps not its pid — the service may have died between the
 * spawn and the record, or even while QEMU was still daemonizing.
 *
 * The domain's claim (`instance_claim.ts`) says whether any QEMU of it lives; the planned pid
 * file, written by QEMU itself as it starts, says which process it is, and that process is
 * checked to hold the claim, so neither a reused pid nor an unrelated process is adopted.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { holdsClaim, isClaimHeld } from "./instance_claim.ts";
import { readPidFile, readProcessStat } from "../../src/host/process_state.ts";
import type { QemuIdentity } from "./qemu_process.ts";

/**
 * Longest wait for a QEMU that holds the claim to show its pid file, in ms: one spawned in the
 * last instant before the crash may still be initialising when recovery looks.
 */
export const ADOPT_WAIT_MS = 10_000;

/** Pause between two looks while waiting, in ms. */
export const ADOPT_POLL_INTERVAL_MS = 50;

/** The files an interrupted start planned. */
export interface PlannedFiles {
  /** The domain's claim file. */
  claimPath: string;
  /** The pid file QEMU was told to write. */
  pidFile: string;
}

/**
 * The QEMU process of an interrupted start, or undefined when none lives.
 *
 * @param planned The claim and pid file the start recorded.
 * @param signal Aborts the wait.
 * @param waitMs How long a holder of the claim may take to show its pid file. Default
 *   {@linkcode ADOPT_WAIT_MS}.
 * @throws {VirtError} OPERATION_FAILED (9) when the claim stays held but no QEMU holding it
 *   shows up in time; OPERATION_ABORTED (78) when aborted.
 *
 * @example
 * ```ts ignore
 * const qemu = await findClaimedQemu({ claimPath, pidFile }, AbortSignal.timeout(15_000));
 * ```
 */
export async function findClaimedQemu(
  planned: PlannedFiles,
  signal: AbortSignal,
  waitMs: number = ADOPT_WAIT_MS,
): Promise<QemuIdentity | undefined> {
  if (planned.claimPath === "") return undefined;
  if (!(await isClaimHeld(planned.claimPath))) return undefined;
  const deadline = performance.now() + waitMs;
  // Bounded by the deadline: each pass sleeps ADOPT_POLL_INTERVAL_MS.
  for (;;) {
    if (signal.aborted) {
      throw new VirtError(ErrorCode.OPERATION_ABORTED, "search for an interrupted qemu aborted", {
        cause: signal.reason,
      });
    }
    const found = await claimingProcess(planned);
    if (found !== undefined) return found;
    if (!(await isClaimHeld(planned.claimPath))) return undefined;
    if (performance.now() > deadline) {
      throw new VirtError(
        ErrorCode.OPERATION_FAILED,
        `'${planned.claimPath}' is held, but no qemu holding it wrote '${planned.pidFile}' within ${waitMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, ADOPT_POLL_INTERVAL_MS));
  }
}

/** The live QEMU named by the pid file, if it holds the claim. */
async function claimingProcess(planned: PlannedFiles): Promise<QemuIdentity | undefined> {
  let pid: number;
  try {
    pid = await readPidFile(planned.pidFile);
  } catch {
    return undefined; // Not written yet (or half written).
  }
  const stat = readProcessStat(pid);
  if (stat === undefined || stat.state === "Z" || stat.state === "X") return undefined;
  if (!holdsClaim(pid, planned.claimPath)) return undefined;
  return { pid, startTimeTicks: stat.startTimeTicks };
}
