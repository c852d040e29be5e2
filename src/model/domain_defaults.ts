/**
 * The defaults and normalisations libvirt applies when it defines a domain, as one separate,
 * pure step: `parseDomainXml` stays faithful to the document, and define runs
 * parse → {@linkcode applyDomainDefaults} → `validateDomain`.
 *
 * What it does (libvirt's driver-independent post-parse behaviour):
 *
 * - `uuid`: generated when absent; written as 8-4-4-4-12 lower-case hex.
 * - memory: with guest NUMA cells, `memoryKiB` is their sum; `currentMemoryKiB` is
 *   `memoryKiB` when absent, zero or larger.
 * - vCPUs: `vcpus` 1 when absent; `<vcpu placement>` `static` (`auto` when `<numatune>` memory
 *   placement is auto); `current` dropped when it equals `vcpus`; NUMA cells get ids and
 *   come in id order.
 * - `<os>`: `arch` of an `hvm` guest is the host's (`options.arch`, default x86_64); an `hvm`
 *   guest without any boot device boots from `hd`.
 * - `<clock offset='utc'>`, `on_poweroff` destroy, `on_reboot` restart, `on_crash` destroy.
 * - `<cputune>`: `vcpusched`/`iothreadsched` become one element per id, in id order;
 *   `cachetune`/`memorytune` vCPU sets lose ids beyond the vCPU count (a tune left empty goes).
 * - devices: controllers without `index` get the lowest free one of their type; a
 *   virtio-serial controller is added for virtio channels and consoles, a ccid controller
 *   and a ccid address for each smartcard; the first video is the primary one; interfaces
 *   without a MAC get a random 52:54:00 one.
 * - graphics: a `listen` attribute becomes a first `<listen type='address'>` (and the first
 *   listen address is echoed as the attribute); a VNC `socket` attribute becomes the first
 *   listen; VNC without socket or listen gets `<listen type='address'/>`; VNC `autoport`
 *   defaults to yes when no port is given, and an automatic port is `-1`.
 * - character devices: tcp sources connect by default and speak `raw`; a udp device lists
 *   its bind source before its connect source; a unix source with a path connects by default,
 *   one with nothing to say is dropped.
 *
 * @module
 */

import { randomMac } from "./mac_address.ts";
import { type CpuSetBudget, cpuSetBudget, formatCpuSet, parseCpuSet } from "./cpu_set.ts";
import { ErrorCode, VirtError } from "./errors.ts";
import { diskInsertPosition } from "./device_edit.ts";
import type {
  CacheTune,
  Chardev,
  ChardevSource,
  Controller,
  CpuTune,
  Disk,
  DomainDefinition,
  DomainDevices,
  Graphics,
  MemoryTune,
} from "./domain.ts";

/** Options of {@linkcode applyDomainDefaults}. */
export interface DomainDefaultsOptions {
  /** Makes a new UUID. Default `crypto.randomUUID`. */
  generateUuid?: () => string;
  /** Makes a new MAC address. Default a random `52:54:00:xx:xx:xx`. */
  generateMac?: () => string;
  /** The host architecture for `hvm` guests that name none. Default `x86_64`. */
  arch?: string;
}

const UUID_HEX = /^[0-9a-fA-F]{32}$/;

/**
 * Returns `def` with libvirt's define-time defaults applied (see the module notes). Pure:
 * `def` is not changed.
 *
 * @param def The definition, as parsed.
 * @param options How new UUIDs and MACs are made; the host architecture.
 * @returns A new definition.
 * @throws {VirtError} Code 8 when a set in `<cputune>` is malformed or too large, or NUMA cells
 *   add up to more memory than can be counted; code 27 when a scheduler names an id twice.
 *   `validateDomain` reports everything else.
 *
 * @example Defaults of a minimal definition
 * ```ts
 * import { applyDomainDefaults } from "./domain_defaults.ts";
 * import { emptyDevices } from "./domain.ts";
 * const def = applyDomainDefaults({
 *   type: "qemu", name: "demo", memoryKiB: 1024, vcpus: 0,
 *   os: { type: "hvm", boot: [] }, devices: emptyDevices(),
 * }, { generateUuid: () => "00000000-0000-4000-8000-000000000001" });
 * console.log(def.uuid, def.currentMemoryKiB, def.vcpus, def.os.boot, def.onReboot);
 * // "00000000-0000-4000-8000-000000000001" 1024 1 ["hd"] "restart"
 * ```
 */
export function applyDomainDefaults(
  def: DomainDefinition,
  options: DomainDefaultsOptions = {},
): DomainDefinition {
  // The model is plain JSON by contract, and a JSON copy is the fastest exact copy of it.
  const result = JSON.parse(JSON.stringify(def)) as DomainDefinition;
  applyIdentity(result, options);
  applyMemory(result);
  applyVcpus(result);
  applyOs(result, options.arch ?? "x86_64");
  result.clock ??= { offset: "utc", timers: [] };
  result.onPoweroff ??= "destroy";
  result.onReboot ??= "restart";
  result.onCrash ??= "destroy";
  if (result.cputune !== undefined) applyCputune(result.cputune, result.vcpus);
  applyDevices(result.devices, options);
  return result;
}

function applyIdentity(def: DomainDefinition, options: DomainDefaultsOptions): void {
  if (def.uuid === undefined) {
    def.uuid = (options.generateUuid ?? (() => crypto.randomUUID()))();
    return;
  }
  const hex = def.uuid.replaceAll("-", "");
  // A malformed UUID is left for validateDomain to report.
  if (!UUID_HEX.test(hex)) return;
  const lower = hex.toLowerCase();
  def.uuid = `${lower.slice(0, 8)}-${lower.slice(8, 12)}-${lower.slice(12, 16)}-${
    lower.slice(16, 20)
  }-${lower.slice(20)}`;
}

function applyMemory(def: DomainDefinition): void {
  const cells = def.cpu?.numa?.cells ?? [];
  if (cells.length > 0) {
    const total = cells.reduce((sum, cell) => sum + cell.memoryKiB, 0);
    if (!Number.isSafeInteger(total)) {
      throw new VirtError(ErrorCode.INVALID_ARG, "total memory of the NUMA cells is too large", {
        where: "/domain/cpu/numa",
      });
    }
    def.memoryKiB = total;
  }
  const current = def.currentMemoryKiB;
  if (current === undefined || current === 0 || current > def.memoryKiB) {
    def.currentMemoryKiB = def.memoryKiB;
  }
}

function applyVcpus(def: DomainDefinition): void {
  if (def.vcpus === 0) def.vcpus = 1;
  const vcpu = (def.vcpu ??= {});
  vcpu.placement ??= def.numatune?.memory?.placement === "auto" ? "auto" : "static";
  if (vcpu.current === def.vcpus) delete vcpu.current;
  const numa = def.cpu?.numa;
  if (numa !== undefined) {
    numa.cells.forEach((cell, index) => {
      cell.id ??= index;
    });
    numa.cells.sort((a, b) => a.id! - b.id!);
  }
}

function applyOs(def: DomainDefinition, arch: string): void {
  const os = def.os;
  if (os.type !== "hvm") return;
  os.arch ??= arch;
  if (os.boot.length === 0 && !hasDeviceBoot(def.devices)) os.boot.push("hd");
}

function hasDeviceBoot(devices: DomainDevices): boolean {
  return [devices.disks, devices.interfaces, devices.hostdevs, devices.redirdevs].some((list) =>
    list.some((device) => device.boot !== undefined)
  );
}

function applyCputune(cputune: CpuTune, vcpus: number): void {
  const budget = cpuSetBudget();
  cputune.vcpuscheds = perId(cputune.vcpuscheds, "vcpusched", (sched) => sched.vcpus, budget)
    .filter(([id]) => id < vcpus).map(([id, sched]) => ({ ...sched, vcpus: `${id}` }));
  cputune.iothreadscheds = perId(
    cputune.iothreadscheds,
    "iothreadsched",
    (sched) => sched.iothreads,
    budget,
  )
    .map(([id, sched]) => ({ ...sched, iothreads: `${id}` }));
  cputune.cachetunes = withinVcpus(cputune.cachetunes, vcpus, budget);
  cputune.memorytunes = withinVcpus(cputune.memorytunes, vcpus, budget);
}

/**
 * Each id a scheduler names, with its scheduler, in id order. An id named twice is refused
 * here (code 27), as libvirt does, because once expanded the overlap could not be seen.
 */
function perId<T>(
  list: T[],
  name: string,
  ids: (item: T) => string,
  budget: CpuSetBudget,
): [number, T][] {
  const byId = new Map<number, T>();
  list.forEach((item, index) => {
    const where = `/domain/cputune/${name}[${index + 1}]`;
    for (const id of idsOf(ids(item), where, budget)) {
      if (byId.has(id)) {
        throw new VirtError(
          ErrorCode.XML_ERROR,
          `${name} attribute for id ${id} is defined more than once`,
          { where },
        );
      }
      byId.set(id, item);
    }
  });
  return [...byId].sort(([a], [b]) => a - b);
}

/** The ids of a `<cputune>` set; a malformed one is reported at `where`. */
function idsOf(text: string, where: string, budget: CpuSetBudget): number[] {
  try {
    return parseCpuSet(text, budget);
  } catch (error) {
    if (!(error instanceof VirtError)) throw error;
    throw new VirtError(error.code, error.message, { where, cause: error });
  }
}

function withinVcpus<T extends CacheTune | MemoryTune>(
  tunes: T[],
  vcpus: number,
  budget: CpuSetBudget,
): T[] {
  return tunes.flatMap((tune) => {
    const ids = idsOf(tune.vcpus, "/domain/cputune", budget).filter((id) => id < vcpus);
    return ids.length === 0 ? [] : [{ ...tune, vcpus: formatCpuSet(ids) }];
  });
}

function applyDevices(devices: DomainDevices, options: DomainDefaultsOptions): void {
  for (
    const chardev of [
      ...devices.serials,
      ...devices.parallels,
      ...devices.consoles,
      ...devices.channels,
    ]
  ) {
    normaliseChardev(chardev);
  }
  for (const device of [...devices.smartcards, ...devices.redirdevs]) normaliseChardev(device);
  for (const rng of devices.rngs) {
    if (rng.backend.model === "egd") normaliseChardev(rng.backend);
  }
  orderDisks(devices);
  orderControllers(devices);
  addVirtioSerialController(devices);
  addSmartcardControllers(devices);
  assignControllerIndexes(devices.controllers);
  applyPrimaryVideo(devices);
  devices.graphics.forEach(applyGraphics);
  const generateMac = options.generateMac ?? randomMac;
  for (const net of devices.interfaces) net.mac ??= generateMac();
}

/**
 * libvirt's parser enters each disk where `virDomainDiskInsert` puts it: by target name among
 * the disks of its bus (`hdc` after `hdb` whatever the document's order).
 */
function orderDisks(devices: DomainDevices): void {
  const ordered: Disk[] = [];
  for (const disk of devices.disks) ordered.splice(diskInsertPosition(ordered, disk), 0, disk);
  devices.disks = ordered;
}

/**
 * libvirt's parser enters each controller where `virDomainControllerInsert` puts it: before
 * the first controller of its type with a greater index, else after the last one of its type
 * (so equal indexes keep the document's order), else at the end.
 */
function orderControllers(devices: DomainDevices): void {
  const ordered: Controller[] = [];
  for (const controller of devices.controllers) {
    const index = controller.index ?? -1;
    let at = -1;
    for (let position = ordered.length - 1; position >= 0; position--) {
      const each = ordered[position];
      if (each.type !== controller.type) continue;
      if (index === -1) {
        at = position + 1;
        break;
      }
      const eachIndex = each.index ?? -1;
      if (eachIndex > index) at = position;
      else if (at === -1) at = position + 1;
    }
    ordered.splice(at === -1 ? ordered.length : at, 0, controller);
  }
  devices.controllers = ordered;
}

type ChardevLike = Pick<Chardev, "type" | "sources" | "protocol">;

function normaliseChardev(chardev: ChardevLike): void {
  if (chardev.type === "tcp") {
    if (chardev.sources.length > 0) chardev.sources[0].mode ??= "connect";
    chardev.protocol ??= "raw";
  } else if (chardev.type === "udp") {
    for (const source of chardev.sources) source.mode ??= "connect";
    chardev.sources = [
      ...chardev.sources.filter((source) => source.mode === "bind"),
      ...chardev.sources.filter((source) => source.mode !== "bind"),
    ];
  } else if (chardev.type === "unix") {
    chardev.sources = chardev.sources.filter((source) => !isEmptyUnixSource(source));
    for (const source of chardev.sources) {
      if (source.path !== undefined) source.mode ??= "connect";
    }
  }
}

function isEmptyUnixSource(source: ChardevSource): boolean {
  const { mode, ...rest } = source;
  return (mode === undefined || mode === "connect") && Object.keys(rest).length === 0;
}

/** As libvirt: the virtio-serial controller each virtio channel, then console, names (or 0). */
function addVirtioSerialController(devices: DomainDevices): void {
  for (const chardev of [...devices.channels, ...devices.consoles]) {
    if (chardev.target?.type !== "virtio") continue;
    const address = chardev.address;
    const index = address?.type === "virtio-serial" ? address.controller ?? 0 : 0;
    const present = devices.controllers.some((controller) =>
      controller.type === "virtio-serial" && (controller.index ?? 0) === index
    );
    if (!present) devices.controllers.push({ type: "virtio-serial", index });
  }
}

/** Each smartcard sits alone on a ccid controller (one slot per controller). */
function addSmartcardControllers(devices: DomainDevices): void {
  const used = new Set<number>();
  for (const card of devices.smartcards) {
    if (card.address?.type === "ccid" && card.address.controller !== undefined) {
      used.add(card.address.controller);
    }
  }
  let next = 0;
  for (const card of devices.smartcards) {
    if (card.address !== undefined) continue;
    while (used.has(next)) next++;
    card.address = { type: "ccid", controller: next, slot: 0 };
    used.add(next);
  }
  const present = new Set(
    devices.controllers.filter((item) => item.type === "ccid").map((item) => item.index),
  );
  for (const controller of used) {
    if (!present.has(controller)) devices.controllers.push({ type: "ccid", index: controller });
  }
}

/** USB2 controllers: an ICH9 EHCI master and its UHCI companions share one index. */
const USB2_MODELS = new Set(["ich9-ehci1", "ich9-uhci1", "ich9-uhci2", "ich9-uhci3"]);

function assignControllerIndexes(controllers: Controller[]): void {
  const used = new Set(controllers.map((controller) => `${controller.type}/${controller.index}`));
  controllers.forEach((controller, position) => {
    if (controller.index !== undefined) return;
    const group = usb2GroupIndex(controllers, position);
    if (group !== undefined) {
      controller.index = group;
      return;
    }
    let index = 0;
    while (used.has(`${controller.type}/${index}`)) index++;
    controller.index = index;
    used.add(`${controller.type}/${index}`);
  });
}

/**
 * libvirt's exception to "the lowest unused index": a USB2 controller without an index right
 * after another USB2 controller joins its group, unless the group has this model already.
 */
function usb2GroupIndex(controllers: Controller[], position: number): number | undefined {
  const controller = controllers[position];
  if (controller.type !== "usb" || !USB2_MODELS.has(controller.model ?? "")) return undefined;
  const previous = controllers.slice(0, position).findLast((each) => each.type === "usb");
  if (previous === undefined || !USB2_MODELS.has(previous.model ?? "")) return undefined;
  const taken = controllers.some((each) =>
    each.type === "usb" && each.index === previous.index && each.model === controller.model
  );
  return taken ? undefined : previous.index;
}

/**
 * libvirt keeps the primary video first and marks it; it keeps `primary` as a flag, so the
 * others carry none (`primary='no'` is not written back).
 */
function applyPrimaryVideo(devices: DomainDevices): void {
  for (const video of devices.videos) {
    if (video.model?.primary === "no") delete video.model.primary;
  }
  const primary = devices.videos.findIndex((video) => video.model?.primary === "yes");
  if (primary > 0) devices.videos.unshift(...devices.videos.splice(primary, 1));
  const first = devices.videos[0];
  if (first?.model !== undefined) first.model.primary ??= "yes";
}

function applyGraphics(graphics: Graphics): void {
  const listens = graphics.listens;
  if (graphics.type === "vnc" && graphics.socket !== undefined) {
    if (listens.length === 0 || listens[0].type === "address") {
      listens.splice(0, listens.length === 0 ? 0 : 1, { type: "socket", socket: graphics.socket });
    }
  } else if (graphics.listen !== undefined && listens.length === 0) {
    listens.push({ type: "address", address: graphics.listen });
  } else if (graphics.type === "vnc" && listens.length === 0) {
    listens.push({ type: "address" });
  }
  const first = listens[0];
  if (first?.type === "address" && first.address !== undefined) graphics.listen ??= first.address;
  if (graphics.type === "vnc" && graphics.socket === undefined) {
    graphics.autoport ??= graphics.port === undefined || graphics.port === -1 ? "yes" : "no";
    if (graphics.autoport === "yes") graphics.port = -1;
  }
}
