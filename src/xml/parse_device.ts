/**
 * One device's XML (`<disk>`, `<interface>`, …) as `attach-device`, `detach-device` and
 * `update-device` take it, decoded with the domain schema's own device specs, so a device reads
 * exactly as it would inside `<devices>`.
 *
 * @module
 */

import type { DomainDefinition } from "../model/domain.ts";
import { DEVICE_LIST_NAMES, type DeviceListName, type DeviceOf } from "../model/device_edit.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { parseDomainXml } from "./parse_domain.ts";
import { readXml } from "./xml_reader.ts";
import { writeXml } from "./xml_writer.ts";

/** Largest device document accepted, in characters. */
export const DEVICE_XML_MAX_CHARS = 1_048_576;

/** A decoded device and the `<devices>` list it belongs to. */
export interface ParsedDevice {
  list: DeviceListName;
  device: DeviceOf<DeviceListName>;
}

/**
 * Decodes one device element.
 *
 * @throws {VirtError} 27 for text that is not one device element of a known kind.
 *
 * @example
 * ```ts
 * import { parseDeviceXml } from "./parse_device.ts";
 * const parsed = parseDeviceXml("<disk type='file'><source file='/i.img'/><target dev='vdb' bus='virtio'/></disk>");
 * console.log(parsed.list); // "disks"
 * ```
 */
export function parseDeviceXml(text: string): ParsedDevice {
  if (text.length > DEVICE_XML_MAX_CHARS) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `device XML is longer than ${DEVICE_XML_MAX_CHARS} characters`,
    );
  }
  const element = readXml(text);
  // Wrapped in a minimal domain, the device decodes as in a definition (same checks, same paths).
  const wrapper = `<domain type='qemu'><name>device</name><memory>1</memory>` +
    `<os><type>hvm</type></os><devices>${writeXml(element)}</devices></domain>`;
  let definition: DomainDefinition;
  try {
    definition = parseDomainXml(wrapper);
  } catch (error) {
    if (error instanceof VirtError) {
      throw new VirtError(error.code, error.message.replace("/domain/devices/", "/"), {
        where: `/${element.name}`,
      });
    }
    throw error;
  }
  const devices = definition.devices as unknown as Record<string, unknown>;
  for (const list of DEVICE_LIST_NAMES) {
    const entries = devices[list];
    if (Array.isArray(entries) && entries.length === 1) {
      return { list, device: entries[0] as DeviceOf<DeviceListName> };
    }
  }
  if (devices.memballoon !== undefined) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      "persistent attach of device 'memballoon' is not supported",
    );
  }
  throw new VirtError(ErrorCode.XML_ERROR, `unknown device type '${element.name}'`, {
    where: `/${element.name}`,
  });
}
