/**
 * Save images as files (`virDomainSaveImageGetXMLDesc`, `virDomainSaveImageDefineXML`, and the
 * definition a restore starts): the domain XML in an image's header, read and replaced with
 * libvirt's checks. The image's layout is `src/storage/save_image.ts`.
 *
 * @module
 */

import { compressionCommand } from "../src/storage/save_compression.ts";
import { checkCountLimits } from "../src/model/device_limits.ts";
import type { DomainDefinition } from "../src/model/domain.ts";
import { applyDomainDefaults } from "../src/model/domain_defaults.ts";
import { ErrorCode, VirtError } from "../src/model/errors.ts";
import {
  readSaveHeader,
  rewriteSaveHeader,
  type SaveImageHeader,
} from "../src/storage/save_image.ts";
import { writeTestSaveImage } from "../src/storage/test_save_image.ts";
import { formatDomainXml, parseDomainXml, validateDomain } from "../src/xml/mod.ts";
import { checkSaveFlags, imageXml } from "./save_commands.ts";

/** Largest domain XML an image may carry, in bytes (as the API's own definition bound). */
export const IMAGE_XML_MAX_BYTES = 4 * 1024 * 1024;

/** An image's header and the definition its XML gives. */
export interface SaveImage {
  header: SaveImageHeader;
  definition: DomainDefinition;
}

/**
 * Reads a complete image and the definition in it, checked as a define would check it.
 *
 * @throws {VirtError} The header's errors (code 9, or 38 when the file cannot be opened); the
 *   XML's parse and check errors; 84 for a compressed image.
 *
 * @example
 * ```ts ignore
 * const { header, definition } = await readSaveImage("/var/tmp/web.save");
 * ```
 */
export async function readSaveImage(path: string): Promise<SaveImage> {
  const header = await readSaveHeader(path);
  // A number no format has is refused before anything starts.
  compressionCommand(header.compressed, true);
  return { header, definition: withoutPlacement(definitionOfXml(header.xml)) };
}

/**
 * The definition without the `<resource><partition>` the saving daemon placed its QEMU in
 * (libvirtd writes its default `/machine` into a running domain's XML): placement belongs to
 * the host that runs the guest, and evirt runs QEMU where the service runs.
 */
function withoutPlacement(definition: DomainDefinition): DomainDefinition {
  const elements = definition.extra?.elements;
  if (elements === undefined) return definition;
  const kept = elements.filter(({ element }) =>
    element.name !== "resource" || element.attributes !== undefined ||
    (element.children ?? []).some((child) =>
      typeof child !== "string" && child.name !== "partition"
    )
  );
  if (kept.length === elements.length) return definition;
  return { ...definition, extra: { ...definition.extra, elements: kept } };
}

/** The definition an image's (or a caller's) XML gives, with defaults and checks. */
export function definitionOfXml(xml: string): DomainDefinition {
  const parsed = parseDomainXml(xml, { maxBytes: IMAGE_XML_MAX_BYTES });
  checkCountLimits(parsed);
  const definition = applyDomainDefaults(parsed);
  validateDomain(definition, { live: false });
  return definition;
}

/**
 * The XML of an image, as `virsh save-image-dumpxml` prints it (inactive; passwords only with
 * `secure`).
 */
export async function saveImageXml(
  path: string,
  secure: boolean,
  readOwn?: OwnSaveImageReader,
): Promise<string> {
  const definition = readOwn === undefined
    ? (await readSaveImage(path)).definition
    : definitionOfXml(await readOwn(path));
  return formatDomainXml(definition, { inactive: true, secure });
}

/**
 * The reader of a host whose one driver has its own image layout (libvirt's test driver's,
 * `Driver.readOwnSaveImage`): the image's XML.
 */
export type OwnSaveImageReader = (path: string) => Promise<string>;

/**
 * Replaces the XML of an image in place (`save-image-define`): the new definition must name
 * the same domain; `running` / `paused` change the state a restore leaves the guest in.
 *
 * @throws {VirtError} 8 for both flags; 67 for another domain; 9 when the XML does not fit.
 */
export async function defineSaveImage(
  path: string,
  definition: DomainDefinition,
  flags: { running?: boolean; paused?: boolean },
  readOwn?: OwnSaveImageReader,
): Promise<void> {
  checkSaveFlags(flags);
  if (readOwn !== undefined) {
    // libvirt's test driver rewrites the whole file; the flags say nothing to it.
    const live = definitionOfXml(await readOwn(path));
    await writeTestSaveImage(path, live.name, imageXml(live, definition));
    return;
  }
  const image = await readSaveImage(path);
  const xml = imageXml(image.definition, definition);
  const wasRunning = flags.running === true ? true : flags.paused === true ? false : undefined;
  await rewriteSaveHeader(path, xml, wasRunning);
}

/**
 * The path recorded for a managed save that keeps no image (`domain.managed_save_recorded`):
 * libvirt's test driver keeps the managed save as a flag on the domain.
 */
export const MANAGED_SAVE_WITHOUT_IMAGE = "";

/**
 * The path of a domain's managed save image. A driver whose managed save keeps no image
 * (libvirt's test driver, `imageless`) has no call that reads or changes one: code 3 for `api`.
 *
 * @throws {VirtError} 3 for an imageless driver; 55 when the domain has none (libvirt's words).
 */
export function requireManagedSave(
  path: string | null | undefined,
  imageless?: { api: string },
): string {
  if (imageless !== undefined) throw new VirtError(ErrorCode.NO_SUPPORT, imageless.api);
  if (path === null || path === undefined || path === MANAGED_SAVE_WITHOUT_IMAGE) {
    throw new VirtError(ErrorCode.OPERATION_INVALID, "domain does not have managed save image");
  }
  return path;
}
