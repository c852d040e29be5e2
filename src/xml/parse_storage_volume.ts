/**
 * Volume XML (`<volume>…</volume>`) → {@linkcode VolumeDefinition}, read in the context of its
 * pool's type as libvirt 9.0 does (virStorageVolDefParseXML): the pool decides which formats a
 * volume may have and the default one; sizes take units; allocation defaults to capacity;
 * `<features>` implies compat 1.1.
 *
 * Elements evirt does not know are refused with code 67 and their path.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import { POOL_TYPE_INFO, type PoolType, type PoolTypeInfo } from "../model/storage_pool.ts";
import {
  VOLUME_FEATURES,
  VOLUME_TYPES,
  type VolumeBackingStore,
  type VolumeDefinition,
  type VolumeEncryption,
  type VolumeFeature,
  type VolumeType,
} from "../model/storage_volume.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import {
  attributeOf,
  childrenNamed,
  childText,
  elementsOf,
  firstChild,
  parsePermissions,
  parseSecretReference,
  parseSize,
  refuseUnknown,
} from "./storage_xml_common.ts";
import { readXml, type XmlReadOptions } from "./xml_reader.ts";

/** How `<capacity>` is treated (libvirt's VIR_VOL_XML_PARSE_* flags). */
export type CapacityRule =
  /** Required (vol-create). */
  | "required"
  /** Optional when the volume has a backing store (vol-create with a backing store). */
  | "optional-with-backing"
  /** Optional (vol-create-from: the source decides). */
  | "optional";

/** Options of {@linkcode parseVolumeXml}. */
export interface ParseVolumeOptions extends XmlReadOptions {
  /** The capacity rule. Default `"required"`. */
  capacity?: CapacityRule;
}

const VOLUME_CHILDREN = [
  "name",
  "key",
  "source",
  "capacity",
  "allocation",
  "physical",
  "target",
  "backingStore",
];
const TARGET_CHILDREN = [
  "path",
  "format",
  "permissions",
  "encryption",
  "compat",
  "nocow",
  "clusterSize",
  "features",
  "timestamps",
];

/**
 * Parses volume XML for a pool of type `poolType`.
 *
 * @throws {VirtError} libvirt's code and message, with where the problem is.
 *
 * @example
 * ```ts
 * import { parseVolumeXml } from "./parse_storage_volume.ts";
 * const volume = parseVolumeXml("<volume><name>a.img</name><capacity unit='G'>1</capacity></volume>", "dir");
 * console.log(volume.capacityBytes, volume.format); // 1073741824n "raw"
 * ```
 */
export function parseVolumeXml(
  text: string,
  poolType: PoolType,
  options: ParseVolumeOptions = {},
): VolumeDefinition {
  return parseVolumeElement(readXml(text, options), poolType, options.capacity ?? "required");
}

/**
 * Parses a `<volume>` element already read.
 *
 * @throws {VirtError} As {@linkcode parseVolumeXml}.
 */
export function parseVolumeElement(
  root: XmlElement,
  poolType: PoolType,
  capacityRule: CapacityRule = "required",
): VolumeDefinition {
  if (root.name !== "volume") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `unexpected root element <${root.name}>, expecting <volume>`,
      { where: `/${root.name}` },
    );
  }
  refuseUnknown(root, "/volume", VOLUME_CHILDREN, ["type"]);
  const info = POOL_TYPE_INFO[poolType];
  const name = childText(root, "name");
  if (name === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing volume name element", {
      where: "/volume/name",
    });
  }
  const source = firstChild(root, "source");
  // A volume's source extents are what a refresh finds; libvirt reads them as nothing.
  if (source !== undefined) refuseUnknown(source, "/volume/source", ["device"]);
  const backingStore = parseBackingStore(firstChild(root, "backingStore"), info);
  const capacityElement = firstChild(root, "capacity");
  const capacityText = childText(root, "capacity");
  let capacityBytes = 0n;
  if (capacityText !== undefined) {
    capacityBytes = parseSize(
      capacityText,
      attributeOf(capacityElement, "unit"),
      "/volume/capacity",
    );
  } else if (
    capacityRule === "required" ||
    (capacityRule === "optional-with-backing" && backingStore === undefined)
  ) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing capacity element", {
      where: "/volume/capacity",
    });
  }
  const allocationText = childText(root, "allocation");
  const allocationBytes = allocationText === undefined ? capacityBytes : parseSize(
    allocationText,
    attributeOf(firstChild(root, "allocation"), "unit"),
    "/volume/allocation",
  );
  const volume: VolumeDefinition = {
    type: readType(root),
    name,
    capacityBytes,
    allocationBytes,
    allocationGiven: allocationText !== undefined,
    permissions: {},
    nocow: false,
    clusterSizeBytes: 0n,
  };
  const key = childText(root, "key");
  if (key !== undefined) volume.key = key;
  if (backingStore !== undefined) volume.backingStore = backingStore;
  readTarget(firstChild(root, "target"), info, volume);
  return volume;
}

function readType(root: XmlElement): VolumeType {
  const type = attributeOf(root, "type");
  if (type === undefined) return "file";
  if (!(VOLUME_TYPES as readonly string[]).includes(type)) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `unknown volume type '${type}'`, {
      where: "/volume/@type",
    });
  }
  return type as VolumeType;
}

function readFormat(
  element: XmlElement | undefined,
  info: PoolTypeInfo,
  where: string,
): string | undefined {
  if (info.volumeFormats.length === 0) return undefined;
  const format = attributeOf(firstChild(element, "format"), "type");
  if (format === undefined) return info.volumeFormats[info.volumeFormatDefault];
  // "none" is the enum's placeholder, not a format a user may name.
  if (format === "none" || !info.volumeFormats.includes(format)) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `unknown volume format type ${format}`, {
      where: `${where}/format/@type`,
    });
  }
  return format;
}

function parseBackingStore(
  element: XmlElement | undefined,
  info: PoolTypeInfo,
): VolumeBackingStore | undefined {
  if (element === undefined) return undefined;
  const where = "/volume/backingStore";
  refuseUnknown(element, where, ["path", "format", "permissions"]);
  const path = childText(element, "path");
  if (path === undefined) return undefined;
  const backing: VolumeBackingStore = {
    path,
    permissions: parsePermissions(firstChild(element, "permissions"), `${where}/permissions`),
  };
  const format = readFormat(element, info, where);
  if (format !== undefined) backing.format = format;
  return backing;
}

function readTarget(
  target: XmlElement | undefined,
  info: PoolTypeInfo,
  volume: VolumeDefinition,
): void {
  const where = "/volume/target";
  if (target !== undefined) refuseUnknown(target, where, TARGET_CHILDREN);
  const path = childText(target, "path");
  if (path !== undefined) volume.path = path;
  const format = readFormat(target, info, where);
  if (format !== undefined) volume.format = format;
  volume.permissions = parsePermissions(firstChild(target, "permissions"), `${where}/permissions`);
  const encryption = firstChild(target, "encryption");
  if (encryption !== undefined) {
    volume.encryption = parseEncryption(encryption, `${where}/encryption`);
  }
  const compat = childText(target, "compat");
  if (compat !== undefined) {
    if (!/^\d+\.\d+$/.test(compat)) {
      throw new VirtError(ErrorCode.XML_ERROR, "forbidden characters in 'compat' attribute", {
        where: `${where}/compat`,
      });
    }
    volume.compat = compat;
  }
  if (firstChild(target, "nocow") !== undefined) volume.nocow = true;
  const cluster = firstChild(target, "clusterSize");
  const clusterText = childText(target, "clusterSize");
  if (clusterText !== undefined) {
    volume.clusterSizeBytes = parseSize(
      clusterText,
      attributeOf(cluster, "unit"),
      `${where}/clusterSize`,
    );
  }
  const features = firstChild(target, "features");
  if (features !== undefined) {
    volume.compat ??= "1.1";
    const found = new Set<VolumeFeature>();
    for (const feature of elementsOf(features)) {
      if (!(VOLUME_FEATURES as readonly string[]).includes(feature.name)) {
        throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `unsupported feature ${feature.name}`, {
          where: `${where}/features/${feature.name}`,
        });
      }
      found.add(feature.name as VolumeFeature);
    }
    volume.features = VOLUME_FEATURES.filter((feature) => found.has(feature));
  }
}

const ENCRYPTION_FORMATS = ["default", "qcow", "luks", "luks2"] as const;

function parseEncryption(element: XmlElement, where: string): VolumeEncryption {
  refuseUnknown(element, where, ["secret", "cipher", "ivgen"], ["format", "engine"]);
  const format = element.attributes?.format;
  if (format === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "unknown volume encryption format type (null)", {
      where,
    });
  }
  if (!(ENCRYPTION_FORMATS as readonly string[]).includes(format)) {
    throw new VirtError(ErrorCode.XML_ERROR, `unknown volume encryption format type ${format}`, {
      where: `${where}/@format`,
    });
  }
  const encryption: VolumeEncryption = {
    format: format as VolumeEncryption["format"],
    secrets: childrenNamed(element, "secret").map((secret, index) => {
      const at = `${where}/secret[${index + 1}]`;
      const type = secret.attributes?.type;
      if (type !== "passphrase") {
        throw new VirtError(
          ErrorCode.XML_ERROR,
          `unknown volume encryption secret type ${type ?? "(null)"}`,
          {
            where: at,
          },
        );
      }
      return parseSecretReference(secret, at);
    }),
  };
  const engine = element.attributes?.engine;
  if (engine !== undefined) {
    if (engine !== "qemu" && engine !== "librbd") {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        `Invalid value for attribute 'engine' in element 'encryption': '${engine}'.`,
        {
          where: `${where}/@engine`,
        },
      );
    }
    encryption.engine = engine;
  }
  const cipher = firstChild(element, "cipher");
  if (cipher !== undefined) {
    refuseUnknown(cipher, `${where}/cipher`, [], ["name", "size", "mode", "hash"]);
    const name = attributeOf(cipher, "name");
    const sizeText = attributeOf(cipher, "size");
    const size = sizeText !== undefined && /^\d+$/.test(sizeText) ? Number(sizeText) : NaN;
    if (name === undefined) {
      throw new VirtError(ErrorCode.XML_ERROR, "cipher info missing 'name' attribute", {
        where: `${where}/cipher`,
      });
    }
    if (!Number.isSafeInteger(size) || size > 2 ** 32 - 1) {
      throw new VirtError(ErrorCode.XML_ERROR, `cannot parse cipher size: '${sizeText ?? ""}'`, {
        where: `${where}/cipher`,
      });
    }
    encryption.cipher = { name, size };
    const mode = attributeOf(cipher, "mode");
    if (mode !== undefined) encryption.cipher.mode = mode;
    const hash = attributeOf(cipher, "hash");
    if (hash !== undefined) encryption.cipher.hash = hash;
  }
  const ivgen = firstChild(element, "ivgen");
  if (ivgen !== undefined) {
    refuseUnknown(ivgen, `${where}/ivgen`, [], ["name", "hash"]);
    const name = attributeOf(ivgen, "name");
    if (name === undefined) {
      throw new VirtError(ErrorCode.XML_ERROR, "missing ivgen info name string", {
        where: `${where}/ivgen`,
      });
    }
    encryption.ivgen = { name };
    const hash = attributeOf(ivgen, "hash");
    if (hash !== undefined) encryption.ivgen.hash = hash;
  }
  return encryption;
}
