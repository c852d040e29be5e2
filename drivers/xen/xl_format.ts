/**
 * Domain definition → `xl.cfg` (libvirt's `xenFormatXL`, format `xen-xl`).
 *
 * @module
 */

import type { Disk, DomainDefinition } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { type XenConfValue, XenConfWriter } from "./xen_conf.ts";
import { formatCommon, type NetworkBridges, NO_NETWORKS } from "./xen_format_common.ts";
import { formatBootOrder, XEN_FIRMWARE_DIR } from "./xen_defaults.ts";
import { childElements, elementText, extraElement, extraElements } from "./xen_extra.ts";
import { libxlFeatureName } from "./xen_cpuid.ts";

/**
 * Writes a domain definition as an `xl.cfg` file.
 *
 * @example
 * ```ts
 * import { definitionToXl } from "./xl_format.ts";
 * import { parseDomainXml } from "../../src/xml/mod.ts";
 * const definition = parseDomainXml("<domain type='xen'><name>g</name><memory>524288</memory><os><type>linux</type></os></domain>");
 * definitionToXl(definition).startsWith('name = "g"'); // true
 * ```
 *
 * @param bridges Finds the bridge of an interface's virtual network.
 * @throws {VirtError} Code 67 for what `xl.cfg` cannot express (as libvirt refuses it); 43 for
 *   an unknown network.
 */
export function definitionToXl(
  definition: DomainDefinition,
  bridges: NetworkBridges = NO_NETWORKS,
): string {
  const out = new XenConfWriter();
  formatCommon(out, definition, "xl", bridges);
  formatOs(out, definition);
  formatCpuid(out, definition);
  formatVnuma(out, definition);
  formatXenbusLimits(out, definition);
  formatDisks(out, definition);
  formatSpice(out, definition);
  formatInputs(out, definition);
  formatUsbHostdevs(out, definition);
  formatUsbControllers(out, definition);
  formatChannels(out, definition);
  formatDeviceModelArgs(out, definition);
  return out.text();
}

function formatOs(out: XenConfWriter, definition: DomainDefinition): void {
  const os = definition.os;
  if (os.type === "hvm") {
    out.string("builder", "hvm");
    const loader = os.loader;
    if (
      loader?.type === "pflash" && loader.path !== undefined &&
        loader.path.startsWith(XEN_FIRMWARE_DIR) || os.firmware === "efi"
    ) {
      out.string("bios", "ovmf");
    }
    const table = extraElement(os, "acpi");
    const slic = table === undefined ? undefined : childElements(table, "table")[0];
    if (slic !== undefined) out.string("acpi_firmware", elementText(slic));
    if (os.kernel !== undefined) out.string("kernel", os.kernel);
    if (os.initrd !== undefined) out.string("ramdisk", os.initrd);
    if (os.cmdline !== undefined) out.string("cmdline", os.cmdline);
    out.string("boot", formatBootOrder(os.boot));
    const cpu = definition.cpu;
    if (cpu?.mode === "host-passthrough") {
      const hardwareVirt = !cpu.features.some((feature) =>
        (feature.policy === "disable" || feature.policy === "forbid") &&
        (feature.name === "vmx" || feature.name === "svm")
      );
      out.number("nestedhvm", hardwareVirt ? 1 : 0);
    }
    return;
  }
  if (os.type === "xenpvh") out.string("type", "pvh");
  const bootloader = extraElement(definition, "bootloader");
  if (bootloader !== undefined) out.string("bootloader", elementText(bootloader));
  const bootargs = extraElement(definition, "bootloader_args");
  if (bootargs !== undefined) out.string("bootargs", elementText(bootargs));
  if (os.kernel !== undefined) out.string("kernel", os.kernel);
  if (os.initrd !== undefined) out.string("ramdisk", os.initrd);
  if (os.cmdline !== undefined) out.string("cmdline", os.cmdline);
}

function formatCpuid(out: XenConfWriter, definition: DomainDefinition): void {
  const cpu = definition.cpu;
  if (cpu === undefined || cpu.mode !== "host-passthrough") return;
  const pairs = ["host"];
  for (const feature of cpu.features) {
    const name = libxlFeatureName(feature.name, false);
    if (name === "vmx" || name === "svm") continue;
    const policy = feature.policy ?? "require";
    const value = policy === "force" || policy === "require"
      ? "1"
      : policy === "optional"
      ? "x"
      : "0";
    pairs.push(`${name}=${value}`);
  }
  if (pairs.length > 1) out.string("cpuid", pairs.join(","));
}

function formatVnuma(out: XenConfWriter, definition: DomainDefinition): void {
  const cells = definition.cpu?.numa?.cells ?? [];
  if (cells.length === 0) return;
  const nodes: XenConfValue[] = cells.map((cell, node) => {
    const distances = extraElement(cell, "distances");
    const siblings = distances === undefined ? [] : childElements(distances, "sibling");
    const values = cells.map((_, other) => {
      const sibling = siblings.find((entry) => entry.attributes?.id === String(other));
      return sibling?.attributes?.value ?? mirroredDistance(cells, other, node) ??
        (other === node ? "10" : "20");
    });
    return {
      kind: "list",
      items: [
        `pnode=${node}`,
        `size=${Math.floor(cell.memoryKiB / 1024)}`,
        `vcpus=${cell.cpus ?? ""}`,
        `vdistances=${values.join(",")}`,
      ].map((value) => ({ kind: "string", value })),
    };
  });
  out.set("vnuma", { kind: "list", items: nodes });
}

/** The distance `from` → `to` as the other cell states it (libvirt completes it symmetrically). */
function mirroredDistance(
  cells: NonNullable<NonNullable<DomainDefinition["cpu"]>["numa"]>["cells"],
  from: number,
  to: number,
): string | undefined {
  const distances = extraElement(cells[from], "distances");
  if (distances === undefined) return undefined;
  return childElements(distances, "sibling").find((entry) => entry.attributes?.id === String(to))
    ?.attributes?.value;
}

function formatXenbusLimits(out: XenConfWriter, definition: DomainDefinition): void {
  for (const controller of definition.devices.controllers) {
    if (controller.type !== "xenbus") continue;
    const events = Number(controller.extra?.attributes?.maxEventChannels ?? "0");
    const frames = Number(controller.extra?.attributes?.maxGrantFrames ?? "0");
    if (events > 0) out.number("max_event_channels", events);
    if (frames > 0) out.number("max_grant_frames", frames);
  }
}

function diskSource(disk: Disk): string | undefined {
  const source = disk.source;
  if (source === undefined) return undefined;
  if (disk.type === "network") {
    if (source.protocol !== "rbd") {
      throw new VirtError(
        ErrorCode.NO_SUPPORT,
        `Unsupported network block protocol '${source.protocol ?? "none"}'`,
        { where: "disk/source" },
      );
    }
    const name = source.name ?? "";
    const slash = name.indexOf("/");
    const image = slash === -1 ? name : name.slice(slash + 1);
    if (image.includes(":")) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `':' not allowed in RBD source volume name '${image}'`,
        { where: "disk/source" },
      );
    }
    let text = `rbd:${name}:auth_supported=none`;
    if (source.hosts.length > 0) {
      text += ":mon_host=" + source.hosts.map((host) => {
        const hostName = host.name ?? "";
        const shown = hostName.includes(":") ? `[${hostName.replaceAll(":", "\\:")}]` : hostName;
        return shown + (host.port === undefined ? "" : `\\\\:${host.port}`);
      }).join("\\\\;");
    }
    return text;
  }
  return source.file ?? source.dev ?? source.dir;
}

function formatDisk(disk: Disk): string {
  const formats: Record<string, string> = {
    raw: "raw",
    vhd: "xvhd",
    qcow: "qcow",
    qcow2: "qcow2",
    qed: "qed",
  };
  let text = `format=${formats[disk.driver?.type ?? ""] ?? "raw"}`;
  text += `,vdev=${disk.target.dev}`;
  text += `,access=${disk.readonly ? "ro" : disk.shareable ? "!" : "rw"}`;
  if (disk.transient) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "transient disks not supported yet", {
      where: "disk/transient",
    });
  }
  const driver = disk.driver?.name;
  if (driver !== undefined) {
    const backends: Record<string, string> = {
      qemu: "qdisk",
      file: "qdisk",
      tap: "tap",
      phy: "phy",
    };
    text += `,backendtype=${backends[driver] ?? ""}`;
  }
  if (disk.device === "cdrom") text += ",devtype=cdrom";
  const target = diskSource(disk);
  if (target !== undefined) text += `,target=${target}`;
  return text;
}

function formatDisks(out: XenConfWriter, definition: DomainDefinition): void {
  const disks = definition.devices.disks.filter((disk) => disk.device !== "floppy").map(formatDisk);
  if (disks.length > 0) out.strings("disk", disks);
}

function formatSpice(out: XenConfWriter, definition: DomainDefinition): void {
  const graphics = definition.devices.graphics[0];
  if (definition.os.type !== "hvm" || graphics?.type !== "spice") return;
  out.number("sdl", 0);
  out.number("vnc", 0);
  out.number("spice", 1);
  const listen = graphics.listens[0]?.address ?? graphics.listen;
  if (listen !== undefined) out.string("spicehost", listen);
  out.number("spiceport", graphics.port ?? 0);
  out.number("spicetls_port", graphics.tlsPort ?? 0);
  if (graphics.passwd !== undefined) {
    out.number("spicedisable_ticketing", 0);
    out.string("spicepasswd", graphics.passwd);
  } else {
    out.number("spicedisable_ticketing", 1);
  }
  const mouse = extraElement(graphics, "mouse")?.attributes?.mode;
  if (mouse === "server") out.number("spiceagent_mouse", 0);
  else if (mouse === "client") {
    out.number("spiceagent_mouse", 1);
    out.number("spicevdagent", 1);
  }
  if (extraElement(graphics, "clipboard")?.attributes?.copypaste === "yes") {
    out.number("spice_clipboard_sharing", 1);
    out.number("spicevdagent", 1);
  }
}

function formatInputs(out: XenConfWriter, definition: DomainDefinition): void {
  if (definition.os.type !== "hvm") return;
  const devices: string[] = [];
  for (const input of definition.devices.inputs) {
    if (input.bus !== "usb") continue;
    out.number("usb", 1);
    if (["mouse", "tablet", "keyboard"].includes(input.type)) devices.push(input.type);
  }
  if (devices.length === 1) out.string("usbdevice", devices[0]);
  else if (devices.length > 1) out.strings("usbdevice", devices);
}

function formatUsbHostdevs(out: XenConfWriter, definition: DomainDefinition): void {
  const entries = definition.devices.hostdevs.filter((hostdev) =>
    (hostdev.mode ?? "subsystem") === "subsystem" && hostdev.type === "usb"
  ).map((hostdev) => {
    const address = hostdev.source?.address ?? {};
    const hex = (text: string | undefined) => Number(text ?? "0").toString(16);
    return `hostbus=${hex(address.bus)},hostaddr=${hex(address.device)}`;
  });
  if (entries.length > 0) out.strings("usbdev", entries);
}

function formatUsbControllers(out: XenConfWriter, definition: DomainDefinition): void {
  const controllers = definition.devices.controllers.filter((controller) =>
    controller.type === "usb"
  );
  if (controllers.length === 0) return;
  const entries = controllers.map((controller) => {
    let text = "";
    if (controller.model !== undefined) {
      if (controller.model === "qusb1") text += "type=qusb,version=1,";
      else if (controller.model === "qusb2") text += "type=qusb,version=2,";
      else {
        throw new VirtError(
          ErrorCode.CONFIG_UNSUPPORTED,
          `unsupported USB controller model '${controller.model}'`,
          { where: "controller" },
        );
      }
    }
    if (controller.ports !== undefined) text += `ports=${controller.ports.toString(16)}`;
    return text;
  });
  out.strings("usbctrl", entries);
}

function formatChannels(out: XenConfWriter, definition: DomainDefinition): void {
  const entries: string[] = [];
  for (const channel of definition.devices.channels) {
    if (channel.target?.type !== "xen") continue;
    let text = "connection=";
    if (channel.type === "pty") text += "pty,";
    else if (channel.type === "unix") {
      text += "socket,";
      const path = channel.sources[0]?.path;
      if (path !== undefined) text += `path=${path},`;
    } else {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `unsupported channel type '${channel.type ?? ""}'`,
        { where: "channel" },
      );
    }
    entries.push(`${text}name=${channel.target.name ?? "(null)"}`);
  }
  if (entries.length > 0) out.strings("channel", entries);
}

function formatDeviceModelArgs(out: XenConfWriter, definition: DomainDefinition): void {
  const commandline = extraElements(definition, "xen:commandline")[0] ??
    (definition.extra?.elements ?? []).map((placed) => placed.element).find((element) =>
      element.name.endsWith(":commandline")
    );
  if (commandline === undefined) return;
  const args = (commandline.children ?? []).flatMap((child) =>
    typeof child !== "string" && child.name.endsWith(":arg") &&
      child.attributes?.value !== undefined
      ? [child.attributes.value]
      : []
  );
  if (args.length > 0) out.strings("device_model_args", args);
}
