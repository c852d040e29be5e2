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
import {
  type CompactJson,
  compactJsonTransfer,
  prepareCompactJson,
} from "../../src/log/compact_json.ts";
import { type CompactParts, plainFromParts } from "../../src/model/compact_definition.ts";
import { buildCommandLine, type CommandLineContext } from "./command_line.ts";
import { completeQemuDefinition } from "./definition_completion.ts";
import type { MachineTypes } from "./machine_type.ts";
import type { CpuNames } from "./qemu_capabilities.ts";

/**
 * A definition (or its JSON text, which costs the sender less than a clone, or the parts of a
 * compact one, which cost less than its text) and the context its
 * dry build uses; with `complete`, completed first. The emulator's CPU names and machine types
 * travel as one JSON text ({@linkcode dryBuildShared}): a string is copied in one piece where the
 * sets of several hundred names were walked on every request, and the thread keeps the last one
 * it parsed.
 */
export interface DryBuildRequest {
  /** The definition, its JSON text, or (a compact one) its parts as kept, deflated ones small. */
  definition: DomainDefinition | { json: string } | { parts: CompactParts };
  context: Omit<CommandLineContext, "cpuNames">;
  /** The CPU names (`context.cpuNames`) and machine types, as {@linkcode dryBuildShared} makes them. */
  shared?: string;
  /** Complete the definition first (define-time completion) for this emulator. */
  complete?: { emulator: string };
}

/** What {@linkcode dryBuildShared} carries. */
interface Shared {
  machines?: MachineTypes;
  cpuNames?: CpuNames;
}

/** Texts made, by machine types (or CPU names), then CPU names: each made once. */
const sharedTexts = new WeakMap<object, Map<object | null, string>>();

/**
 * The text a {@linkcode DryBuildRequest} carries for an emulator's machine types and CPU names
 * (undefined when it has neither), made once for the same two objects.
 *
 * @example
 * ```ts
 * import { dryBuildShared } from "./dry_build_worker.ts";
 * const machines = { aliases: { pc: "pc-i440fx-7.2" } };
 * console.log(dryBuildShared(machines, undefined) === dryBuildShared(machines, undefined)); // true
 * ```
 */
export function dryBuildShared(
  machines: MachineTypes | undefined,
  cpuNames: CpuNames | undefined,
): string | undefined {
  const first = machines ?? cpuNames;
  if (first === undefined) return undefined;
  const second = machines === undefined ? null : cpuNames ?? null;
  let texts = sharedTexts.get(first);
  if (texts === undefined) sharedTexts.set(first, texts = new Map());
  let text = texts.get(second);
  if (text === undefined) {
    text = JSON.stringify({
      machines,
      cpuNames: cpuNames === undefined
        ? undefined
        : { models: [...cpuNames.models], flags: [...cpuNames.flags] },
    });
    texts.set(second, text);
  }
  return text;
}

/** The last shared text this thread parsed, and what it holds. */
let lastShared: { text: string; shared: Shared } | undefined;

function sharedOf(text: string | undefined): Shared {
  if (text === undefined) return {};
  if (lastShared?.text !== text) {
    const parsed = JSON.parse(text) as {
      machines?: MachineTypes;
      cpuNames?: { models: string[]; flags: string[] };
    };
    lastShared = {
      text,
      shared: {
        machines: parsed.machines,
        cpuNames: parsed.cpuNames === undefined ? undefined : {
          models: new Set(parsed.cpuNames.models),
          flags: new Set(parsed.cpuNames.flags),
        },
      },
    };
  }
  return lastShared.shared;
}

/**
 * Whether the command line could be built, or the refusal it threw. When completion was asked
 * for, the completed definition comes back as its JSON text, as the log stores it, with its
 * large parts deflated (src/log/compact_json.ts: the main loop keeps it compact without parsing
 * them, and the define's append reuses the text); as itself only when the log would refuse its
 * JSON (the append then says why).
 */
export type DryBuildReply =
  | { ok: true; completed?: DomainDefinition; completedJson?: CompactJson }
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
      : "parts" in request.definition
      ? plainFromParts(request.definition.parts)
      : request.definition;
    const { machines, cpuNames } = sharedOf(request.shared);
    const context: CommandLineContext = { ...request.context, cpuNames };
    if (complete === undefined) {
      buildCommandLine(definition, context);
      return { ok: true };
    }
    if (machines === undefined) throw new RangeError("completion needs the machine types");
    const completed = completeQemuDefinition(definition, machines, complete.emulator);
    buildCommandLine(completed, context);
    try {
      return {
        ok: true,
        completedJson: prepareCompactJson(completed, "definition", FACT_BODY_MAX_BYTES),
      };
    } catch {
      return { ok: true, completed };
    }
  } catch (error) {
    return replyOfError(error);
  }
}

serveWorkerRequests(
  answerDryBuild,
  (reply) => reply.ok ? compactJsonTransfer(reply.completedJson) : [],
);
