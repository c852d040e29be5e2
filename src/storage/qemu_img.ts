/**
 * The `qemu-img` command lines a directory pool runs, built as libvirt 9.0 builds them
 * (virStorageBackendCreateQemuImgCmdFromVol): `create -f FORMAT [-b BACKING] [-o OPTIONS] PATH
 * [SIZEK]`, options in libvirt's order (backing_fmt, preallocation, nocow, compat, cluster_size,
 * features), a qcow2 image without a compat level made as `compat=0.10`, the size in KiB rounded
 * up; and `resize [--shrink] PATH BYTES`. Runs them under a deadline.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";

/** Longest a qemu-img run may take, in ms. */
export const QEMU_IMG_TIMEOUT_MS = 120_000;

/** Largest output kept from qemu-img, in bytes (for error messages). */
const QEMU_IMG_OUTPUT_MAX_BYTES = 64 * 1024;

/** What a `qemu-img create` makes. */
export interface QemuImgCreate {
  /** The file to make. */
  path: string;
  /** Its format (`qcow2`, `raw`, `qed`, `vmdk`, …). */
  format: string;
  /** Capacity, bytes; undefined to take the backing file's (only with a backing file). */
  capacityBytes?: number;
  /** Backing file and its format. */
  backing?: { path: string; format: string };
  /** `preallocation=metadata` (qcow2 with `--prealloc-metadata`). */
  preallocateMetadata?: boolean;
  /** `nocow=on`. */
  nocow?: boolean;
  /** qcow2 compat level. */
  compat?: string;
  /** qcow2 cluster size, bytes. */
  clusterSizeBytes?: number;
  /** qcow2 features. */
  features?: readonly ("lazy_refcounts" | "extended_l2")[];
}

/**
 * The arguments of `qemu-img create` (without the program name).
 *
 * @example
 * ```ts
 * import { qemuImgCreateArgs } from "./qemu_img.ts";
 * console.log(qemuImgCreateArgs({ path: "/p/a.qcow2", format: "qcow2", capacityBytes: 1 << 30 }).join(" "));
 * // "create -f qcow2 -o compat=0.10 /p/a.qcow2 1048576K"
 * ```
 */
export function qemuImgCreateArgs(plan: QemuImgCreate): string[] {
  const args = ["create", "-f", plan.format];
  if (plan.backing !== undefined) args.push("-b", plan.backing.path);
  const options = imageOptions(plan);
  if (options.length > 0) args.push("-o", options.join(","));
  args.push(plan.path);
  if (plan.capacityBytes !== undefined) args.push(`${Math.ceil(plan.capacityBytes / 1024)}K`);
  return args;
}

/**
 * The arguments of `qemu-img convert` that clone `source` (of `sourceFormat`) into a new image
 * (`vol-clone`, `vol-create-from`): zero runs stay holes, so a sparse source stays sparse.
 *
 * @example
 * ```ts
 * import { qemuImgConvertArgs } from "./qemu_img.ts";
 * console.log(qemuImgConvertArgs("/p/a.raw", "raw", { path: "/p/b.qcow2", format: "qcow2", preallocateMetadata: true }).join(" "));
 * // "convert -f raw -O qcow2 -o preallocation=metadata,compat=0.10 /p/a.raw /p/b.qcow2"
 * ```
 */
export function qemuImgConvertArgs(
  source: string,
  sourceFormat: string,
  plan: QemuImgCreate,
): string[] {
  const args = ["convert", "-f", sourceFormat, "-O", plan.format];
  const options = imageOptions(plan);
  if (options.length > 0) args.push("-o", options.join(","));
  args.push(source, plan.path);
  return args;
}

function imageOptions(plan: QemuImgCreate): string[] {
  const options: string[] = [];
  if (plan.backing !== undefined) options.push(`backing_fmt=${plan.backing.format}`);
  if (plan.preallocateMetadata === true) options.push("preallocation=metadata");
  if (plan.nocow === true) options.push("nocow=on");
  const compat = plan.compat ?? (plan.format === "qcow2" ? "0.10" : undefined);
  if (compat !== undefined) options.push(`compat=${compat}`);
  if (plan.clusterSizeBytes !== undefined && plan.clusterSizeBytes > 0) {
    options.push(`cluster_size=${plan.clusterSizeBytes}`);
  }
  if (plan.format === "qcow2") {
    for (const feature of plan.features ?? []) {
      options.push(feature === "lazy_refcounts" ? "lazy_refcounts" : "extended_l2=on");
    }
  }
  return options;
}

/**
 * The arguments of `qemu-img resize`.
 *
 * @example
 * ```ts
 * import { qemuImgResizeArgs } from "./qemu_img.ts";
 * console.log(qemuImgResizeArgs("/p/a.qcow2", 2048, true).join(" ")); // "resize --shrink /p/a.qcow2 2048"
 * ```
 */
export function qemuImgResizeArgs(path: string, capacityBytes: number, shrink: boolean): string[] {
  return ["resize", ...(shrink ? ["--shrink"] : []), path, String(capacityBytes)];
}

/**
 * Runs `qemu-img ARGS`.
 *
 * @throws {VirtError} Code 1 with qemu-img's message when it fails, 68 when it outlasts
 *   {@linkcode QEMU_IMG_TIMEOUT_MS}, 38 when it cannot be run.
 */
export async function runQemuImg(args: string[], timeoutMs = QEMU_IMG_TIMEOUT_MS): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("qemu-img", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
  } catch (error) {
    if (error instanceof DOMException && error.name === "TimeoutError") {
      throw timeoutError(args, timeoutMs);
    }
    throw cannotRun(error);
  }
  if (output.signal !== null) throw timeoutError(args, timeoutMs);
  if (output.code !== 0) {
    throw exitError(args, output.code, output.stderr.subarray(0, QEMU_IMG_OUTPUT_MAX_BYTES));
  }
}

function timeoutError(args: string[], timeoutMs: number): VirtError {
  return new VirtError(
    ErrorCode.OPERATION_TIMEOUT,
    `qemu-img ${args[0]} took over ${timeoutMs} ms`,
  );
}

function cannotRun(error: unknown): VirtError {
  return new VirtError(ErrorCode.SYSTEM_ERROR, `cannot run qemu-img: ${String(error)}`, {
    cause: error,
  });
}

function exitError(args: string[], code: number, stderr: Uint8Array): VirtError {
  const message = new TextDecoder().decode(stderr).trim();
  return new VirtError(
    ErrorCode.INTERNAL_ERROR,
    `Child process (qemu-img ${args.join(" ")}) unexpected exit status ${code}: ${message}`,
  );
}

/** Longest a `qemu-img convert` of a clone may take, in ms (a large image copies for long). */
export const QEMU_IMG_CONVERT_TIMEOUT_MS = 6 * 60 * 60 * 1000;

/** What a long qemu-img run is told and tells: a cancel, and its progress. */
export interface QemuImgJob {
  /** Stops the run (qemu-img is killed); the run rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with the percentage done (0–100) as qemu-img prints it (`-p`). */
  onPercent?: (percent: number) => void;
}

/**
 * The percentages in a piece of `qemu-img -p` output (`    (12.50/100%)\r`).
 *
 * @example
 * ```ts
 * import { progressPercents } from "./qemu_img.ts";
 * console.log(progressPercents("    (0.00/100%)\r    (12.50/100%)\r")); // [0, 12.5]
 * ```
 */
export function progressPercents(text: string): number[] {
  const percents: number[] = [];
  for (const match of text.matchAll(/\((\d{1,3}(?:\.\d+)?)\/100%\)/g)) {
    const percent = Number(match[1]);
    if (percent >= 0 && percent <= 100) percents.push(percent);
  }
  return percents;
}

/**
 * Runs `qemu-img ARGS` as a job: with `-p` after the subcommand so it reports progress, which
 * `job.onPercent` hears; `job.signal` kills it.
 *
 * @throws {VirtError} As {@linkcode runQemuImg}; the signal's reason when cancelled.
 */
export async function runQemuImgJob(
  args: string[],
  job: QemuImgJob,
  timeoutMs = QEMU_IMG_CONVERT_TIMEOUT_MS,
): Promise<void> {
  job.signal?.throwIfAborted();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("qemu-img", {
      args: [args[0], "-p", ...args.slice(1)],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw cannotRun(error);
  }
  // Killed by hand on a cancel or past the deadline: the run then reports why.
  let timedOut = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited already.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutMs);
  job.signal?.addEventListener("abort", kill, { once: true });
  const reading = (async () => {
    const decoder = new TextDecoder();
    // Only a short tail is kept between chunks: a progress figure split across two reads.
    let tail = "";
    for await (const chunk of child.stdout) {
      const text = tail + decoder.decode(chunk, { stream: true });
      const percents = progressPercents(text);
      if (percents.length > 0) job.onPercent?.(percents[percents.length - 1]);
      tail = text.slice(-32);
    }
  })();
  const errors = (async () => {
    const kept: Uint8Array[] = [];
    let keptBytes = 0;
    for await (const chunk of child.stderr) {
      if (keptBytes < QEMU_IMG_OUTPUT_MAX_BYTES) {
        kept.push(chunk.subarray(0, QEMU_IMG_OUTPUT_MAX_BYTES - keptBytes));
        keptBytes += kept[kept.length - 1].length;
      }
    }
    const joined = new Uint8Array(keptBytes);
    let offset = 0;
    for (const part of kept) {
      joined.set(part, offset);
      offset += part.length;
    }
    return joined;
  })();
  let status: Deno.CommandStatus;
  let stderr: Uint8Array;
  try {
    [status, , stderr] = await Promise.all([child.status, reading, errors]);
  } finally {
    clearTimeout(timer);
    job.signal?.removeEventListener("abort", kill);
  }
  if (job.signal?.aborted === true) throw job.signal.reason;
  if (timedOut || status.signal !== null) throw timeoutError(args, timeoutMs);
  if (status.code !== 0) throw exitError(args, status.code, stderr);
}
