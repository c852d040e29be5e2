/**
 * Recovery of one storage pool after a restart: the intent a crash left pending is finished or
 * undone from what the host shows — a mount or volume group that exists is adopted, a format is
 * never run twice (the device holds what was asked, or the build is void), a half-made volume
 * file or logical volume is removed, an interrupted volume removal is finished; a volume job
 * cut by the crash is ended (the volume it was making removed, one it was writing kept).
 *
 * @module
 */

import type { VolumeJobKind } from "../src/model/storage_facts.ts";
import { poolBackendOf } from "../src/storage/pool_backend.ts";
import { definitionOf, type PoolActor } from "./pool_actor.ts";
import { jobMakesVolume } from "./pool_machine.ts";

/**
 * Finishes or undoes the pool's pending intent, recording the outcome; nothing when none is
 * pending. Runs inside the pool's queue (recovery's "reconcile" job).
 */
export async function finishPoolIntent(
  actor: PoolActor,
  log: (message: string) => void,
): Promise<void> {
  const intent = actor.snapshot.context.intent;
  if (intent === null) return;
  const name = definitionOf(actor).name;
  log(`pool '${name}': finishing ${intent.kind} interrupted by a restart`);
  const definition = definitionOf(actor);
  const backend = poolBackendOf(definition);
  const abandon = () =>
    actor.append([{ type: "storage.intent_abandoned", body: { intent: intent.kind } }]);
  switch (intent.kind) {
    case "build": {
      const { format, devices } = intent.body;
      const formatting = format === undefined ? undefined : { format, devices: devices ?? [] };
      if (formatting === undefined) {
        // Making the directory again is harmless: it is made or adjusted.
        const made = await backend.build(definition, "default").then(() => true, () => false);
        await (made ? actor.append([{ type: "pool.built", body: {} }]) : abandon());
        return;
      }
      // A format is never run twice: the device holds what was asked, or the build is void.
      const built = await backend.isBuilt(definition, formatting).catch(() => false);
      await (built ? actor.append([{ type: "pool.built", body: {} }]) : abandon());
      return;
    }
    case "start": {
      // A mount or activation a crash left behind is found and adopted.
      const started = await backend.isStarted(definition).catch(() => false);
      await (started ? actor.append([{ type: "pool.started", body: {} }]) : abandon());
      return;
    }
    case "stop": {
      const stopped = await backend.stop(definition).then(() => true, () => false);
      await (stopped ? actor.append([{ type: "pool.stopped", body: {} }]) : abandon());
      return;
    }
    case "delete": {
      const gone = await backend.isRemoved(definition).catch(() => false);
      await (gone ? actor.append([{ type: "pool.deleted", body: {} }]) : abandon());
      return;
    }
    case "create": {
      // The file or LV may be half-made: it is never counted as a volume, it is removed.
      await backend.removeVolume(intent.body.path).catch((error) => {
        log(`pool '${name}': cannot remove half-made volume: ${String(error)}`);
      });
      await abandon();
      return;
    }
    case "remove": {
      const removed = await backend.removeVolume(intent.body.path).then(() => true, () => false);
      await (removed
        ? actor.append([{ type: "volume.deleted", body: { name: intent.body.name } }])
        : abandon());
      return;
    }
    case "resize":
    case "wipe": {
      // The refresh that follows records the volume as it now is.
      await abandon();
      return;
    }
  }
}

/** What recovery says of a job a restart cut, by kind, when the volume stays. */
const INTERRUPTED_REASONS: Readonly<Record<VolumeJobKind, string>> = {
  create: "the create was cut by a restart: the half-made volume was removed",
  clone: "the clone was cut by a restart: the half-made copy was removed",
  wipe: "the wipe was cut by a restart: the volume is part zeroed",
  upload: "the upload was cut by a restart: the volume holds what was written before it",
};

/**
 * Ends every volume job a crash left under way, recording how: a volume a create or clone was
 * making is half-made, so it is removed and never counted; a volume being wiped or uploaded
 * stays as the job left it (libvirt has no notion of either). The refresh that follows records
 * the volumes as they now are.
 */
export async function finishVolumeJobs(
  actor: PoolActor,
  log: (message: string) => void,
): Promise<void> {
  const name = definitionOf(actor).name;
  const backend = poolBackendOf(definitionOf(actor));
  for (const pending of Object.values(actor.snapshot.context.jobs)) {
    const { body } = pending;
    log(`pool '${name}': ending the ${pending.job} of volume '${body.name}' cut by a restart`);
    let removed = false;
    if (jobMakesVolume(pending.job)) {
      removed = await backend.removeVolume(body.path).then(() => true, (error) => {
        log(`pool '${name}': cannot remove half-made volume '${body.name}': ${String(error)}`);
        return false;
      });
    }
    await actor.append([{
      type: "volume.job_ended",
      body: {
        name: body.name,
        job: pending.job,
        outcome: "interrupted",
        removed,
        reason: INTERRUPTED_REASONS[pending.job],
      },
    }]);
  }
}
