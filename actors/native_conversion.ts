/**
 * `virConnectDomainXMLFromNative` / `virConnectDomainXMLToNative` over the table of native
 * formats (`native_formats.ts`): the one place the API, the RPC dispatch and the CLI reach a
 * format through, with libvirt's answers for a format it does not know (code 8,
 * `unsupported config type FORMAT`) and for a direction a format lacks (code 3).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";
import { applyDomainDefaults } from "../src/model/domain_defaults.ts";
import { formatDomainXml, parseDomainXml, validateDomain } from "../src/xml/mod.ts";
import type { Driver } from "./driver_protocol.ts";
import type { Networks } from "./networks.ts";
import { NATIVE_FORMATS, type NativeFormat, type NativeFormatHost } from "./native_formats.ts";

/** The most bytes of native configuration or domain XML one conversion reads. */
export const NATIVE_CONFIG_MAX_BYTES = 10 * 1024 * 1024;

function formatOf(name: string): NativeFormat {
  const format = NATIVE_FORMATS.get(name);
  if (format === undefined) {
    throw new VirtError(ErrorCode.INVALID_ARG, `unsupported config type ${name}`, {
      where: "nativeFormat",
    });
  }
  return format;
}

function checkSize(text: string, maxBytes: number, what: string): void {
  if (text.length > maxBytes) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `${what} is larger than the limit of ${maxBytes} bytes`,
      { where: what },
    );
  }
}

/**
 * A native configuration as domain XML (inactive, without secrets, as libvirt's drivers answer).
 *
 * @example
 * ```ts
 * import { domainXmlFromNative } from "./native_conversion.ts";
 * domainXmlFromNative("xen-xl", 'name = "guest"\n').includes("<name>guest</name>"); // true
 * ```
 *
 * @throws {VirtError} Code 8 for an unknown format, 3 when the format cannot be read, and the
 *   format's own refusals.
 */
export function domainXmlFromNative(
  formatName: string,
  config: string,
  maxBytes: number = NATIVE_CONFIG_MAX_BYTES,
): string {
  const format = formatOf(formatName);
  if (format.fromNative === undefined) {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      "virConnectDomainXMLFromNative",
      { where: "nativeFormat" },
    );
  }
  checkSize(config, maxBytes, "nativeConfig");
  return formatDomainXml(format.fromNative(config), { inactive: true });
}

/**
 * The host's side of a conversion: the command line of the driver that runs a definition's
 * type, where that driver builds one (libvirt's code 3 otherwise), and the bridge of a virtual
 * network (code 43, `Network not found: NAME`, when there is none).
 */
export function nativeFormatHost(
  drivers: readonly Driver[],
  networks?: Pick<Networks, "byName" | "bridgeName" | "summary">,
): NativeFormatHost {
  return {
    commandLine(definition) {
      const driver = drivers.find((candidate) =>
        candidate.domainTypes.includes(definition.type) &&
        candidate.nativeCommandLine !== undefined
      );
      if (driver?.nativeCommandLine === undefined) {
        throw new VirtError(ErrorCode.NO_SUPPORT, "virConnectDomainXMLToNative", {
          where: "/domain/@type",
        });
      }
      return driver.nativeCommandLine(definition);
    },
    networkBridge(name) {
      let uuid: string;
      try {
        if (networks === undefined) throw new Error("no networks");
        uuid = networks.summary(networks.byName(name)).uuid;
      } catch {
        throw new VirtError(ErrorCode.NO_NETWORK, name, { where: "/domain/devices/interface" });
      }
      return networks.bridgeName(uuid);
    },
  };
}

/** No driver and no network: the host of a conversion that names none. */
const NO_HOST: NativeFormatHost = nativeFormatHost([]);

/**
 * Domain XML as a native configuration.
 *
 * @example
 * ```ts
 * import { domainXmlToNative } from "./native_conversion.ts";
 * const xml = "<domain type='xen'><name>g</name><memory>524288</memory><os><type>linux</type></os></domain>";
 * (await domainXmlToNative("xen-xl", xml)).startsWith('name = "g"'); // true
 * ```
 *
 * @throws {VirtError} Code 8 for an unknown format, 3 when the format cannot be written, 27 for
 *   malformed XML, and the format's refusals (67 for what it cannot express).
 */
export async function domainXmlToNative(
  formatName: string,
  xml: string,
  maxBytes: number = NATIVE_CONFIG_MAX_BYTES,
  host: NativeFormatHost = NO_HOST,
): Promise<string> {
  const format = formatOf(formatName);
  if (format.toNative === undefined && format.toNativeOnHost === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, "virConnectDomainXMLToNative", {
      where: "nativeFormat",
    });
  }
  const definition = parseDomainXml(xml, { maxBytes });
  // libvirt parses the document with its defaults and validates it before converting; the
  // conversion itself reads the document as written (its defaults are the format's).
  validateDomain(applyDomainDefaults(definition));
  if (format.toNativeOnHost !== undefined) return await format.toNativeOnHost(definition, host);
  return format.toNative!(definition, host);
}
