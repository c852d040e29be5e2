/**
 * A definition's `<filesystem>` devices as XML elements, for converters that read them as
 * elements (VMware shared folders, bhyve virtio-9p): the typed ones (`devices.filesystems`,
 * encoded by the domain schema) first, then any kept untyped in `devices.extra`.
 *
 * @module
 */

import type { DomainDefinition, XmlElement } from "../model/domain.ts";
import { FILESYSTEM } from "../model/domain_schema.ts";
import type { Model } from "./element_decode.ts";
import { encodeElement } from "./element_encode.ts";

/**
 * Every `<filesystem>` of `devices` as an element.
 *
 * @example
 * ```ts
 * import { filesystemElements } from "./filesystem_elements.ts";
 * import { emptyDevices } from "../model/domain.ts";
 * const devices = { ...emptyDevices(), filesystems: [{ type: "mount", target: { dir: "/t" } }] };
 * console.log(filesystemElements(devices)[0].name); // "filesystem"
 * ```
 */
export function filesystemElements(devices: DomainDefinition["devices"]): XmlElement[] {
  return [
    ...(devices.filesystems ?? []).map((filesystem) =>
      encodeElement(FILESYSTEM, filesystem as unknown as Model, "filesystem")
    ),
    ...(devices.extra?.elements ?? [])
      .filter((placed) => placed.element.name === "filesystem")
      .map((placed) => placed.element),
  ];
}
