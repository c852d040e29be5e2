/**
 * The worker thread behind `QemuDriver.completeDefinition` and `checkOffLoop` for a large
 * definition: the define-time completion (machine type, implicit devices, PCI addresses) and the
 * dry build of its command line, beside the service's main loop instead of on it.
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
import { completeQemuDefinition } from "./definition_completion.ts";
import type { MachineTypes } from "./machine_type.ts";

/** A definition and the context its dry build uses; with `complete`, completed first. */
export interface DryBuildRequest {
  definition: DomainDefinition;
  context: CommandLineContext;
  /** Complete the definition first (define-time completion) with these machine types. */
  complete?: { machines: MachineTypes; emulator: string };
}

/**
 * Whether the command line could be built (of the completed definition, which comes back when
 * completion was asked for), or the refusal it threw.
 */
export type DryBuildReply = { ok: true; completed?: DomainDefinition } | WorkerErrorReply;

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
    const { complete } = request;
    if (complete === undefined) {
      buildCommandLine(request.definition, request.context);
      return { ok: true };
    }
    const completed = completeQemuDefinition(
      request.definition,
      complete.machines,
      complete.emulator,
    );
    buildCommandLine(completed, request.context);
    return { ok: true, completed };
  } catch (error) {
    return replyOfError(error);
  }
}

serveWorkerRequests(answerDryBuild);
