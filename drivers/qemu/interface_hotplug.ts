/**
 * Interfaces of a running QEMU instance, changed as libvirt 9.0's QEMU driver changes them: a
 * NIC is plugged with `netdev_add` (its backend, the same options `-netdev` gets at start) then
 * `device_add` (the same `-device`), and its link brought down with `set_link` when it starts
 * down; it is unplugged by asking the guest (`device_del`), and its backend is removed with
 * `netdev_del` once QEMU reports DEVICE_DELETED; a live update changes the link state only and
 * refuses what libvirt's `qemuDomainChangeNet` refuses.
 *
 * @module
 */

import type { NetInterface } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { NetdevBackend } from "./argument_collector.ts";
import { addDevice } from "./device_hotplug.ts";
import type { QmpCallOptions, QmpCommands } from "./qmp_commands.ts";

/** libvirt's NIC model on x86 when an interface names none. */
const DEFAULT_NIC_MODEL = "rtl8139";

/**
 * The alias libvirt gives a hotplugged interface (`qemuAssignDeviceNetAlias`): `net` and one
 * more than the highest `netN` in use, so an alias freed by an unplug is not reused while a
 * later one lives.
 *
 * @example
 * ```ts
 * import { nextInterfaceAlias } from "./interface_hotplug.ts";
 * console.log(nextInterfaceAlias([{ type: "user", alias: "net2" }, { type: "user", alias: "ua-x" }])); // "net3"
 * ```
 */
export function nextInterfaceAlias(interfaces: readonly NetInterface[]): string {
  let highest = -1;
  for (const nic of interfaces) {
    const match = /^net(\d+)$/.exec(nic.alias ?? "");
    if (match !== null) highest = Math.max(highest, Number(match[1]));
  }
  return `net${highest + 1}`;
}

/** The backend's `netdev_add` arguments: its type, id and the options it has. */
function netdevArguments(backend: NetdevBackend): { type: string; id: string } {
  const defined = Object.entries(backend.options).filter(([, value]) => value !== undefined);
  return { type: backend.type, id: backend.id, ...Object.fromEntries(defined) };
}

/**
 * Plugs a NIC: its backend, then its device; a backend whose device QEMU refused is removed
 * again. A link that starts down is brought down at once.
 *
 * @param device The NIC's `-device` option text from the start's builder.
 * @throws {VirtError} 9 with QEMU's answer.
 */
export async function plugInterface(
  qmp: QmpCommands,
  backend: NetdevBackend,
  device: string,
  options: QmpCallOptions,
): Promise<void> {
  await qmp.netdevAdd(netdevArguments(backend), options);
  try {
    await addDevice(qmp, device, options);
  } catch (error) {
    await qmp.netdevDel(backend.id, options).catch(() => undefined);
    throw error;
  }
  if (backend.linkDown) await qmp.setLink(backend.deviceId, false, options);
}

/**
 * The backend id of the NIC with `alias` (its `netdev` property), or undefined when QEMU does
 * not say (a device without one).
 */
export async function netdevOfInterface(
  qmp: QmpCommands,
  alias: string,
  options: QmpCallOptions,
): Promise<string | undefined> {
  const netdev = await qmp.qomGet(`/machine/peripheral/${alias}`, "netdev", options);
  return typeof netdev === "string" && netdev !== "" ? netdev : undefined;
}

function refused(message: string): VirtError {
  return new VirtError(ErrorCode.OPERATION_UNSUPPORTED, message);
}

function placed(nic: NetInterface, name: string): unknown {
  return (nic.extra?.elements ?? []).filter((each) => each.element.name === name)
    .map((each) => each.element);
}

function same(left: unknown, right: unknown): boolean {
  return JSON.stringify(left ?? null) === JSON.stringify(right ?? null);
}

/**
 * The running interface after a live update to `next` (libvirt's `qemuDomainChangeNet`): what
 * `next` leaves out is taken from `old`; the link state may change; the MAC, model, virtio
 * driver settings, script, tap name, PCI address, alias, ROM and boot order may not (code 84,
 * libvirt's words); another type or socket endpoint needs a reconnection libvirt refuses (84);
 * other differences are ignored, as libvirt keeps the running interface as it is.
 *
 * @throws {VirtError} 84 for a change libvirt does not make live.
 *
 * @example
 * ```ts
 * import { changedInterface } from "./interface_hotplug.ts";
 * const old = { type: "user", mac: "52:54:00:00:00:01", model: "virtio", alias: "net0" };
 * console.log(changedInterface(old, { type: "user", mac: "52:54:00:00:00:01", model: "virtio", link: "down" }).link); // "down"
 * ```
 */
export function changedInterface(old: NetInterface, next: NetInterface): NetInterface {
  const mac = next.mac ?? old.mac;
  if (mac?.toLowerCase() !== old.mac?.toLowerCase()) {
    throw refused(`cannot change network interface mac address from ${old.mac} to ${mac}`);
  }
  const oldModel = old.model ?? DEFAULT_NIC_MODEL;
  const nextModel = next.model ?? DEFAULT_NIC_MODEL;
  if (oldModel !== nextModel) {
    throw refused(`cannot modify network device model from ${oldModel} to ${nextModel}`);
  }
  if (
    oldModel.startsWith("virtio") &&
    (!same(old.driver, next.driver) ||
      !same(old.extra?.children?.driver, next.extra?.children?.driver))
  ) {
    throw refused("cannot modify virtio network device driver attributes");
  }
  if (!same(placed(old, "script"), placed(next, "script"))) {
    throw refused("cannot modify network device script attribute");
  }
  if ((next.target?.dev ?? old.target?.dev) !== old.target?.dev) {
    throw refused("cannot modify network device tap name");
  }
  if (!same(next.address ?? old.address, old.address)) {
    throw refused("cannot modify network device guest PCI address");
  }
  if ((next.alias ?? old.alias) !== old.alias) throw refused("cannot modify network device alias");
  if (!same(placed(old, "rom"), placed(next, "rom"))) {
    throw refused("cannot modify network device rom bar setting");
  }
  if (old.boot?.order !== next.boot?.order) {
    throw refused("cannot modify network device boot index setting");
  }
  const socket = ["client", "server", "mcast", "udp"].includes(next.type);
  if (next.type !== old.type || (socket && !same(old.source, next.source))) {
    throw refused(`unable to change config on '${next.type}' network type`);
  }
  const result = structuredClone(old);
  if (next.link === undefined) delete result.link;
  else result.link = next.link;
  return result;
}
