/**
 * Connection procedures: authentication list, open and close, feature probes, and the host's
 * identity (type, versions, hostname, URI, capabilities, sysinfo, node info, CPU map).
 *
 * @module
 */

import type { DomainCapabilitiesQuery } from "../model/capabilities.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import {
  capabilitiesDocument,
  domainCapabilitiesDocument,
} from "../projections/host_capabilities.ts";
import { checkFlags } from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { nonnullString, optionalString } from "./protocol.ts";
import { x } from "./xdr.ts";

/** libvirt's driver features (`VIR_DRV_FEATURE_*`) evirt's server supports. */
const SUPPORTED_FEATURES: ReadonlySet<number> = new Set([
  9, // TYPED_PARAM_STRING: typed parameters may carry strings
  13, // REMOTE_EVENT_CALLBACK: events carry a callback id
  14, // REMOTE_CLOSE_CALLBACK
  15, // PROGRAM_KEEPALIVE
  16, // NETWORK_UPDATE_HAS_CORRECT_ORDER: virNetworkUpdate's command and section not swapped
]);

/**
 * The migration features of a host in a fleet (`migration_procedures.ts`): peer-to-peer (4)
 * with the V3 protocol (6) and its parameters (12), offline (11). `virsh migrate --p2p` then
 * calls `virDomainMigratePerform3Params` on the source alone; without it, libvirt's client
 * (seeing parameters on both hosts) drives Begin3, Prepare3, Perform3, Finish3 and Confirm3
 * with parameters itself. Change protection (7) is not offered: Begin records nothing.
 */
const MIGRATION_FEATURES: ReadonlySet<number> = new Set([4, 6, 11, 12]);

/** The keepalive feature, answerable before the connection is open (as libvirt does). */
const FEATURE_PROGRAM_KEEPALIVE = 15;

/** `VIR_CONNECT_RO`: the client asks for a read-only connection. */
export const CONNECT_READ_ONLY = 1;

/**
 * The libvirt API version evirt's server implements, as `virConnectGetLibVersion` reports it:
 * the protocol and procedures are libvirt 9.0's, so clients' feature checks see that version.
 */
export const LIB_VERSION = 9_000_000;

/** `major * 1,000,000 + minor * 1,000 + micro` of a version text like `7.2.0`. */
export function versionNumber(text: string): number {
  const match = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (match === null) return 0;
  return Number(match[1]) * 1_000_000 + Number(match[2]) * 1000 + Number(match[3] ?? 0);
}

/** The connection procedures. */
export const CONNECT_PROCEDURES: ProcedureTable = {
  virConnectAuthList: {
    proc: 66,
    readOnly: true,
    beforeOpen: true,
    args: x.void,
    ret: x.struct(["types", x.array(x.int, 20)]),
    // AUTH_NONE: access is the socket file's permission, as libvirt's unix sockets.
    handler: () => ({ types: [0] }),
  },
  virConnectOpen: {
    proc: 1,
    readOnly: true,
    beforeOpen: true,
    args: x.struct(["name", optionalString], ["flags", x.uint]),
    ret: x.void,
    handler: async (args: { name: string | null; flags: number }, context) => {
      await context.open(args.name, args.flags);
    },
  },
  virConnectClose: {
    proc: 2,
    readOnly: true,
    beforeOpen: true,
    args: x.void,
    ret: x.void,
    handler: async (_args, context) => {
      await context.close();
    },
  },
  virConnectSupportsFeature: {
    proc: 60,
    readOnly: true,
    beforeOpen: true,
    args: x.struct(["feature", x.int]),
    ret: x.struct(["supported", x.int]),
    handler: (args: { feature: number }, context) => {
      if (args.feature !== FEATURE_PROGRAM_KEEPALIVE) context.target();
      if (MIGRATION_FEATURES.has(args.feature)) {
        return { supported: context.target().fleet?.moveLive === undefined ? 0 : 1 };
      }
      return { supported: SUPPORTED_FEATURES.has(args.feature) ? 1 : 0 };
    },
  },
  virConnectRegisterCloseCallback: {
    proc: 360,
    readOnly: true,
    args: x.void,
    ret: x.void,
    // The close callback is the client's own: the server only has to accept the registration.
    handler: () => undefined,
  },
  virConnectUnregisterCloseCallback: {
    proc: 361,
    readOnly: true,
    args: x.void,
    ret: x.void,
    handler: () => undefined,
  },
  virConnectGetType: {
    proc: 3,
    readOnly: true,
    args: x.void,
    ret: x.struct(["type", nonnullString]),
    handler: (_args, context) => ({ type: context.target().hypervisorType }),
  },
  virConnectGetVersion: {
    proc: 4,
    readOnly: true,
    args: x.void,
    ret: x.struct(["hv_ver", x.uhyper]),
    handler: (_args, context) => {
      const { host, hypervisorType } = context.target();
      const driver =
        host.drivers.find((each) => each.name === (hypervisorType === "Test" ? "test" : "qemu")) ??
          host.drivers[0];
      return { hv_ver: versionNumber(driver?.hypervisorVersion ?? "") };
    },
  },
  virConnectGetLibVersion: {
    proc: 157,
    readOnly: true,
    args: x.void,
    ret: x.struct(["lib_ver", x.uhyper]),
    handler: () => ({ lib_ver: LIB_VERSION }),
  },
  virConnectGetHostname: {
    proc: 59,
    readOnly: true,
    args: x.void,
    ret: x.struct(["hostname", nonnullString]),
    handler: (_args, context) => ({ hostname: context.target().hostname() }),
  },
  virConnectGetURI: {
    proc: 110,
    readOnly: true,
    args: x.void,
    ret: x.struct(["uri", nonnullString]),
    handler: (_args, context) => ({ uri: context.target().uri }),
  },
  virConnectIsSecure: {
    proc: 149,
    readOnly: true,
    args: x.void,
    ret: x.struct(["secure", x.int]),
    // A local unix socket cannot be eavesdropped on, which is what libvirt calls secure.
    handler: () => ({ secure: 1 }),
  },
  virConnectGetCapabilities: {
    proc: 7,
    readOnly: true,
    args: x.void,
    ret: x.struct(["capabilities", nonnullString]),
    handler: async (_args, context) => {
      const target = context.target();
      return {
        capabilities: await capabilitiesDocument(target.host, target.nodeInfo()),
      };
    },
  },
  virConnectGetSysinfo: {
    proc: 203,
    readOnly: true,
    args: x.struct(["flags", x.uint]),
    ret: x.struct(["sysinfo", nonnullString]),
    handler: () => ({ sysinfo: sysinfoXml() }),
  },
  virNodeGetInfo: {
    proc: 6,
    readOnly: true,
    args: x.void,
    ret: x.struct(
      ["model", x.vector(x.int, 32)],
      ["memory", x.uhyper],
      ["cpus", x.int],
      ["mhz", x.int],
      ["nodes", x.int],
      ["sockets", x.int],
      ["cores", x.int],
      ["threads", x.int],
    ),
    handler: (_args, context) => {
      const node = context.target().nodeInfo();
      // `char model[32]`: a NUL-terminated C string, each char one XDR word.
      const model = new Array<number>(32).fill(0);
      const bytes = new TextEncoder().encode(node.model).subarray(0, 31);
      bytes.forEach((byte, index) => model[index] = byte > 127 ? byte - 256 : byte);
      return {
        model,
        memory: node.memoryKiB,
        cpus: node.cpus,
        mhz: node.mhz,
        nodes: node.nodes,
        sockets: node.sockets,
        cores: node.cores,
        threads: node.threads,
      };
    },
  },
  virNodeGetFreeMemory: {
    proc: 102,
    readOnly: true,
    args: x.void,
    ret: x.struct(["freeMem", x.uhyper]),
    handler: () => ({ freeMem: freeMemoryBytes() }),
  },
  virConnectGetDomainCapabilities: {
    proc: 342,
    readOnly: true,
    args: x.struct(
      ["emulatorbin", optionalString],
      ["arch", optionalString],
      ["machine", optionalString],
      ["virttype", optionalString],
      ["flags", x.uint],
    ),
    ret: x.struct(["capabilities", nonnullString]),
    handler: async (
      args: {
        emulatorbin: string | null;
        arch: string | null;
        machine: string | null;
        virttype: string | null;
        flags: number;
      },
      context,
    ) => {
      const query: DomainCapabilitiesQuery = {};
      if (args.emulatorbin !== null) query.emulator = args.emulatorbin;
      if (args.arch !== null) query.arch = args.arch;
      if (args.machine !== null) query.machine = args.machine;
      if (args.virttype !== null) query.virttype = args.virttype;
      // VIR_CONNECT_GET_DOMAIN_CAPABILITIES_DISABLE_DEPRECATED_FEATURES: no deprecated host-model
      // features are reported anyway.
      checkFlags(args.flags, 1, "virConnectGetDomainCapabilities");
      return { capabilities: await domainCapabilitiesDocument(context.target().host, query) };
    },
  },
  virNodeGetSecurityModel: {
    proc: 122,
    readOnly: true,
    args: x.void,
    ret: x.struct(["model", x.array(x.int, 257)], ["doi", x.array(x.int, 257)]),
    // evirt confines guests with no security driver, which libvirt reports as model "none".
    handler: () => ({ model: cString(SECURITY_MODEL), doi: cString(SECURITY_DOI) }),
  },
  virNodeGetCPUMap: {
    proc: 293,
    readOnly: true,
    args: x.struct(["need_map", x.int], ["need_online", x.int], ["flags", x.uint]),
    ret: x.struct(["cpumap", x.opaque(2048)], ["online", x.uint], ["ret", x.int]),
    handler: (args: { need_map: number; need_online: number }, context) => {
      const cpus = Math.max(1, context.target().nodeInfo().cpus);
      const map = new Uint8Array(Math.ceil(cpus / 8));
      for (let cpu = 0; cpu < cpus; cpu++) map[cpu >> 3] |= 1 << (cpu & 7);
      return {
        cpumap: args.need_map ? map : new Uint8Array(),
        online: args.need_online ? cpus : 0,
        ret: cpus,
      };
    },
  },
};

/** The security model evirt reports: no security driver, as libvirt's `security_driver = "none"`. */
export const SECURITY_MODEL = "none";
/** The domain of interpretation of {@linkcode SECURITY_MODEL}. */
export const SECURITY_DOI = "0";

/** A NUL-terminated C string as libvirt's `char x<N>` arrays carry it: one XDR word per char. */
export function cString(text: string): number[] {
  return [...new TextEncoder().encode(text)].map((byte) => byte > 127 ? byte - 256 : byte)
    .concat(0);
}

/** The host's free memory in bytes (`MemFree` of /proc/meminfo), as libvirt reports it. */
function freeMemoryBytes(): number {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/meminfo");
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot read /proc/meminfo: ${(error as Error).message}`,
    );
  }
  const match = /^MemFree:\s*(\d+)\s*kB/m.exec(text);
  if (match === null) throw new VirtError(ErrorCode.INTERNAL_ERROR, "no MemFree in /proc/meminfo");
  return Number(match[1]) * 1024;
}

const DMI_FIELDS: ReadonlyArray<[string, string, string]> = [
  ["bios", "vendor", "bios_vendor"],
  ["bios", "version", "bios_version"],
  ["bios", "date", "bios_date"],
  ["system", "manufacturer", "sys_vendor"],
  ["system", "product", "product_name"],
  ["system", "version", "product_version"],
  ["system", "family", "product_family"],
];

/** The host's SMBIOS facts that the kernel exposes to everyone (no serials, no uuid). */
function sysinfoXml(): string {
  const sections = new Map<string, string[]>();
  for (const [section, name, file] of DMI_FIELDS) {
    let value: string;
    try {
      value = Deno.readTextFileSync(`/sys/class/dmi/id/${file}`).trim();
    } catch {
      continue;
    }
    if (value === "") continue;
    const escaped = value.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
    const lines = sections.get(section) ?? [];
    lines.push(`    <entry name='${name}'>${escaped}</entry>\n`);
    sections.set(section, lines);
  }
  if (sections.size === 0) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "Host SMBIOS information is not available");
  }
  let xml = "<sysinfo type='smbios'>\n";
  for (const [section, lines] of sections) {
    xml += `  <${section}>\n${lines.join("")}  </${section}>\n`;
  }
  return `${xml}</sysinfo>\n`;
}
