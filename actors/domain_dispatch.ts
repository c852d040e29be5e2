/**
 * The host's dispatch of domain commands: one runner per command of the operations table that
 * acts on an existing domain (`DomainCommandName` but `define`, which claims a name first). A
 * command missing here, or one here that the table does not name, fails to compile.
 *
 * @module
 */

import { endHeldStart } from "./held_facts_followup.ts";
import type { DomainCommandName } from "../src/model/operations.ts";
import type { JobContext } from "./domain_actor.ts";
import * as commands from "./domain_commands.ts";
import * as resources from "./resource_commands.ts";
import { changeDevice, type DeviceCommand } from "./device_commands.ts";
import {
  managedSave,
  removeManagedSave,
  save,
  type SaveArguments,
  startDomain,
} from "./save_commands.ts";
import { type BlockJobCommand, runBlockJobCommand } from "./block_job_commands.ts";
import { runSnapshotCommand, type SnapshotCommand } from "./snapshot_commands.ts";
import { type PerfRequest, setPerfEvents } from "./perf_commands.ts";
import { type SchedulerRequest, setSchedulerParameters } from "./sched_commands.ts";
import { type InterfaceTuneRequest, setInterfaceParameters } from "./interface_tune_commands.ts";

/** The commands that run on an existing domain, found by reference. */
export type DomainJobName = Exclude<DomainCommandName, "define">;

/** What each command takes besides the domain. */
export interface DomainCommandArguments {
  undefine: Record<string, never>;
  start: { paused?: boolean; forceBoot?: boolean; bypassCache?: boolean };
  shutdown: { timeoutMs?: number; mode?: commands.ShutdownMode };
  destroy: { graceful?: boolean };
  reboot: { mode?: commands.ShutdownMode };
  reset: Record<string, never>;
  suspend: Record<string, never>;
  resume: Record<string, never>;
  autostart: { autostart: boolean };
  rename: { newName: string };
  setmem: resources.MemoryRequest;
  setvcpus: resources.VcpuRequest;
  blockresize: resources.BlockResizeRequest;
  perf: PerfRequest;
  schedinfo: SchedulerRequest;
  iftune: InterfaceTuneRequest;
  metadata: {
    change: Parameters<typeof commands.setMetadata>[1];
    scope: commands.MetadataScope;
  };
  device: DeviceCommand;
  save: SaveArguments;
  managedsave: { running?: boolean; paused?: boolean; bypassCache?: boolean };
  managedsave_remove: Record<string, never>;
  blockjob: BlockJobCommand;
  snapshot: SnapshotCommand;
}

/** A command's runner: the job it does in the domain's queue. */
export type DomainJobRunner<Name extends DomainJobName> = (
  job: JobContext,
  env: commands.CommandEnvironment,
  args: DomainCommandArguments[Name],
) => Promise<void>;

/**
 * Every command's runner.
 *
 * @example
 * ```ts ignore
 * await actor.run("suspend", options, (job) => DOMAIN_JOBS.suspend(job, env, {}));
 * ```
 */
export const DOMAIN_JOBS: { readonly [Name in DomainJobName]: DomainJobRunner<Name> } = {
  undefine: (job, env) => commands.undefine(job, env),
  // A start whose launch the log refuses ends that instance at once (held_facts_followup.ts).
  start: (job, env, args) =>
    startDomain(job, env, {
      paused: args.paused ?? false,
      forceBoot: args.forceBoot ?? false,
      bypassCache: args.bypassCache ?? false,
    })
      .catch((error) => endHeldStart(job, env, error)),
  shutdown: (job, env, args) =>
    commands.shutdown(job, env, {
      ...(args.timeoutMs === undefined ? {} : { timeoutMs: args.timeoutMs }),
      ...(args.mode === undefined ? {} : { mode: args.mode }),
    }),
  destroy: (job, env, args) => commands.destroy(job, env, { graceful: args.graceful ?? false }),
  reboot: (job, env, args) =>
    commands.reboot(job, env, args.mode === undefined ? {} : { mode: args.mode }),
  reset: (job, env) => commands.reset(job, env),
  suspend: (job, env) => commands.suspend(job, env),
  resume: (job, env) => commands.resume(job, env),
  autostart: (job, env, args) => commands.setAutostart(job, env, args.autostart),
  metadata: (job, _env, args) => commands.setMetadata(job, args.change, args.scope),
  rename: (job, env, args) => commands.rename(job, env, args.newName),
  setmem: (job, env, args) => resources.setMemory(job, env, args),
  setvcpus: (job, env, args) => resources.setVcpus(job, env, args),
  blockresize: (job, env, args) => resources.blockResize(job, env, args),
  perf: (job, env, args) => setPerfEvents(job, env, args),
  schedinfo: (job, env, args) => setSchedulerParameters(job, env, args),
  iftune: (job, env, args) => setInterfaceParameters(job, env, args),
  device: (job, env, args) => changeDevice(job, env, args),
  save: (job, env, args) => save(job, env, args),
  managedsave: (job, env, args) => managedSave(job, env, args),
  managedsave_remove: (job) => removeManagedSave(job),
  blockjob: (job, env, args) => runBlockJobCommand(job, env, args),
  snapshot: (job, env, args) => runSnapshotCommand(job, env, args),
};
