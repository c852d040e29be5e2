/**
 * `attach-device`, `detach-device` and `update-device` as jobs of a domain's actor, with
 * libvirt 9.0's rules: `--live` and `--config` pick the definitions changed (neither: the live
 * one when active, else the persistent one), `--live` of an inactive domain and `--config` of a
 * transient one are refused (code 55), the persistent change is checked as a define checks (and
 * completed as define completes, so the new device gets its address) before anything is
 * changed, and a driver without device changes answers code 3 as libvirt's test driver does.
 *
 * A live detach records its intent (`domain.device_removal_requested`) before the guest is
 * asked (`device_del`); the removal is recorded whenever the guest lets go of the device
 * (`domain.device_removed`, from QEMU's DEVICE_DELETED), even after a service restart.
 * {@linkcode awaitRemovals} waits for it up to libvirt's 5 s outside the domain's queue.
 *
 * @module
 */

import type { DomainDefinition, NetInterface } from "../src/model/domain.ts";
import { applyDomainDefaults } from "../src/model/domain_defaults.ts";
import { randomMac } from "../src/model/mac_address.ts";
import {
  attachDevice,
  detachDevice,
  type DeviceAction,
  devicePosition,
  deviceWithAlias,
  updateDevice,
} from "../src/model/device_edit.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainFact } from "../src/model/facts.ts";
import { validateDomain } from "../src/xml/validate_domain.ts";
import type { JobContext } from "./domain_actor.ts";
import { type CommandEnvironment, handleOf, requireCommand } from "./domain_commands.ts";
import { isActive } from "./domain_machine.ts";
import { plugPort, runningInterface } from "./network_interfaces.ts";
import type { DeviceChange, DomainHandle, Driver } from "./driver_protocol.ts";

/** libvirt's wait for a guest to release a device (`qemuDomainWaitForDeviceRemoval`), in ms. */
export const DEVICE_REMOVAL_WAIT_MS = 5000;

/** What a device command takes. */
export interface DeviceCommand {
  action: DeviceAction;
  /** The device as given (its XML, decoded); absent when `alias` names it. */
  change?: DeviceChange;
  /** `detach-device-alias`: the device with this alias in each definition changed. */
  alias?: string;
  /** `--live` (VIR_DOMAIN_AFFECT_LIVE). */
  live?: boolean;
  /** `--config` (VIR_DOMAIN_AFFECT_CONFIG). */
  config?: boolean;
  /** `--force` of update-device (a locked tray). */
  force?: boolean;
  /** The libvirt API named in a "not supported" answer; default the `…Flags` one. */
  api?: string;
}

const APIS: Record<DeviceAction, string> = {
  attach: "virDomainAttachDeviceFlags",
  detach: "virDomainDetachDeviceFlags",
  update: "virDomainUpdateDeviceFlags",
};

const EDITS = { attach: attachDevice, detach: detachDevice, update: updateDevice } as const;

/** Changes a device of the persistent definition, the running instance, or both. */
export async function changeDevice(
  job: JobContext,
  env: CommandEnvironment,
  command: DeviceCommand,
): Promise<void> {
  requireCommand(job.snapshot, "device");
  command = withMacAddress(command);
  const { context } = job.snapshot;
  const active = isActive(job.snapshot);
  let live = command.live ?? false;
  let config = command.config ?? false;
  if (!live && !config) {
    live = active;
    config = !active;
  }
  const current = context.live ?? context.definition;
  if (current === null) throw new Error(`Domain ${context.uuid} has no definition`);
  const driver = env.driverFor(current);
  if (driver.attachDevice === undefined) {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      command.api ?? APIS[command.action],
    );
  }
  if (live && !active) throw new VirtError(ErrorCode.OPERATION_INVALID, "domain is not running");
  if (config && !context.persistent) {
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      "transient domains do not have any persistent config",
    );
  }
  // The persistent change is decided first, so a refusal there changes nothing live either.
  const persistent = config && context.definition !== null
    ? await persistentChange(driver, context.definition, resolved(context.definition, command))
    : undefined;
  if (live) {
    await liveChange(job, env, driver, resolved(handleOf(job.snapshot).definition, command));
  }
  if (persistent !== undefined) {
    await job.append([{
      type: "domain.device_config_changed",
      body: { action: command.action, definition: persistent },
    }]);
  }
}

/**
 * An interface attached without a MAC address gets one (libvirt's parser makes it), the same
 * for the running guest and the persistent definition.
 */
function withMacAddress(command: DeviceCommand): DeviceCommand {
  const change = command.change;
  if (command.action !== "attach" || change?.list !== "interfaces") return command;
  const nic = change.device as NetInterface;
  if (nic.mac !== undefined) return command;
  return { ...command, change: { list: change.list, device: { ...nic, mac: randomMac() } } };
}

/** A command whose device is given, from `definition` when an alias names it. */
type ResolvedCommand = DeviceCommand & { change: DeviceChange };

/**
 * The command with its device: as given, or the device of `definition` with the alias.
 *
 * @throws {VirtError} Code 1, libvirt's "no device found with alias …".
 */
function resolved(definition: DomainDefinition, command: DeviceCommand): ResolvedCommand {
  if (command.change !== undefined) return command as ResolvedCommand;
  const alias = command.alias ?? "";
  const found = deviceWithAlias(definition, alias);
  if (found === undefined) {
    throw new VirtError(ErrorCode.INTERNAL_ERROR, `no device found with alias ${alias}`);
  }
  const device = (definition.devices[found.list] as DeviceChange["device"][])[found.position];
  return { ...command, change: { list: found.list, device } };
}

/** The persistent definition after the change, checked and completed as define does. */
async function persistentChange(
  driver: Driver,
  definition: DomainDefinition,
  command: ResolvedCommand,
): Promise<DomainDefinition> {
  const { list, device } = command.change;
  const changed = applyDomainDefaults(
    EDITS[command.action](definition, list, device, "persistent"),
  );
  validateDomain(changed);
  const completed = await driver.completeDefinition?.(changed) ?? changed;
  await driver.checkOffLoop?.(completed);
  driver.check(completed);
  return completed;
}

/** Plugs a device into the running instance and records it attached. */
async function attachAndRecord(
  job: JobContext,
  driver: Driver,
  handle: DomainHandle,
  change: DeviceChange,
): Promise<void> {
  const { live, alias } = await driver.attachDevice!(handle, change, job.signal);
  await job.append([{ type: "domain.device_attached", body: { alias, live } }]);
}

async function liveChange(
  job: JobContext,
  env: CommandEnvironment,
  driver: Driver,
  command: ResolvedCommand,
): Promise<void> {
  const handle = handleOf(job.snapshot);
  const { list, device } = command.change;
  if (command.action === "attach") {
    let change = command.change;
    // The device is checked as a define checks it (a MAC address that is no unicast one).
    if (list === "interfaces") {
      validateDomain(attachDevice(handle.definition, list, device, "live"));
      // On a network or bridge: its bridge and tap name, as at start.
      if (driver.bridgesInterfaces === true) {
        const interfaces = handle.definition.devices.interfaces;
        const running = runningInterface(
          device as NetInterface,
          handle.id,
          interfaces,
          env.resolveNetwork,
        );
        change = { list, device: running };
        // A network interface gets its port first, as at start (released if the plug fails).
        const network = running.type === "network" ? running.source?.network : undefined;
        if (network !== undefined && env.networkPorts !== undefined) {
          const plugged = await plugPort(
            running,
            network,
            { uuid: handle.uuid, name: handle.name },
            interfaces.length,
            env.networkPorts,
          );
          change = { list, device: plugged.live };
          const binder = env.networkPorts;
          const portid = plugged.port.uuid;
          try {
            await attachAndRecord(job, driver, handle, change);
          } catch (error) {
            await binder.release([{ network, portid }]).catch(() => {});
            throw error;
          }
          return;
        }
      }
    }
    await attachAndRecord(job, driver, handle, change);
    return;
  }
  if (command.action === "update") {
    if (driver.updateDevice === undefined) {
      throw new VirtError(
        ErrorCode.NO_SUPPORT,
        "virDomainUpdateDeviceFlags",
      );
    }
    const { live, alias } = await driver.updateDevice(handle, command.change, {
      force: command.force ?? false,
    }, job.signal);
    await job.append([{ type: "domain.device_updated", body: { alias, live } }]);
    return;
  }
  const position = devicePosition(handle.definition, list, device, "detach", "live");
  const found = (handle.definition.devices[list] as { alias?: string; device?: string }[])[
    position
  ];
  if (list === "disks" && found.device !== undefined && found.device !== "disk") {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `disk device type '${found.device}' cannot be detached`,
    );
  }
  const alias = found.alias;
  if (alias === undefined || driver.detachDevice === undefined) {
    throw new VirtError(ErrorCode.OPERATION_UNSUPPORTED, `live detach of device is not supported`);
  }
  if ((job.snapshot.context.removals ?? []).includes(alias)) {
    // libvirt: a second detach of a device already being removed is refused.
    throw new VirtError(
      ErrorCode.OPERATION_INVALID,
      `unplug of device '${alias}' is already in progress`,
    );
  }
  // Intent before action: a crash after device_del still finds the removal pending.
  await job.append([{ type: "domain.device_removal_requested", body: { alias } }]);
  try {
    await driver.detachDevice(handle, alias, job.signal);
  } catch (error) {
    const facts: DomainFact[] = [{ type: "domain.device_removal_failed", body: { alias } }];
    await job.append(facts).catch(() => undefined);
    throw error;
  }
}

/**
 * After a service restart: records the removal of each pending device the driver finds gone
 * (the guest let go of it while nobody listened); the others stay pending and complete on the
 * DEVICE_DELETED still to come.
 */
export async function finishPendingRemovals(
  job: JobContext,
  driver: Driver,
  timeoutMs: number,
  log: (message: string) => void,
): Promise<void> {
  const pending = job.snapshot.context.removals ?? [];
  if (pending.length === 0 || driver.deviceGone === undefined || !isActive(job.snapshot)) return;
  for (const alias of pending) {
    const handle = handleOf(job.snapshot);
    if (await driver.deviceGone(handle, alias, AbortSignal.timeout(timeoutMs))) {
      log(`domain ${handle.name}: device '${alias}' was removed while the service was down`);
      await job.append([{ type: "domain.device_removed", body: { alias } }]);
    } else {
      log(`domain ${handle.name}: removal of device '${alias}' is still in progress`);
    }
  }
}

/** What {@linkcode awaitRemovals} reads of the host. */
export interface RemovalSource {
  /** The aliases still pending removal for a domain. */
  pending(uuid: string): readonly string[];
  /** Calls `listener` after each batch of facts; returns the unsubscribe. */
  onApplied(listener: (uuid: string) => void): () => void;
}

/**
 * Waits up to `timeoutMs` for the removals pending now that were not pending `before` (the
 * ones a detach just asked for); answers the aliases still pending after the wait (empty: all
 * removed, as libvirt's detach that answers once DEVICE_DELETED came).
 */
export function awaitRemovals(
  source: RemovalSource,
  uuid: string,
  before: readonly string[],
  timeoutMs: number = DEVICE_REMOVAL_WAIT_MS,
): Promise<string[]> {
  const ours = source.pending(uuid).filter((alias) => !before.includes(alias));
  const left = () => {
    const pending = source.pending(uuid);
    return ours.filter((alias) => pending.includes(alias));
  };
  if (left().length === 0) return Promise.resolve([]);
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      unsubscribe();
      resolve(left());
    };
    const timer = setTimeout(finish, timeoutMs);
    const unsubscribe = source.onApplied((changed) => {
      if (changed === uuid && left().length === 0) finish();
    });
  });
}
