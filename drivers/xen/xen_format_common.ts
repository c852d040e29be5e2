/**
 * Domain definition → the settings `xl.cfg` and `xm` share (libvirt's
 * `xenFormatConfigCommon`), in libvirt's order.
 *
 * @module
 */

import type { Chardev, DomainDefinition, NetInterface } from "../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { XenConfWriter } from "./xen_conf.ts";
import type { XenDialect } from "./xen_parse_common.ts";
import { childElements, extraChild, extraElement, extraElements } from "./xen_extra.ts";

function unsupported(message: string, where: string): VirtError {
  return new VirtError(ErrorCode.CONFIG_UNSUPPORTED, message, { where });
}

/** How a conversion finds the bridge of a virtual network (libvirt asks its network driver). */
export type NetworkBridges = (name: string) => string;

/** Without networks: every network is unknown (code 43, `Network not found: NAME`). */
export const NO_NETWORKS: NetworkBridges = (name) => {
  throw new VirtError(ErrorCode.NO_NETWORK, name, { where: "/domain/devices/interface" });
};

/** Writes the common settings. */
export function formatCommon(
  out: XenConfWriter,
  definition: DomainDefinition,
  dialect: XenDialect,
  bridges: NetworkBridges = NO_NETWORKS,
): void {
  const hvm = definition.os.type === "hvm";
  out.string("name", definition.name);
  // libvirt's parse gives a definition without one a random UUID.
  out.string("uuid", definition.uuid ?? crypto.randomUUID());
  out.number("maxmem", Math.ceil(definition.memoryKiB / 1024));
  out.number("memory", Math.ceil((definition.currentMemoryKiB ?? definition.memoryKiB) / 1024));
  // libvirt's post-parse defaults of a document without them: one vCPU, on_crash destroy.
  const maximum = Math.max(definition.vcpus, 1);
  const current = definition.vcpu?.current ?? maximum;
  if (current < maximum) out.number("maxvcpus", maximum);
  out.number("vcpus", current);
  if (definition.vcpu?.cpuset !== undefined) out.string("cpus", definition.vcpu.cpuset);
  formatFeatures(out, definition, hvm);
  formatClock(out, definition, hvm);
  out.string("on_poweroff", definition.onPoweroff ?? "destroy");
  out.string("on_reboot", definition.onReboot ?? "restart");
  out.string("on_crash", definition.onCrash ?? "destroy");
  if (definition.devices.emulator !== undefined) {
    out.string("device_model_override", definition.devices.emulator);
  }
  formatFramebuffer(out, definition, hvm);
  const vifs = definition.devices.interfaces.map((net) =>
    formatVif(net, hvm, dialect === "xl" ? "vif" : "netfront", bridges)
  );
  if (vifs.length > 0) out.strings("vif", vifs);
  formatPci(out, definition);
  formatCharDevices(out, definition, hvm, dialect);
  if (hvm && definition.devices.sounds.length > 0) {
    out.string("soundhw", definition.devices.sounds.map((sound) => sound.model).join(","));
  }
}

function featureOn(definition: DomainDefinition, name: string): boolean {
  const feature = definition.features?.[name];
  return feature !== undefined && (feature.state === undefined || feature.state === "on");
}

function xenFeatureElements(definition: DomainDefinition) {
  return extraChild(definition.extra, "features", "xen")?.elements?.map((placed) =>
    placed.element
  ) ?? [];
}

function formatFeatures(out: XenConfWriter, definition: DomainDefinition, hvm: boolean): void {
  const xenOn = featureOn(definition, "xen");
  const xenChild = (name: string) =>
    xenFeatureElements(definition).find((element) => element.name === name);
  if (hvm) {
    out.number("pae", featureOn(definition, "pae") ? 1 : 0);
    out.number("acpi", featureOn(definition, "acpi") ? 1 : 0);
    out.number("apic", featureOn(definition, "apic") ? 1 : 0);
    if (definition.features?.hap?.state === "off") out.number("hap", 0);
    out.number("viridian", featureOn(definition, "viridian") ? 1 : 0);
  } else if (xenOn && xenChild("e820_host")?.attributes?.state === "on") {
    out.number("e820_host", 1);
  }
  const passthrough = xenChild("passthrough");
  if (xenOn && passthrough?.attributes?.state === "on") {
    const mode = passthrough.attributes.mode;
    out.string(
      "passthrough",
      mode === "sync_pt" || mode === "share_pt" ? mode : "enabled",
    );
  }
  for (const timer of definition.clock?.timers ?? []) {
    if (timer.name === "tsc") {
      const modes: Record<string, string> = {
        native: "native",
        paravirt: "native_paravirt",
        emulate: "always_emulate",
      };
      out.string("tsc_mode", modes[timer.mode ?? ""] ?? "default");
    } else if (timer.name === "hpet") {
      if (!hvm) throw unsupported(`unsupported timer type (name) '${timer.name}'`, "clock");
      out.number("hpet", timer.present === "no" ? 0 : 1);
    } else {
      throw unsupported(`unsupported timer type (name) '${timer.name}'`, "clock");
    }
  }
}

function formatClock(out: XenConfWriter, definition: DomainDefinition, hvm: boolean): void {
  const clock = definition.clock;
  const offset = clock?.offset ?? "utc";
  let localtime: number;
  if (hvm) {
    let adjustment = 0;
    if (offset === "variable") {
      localtime = clock?.basis === "localtime" ? 1 : 0;
      adjustment = Number(clock?.adjustment ?? "0");
    } else if (offset === "utc" || offset === "localtime") {
      if (clock?.adjustment === "reset") {
        throw unsupported("unsupported clock adjustment='reset'", "clock");
      }
      localtime = offset === "localtime" ? 1 : 0;
    } else {
      throw unsupported(`unsupported clock offset='${offset}'`, "clock");
    }
    out.number("rtc_timeoffset", adjustment);
  } else {
    if (offset !== "utc" && offset !== "localtime") {
      throw unsupported(`unsupported clock offset='${offset}'`, "clock");
    }
    localtime = offset === "localtime" ? 1 : 0;
  }
  out.number("localtime", localtime);
}

function formatFramebuffer(out: XenConfWriter, definition: DomainDefinition, hvm: boolean) {
  const all = definition.devices.graphics;
  if (all.length !== 1 || all[0].type === "spice") return;
  const graphics = all[0];
  const autoport = graphics.autoport === "yes";
  const listen = graphics.listens[0]?.address ?? graphics.listen;
  if (hvm) {
    if (graphics.type === "sdl") {
      out.number("sdl", 1);
      out.number("vnc", 0);
      if (graphics.display !== undefined) out.string("display", graphics.display);
      if (graphics.xauth !== undefined) out.string("xauthority", graphics.xauth);
    } else {
      out.number("sdl", 0);
      out.number("vnc", 1);
      out.number("vncunused", autoport ? 1 : 0);
      if (!autoport) out.number("vncdisplay", (graphics.port ?? 0) - 5900);
      if (listen !== undefined) out.string("vnclisten", listen);
      if (graphics.passwd !== undefined) out.string("vncpasswd", graphics.passwd);
      if (graphics.keymap !== undefined) out.string("keymap", graphics.keymap);
    }
    return;
  }
  let text: string;
  if (graphics.type === "sdl") {
    text = "type=sdl";
    if (graphics.display !== undefined) text += `,display=${graphics.display}`;
    if (graphics.xauth !== undefined) text += `,xauthority=${graphics.xauth}`;
  } else {
    text = `type=vnc,vncunused=${autoport ? 1 : 0}`;
    if (!autoport) text += `,vncdisplay=${(graphics.port ?? 0) - 5900}`;
    if (listen !== undefined) text += `,vnclisten=${listen}`;
    if (graphics.passwd !== undefined) text += `,vncpasswd=${graphics.passwd}`;
    if (graphics.keymap !== undefined) text += `,keymap=${graphics.keymap}`;
  }
  out.strings("vfb", [text]);
}

function formatVif(
  net: NetInterface,
  hvm: boolean,
  vifTypename: string,
  bridges: NetworkBridges,
): string {
  let text = `mac=${net.mac ?? "00:00:00:00:00:00"}`;
  const script = extraElement(net, "script")?.attributes?.path;
  // Addresses typed by the model (`ips`, as parsed from XML) or kept in order as read from a file.
  const ips = [
    ...(net.ips ?? []).map((ip) => ip.address),
    ...extraElements(net, "ip").map((element) => element.attributes?.address ?? ""),
  ];
  if (net.type === "bridge") {
    const openvswitch = extraElement(net, "virtualport")?.attributes?.type === "openvswitch";
    let bridge = `,bridge=${net.source?.bridge ?? ""}`;
    if (openvswitch) {
      const vlan = extraElement(net, "vlan");
      const tags = vlan === undefined
        ? []
        : childElements(vlan, "tag").map((tag) => tag.attributes?.id ?? "");
      if (tags.length > 0) {
        bridge += vlan?.attributes?.trunk === "yes"
          ? tags.map((tag) => `:${tag}`).join("")
          : `.${tags[0]}`;
      }
    }
    text += bridge;
    if (ips.length > 0) text += `,ip=${ips.join(" ")}`;
    text += `,script=${script ?? (openvswitch ? "vif-openvswitch" : "vif-bridge")}`;
  } else if (net.type === "ethernet") {
    if (script !== undefined) text += `,script=${script}`;
    if (ips.length > 0) text += `,ip=${ips.join(" ")}`;
  } else if (net.type === "network") {
    text += `,bridge=${bridges(net.source?.network ?? "")},script=vif-bridge`;
  } else {
    throw unsupported(`Unsupported net type '${net.type}'`, "interface");
  }
  if (net.model !== undefined) {
    if (hvm && net.model === "netfront") text += `,type=${vifTypename}`;
    else text += `,model=${net.model}`;
  }
  if (net.target?.dev !== undefined) text += `,vifname=${net.target.dev}`;
  const average = extraElement(net, "bandwidth")?.children?.find((child) =>
    typeof child !== "string" && child.name === "outbound"
  );
  const rate = typeof average === "object" ? average.attributes?.average : undefined;
  if (rate !== undefined && rate !== "0") text += `,rate=${rate}KB/s`;
  return text;
}

function formatPci(out: XenConfWriter, definition: DomainDefinition): void {
  const entries: string[] = [];
  for (const hostdev of definition.devices.hostdevs) {
    if ((hostdev.mode ?? "subsystem") !== "subsystem" || hostdev.type !== "pci") continue;
    const address = hostdev.source?.address ?? {};
    const number = (text: string | undefined) => text === undefined ? 0 : Number(text);
    const hex = (value: number, width: number) => value.toString(16).padStart(width, "0");
    const filtering = hostdev.source?.extra?.attributes?.writeFiltering;
    const permissive = filtering === "yes"
      ? ",permissive=0"
      : filtering === "no"
      ? ",permissive=1"
      : "";
    entries.push(
      `${hex(number(address.domain), 4)}:${hex(number(address.bus), 2)}:${
        hex(number(address.slot), 2)
      }.${hex(number(address.function), 1)}${permissive}`,
    );
  }
  if (entries.length > 0) out.strings("pci", entries);
}

/** A character device as xend writes it (`pty`, `tcp:host:port,server,nowait`, …). */
export function formatCharSource(chardev: Chardev): string {
  const type = chardev.type ?? "pty";
  const source = chardev.sources.find((entry) => entry.mode !== "bind") ?? chardev.sources[0];
  switch (type) {
    case "null":
    case "stdio":
    case "vc":
    case "pty":
      return type;
    case "file":
    case "pipe":
      return `${type}:${escapeSexpr(chardev.sources[0]?.path ?? "")}`;
    case "dev":
      return escapeSexpr(chardev.sources[0]?.path ?? "");
    case "tcp": {
      const tcp = chardev.sources[0];
      return `${chardev.protocol === "telnet" ? "telnet" : "tcp"}:${tcp?.host ?? ""}:${
        tcp?.service ?? ""
      }${tcp?.mode === "bind" ? ",server,nowait" : ""}`;
    }
    case "udp": {
      const bind = chardev.sources.find((entry) => entry.mode === "bind");
      return `udp:${source?.host ?? ""}:${source?.service ?? ""}@${bind?.host ?? ""}:${
        bind?.service ?? ""
      }`;
    }
    case "unix": {
      const unix = chardev.sources[0];
      return `unix:${escapeSexpr(unix?.path ?? "")}${
        unix?.mode === "bind" ? ",server,nowait" : ""
      }`;
    }
    default:
      throw unsupported(`unsupported chr device type '${type}'`, "serial");
  }
}

/** libvirt's S-expression escape: a backslash before `\` and `'`. */
function escapeSexpr(text: string): string {
  return text.replace(/[\\']/g, (char) => `\\${char}`);
}

function formatCharDevices(
  out: XenConfWriter,
  definition: DomainDefinition,
  hvm: boolean,
  dialect: XenDialect,
): void {
  if (!hvm) return;
  const devices = definition.devices;
  out.string(
    "parallel",
    devices.parallels.length > 0 ? formatCharSource(devices.parallels[0]) : "none",
  );
  const serials = withSerialPorts(devices.serials);
  if (serials.length === 0) {
    out.string("serial", "none");
    return;
  }
  if (serials.length === 1 && (serials[0].target?.port ?? 0) === 0) {
    out.string("serial", formatCharSource(serials[0]));
    return;
  }
  if (dialect === "xm") {
    throw unsupported("Multiple serial devices are not supported by xen-xm", "serial");
  }
  const highest = Math.max(...serials.map((serial) => serial.target?.port ?? 0));
  const entries: string[] = [];
  for (let port = 0; port <= highest; port++) {
    const serial = serials.find((candidate) => (candidate.target?.port ?? 0) === port);
    entries.push(serial === undefined ? "none" : formatCharSource(serial));
  }
  out.strings("serial", entries);
}

/**
 * Serial ports with their target port: one without gets one more than the highest port before
 * it, as libvirt's parser numbers them.
 */
export function withSerialPorts(serials: readonly Chardev[]): Chardev[] {
  const numbered: Chardev[] = [];
  for (const serial of serials) {
    if (serial.target?.port !== undefined) {
      numbered.push(serial);
      continue;
    }
    const highest = Math.max(-1, ...numbered.map((each) => each.target?.port ?? -1));
    numbered.push({ ...serial, target: { ...serial.target, port: highest + 1 } });
  }
  return numbered;
}
