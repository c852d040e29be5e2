/**
 * Recovery of snapshot intents a crash left pending, once the log is folded and the active
 * domains reconciled:
 *
 * - **create** of a shut-off domain: the images may hold what the snapshot began (an internal
 *   snapshot of that name, new overlay files) while the log names no snapshot: the internal
 *   snapshot is removed from the images and the overlays are deleted (the definition still
 *   points at the old images), then the intent is abandoned;
 * - **delete** of a shut-off domain: the deletion is finished (a snapshot already gone from an
 *   image is no error) and recorded;
 * - anything else (a running domain's snapshot, a revert): the images cannot be told apart
 *   from what the running instance uses, so nothing is removed; the intent is abandoned and
 *   logged, and the tree stays as recorded.
 *
 * @module
 */

import type { DomainActor, JobContext } from "./domain_actor.ts";
import { isActive, pendingIntent } from "./domain_machine.ts";
import type { Driver } from "./driver_protocol.ts";
import type { DomainDefinition } from "../src/model/domain.ts";

/** Bound on settling one domain's snapshot intent, in ms. */
const SNAPSHOT_RECOVERY_TIMEOUT_MS = 60_000;

/**
 * Settles every pending snapshot intent of `actors`, one domain at a time.
 *
 * @example
 * ```ts ignore
 * await recoverSnapshotIntents(actors, (definition) => drivers.get(definition.type), log);
 * ```
 */
export async function recoverSnapshotIntents(
  actors: readonly DomainActor[],
  driverOf: (definition: DomainDefinition) => Driver | undefined,
  log: (message: string) => void,
): Promise<void> {
  const pending = actors.filter((actor) =>
    pendingIntent(actor.snapshot)?.kind.startsWith("snapshot_") === true
  );
  for (const actor of pending) {
    try {
      await actor.run(
        "recover snapshot",
        { kind: "recovery" },
        (job) => settle(job, driverOf, log),
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
): Promise<void> {
  const intent = pendingIntent(job.snapshot);
  const { context } = job.snapshot;
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
