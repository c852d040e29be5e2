/**
 * One QEMU per domain, enforced by the kernel: every QEMU of a domain is started holding an
 * exclusive `flock` on the domain's claim file (`<runtime>/qemu/claims/<uuid>.lock`).
 *
 * The lock is taken by `flock --no-fork`, which then execs QEMU: the locked descriptor is
 * inherited through the exec chain by QEMU (`qemu_process.ts`), so the claim is held by QEMU
 * itself. It survives the service's death and is released by the kernel only when the last QEMU
 * holding it is gone. A second start of the domain, by this service or a restarted one, fails
 * at once (`--nonblock`) while any QEMU of the domain lives — also one whose pid nobody recorded.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/** The exit status `flock` gives when the claim is held by another process. */
export const CLAIM_CONFLICT_EXIT_CODE = 75;

/** How long asking whether a claim is held may take, in ms (one short `flock` run). */
export const CLAIM_CHECK_TIMEOUT_MS = 5_000;

/** Most descriptors looked at in one process when checking that it holds a claim. */
const PROCESS_FDS_MAX = 4096;

/**
 * The claim file of a domain.
 *
 * @param qemuRuntimeDir The QEMU driver's runtime folder (`$EVIRT_RUNTIME_DIR/qemu`).
 * @param uuid The domain's uuid.
 *
 * @example
 * ```ts
 * import { claimPathFor } from "./instance_claim.ts";
 * console.log(claimPathFor("/run/evirt/qemu", "c0ffee00-0000-4000-8000-000000000001"));
 * // "/run/evirt/qemu/claims/c0ffee00-0000-4000-8000-000000000001.lock"
 * ```
 */
export function claimPathFor(qemuRuntimeDir: string, uuid: string): string {
  if (!/^[0-9a-f-]{32,36}$/i.test(uuid)) {
    throw new VirtError(ErrorCode.INVALID_ARG, `invalid domain uuid '${uuid}'`, { where: "uuid" });
  }
  return `${qemuRuntimeDir}/claims/${uuid.toLowerCase()}.lock`;
}

/**
 * The command line that runs `argv` holding the claim: `flock` takes it without waiting (or
 * exits with {@linkcode CLAIM_CONFLICT_EXIT_CODE}) and execs `argv` with the lock inherited.
 *
 * @example
 * ```ts
 * import { claimedCommand } from "./instance_claim.ts";
 * console.log(claimedCommand("/run/c.lock", ["qemu-system-x86_64", "-S"]).slice(0, 2));
 * // ["flock", "--exclusive"]
 * ```
 */
export function claimedCommand(claimPath: string, argv: readonly string[]): string[] {
  return [
    "flock",
    "--exclusive",
    "--nonblock",
    "--conflict-exit-code",
    String(CLAIM_CONFLICT_EXIT_CODE),
    "--no-fork",
    claimPath,
    ...argv,
  ];
}

/**
 * Whether some process holds the claim now (a QEMU of the domain lives). Takes and drops the
 * lock at once when it is free.
 *
 * @throws {VirtError} SYSTEM_ERROR (38) when `flock` cannot run or fails otherwise.
 *
 * @example
 * ```ts ignore
 * if (await isClaimHeld(path)) console.log("a QEMU of this domain lives");
 * ```
 */
export async function isClaimHeld(claimPath: string): Promise<boolean> {
  try {
    Deno.statSync(claimPath);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("flock", {
      args: claimedCommand(claimPath, ["true"]).slice(1),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(CLAIM_CHECK_TIMEOUT_MS),
    }).output();
  } catch (error) {
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `cannot run flock: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (output.code === CLAIM_CONFLICT_EXIT_CODE) return true;
  if (output.success) return false;
  throw new VirtError(
    ErrorCode.SYSTEM_ERROR,
    `flock on '${claimPath}' failed: ${new TextDecoder().decode(output.stderr).trim()}`,
  );
}

/**
 * Whether process `pid` has the claim file open (as every QEMU started by
 * {@linkcode claimedCommand} does), from its `/proc/PID/fd` links.
 *
 * @example
 * ```ts ignore
 * holdsClaim(qemuPid, claimPath); // true
 * ```
 */
export function holdsClaim(pid: number, claimPath: string): boolean {
  let count = 0;
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
      if (++count > PROCESS_FDS_MAX) return false;
      try {
        if (Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`) === claimPath) return true;
      } catch {
        // The descriptor was closed between the listing and the look.
      }
    }
  } catch {
    return false; // The process is gone (or not ours to look at).
  }
  return false;
}

/** The error of a start refused because a QEMU of the domain still holds its claim. */
export function claimConflict(name: string, claimPath: string, pid?: number): VirtError {
  const holder = pid === undefined ? "a qemu process" : `qemu process ${pid}`;
  return new VirtError(
    ErrorCode.OPERATION_FAILED,
    `domain '${name}' is already running in ${holder} (it holds '${claimPath}')`,
  );
}
