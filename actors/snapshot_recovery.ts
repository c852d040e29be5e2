/**
 * Recovery of snapshot intents a crash left pending, once the log is folded and the active
 * domains reconciled:
 *
 * - **create** of a shut-off domain: the images may hold what the snapshot began (an internal
 *   snapshot of that name, new overlay files) while the log names no snapshot: the internal
 *   snapshot is removed from the images and the overlays are deleted (the definition still
 *   points at the old images), then the intent is abandoned;
 * - **create** of an external snapshot of a running guest: when the instance's disks are on
 *   the overlays (or, memory only, the memory image is complete) the snapshot happened and is
 *   recorded as the intent names it; else the memory image and the overlays are removed and
 *   the intent abandoned. Either way a guest the snapshot paused runs again;
 * - **delete** of a shut-off domain: the deletion is finished (a snapshot already gone from an
 *   image is no error) and recorded;
 * - **revert**: done again from its start (the instance the crash left, the old one or a half
 *   started new one, is ended; the snapshot's state is brought back), since the caller was
 *   never told and the snapshot alone decides the outcome;
 * - anything else (a running domain's internal snapshot or deletion): the images cannot be
 *   told apart from what the running instance uses, so nothing is removed; the intent is
 *   abandoned and logged, and the tree stays as recorded.
 *
 * @module
 */

import type { DomainActor, JobContext } from "./domain_actor.ts";
import type { CommandEnvironment } from "./domain_commands.ts";
import { isActive, pendingIntent, pendingRevert, statePath } from "./domain_machine.ts";
import type { DomainHandle, Driver } from "./driver_protocol.ts";
import { runSnapshotCommand } from "./snapshot_commands.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import { PausedReason } from "../src/model/lifecycle.ts";
import { readSaveHeader } from "../src/storage/save_image.ts";

/** Bound on settling one domain's snapshot intent, in ms. */
const SNAPSHOT_RECOVERY_TIMEOUT_MS = 60_000;

/**
 * Settles every pending snapshot intent of `actors`, one domain at a time.
 *
 * @example
 * ```ts ignore
 * await recoverSnapshotIntents(actors, (definition) => drivers.get(definition.type), log, env);
 * ```
 */
export async function recoverSnapshotIntents(
  actors: readonly DomainActor[],
  driverOf: (definition: DomainDefinition) => Driver | undefined,
  log: (message: string) => void,
  commands?: CommandEnvironment,
): Promise<void> {
  const pending = actors.filter((actor) =>
    pendingIntent(actor.snapshot)?.kind.startsWith("snapshot_") === true ||
    pendingRevert(actor.snapshot) !== null
  );
  for (const actor of pending) {
    try {
      await actor.run(
        "recover snapshot",
        { kind: "recovery" },
        (job) => settle(job, driverOf, log, commands),
      );
    } catch (error) {
      log(
        `domain ${actor.snapshot.context.name}: interrupted snapshot not settled: ${
          (error as Error).message
        }`,
      );
    }
  }
}

async function settle(
  job: JobContext,
  driverOf: (definition: DomainDefinition) => Driver | undefined,
  log: (message: string) => void,
  commands: CommandEnvironment | undefined,
): Promise<void> {
  const { context } = job.snapshot;
  const revert = pendingRevert(job.snapshot);
  if (revert !== null && commands !== undefined) {
    await redoRevert(job, commands, revert, log);
    return;
  }
  const intent = pendingIntent(job.snapshot);
  const definition = context.live ?? context.definition;
  if (intent === null || !intent.kind.startsWith("snapshot_") || definition === null) return;
  const snapshots = driverOf(definition)?.snapshots;
  const signal = AbortSignal.any([job.signal, AbortSignal.timeout(SNAPSHOT_RECOVERY_TIMEOUT_MS)]);
  const offline = !isActive(job.snapshot) && snapshots !== undefined;
  if (intent.kind === "snapshot_delete" && offline) {
    for (const name of intent.names) {
      const stored = context.snapshots?.snapshots[name]?.definition;
      const disks = stored?.disks.filter((disk) => disk.snapshot === "internal")
        .map((disk) => disk.name) ?? [];
      for (const disk of disks) {
        // One disk at a time: an image the deletion already reached has no such snapshot.
        await snapshots.deleteInternal(
          { definition: stored?.domain ?? definition },
          name,
          [disk],
          signal,
        ).catch(() => {});
      }
    }
    log(`domain ${context.name}: finished its interrupted deletion of ${intent.names.join(", ")}`);
    await job.append([{ type: "domain.snapshot_deleted", body: { names: intent.names } }]);
    return;
  }
  if (intent.kind === "snapshot_create" && offline) {
    if (intent.internal) {
      const disks = definition.devices.disks.filter((disk) =>
        disk.driver?.type === "qcow2" && disk.source?.file !== undefined
      ).map((disk) => disk.target.dev);
      for (const disk of disks) {
        await snapshots.deleteInternal({ definition }, intent.name, [disk], signal)
          .catch(() => {});
      }
    }
    for (const path of intent.overlays) {
      await Deno.remove(path).catch(() => {});
    }
    log(`domain ${context.name}: undid its interrupted snapshot ${intent.name}`);
  } else {
    log(
      `domain ${context.name}: its interrupted ${
        intent.kind.replace("_", " ")
      } is left as the images are`,
    );
  }
  await job.append([{ type: "domain.intent_abandoned", body: { intent: intent.kind } }]);
}

/**
 * During the reconcile of an active domain (before its state is corrected), settles an external
 * snapshot of the running guest the crash cut short (see the module).
 *
 * @returns True when the guest was run again (the probe's answer is out of date); false when
 *   the usual reconcile follows.
 *
 * @example
 * ```ts ignore
 * if (await settleInterruptedSnapshot(job, driver, handle, log)) return;
 * ```
 */
export async function settleInterruptedSnapshot(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  log: (message: string) => void,
): Promise<boolean> {
  const intent = pendingIntent(job.snapshot);
  if (intent?.kind !== "snapshot_create" || intent.internal || !isActive(job.snapshot)) {
    return false;
  }
  const { context } = job.snapshot;
  const signal = AbortSignal.any([job.signal, AbortSignal.timeout(SNAPSHOT_RECOVERY_TIMEOUT_MS)]);
  const tops = intent.finish?.overlays.map((each) => each.top.path) ?? [];
  let happened = false;
  try {
    if (tops.length > 0) {
      happened = await driver.snapshots?.overlaysInUse?.(
        { definition: handle.definition, handle },
        tops,
        signal,
      ) ?? false;
    } else if (intent.memoryFile !== undefined) {
      happened = (await readSaveHeader(intent.memoryFile)).complete;
    }
  } catch (error) {
    log(`domain ${context.name}: cannot tell whether its snapshot happened: ${String(error)}`);
  }
  if (happened && intent.finish !== undefined) {
    log(`domain ${context.name}: its interrupted snapshot ${intent.name} was taken; recording it`);
    await job.append([{
      type: "domain.snapshot_created",
      body: {
        snapshot: intent.finish.snapshot,
        metadata: intent.finish.metadata,
        current: intent.finish.metadata,
        overlays: intent.finish.overlays,
        live: true,
      },
    }]);
  } else {
    const made = intent.memoryFile === undefined ? [] : [intent.memoryFile];
    for (const path of [...made, ...intent.overlays]) await Deno.remove(path).catch(() => {});
    log(`domain ${context.name}: undid its interrupted snapshot ${intent.name}`);
    await job.append([{ type: "domain.intent_abandoned", body: { intent: intent.kind } }]);
  }
  const pausedBySnapshot = statePath(job.snapshot) === "active.paused" &&
    job.snapshot.context.reason === PausedReason.SNAPSHOT;
  if (!pausedBySnapshot) return false;
  try {
    await driver.resume(handle, signal);
    await job.append([{
      type: "domain.resumed",
      body: { detail: "unpaused", reason: "unpaused" },
    }]);
    return true;
  } catch (error) {
    log(`domain ${context.name}: cannot run again after its snapshot: ${String(error)}`);
    return false;
  }
}

/** Does a revert the crash cut short again, from its start (see the module). */
async function redoRevert(
  job: JobContext,
  commands: CommandEnvironment,
  revert: { name: string; running?: boolean; paused?: boolean },
  log: (message: string) => void,
): Promise<void> {
  log(`domain ${job.snapshot.context.name}: doing its interrupted revert to ${revert.name} again`);
  try {
    await runSnapshotCommand(job, commands, {
      action: "revert",
      name: revert.name,
      ...(revert.running === true ? { running: true } : {}),
      ...(revert.paused === true ? { paused: true } : {}),
      force: true,
    });
  } catch (error) {
    // Refused before it began (still pending): closed here, the domain left as it is.
    if (pendingRevert(job.snapshot) !== null) {
      await job.append([{ type: "domain.intent_abandoned", body: { intent: "snapshot_revert" } }]);
    }
    throw error;
  }
}
