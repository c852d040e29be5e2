/**
 * The taps of an instance's `network` and `bridge` interfaces, as a whole: made on their
 * bridges before QEMU starts (all or none), named in the start's intent, and removed once QEMU
 * is gone — by stop, by an exit of its own, or by recovery. The single tap's system calls are
 * in dac_tap.ts; the names in `src/model/tap_names.ts`.
 *
 * @module
 */

import type { DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { isBridgedInterface, tapNamePrefix } from "../../src/model/tap_names.ts";
import type { NetdevBackend } from "./argument_collector.ts";
import { setBandwidth } from "../../src/host/tc_bandwidth.ts";
import { type BridgePort, deleteTap, makeBridgePort, tapsNamed } from "./dac_tap.ts";

/** Who may attach to the taps: the confined QEMU's user and group. */
export type TapOwner = { uid: number; gid: number } | undefined;

/**
 * The complete tap of one backend, or undefined for a backend without one.
 *
 * @throws {VirtError} INTERNAL_ERROR (1) when the interface was not resolved for a start (no
 *   bridge or tap name): the host resolves every one before the driver is asked.
 */
export function bridgePortOf(backend: NetdevBackend, where: string): BridgePort | undefined {
  const plan = backend.bridgePort;
  if (plan === undefined) return undefined;
  if (plan.tap === undefined || plan.bridge === undefined || plan.mac === undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `interface ${backend.deviceId} has no resolved bridge, tap name or MAC address`,
      { where },
    );
  }
  return {
    tap: plan.tap,
    bridge: plan.bridge,
    mac: plan.mac,
    ...(plan.mtu === undefined ? {} : { mtu: plan.mtu }),
    ...(plan.bandwidth === undefined ? {} : { bandwidth: plan.bandwidth }),
  };
}

/**
 * The tap names a start will make, in interface order (for its intent).
 *
 * @example
 * ```ts ignore
 * const record = { taps: tapNamesOf(commandLine.netdevs).join(",") };
 * ```
 */
export function tapNamesOf(netdevs: readonly NetdevBackend[]): string[] {
  return netdevs.flatMap((backend) =>
    backend.bridgePort?.tap === undefined ? [] : [backend.bridgePort.tap]
  );
}

/**
 * Makes the tap of every backend that has one; on a failure removes those made and throws.
 *
 * @throws {VirtError} What {@linkcode bridgePortOf} and `makeBridgePort` throw.
 *
 * @example
 * ```ts ignore
 * makeBridgePorts(commandLine.netdevs, { uid: 64055, gid: 64055 });
 * ```
 */
export function makeBridgePorts(netdevs: readonly NetdevBackend[], owner: TapOwner): void {
  const made: string[] = [];
  try {
    netdevs.forEach((backend, index) => {
      const where = `/domain/devices/interface[${index + 1}]`;
      const port = bridgePortOf(backend, where);
      if (port === undefined) return;
      makeBridgePort(port, owner, where);
      made.push(port.tap);
    });
  } catch (error) {
    for (const tap of made) removeTap(tap, () => {});
    throw error;
  }
}

/** The complete taps of `netdevs`, in order. */
export function bridgePortsOf(netdevs: readonly NetdevBackend[]): BridgePort[] {
  return netdevs.flatMap((backend, index) => {
    const port = bridgePortOf(backend, `/domain/devices/interface[${index + 1}]`);
    return port === undefined ? [] : [port];
  });
}

/**
 * Sets each tap's `<bandwidth>` with tc, as libvirt does for a tap on a bridge (one class,
 * the guest's inbound shaped on the tap's egress, its outbound policed on the tap's ingress).
 * The taps exist; the caller removes them on a failure.
 *
 * @throws {VirtError} Code 1 with tc's error (libvirt's words), e.g. where the kernel lacks
 *   a queueing discipline libvirt's rules use.
 */
export async function shapeBridgePorts(ports: readonly BridgePort[]): Promise<void> {
  for (const port of ports) {
    if (port.bandwidth === undefined) continue;
    await setBandwidth(port.tap, port.bandwidth, { hierarchical: false, swapped: true });
  }
}

/** Removes one tap; a failure is logged, never thrown (QEMU is gone: nothing else holds it). */
export function removeTap(name: string, log: (message: string) => void): void {
  try {
    deleteTap(name);
  } catch (error) {
    log(`tap ${name} left behind: ${(error as Error).message}`);
  }
}

/**
 * Removes every tap of the instance `id` once its QEMU is gone: those named with its prefix
 * (a hotplugged one a crash left unrecorded included) and those its live definition names.
 *
 * @example
 * ```ts ignore
 * removeInstanceTaps(handle.id, handle.definition, log);
 * ```
 */
export function removeInstanceTaps(
  id: number,
  definition: DomainDefinition | undefined,
  log: (message: string) => void,
): void {
  const names = new Set(tapsNamed(tapNamePrefix(id)));
  for (const nic of definition?.devices.interfaces ?? []) {
    if (isBridgedInterface(nic) && nic.target?.dev !== undefined) names.add(nic.target.dev);
  }
  for (const name of names) removeTap(name, log);
}
