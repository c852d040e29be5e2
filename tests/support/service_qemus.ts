/**
 * The QEMU processes a service under test started, found by their pid files under its runtime
 * folder, and their teardown by pid: a test that SIGKILLs the service must still end every QEMU
 * it left running.
 *
 * @module
 */

import { waitForExit } from "../../src/host/process_state.ts";

/** How long a QEMU may take to exit after a teardown SIGKILL, in ms. */
export const QEMU_EXIT_TIMEOUT_MS = 5000;

/** Pids of the QEMU processes the service started, from `RUNTIME/qemu/NAME/qemu.pid`. */
export function serviceQemuPids(runtimeDir: string): number[] {
  const pids: number[] = [];
  try {
    for (const entry of Deno.readDirSync(`${runtimeDir}/qemu`)) {
      if (!entry.isDirectory) continue;
      let text: string;
      try {
        text = Deno.readTextFileSync(`${runtimeDir}/qemu/${entry.name}/qemu.pid`);
      } catch {
        // No pid file (the claims folder, or a QEMU already gone).
        continue;
      }
      const pid = Number(text.trim());
      // A half-written file must not become pid 0, which would signal the test's own group.
      if (Number.isInteger(pid) && pid > 0) pids.push(pid);
    }
  } catch {
    // No QEMU started yet.
  }
  return pids;
}

/** SIGKILLs each pid (already gone is fine) and waits for it to exit, bounded by a timeout. */
export async function killQemus(pids: readonly number[]): Promise<void> {
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    await waitForExit(pid, { timeoutMs: QEMU_EXIT_TIMEOUT_MS });
  }
}
