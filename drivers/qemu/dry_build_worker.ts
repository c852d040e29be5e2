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
import { FACT_BODY_MAX_BYTES } from "../../src/log/event_store.ts";
import { type KnownJsonText, prepareJsonText } from "../../src/log/json_text.ts";
import { buildCommandLine, type CommandLineContext } from "./command_line.ts";
import { completeQemuDefinition } from "./definition_completion.ts";
import type { MachineTypes } from "./machine_type.ts";

/**
 * A definition (or its JSON text, which costs the sender less than a clone) and the context its
 * dry build uses; with `complete`, completed first.
 */
export interface DryBuildRequest {
  definition: DomainDefinition | { json: string };
  context: CommandLineContext;
  /** Complete the definition first (define-time completion) with these machine types. */
  complete?: { machines: MachineTypes; emulator: string };
}

/**
 * Whether the command line could be built, or the refusal it threw. When completion was asked
 * for, the completed definition comes back as its JSON text, as the log stores it (parsing it
 * costs the main loop less than rebuilding a clone, and the define's append then reuses the
 * text: see `rememberJsonText` in src/log/json_text.ts); as itself only when the log would refuse
 * its JSON (the append then says why).
 */
export type DryBuildReply =
  | { ok: true; completed?: DomainDefinition; completedJson?: KnownJsonText }
  | WorkerErrorReply;

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
    const definition = "json" in request.definition
      ? JSON.parse(request.definition.json) as DomainDefinition
      : request.definition;
    if (complete === undefined) {
      buildCommandLine(definition, request.context);
      return { ok: true };
    }
    const completed = completeQemuDefinition(definition, complete.machines, complete.emulator);
    buildCommandLine(completed, request.context);
    try {
      return {
        ok: true,
        completedJson: prepareJsonText(completed, "definition", FACT_BODY_MAX_BYTES),
      };
    } catch {
      return { ok: true, completed };
    }
  } catch (error) {
    return replyOfError(error);
  }
}

serveWorkerRequests(answerDryBuild);
