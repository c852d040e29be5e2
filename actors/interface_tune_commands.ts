/**
 * `domiftune`: virDomainGetInterfaceParameters and virDomainSetInterfaceParameters as libvirt
 * 9.0's QEMU driver answers them. A set is a job of the domain's actor: the persistent
 * definition's `<bandwidth>` replaced (`--config`), and/or the running interface's — its
 * network port's bandwidth first (libvirt's network checks, e.g. a `floor` the network cannot
 * honour), then tc on its tap, recorded with `domain.live_changing` before and
 * `domain.live_changed` after; a tap that cannot take it gets its old rules and port back.
 *
 * @module
 */

import {
  AFFECT_CONFIG,
  AFFECT_LIVE,
  checkResourceFlags,
  resolveScope,
} from "../src/model/domain_resources.ts";
import type { DomainDefinition, NetInterface } from "../src/model/domain.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainFact } from "../src/model/facts.ts";
import {
  interfaceIndexOf,
  interfaceTuneOf,
  type InterfaceTuneParameter,
  withInterfaceTune,
} from "../src/model/interface_tune.ts";
import type { Bandwidth } from "../src/model/network.ts";
import { interfaceBandwidthOf, withInterfaceBandwidth } from "../src/xml/interface_bandwidth.ts";
import type { JobContext } from "./domain_actor.ts";
import { type CommandEnvironment, handleOf } from "./domain_commands.ts";
import type { DomainInspection } from "./domain_inspection.ts";
import { isActive } from "./domain_machine.ts";
import { configChanged, driverOf } from "./resource_commands.ts";

/** What `domiftune` asks to change. */
export interface InterfaceTuneRequest {
  /** The interface: its host-side device name or its MAC address. */
  device: string;
  /** The parameters given, by name (`inbound.average`, …), values in KiB/s or KiB. */
  settings: { name: string; value: number }[];
  /** libvirt's flags: `AFFECT_LIVE`, `AFFECT_CONFIG`. */
  flags: number;
}

/** `VIR_TYPED_PARAM_STRING_OKAY`, which virsh sets on every read of typed parameters. */
const STRING_OKAY = 4;

/**
 * The interface's seven bandwidth parameters, of the live definition (asked, or by default
 * while running) or the persistent one.
 *
 * @throws {VirtError} 8 for unknown flags or an unknown interface; 55 for a live read of an
 *   inactive domain or a config read of a transient one.
 */
export function interfaceParametersOf(
  inspection: DomainInspection,
  device: string | undefined,
  flags: number,
): { name: InterfaceTuneParameter; value: number }[] {
  if (inspection.driver?.setInterfaceBandwidth === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, "virDomainGetInterfaceParameters");
  }
  checkResourceFlags(
    flags,
    AFFECT_LIVE | AFFECT_CONFIG | STRING_OKAY,
    "qemuDomainGetInterfaceParameters",
  );
  const scope = resolveScope(flags, {
    active: inspection.summary.active,
    persistent: inspection.persistentDefinition !== null,
  });
  const definition = scope.live
    ? inspection.definition
    : inspection.persistentDefinition ?? inspection.definition;
  // libvirt answers the count (nparams 0) before it looks the interface up.
  if (device === undefined) return interfaceTuneOf(undefined);
  const index = interfaceIndexOf(definition.devices.interfaces, device);
  return interfaceTuneOf(bandwidthOf(definition.devices.interfaces[index], index));
}

/**
 * Changes an interface's bandwidth in the persistent definition and/or on the running
 * instance.
 *
 * @throws {VirtError} libvirt's refusals: 8 (flags, parameter, interface), 55 (scope), 84 for
 *   a `floor` where libvirt refuses it, 67 for an interface type the driver cannot shape, 1
 *   for tc's failure. Nothing is recorded then.
 */
export async function setInterfaceParameters(
  job: JobContext,
  env: CommandEnvironment,
  request: InterfaceTuneRequest,
): Promise<void> {
  const { driver } = driverOf(job, env);
  // As libvirt: a driver that shapes no interface has no such API at all.
  if (driver.setInterfaceBandwidth === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, "virDomainSetInterfaceParameters");
  }
  checkResourceFlags(
    request.flags,
    AFFECT_LIVE | AFFECT_CONFIG,
    "qemuDomainSetInterfaceParameters",
  );
  const { context } = job.snapshot;
  const scope = resolveScope(request.flags, {
    active: isActive(job.snapshot),
    persistent: context.persistent,
  });
  const configFact: DomainFact | undefined = scope.config
    ? configChanged(tuned(context.definition!, request).definition, "interface_bandwidth")
    : undefined;
  if (!scope.live) {
    await job.append([configFact!]);
    return;
  }
  const { definition, index, previous, next } = tuned(context.live!, request);
  const nic = context.live!.devices.interfaces[index];
  if (next?.inbound?.floor !== undefined && nic.type !== "network") {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      `Invalid use of 'floor' on interface with MAC address ${
        nic.mac ?? ""
      } - 'floor' is only supported for interface type 'network' with forward type 'nat', 'route', 'open' or none`,
    );
  }
  const handle = handleOf(job.snapshot);
  await job.append([{
    type: "domain.live_changing",
    body: { definition, change: "interface_bandwidth" },
  }]);
  const network = nic.type === "network" ? nic.source?.network : undefined;
  const portid = nic.source?.portid;
  const port = network !== undefined && portid !== undefined && env.networkPorts !== undefined
    ? { binder: env.networkPorts, network, portid }
    : undefined;
  try {
    await port?.binder.update(port.network, port.portid, next);
    try {
      await driver.setInterfaceBandwidth(handle, index, next);
    } catch (error) {
      // As libvirt: the old rules and the old port back, as far as they go.
      await driver.setInterfaceBandwidth(handle, index, previous).catch(() => {});
      await port?.binder.update(port.network, port.portid, previous).catch(() => {});
      throw error;
    }
  } catch (error) {
    await job.append([{ type: "domain.intent_abandoned", body: { intent: "live_change" } }]);
    throw error;
  }
  const done: DomainFact = {
    type: "domain.live_changed",
    body: { definition, change: "interface_bandwidth" },
  };
  await job.append(configFact === undefined ? [done] : [done, configFact]);
}

/** `definition` with the request applied to its interface; the bandwidth before and after. */
function tuned(definition: DomainDefinition, request: InterfaceTuneRequest) {
  const interfaces = definition.devices.interfaces;
  const index = interfaceIndexOf(interfaces, request.device);
  const previous = bandwidthOf(interfaces[index], index);
  const next = withInterfaceTune(previous, request.settings);
  const changed: NetInterface[] = [...interfaces];
  changed[index] = withInterfaceBandwidth(interfaces[index], next);
  return {
    definition: { ...definition, devices: { ...definition.devices, interfaces: changed } },
    index,
    previous,
    next,
  };
}

function bandwidthOf(nic: NetInterface, index: number): Bandwidth | undefined {
  // As libvirt's domiftune, which writes a floor on any interface and reads it back.
  return interfaceBandwidthOf(nic, `/domain/devices/interface[${index + 1}]`, true);
}
