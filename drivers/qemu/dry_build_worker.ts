/**
 * The worker thread behind `QemuDriver.checkOffLoop`: the define-time dry build of a large
 * definition's command line, beside the service's main loop instead of on it.
 *
 * Message in: {@linkcode DryBuildRequest}. Message out: {@linkcode DryBuildReply}.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import {
  replyOfError,
  serveWorkerRequests,
  type WorkerErrorReply,
} from "../../src/workers/worker_pool.ts";
import { buildCommandLine, type CommandLineContext } from "./command_line.ts";

/** A definition and the context its dry build uses. */
export interface DryBuildRequest {
  definition: DomainDefinition;
  context: CommandLineContext;
}

/** Whether the command line could be built, or the refusal it threw. */
export type DryBuildReply = { ok: true } | WorkerErrorReply;

/**
 * Answers one request (exported so it can be tested without a thread).
 *
 * @example
 * ```ts
 * import { answerDryBuild } from "./dry_build_worker.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const definition = { type: "qemu", name: "vm", memoryKiB: 65536, vcpus: 1, os: { type: "hvm", boot: [] }, devices: emptyDevices() };
 * const context = { emulator: "qemu-system-x86_64", accelerator: "tcg" as const, monitorSocketPath: "/run/x/monitor.sock", pidFilePath: "/run/x/qemu.pid", sandbox: false, nowMs: 0 };
 * console.log(answerDryBuild({ definition, context })); // { ok: true }
 * ```
 */
export function answerDryBuild(request: DryBuildRequest): DryBuildReply {
  try {
    buildCommandLine(request.definition, request.context);
    return { ok: true };
  } catch (error) {
    return replyOfError(error);
  }
}

serveWorkerRequests(answerDryBuild);
