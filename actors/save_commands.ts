/**
 * Save (`virDomainSaveFlags`, `virDomainManagedSave`): the guest's state written to a save image
 * in libvirt's layout, then the instance ended, as libvirt's QEMU driver does:
 *
 * 1. intent `domain.saving` (the image's path, whether the guest ran) before anything is done;
 * 2. a running guest is paused: SUSPENDED/paused, paused (saving);
 * 3. the driver writes the image (partial magic first, complete once synced);
 * 4. the instance ends: STOPPED/saved, shut off (saved).
 *
 * A failed write removes the partial image and runs the guest again if it ran (running (save
 * canceled)), and the intent is abandoned. After a crash, recovery
 * (`host_recovery_intents.ts`, {@linkcode settleInterruptedSave}) finishes a save whose image is
 * complete and undoes one whose image is not.
 *
 * @module
 */

import type { DomainDefinition } from "../src/model/domain.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { formatDomainXml } from "../src/xml/mod.ts";
import { readSaveHeader } from "../src/storage/save_image.ts";
import { PausedReason } from "../src/model/lifecycle.ts";
import type { JobContext } from "./domain_actor.ts";
import { type CommandEnvironment, handleOf, requireCommand, start } from "./domain_commands.ts";
import { MANAGED_SAVE_WITHOUT_IMAGE, readSaveImage } from "./save_images.ts";
import { abandonIntent, endInstance } from "./domain_intents.ts";
import { isActive, pendingIntent, statePath } from "./domain_machine.ts";
import type { DomainHandle, Driver, Reality } from "./driver_protocol.ts";

/** What a save takes besides the domain. */
export interface SaveArguments {
  /** The image's path. */
  path: string;
  /** The definition the image carries instead of the live one (`--xml`); same name and uuid. */
  definition?: DomainDefinition;
  /** Restore running (`--running`), whatever the guest does now. */
  running?: boolean;
  /** Restore paused (`--paused`). */
  paused?: boolean;
  /** `--bypass-cache`: the image is written past the page cache (O_DIRECT). */
  bypassCache?: boolean;
  /** The image is the service's managed save image (`virDomainManagedSave`). */
  managed?: boolean;
  /** The API named in errors. */
  api?: string;
}

/**
 * The flag checks libvirt makes before anything else.
 *
 * @throws {VirtError} 8 for `running` with `paused`.
 */
export function checkSaveFlags(
  args: { running?: boolean; paused?: boolean; bypassCache?: boolean },
): void {
  if (args.running === true && args.paused === true) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "Flags 'VIR_DOMAIN_SAVE_RUNNING' and 'VIR_DOMAIN_SAVE_PAUSED' are mutually exclusive",
    );
  }
}

/**
 * The checks of libvirt's test driver, which takes no save or restore flags and no replacement
 * XML (a driver with its own image layout, {@linkcode Driver.readOwnSaveImage}).
 *
 * @throws {VirtError} 8 `unsupported flags (0x…) in function …`; 74 for `hasXml`.
 */
export function checkOwnLayoutArgs(
  api: string,
  args: { running?: boolean; paused?: boolean; bypassCache?: boolean },
  hasXml: boolean,
): void {
  const flags = (args.bypassCache === true ? 1 : 0) | (args.running === true ? 2 : 0) |
    (args.paused === true ? 4 : 0);
  if (flags !== 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `unsupported flags (0x${flags.toString(16)}) in function ${api}`,
      { where: "flags", bare: true },
    );
  }
  if (hasXml) {
    throw new VirtError(ErrorCode.ARGUMENT_UNSUPPORTED, "xml modification unsupported");
  }
}

/**
 * The domain XML an image carries: the live definition (or `definition`, which must name the
 * same domain), as libvirt's inactive, secure format.
 *
 * @throws {VirtError} 67 when `definition` names another domain (libvirt's ABI check).
 */
export function imageXml(live: DomainDefinition, definition?: DomainDefinition): string {
  const chosen = definition ?? live;
  if (chosen.uuid !== live.uuid) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `Target domain uuid ${chosen.uuid} does not match source ${live.uuid}`,
    );
  }
  if (chosen.name !== live.name) {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `Target domain name '${chosen.name}' does not match source '${live.name}'`,
    );
  }
  return formatDomainXml(chosen, { inactive: true, secure: true });
}

/** Saves the running or paused instance to `args.path` and ends it (see the module). */
export async function save(
  job: JobContext,
  env: CommandEnvironment,
  args: SaveArguments,
): Promise<void> {
  const known = job.snapshot.context.live ?? job.snapshot.context.definition;
  if (known !== null && env.driverFor(known).readOwnSaveImage !== undefined) {
    checkOwnLayoutArgs("testDomainSaveFlags", args, args.definition !== undefined);
  }
  checkSaveFlags(args);
  requireCommand(job.snapshot, "save");
  const handle = handleOf(job.snapshot);
  const driver = env.driverFor(handle.definition);
  const saveState = driver.saveState?.bind(driver);
  if (saveState === undefined) {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      args.api ?? "virDomainSaveFlags",
    );
  }
  const xml = imageXml(handle.definition, args.definition);
  const running = statePath(job.snapshot) === "active.running";
  const wasRunning = args.running === true ? true : args.paused === true ? false : running;
  await job.append([{
    type: "domain.saving",
    body: { path: args.path, wasRunning, managed: args.managed === true },
  }]);
  try {
    if (running) {
      await driver.pause(handle, job.signal);
      await job.append([{ type: "domain.suspended", body: { detail: "paused", reason: "save" } }]);
    }
    await saveState(handle, {
      path: args.path,
      xml,
      wasRunning,
      ...(args.bypassCache === true ? { bypassCache: true } : {}),
    }, job.signal);
  } catch (error) {
    await cancelSave(job, driver, handle, running);
    throw error;
  }
  if (args.managed === true) {
    await job.append([{ type: "domain.managed_save_recorded", body: { path: args.path } }]);
  }
  await endInstance(job, driver, handle, { detail: "saved", reason: "saved" });
}

/** The managed save image of a domain, under the service's own folder (as libvirt's). */
export function managedSavePath(env: CommandEnvironment, name: string): string {
  if (env.managedSaveDir === undefined) {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      "virDomainManagedSave",
    );
  }
  return `${env.managedSaveDir}/${name}.save`;
}

/**
 * Saves the domain to its managed save image (`virDomainManagedSave`): a persistent domain
 * only; its next start restores it.
 */
export async function managedSave(
  job: JobContext,
  env: CommandEnvironment,
  args: { running?: boolean; paused?: boolean; bypassCache?: boolean },
): Promise<void> {
  const known = job.snapshot.context.live ?? job.snapshot.context.definition;
  if (known !== null && env.driverFor(known).managedSaveWithoutImage === true) {
    await markManagedSave(job, env);
    return;
  }
  checkSaveFlags(args);
  requireCommand(job.snapshot, "managedsave");
  if (!job.snapshot.context.persistent) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "cannot do managed save for transient domain",
    );
  }
  const path = managedSavePath(env, job.snapshot.context.name);
  await Deno.mkdir(env.managedSaveDir!, { recursive: true, mode: 0o700 });
  await save(job, env, { ...args, path, managed: true, api: "virDomainManagedSave" });
}

/**
 * The managed save of a driver that keeps no image (libvirt's test driver): every save flag is
 * taken and none matters; the instance ends (STOPPED/saved) with the mark recorded first.
 */
async function markManagedSave(job: JobContext, env: CommandEnvironment): Promise<void> {
  requireCommand(job.snapshot, "managedsave");
  if (!job.snapshot.context.persistent) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "cannot do managed save for transient domain",
    );
  }
  const handle = handleOf(job.snapshot);
  await job.append([{
    type: "domain.managed_save_recorded",
    body: { path: MANAGED_SAVE_WITHOUT_IMAGE },
  }]);
  await endInstance(job, env.driverFor(handle.definition), handle, {
    detail: "saved",
    reason: "saved",
  });
}

/** Removes the managed save image (`virDomainManagedSaveRemove`); none: nothing to do. */
export async function removeManagedSave(job: JobContext): Promise<void> {
  requireCommand(job.snapshot, "managedsave_remove");
  const path = job.snapshot.context.managedSave;
  if (path === null || path === undefined) return;
  await removeImage(path);
  await job.append([{ type: "domain.managed_save_removed", body: {} }]);
}

async function removeImage(path: string): Promise<void> {
  if (path === MANAGED_SAVE_WITHOUT_IMAGE) return;
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `Failed to remove managed save file '${path}': ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}

/**
 * Starts a defined domain: from its managed save image when it has one (as libvirt: the guest
 * continues, STARTED/restored, and the image is removed; read past the page cache with
 * `bypassCache`), unless `forceBoot` discards it.
 */
export async function startDomain(
  job: JobContext,
  env: CommandEnvironment,
  args: { paused: boolean; forceBoot?: boolean; bypassCache?: boolean },
): Promise<void> {
  const path = job.snapshot.context.managedSave;
  const imagePresent = path !== null && path !== undefined && path !== MANAGED_SAVE_WITHOUT_IMAGE &&
    await Deno.stat(path).then(() => true, () => false);
  if (path !== null && path !== undefined && (args.forceBoot === true || !imagePresent)) {
    requireCommand(job.snapshot, "start");
    await removeImage(path);
    await job.append([{ type: "domain.managed_save_removed", body: {} }]);
  }
  if (!imagePresent || args.forceBoot === true) {
    await start(job, env, { paused: args.paused });
    return;
  }
  requireCommand(job.snapshot, "start");
  const image = await readSaveImage(path!);
  const paused = args.paused || !image.header.wasRunning;
  await start(job, env, {
    paused,
    definition: image.definition,
    restore: {
      path: path!,
      offset: image.header.streamOffset,
      compressed: image.header.compressed,
      paused,
      pausedDetail: args.paused ? "paused" : "restored",
      ...(args.bypassCache === true ? { bypassCache: true } : {}),
    },
  });
  await removeImage(path!);
  await job.append([{ type: "domain.managed_save_removed", body: {} }]);
}

/** Runs the guest again if the save paused it, and closes the intent. */
async function cancelSave(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  ranBefore: boolean,
): Promise<void> {
  if (ranBefore && statePath(job.snapshot) === "active.paused") {
    try {
      await driver.resume(handle, job.signal);
      await job.append([{
        type: "domain.resumed",
        body: { detail: "unpaused", reason: "save_canceled" },
      }]);
    } catch {
      // The guest stays paused (saving); the intent is closed below all the same.
    }
  }
  await abandonIntent(job, "save");
}

/**
 * After a service restart, settles a save the service was carrying out: a complete image means
 * the save happened (the instance is ended, STOPPED/saved); a partial or missing one is removed,
 * and a guest the save had paused runs again (running (save canceled)).
 *
 * @returns True when the record now matches the instance (saved and ended, or run again); false
 *   when the usual reconcile follows.
 *
 * @example
 * ```ts ignore
 * if (await settleInterruptedSave(job, driver, handle, reality, log)) return;
 * ```
 */
export async function settleInterruptedSave(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  reality: Reality,
  log: (message: string) => void,
): Promise<boolean> {
  const intent = pendingIntent(job.snapshot);
  if (intent?.kind !== "save" || !isActive(job.snapshot)) return false;
  const complete = await readSaveHeader(intent.path).then(() => true, () => false);
  if (complete) {
    log(`domain ${handle.name}: its save to '${intent.path}' was complete; finishing it`);
    if (intent.managed && job.snapshot.context.managedSave !== intent.path) {
      await job.append([{ type: "domain.managed_save_recorded", body: { path: intent.path } }]);
    }
    if (reality.kind === "gone") {
      driver.unwatch(handle.uuid);
      await job.append([{ type: "domain.stopped", body: { detail: "saved", reason: "saved" } }]);
    } else {
      await endInstance(job, driver, handle, { detail: "saved", reason: "saved" });
    }
    return true;
  }
  try {
    await Deno.remove(intent.path);
    log(`domain ${handle.name}: removed the partial save image '${intent.path}'`);
  } catch {
    // Never created.
  }
  const pausedBySave = statePath(job.snapshot) === "active.paused" && reality.kind === "paused" &&
    job.snapshot.context.reason === PausedReason.SAVE;
  let resumed = false;
  if (pausedBySave) {
    try {
      await driver.resume(handle, job.signal);
      await job.append([{
        type: "domain.resumed",
        body: { detail: "unpaused", reason: "save_canceled" },
      }]);
      resumed = true;
    } catch (error) {
      log(`domain ${handle.name}: cannot run again after its save: ${(error as Error).message}`);
    }
  }
  await job.append([{ type: "domain.intent_abandoned", body: { intent: "save" } }]);
  // Resumed: the record matches QEMU now (the probe's answer is out of date).
  return resumed;
}
