/**
 * QEMU arguments for the remaining devices: input devices, VNC graphics, video cards, sound
 * cards and their audio backend, the watchdog, the memory balloon, random number generators and
 * the pvpanic device. Device kinds the driver cannot run are refused by element.
 *
 * @module
 */

import type { DomainDevices, Input, Rng, Video, XmlElement } from "../../src/model/domain.ts";
import type { ArgumentCollector } from "./argument_collector.ts";
import { chardevBackend } from "./chardev_arguments.ts";
import { refuseConfig, refuseExtra } from "./config_refusal.ts";
import { usbPlacement } from "./controller_arguments.ts";
import { addFilesystemArguments } from "./filesystem_arguments.ts";
import { addSmartcardArguments } from "./smartcard_arguments.ts";
import {
  addRedirdevs,
  addRemoteDisplay,
  REMOTE_DISPLAY_TYPES,
} from "./remote_display_arguments.ts";
import { qemuOption, type QemuOptionValue } from "./qemu_option.ts";

/** Device elements the typed model keeps in `devices.extra` that this file handles. */
export const HANDLED_EXTRA_DEVICES: readonly string[] = [
  "audio",
  "panic",
  "filesystem",
  // memory_devices.ts
  "memory",
];

/** What the caller must do after start for devices set up at run time. */
export interface DeviceRuntimeSettings {
  /** The balloon's statistics period, in seconds (set with `qom-set` once QEMU runs). */
  balloonStatsPeriodSeconds?: number;
}

/**
 * Controllers the devices of this file need (USB for USB inputs, hubs and sound).
 *
 * @example
 * ```ts
 * import { deviceControllers } from "./device_arguments.ts";
 * import { emptyDevices } from "../../src/model/domain.ts";
 * const devices = emptyDevices();
 * devices.inputs.push({ type: "tablet", bus: "usb" });
 * console.log(deviceControllers(devices)); // [{ type: "usb", index: 0 }]
 * ```
 */
export function deviceControllers(devices: DomainDevices): { type: string; index: number }[] {
  const usb = devices.inputs.some((input) => input.bus === "usb") ||
    devices.sounds.some((sound) => sound.model === "usb") || devices.hubs.length > 0 ||
    devices.redirdevs.length > 0 || devices.smartcards.length > 0;
  return usb ? [{ type: "usb", index: 0 }] : [];
}

/**
 * Adds the arguments of inputs, graphics, video, sound, watchdog, balloon, rng and panic.
 *
 * @returns Settings to apply once QEMU runs.
 * @throws {VirtError} 67 naming the first unsupported device or attribute.
 *
 * @example
 * ```ts ignore
 * const runtime = addDeviceArguments(definition.devices, collector);
 * ```
 */
export function addDeviceArguments(
  devices: DomainDevices,
  collector: ArgumentCollector,
): DeviceRuntimeSettings {
  refuseUnsupportedDevices(devices);
  addHubs(devices, collector);
  devices.inputs.forEach((input, index) => addInput(input, index, collector));
  addGraphics(devices, collector);
  addRedirdevs(devices, collector);
  addFilesystemArguments(devices, collector);
  addSmartcardArguments(devices, collector);
  addVideos(devices, collector);
  addSound(devices, collector);
  addWatchdog(devices, collector);
  const settings = addBalloon(devices, collector);
  devices.rngs.forEach((rng, index) => addRng(rng, index, collector));
  addPanic(devices, collector);
  return settings;
}

function refuseUnsupportedDevices(devices: DomainDevices): void {
  const lists: [unknown[], string, string][] = [
    [devices.hostdevs, "hostdev", "host devices"],
    [devices.tpms, "tpm", "TPM devices"],
    [devices.shmems, "shmem", "shared memory devices"],
  ];
  for (const [list, element, what] of lists) {
    if (list.length > 0) {
      throw refuseConfig(
        `/domain/devices/${element}[1]`,
        `${what} are not supported by the qemu driver`,
      );
    }
  }
  refuseExtra(devices.extra, "/domain/devices", {
    elements: (name) => HANDLED_EXTRA_DEVICES.includes(name),
  });
}

/** Device elements of `devices.extra` named `name`, in order. */
function extraDevices(devices: DomainDevices, name: string): XmlElement[] {
  return (devices.extra?.elements ?? []).map((placed) => placed.element).filter((element) =>
    element.name === name
  );
}

function addHubs(devices: DomainDevices, collector: ArgumentCollector): void {
  devices.hubs.forEach((hub, index) => {
    const where = `/domain/devices/hub[${index + 1}]`;
    if (hub.type !== "usb") {
      throw refuseConfig(`${where}/@type`, `hub type '${hub.type}' is not supported`);
    }
    collector.device(qemuOption("usb-hub", {
      id: hub.alias !== undefined && hub.alias.startsWith("ua-") ? hub.alias : `hub${index}`,
      ...usbPlacement(hub.address, where),
    }));
  });
}

const INPUT_DEVICES: Record<string, Record<string, string>> = {
  usb: { mouse: "usb-mouse", tablet: "usb-tablet", keyboard: "usb-kbd" },
  virtio: {
    mouse: "virtio-mouse-pci",
    tablet: "virtio-tablet-pci",
    keyboard: "virtio-keyboard-pci",
  },
};

function addInput(input: Input, index: number, collector: ArgumentCollector): void {
  const where = `/domain/devices/input[${index + 1}]`;
  refuseExtra(input.extra, where);
  const bus = input.bus ?? (input.type === "tablet" ? "usb" : "ps2");
  if (input.source !== undefined || input.model !== undefined) {
    throw refuseConfig(`${where}/source`, `input source and model are not supported`);
  }
  if (bus === "ps2") {
    if (input.type !== "mouse" && input.type !== "keyboard") {
      throw refuseConfig(`${where}/@type`, `a ps2 input cannot be a ${input.type}`);
    }
    // The i8042 controller of i440fx and q35 provides both: nothing to add.
    return;
  }
  const device = INPUT_DEVICES[bus]?.[input.type];
  if (device === undefined) {
    throw refuseConfig(
      `${where}/@type`,
      `input type '${input.type}' on bus '${bus}' is not supported`,
    );
  }
  if (bus === "usb") {
    collector.device(
      qemuOption(device, { id: `input${index}`, ...usbPlacement(input.address, where) }),
    );
    return;
  }
  const placement = collector.pciPlacement(input.address, where);
  collector.device(qemuOption(device, {
    id: `input${index}`,
    bus: placement.bus,
    addr: placement.addr,
  }));
}

function addGraphics(devices: DomainDevices, collector: ArgumentCollector): void {
  // No display at all: say so (a remote display, VNC or SPICE, keeps QEMU from opening one).
  if (devices.graphics.length === 0) collector.push("-display", "none");
  let vncs = 0;
  devices.graphics.forEach((graphics, index) => {
    const where = `/domain/devices/graphics[${index + 1}]`;
    if (REMOTE_DISPLAY_TYPES.includes(graphics.type)) {
      if (devices.graphics.slice(0, index).some((other) => other.type === graphics.type)) {
        throw refuseConfig(where, `only one ${graphics.type} display is supported`);
      }
      addRemoteDisplay(graphics, where, collector);
      return;
    }
    if (graphics.type !== "vnc") {
      throw refuseConfig(`${where}/@type`, `graphics type '${graphics.type}' is not supported`);
    }
    if (vncs++ > 0) throw refuseConfig(where, "only one vnc display is supported");
    refuseExtra(graphics.extra, where);
    const unsupported: [unknown, string][] = [
      [graphics.passwd, "@passwd"],
      [graphics.passwdValidTo, "@passwdValidTo"],
      [graphics.connected, "@connected"],
      [graphics.gl, "gl"],
    ];
    for (const [value, path] of unsupported) {
      if (value !== undefined) {
        throw refuseConfig(`${where}/${path}`, `vnc '${path.replace("@", "")}' is not supported`);
      }
    }
    collector.push("-vnc", vncOption(graphics, where, collector));
    if (graphics.keymap !== undefined) collector.push("-k", graphics.keymap);
  });
}

/** Where a VNC console listens when its definition names no address (libvirt's `vnc_listen`). */
export const VNC_LISTEN_DEFAULT = "127.0.0.1";

function vncOption(
  graphics: DomainDevices["graphics"][number],
  where: string,
  collector: ArgumentCollector,
): string {
  const listen = graphics.listens[0];
  listen?.extra && refuseExtra(listen.extra, `${where}/listen`);
  if (graphics.listens.length > 1) {
    throw refuseConfig(`${where}/listen[2]`, "only one vnc listen address is supported");
  }
  const extras: Record<string, QemuOptionValue> = {
    share: graphics.sharePolicy,
    websocket: graphics.websocket === undefined
      ? undefined
      : graphics.websocket === -1
      ? "on"
      : String(graphics.websocket),
  };
  const socket = listen?.type === "socket" ? listen.socket : graphics.socket;
  if (socket !== undefined) {
    collector.requirePath(socket, "creatable", `${where}/@socket`);
    return qemuOption(`unix:${socket}`, extras);
  }
  if (listen?.type === "none") return qemuOption("none", extras);
  if (listen !== undefined && listen.type !== "address") {
    throw refuseConfig(
      `${where}/listen/@type`,
      `vnc listen type '${listen.type}' is not supported`,
    );
  }
  const address = listen?.address ?? graphics.listen ?? VNC_LISTEN_DEFAULT;
  const host = address.includes(":") ? `[${address}]` : address;
  const auto = graphics.autoport === "yes" || graphics.port === undefined || graphics.port === -1;
  if (auto) return qemuOption(`${host}:0`, { to: 99, ...extras });
  if (graphics.port! < 5900) {
    throw refuseConfig(`${where}/@port`, `vnc port ${graphics.port} is below 5900`);
  }
  return qemuOption(`${host}:${graphics.port! - 5900}`, extras);
}

const VIDEO_PRIMARY: Record<string, string> = {
  vga: "VGA",
  cirrus: "cirrus-vga",
  qxl: "qxl-vga",
  virtio: "virtio-vga",
  bochs: "bochs-display",
  ramfb: "ramfb",
};

const VIDEO_SECONDARY: Record<string, string> = {
  qxl: "qxl",
  virtio: "virtio-gpu-pci",
  bochs: "bochs-display",
};

function addVideos(devices: DomainDevices, collector: ArgumentCollector): void {
  const videos: Video[] = devices.videos.length === 0 && devices.graphics.length > 0
    ? [{ model: { type: "vga" } }]
    : devices.videos;
  const primaryIndex = Math.max(0, videos.findIndex((video) => video.model?.primary === "yes"));
  videos.forEach((video, index) => {
    const where = `/domain/devices/video[${index + 1}]`;
    refuseExtra(video.extra, where);
    refuseExtra(video.model?.extra, `${where}/model`);
    if (video.driver !== undefined) {
      throw refuseConfig(`${where}/driver`, "video driver options are not supported");
    }
    const type = video.model?.type ?? "vga";
    if (type === "none") return;
    const primary = index === primaryIndex;
    const device = (primary ? VIDEO_PRIMARY : VIDEO_SECONDARY)[type];
    if (device === undefined) {
      throw refuseConfig(
        `${where}/model/@type`,
        `video model '${type}' is not supported${primary ? "" : " as a secondary card"}`,
      );
    }
    const model = video.model ?? { type };
    const properties: Record<string, QemuOptionValue> = {};
    if (type === "qxl") {
      properties.ram_size = model.ram === undefined ? undefined : model.ram * 1024;
      properties.vram_size = model.vram === undefined ? undefined : model.vram * 1024;
      properties.vram64_size_mb = model.vram64 === undefined ? undefined : model.vram64 / 1024;
      properties.vgamem_mb = model.vgamem === undefined ? undefined : model.vgamem / 1024;
      properties.max_outputs = model.heads;
    } else if (type === "virtio") {
      properties.max_outputs = model.heads;
    } else if (type === "vga" || type === "cirrus" || type === "bochs") {
      const vgamemKiB = type === "bochs" ? model.vram : model.vram;
      properties[type === "bochs" ? "vgamem" : "vgamem_mb"] = vgamemKiB === undefined
        ? undefined
        : type === "bochs"
        ? vgamemKiB * 1024
        : Math.max(1, Math.floor(vgamemKiB / 1024));
    }
    if (model.blob !== undefined) {
      throw refuseConfig(`${where}/model/@blob`, "video blob resources are not supported");
    }
    const placement = type === "ramfb" ? undefined : collector.pciPlacement(video.address, where);
    collector.device(qemuOption(device, {
      id: `video${index}`,
      ...properties,
      bus: placement?.bus,
      addr: placement?.addr,
    }));
  });
}

const SOUND_DEVICES: Record<string, string> = {
  ich6: "intel-hda",
  ich9: "ich9-intel-hda",
  ac97: "AC97",
  es1370: "ES1370",
  sb16: "sb16",
  usb: "usb-audio",
};

const HDA_CODECS: Record<string, string> = {
  duplex: "hda-duplex",
  micro: "hda-micro",
  output: "hda-output",
};

function addSound(devices: DomainDevices, collector: ArgumentCollector): void {
  const audios = extraDevices(devices, "audio");
  audios.forEach((audio, index) => {
    const where = `/domain/devices/audio[${index + 1}]`;
    const { id, type, ...rest } = audio.attributes ?? {};
    if (type !== "none") {
      throw refuseConfig(`${where}/@type`, `audio backend '${type}' is not supported`);
    }
    if (Object.keys(rest).length > 0 || (audio.children ?? []).length > 0) {
      throw refuseConfig(where, "audio backend settings are not supported");
    }
    collector.push("-audiodev", qemuOption("none", { id: `audio${id ?? index + 1}` }));
  });
  if (devices.sounds.length > 0 && audios.length === 0) {
    collector.push("-audiodev", qemuOption("none", { id: "audio1" }));
  }
  const audiodev = (audioId: number | undefined) =>
    `audio${audioId ?? (audios[0]?.attributes?.id ?? "1")}`;
  devices.sounds.forEach((sound, index) => {
    const where = `/domain/devices/sound[${index + 1}]`;
    refuseExtra(sound.extra, where);
    const id = `sound${index}`;
    if (sound.model === "pcspk") {
      collector.push(
        "-machine",
        qemuOption(undefined, { "pcspk-audiodev": audiodev(sound.audioId) }),
      );
      return;
    }
    const device = SOUND_DEVICES[sound.model];
    if (device === undefined) {
      throw refuseConfig(`${where}/@model`, `sound model '${sound.model}' is not supported`);
    }
    const hda = sound.model === "ich6" || sound.model === "ich9";
    if (!hda && sound.codecs.length > 0) {
      throw refuseConfig(`${where}/codec`, `codecs are only supported for ich6 and ich9 sound`);
    }
    const isa = sound.model === "sb16";
    const usb = sound.model === "usb";
    const placement = isa || usb ? undefined : collector.pciPlacement(sound.address, where);
    collector.device(qemuOption(device, {
      id,
      audiodev: hda ? undefined : audiodev(sound.audioId),
      bus: usb ? "usb.0" : placement?.bus,
      addr: placement?.addr,
    }));
    if (!hda) return;
    const codecs = sound.codecs.length === 0 ? ["duplex"] : sound.codecs;
    codecs.forEach((codec, codecIndex) => {
      const codecDevice = HDA_CODECS[codec];
      if (codecDevice === undefined) {
        throw refuseConfig(
          `${where}/codec[${codecIndex + 1}]/@type`,
          `sound codec '${codec}' is not supported`,
        );
      }
      collector.device(qemuOption(codecDevice, {
        id: `${id}-codec${codecIndex}`,
        bus: `${id}.0`,
        cad: codecIndex,
        audiodev: audiodev(sound.audioId),
      }));
    });
  });
}

const WATCHDOG_ACTIONS = ["reset", "shutdown", "poweroff", "pause", "none", "inject-nmi", "debug"];

function addWatchdog(devices: DomainDevices, collector: ArgumentCollector): void {
  devices.watchdogs.forEach((watchdog, index) => {
    const where = `/domain/devices/watchdog[${index + 1}]`;
    refuseExtra(watchdog.extra, where);
    if (index > 0) throw refuseConfig(where, "only one watchdog is supported");
    const action = watchdog.action ?? "reset";
    if (!WATCHDOG_ACTIONS.includes(action)) {
      throw refuseConfig(`${where}/@action`, `watchdog action '${action}' is not supported`);
    }
    if (watchdog.model === "i6300esb") {
      const placement = collector.pciPlacement(watchdog.address, where);
      collector.device(qemuOption("i6300esb", {
        id: `watchdog${index}`,
        bus: placement.bus,
        addr: placement.addr,
      }));
    } else if (watchdog.model === "ib700") {
      collector.device(qemuOption("ib700", { id: `watchdog${index}` }));
    } else if (watchdog.model === "itco" && collector.family === "q35") {
      // The ICH9 LPC has the iTCO watchdog built in; it only has to be allowed to reboot.
      collector.push("-global", "ICH9-LPC.noreboot=off");
    } else {
      throw refuseConfig(`${where}/@model`, `watchdog model '${watchdog.model}' is not supported`);
    }
    collector.push("-action", qemuOption(undefined, { watchdog: action }));
  });
}

function addBalloon(devices: DomainDevices, collector: ArgumentCollector): DeviceRuntimeSettings {
  const balloon = devices.memballoon;
  if (balloon === undefined || balloon.model === "none") return {};
  const where = "/domain/devices/memballoon";
  refuseExtra(balloon.extra, where);
  const device = {
    virtio: "virtio-balloon-pci",
    "virtio-transitional": "virtio-balloon-pci-transitional",
    "virtio-non-transitional": "virtio-balloon-pci-non-transitional",
  }[balloon.model];
  if (device === undefined) {
    throw refuseConfig(`${where}/@model`, `memballoon model '${balloon.model}' is not supported`);
  }
  if (balloon.driver !== undefined) {
    throw refuseConfig(`${where}/driver`, "memballoon driver options are not supported");
  }
  const placement = collector.pciPlacement(balloon.address, where);
  collector.device(qemuOption(device, {
    id: "balloon0",
    "deflate-on-oom": balloon.autodeflate === undefined ? undefined : balloon.autodeflate === "on",
    "free-page-reporting": balloon.freePageReporting === undefined
      ? undefined
      : balloon.freePageReporting === "on",
    bus: placement.bus,
    addr: placement.addr,
  }));
  return balloon.statsPeriod === undefined
    ? {}
    : { balloonStatsPeriodSeconds: balloon.statsPeriod };
}

const RNG_DEVICES: Record<string, string> = {
  virtio: "virtio-rng-pci",
  "virtio-transitional": "virtio-rng-pci-transitional",
  "virtio-non-transitional": "virtio-rng-pci-non-transitional",
};

function addRng(rng: Rng, index: number, collector: ArgumentCollector): void {
  const where = `/domain/devices/rng[${index + 1}]`;
  refuseExtra(rng.extra, where);
  refuseExtra(rng.backend.extra, `${where}/backend`);
  const device = RNG_DEVICES[rng.model];
  if (device === undefined) {
    throw refuseConfig(`${where}/@model`, `rng model '${rng.model}' is not supported`);
  }
  if (rng.driver !== undefined) {
    throw refuseConfig(`${where}/driver`, "rng driver options are not supported");
  }
  const objectId = `objrng${index}`;
  switch (rng.backend.model) {
    case "random": {
      const path = rng.backend.path ?? "/dev/urandom";
      collector.requirePath(path, "char", `${where}/backend`);
      collector.push("-object", qemuOption("rng-random", { id: objectId, filename: path }));
      break;
    }
    case "builtin":
      collector.push("-object", qemuOption("rng-builtin", { id: objectId }));
      break;
    case "egd": {
      const chardevId = `charrng${index}`;
      collector.push(
        "-chardev",
        chardevBackend(
          {
            type: rng.backend.type ?? "tcp",
            sources: rng.backend.sources,
            protocol: rng.backend.protocol,
          },
          chardevId,
          collector,
          `${where}/backend`,
        ),
      );
      collector.push("-object", qemuOption("rng-egd", { id: objectId, chardev: chardevId }));
      break;
    }
    default:
      throw refuseConfig(
        `${where}/backend/@model`,
        `rng backend '${rng.backend.model}' is not supported`,
      );
  }
  const placement = collector.pciPlacement(rng.address, where);
  collector.device(qemuOption(device, {
    rng: objectId,
    id: `rng${index}`,
    "max-bytes": rng.rate?.bytes,
    period: rng.rate === undefined ? undefined : rng.rate.period ?? 1000,
    bus: placement.bus,
    addr: placement.addr,
  }));
}

function addPanic(devices: DomainDevices, collector: ArgumentCollector): void {
  extraDevices(devices, "panic").forEach((panic, index) => {
    const where = `/domain/devices/panic[${index + 1}]`;
    const model = panic.attributes?.model ?? "isa";
    if (model !== "isa") {
      throw refuseConfig(`${where}/@model`, `panic model '${model}' is not supported`);
    }
    let iobase: string | undefined;
    for (const child of panic.children ?? []) {
      if (typeof child === "string") continue;
      if (child.name !== "address" || child.attributes?.type !== "isa") {
        throw refuseConfig(`${where}/${child.name}`, `element '${child.name}' is not supported`);
      }
      iobase = child.attributes.iobase;
    }
    collector.device(
      qemuOption("pvpanic", { ioport: iobase === undefined ? undefined : Number(iobase) }),
    );
  });
}
