/**
 * Pool XML (`<pool type='dir'>…</pool>`) → {@linkcode PoolDefinition}, with libvirt 9.0's rules
 * (virStoragePoolDefParseXML): which `<source>` parts each type needs, the source name and
 * target path defaults, sanitised paths, permissions, and its error codes and messages.
 *
 * Live figures (`<capacity>`, `<allocation>`, `<available>`, a device's `<freeExtent>`) are
 * read by libvirt as nothing and by evirt too. Elements evirt does not know are refused with
 * code 67 and their path, never dropped silently.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import {
  isPoolType,
  POOL_TYPE_INFO,
  type PoolDefinition,
  type PoolSource,
  type PoolSourceAdapter,
  type PoolSourceAuth,
  type PoolType,
  type PoolTypeInfo,
} from "../model/storage_pool.ts";
import type { XmlElement } from "../model/xml_extra.ts";
import {
  attributeOf,
  childrenNamed,
  childText,
  elementsOf,
  firstChild,
  parsePermissions,
  parseSecretReference,
  parseUuid,
  refuseUnknown,
  sanitizePath,
} from "./storage_xml_common.ts";
import { readXml, type XmlReadOptions } from "./xml_reader.ts";

const POOL_CHILDREN = [
  "name",
  "uuid",
  "capacity",
  "allocation",
  "available",
  "features",
  "source",
  "target",
  "refresh",
];
const SOURCE_CHILDREN = [
  "name",
  "format",
  "host",
  "device",
  "dir",
  "adapter",
  "auth",
  "protocol",
  "vendor",
  "product",
  "initiator",
];

/**
 * Parses pool XML.
 *
 * @param text The document.
 * @param options Reader limits.
 * @returns The definition; a pool without `<uuid>` gets a new random one, as in libvirt.
 * @throws {VirtError} libvirt's code and message, with where the problem is.
 *
 * @example
 * ```ts
 * import { parsePoolXml } from "./parse_storage_pool.ts";
 * const pool = parsePoolXml("<pool type='dir'><name>p</name><target><path>/tmp//p/</path></target></pool>");
 * console.log(pool.targetPath); // "/tmp/p"
 * ```
 */
export function parsePoolXml(text: string, options: XmlReadOptions = {}): PoolDefinition {
  return parsePoolElement(readXml(text, options));
}

/**
 * Parses a `<pool>` element already read.
 *
 * @throws {VirtError} As {@linkcode parsePoolXml}.
 */
export function parsePoolElement(root: XmlElement): PoolDefinition {
  if (root.name !== "pool") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `unexpected root element <${root.name}>, expecting <pool>`,
      { where: `/${root.name}` },
    );
  }
  const typeName = root.attributes?.type;
  if (typeName === undefined) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      "Missing required attribute 'type' in element 'pool'",
      {
        where: "/pool/@type",
      },
    );
  }
  if (!isPoolType(typeName)) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid value for attribute 'type' in element 'pool': '${typeName}'.`,
      { where: "/pool/@type" },
    );
  }
  const type: PoolType = typeName;
  const info = POOL_TYPE_INFO[type];
  const namespaceOptions = readNamespace(root, info);
  refuseUnknown(
    root,
    "/pool",
    info.namespace === undefined ? POOL_CHILDREN : [...POOL_CHILDREN, namespaceChild(root, info)],
    ["type"],
  );
  const sourceElement = firstChild(root, "source");
  const source = sourceElement === undefined
    ? emptySource(info)
    : parseSource(sourceElement, type, info);

  let name = childText(root, "name");
  if (name === undefined && info.parts.name) name = source.name;
  if (name === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing pool source name element", {
      where: "/pool/name",
    });
  }
  if (name.includes("/")) {
    throw new VirtError(ErrorCode.XML_ERROR, `name ${name} cannot contain '/'`, {
      where: "/pool/name",
    });
  }
  const uuidText = childText(root, "uuid");
  const uuid = uuidText === undefined ? crypto.randomUUID() : parseUuid(uuidText, "/pool/uuid");
  const cow = parseCow(root, type);
  checkRequiredParts(source, info);
  if (info.parts.name && source.name === undefined) source.name = name;

  const definition: PoolDefinition = { type, name, uuid, source, targetPermissions: {} };
  if (cow !== undefined) definition.cow = cow;
  if (!info.parts.network) {
    definition.targetPath = sanitizePath(targetPath(root, type, source));
    const target = firstChild(root, "target");
    if (target !== undefined) refuseUnknown(target, "/pool/target", ["path", "permissions"]);
    definition.targetPermissions = parsePermissions(
      firstChild(target, "permissions"),
      "/pool/target/permissions",
    );
  }
  if (type === "iscsi-direct" && source.initiatorIqn === undefined) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "missing initiator IQN", {
      where: "/pool/source/initiator",
    });
  }
  const refresh = parseRefresh(root);
  if (refresh !== undefined) definition.refreshAllocation = refresh;
  if (namespaceOptions !== undefined) definition.namespaceOptions = namespaceOptions;
  return definition;
}

function emptySource(info: PoolTypeInfo): PoolSource {
  const source: PoolSource = { hosts: [], devices: [] };
  if (info.sourceFormats.length > 0) source.format = info.sourceFormats[info.sourceFormatDefault];
  return source;
}

function parseSource(element: XmlElement, type: PoolType, info: PoolTypeInfo): PoolSource {
  const where = "/pool/source";
  refuseUnknown(element, where, SOURCE_CHILDREN);
  const source = emptySource(info);
  const name = childText(element, "name");
  if (name !== undefined) source.name = name;
  if (type === "rbd" && name === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "element 'name' is mandatory for RBD pool", {
      where: `${where}/name`,
    });
  }
  if (info.sourceFormats.length > 0) {
    const format = attributeOf(firstChild(element, "format"), "type");
    if (format !== undefined) {
      if (!info.sourceFormats.includes(format)) {
        throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `unknown pool format type ${format}`, {
          where: `${where}/format/@type`,
        });
      }
      source.format = format;
    }
  }
  childrenNamed(element, "host").forEach((host, index) => {
    const at = `${where}/host[${index + 1}]`;
    refuseUnknown(host, at, [], ["name", "port"]);
    const hostName = attributeOf(host, "name");
    if (hostName === undefined) {
      throw new VirtError(ErrorCode.XML_ERROR, "missing storage pool host name", { where: at });
    }
    const port = readPort(host, at);
    source.hosts.push(port === undefined ? { name: hostName } : { name: hostName, port });
  });
  const initiator = firstChild(element, "initiator");
  if (initiator !== undefined) {
    refuseUnknown(initiator, `${where}/initiator`, ["iqn"]);
    const iqn = attributeOf(firstChild(initiator, "iqn"), "name");
    if (iqn !== undefined) source.initiatorIqn = iqn;
  }
  childrenNamed(element, "device").forEach((device, index) => {
    const at = `${where}/device[${index + 1}]`;
    // A device's free extents are live figures libvirt reads as nothing.
    refuseUnknown(device, at, ["freeExtent"], ["path", "part_separator"]);
    const path = attributeOf(device, "path");
    if (path === undefined) {
      throw new VirtError(ErrorCode.XML_ERROR, "missing storage pool source device path", {
        where: at,
      });
    }
    const separator = readYesNo(device, "part_separator", at);
    source.devices.push(separator === undefined ? { path } : { path, partSeparator: separator });
  });
  const dir = firstChild(element, "dir");
  if (dir !== undefined) refuseUnknown(dir, `${where}/dir`, [], ["path"]);
  const dirPath = attributeOf(dir, "path");
  if (dirPath !== undefined) source.dir = sanitizePath(dirPath);
  if (source.dir === undefined && type === "gluster") source.dir = "/";
  const adapter = firstChild(element, "adapter");
  if (adapter !== undefined) {
    const parsed = parseAdapter(adapter, `${where}/adapter`);
    if (parsed !== undefined) source.adapter = parsed;
  }
  const auth = firstChild(element, "auth");
  if (auth !== undefined) source.auth = parseAuth(auth, `${where}/auth`);
  const protocol = attributeOf(firstChild(element, "protocol"), "ver");
  if (protocol !== undefined) {
    source.protocolVersion = readProtocol(protocol, source, `${where}/protocol`);
  }
  const vendor = attributeOf(firstChild(element, "vendor"), "name");
  if (vendor !== undefined) source.vendor = vendor;
  const product = attributeOf(firstChild(element, "product"), "name");
  if (product !== undefined) source.product = product;
  return source;
}

function readPort(host: XmlElement, where: string): number | undefined {
  const text = host.attributes?.port;
  if (text === undefined) return undefined;
  const value = /^[+-]?\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < -(2 ** 31) || value >= 2 ** 31) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid value for attribute 'port' in element 'host': '${text}'. Expected integer value`,
      { where: `${where}/@port` },
    );
  }
  return value === 0 ? undefined : value;
}

function readYesNo(element: XmlElement, name: string, where: string): boolean | undefined {
  const text = element.attributes?.[name];
  if (text === undefined) return undefined;
  if (text === "yes") return true;
  if (text === "no") return false;
  throw new VirtError(
    ErrorCode.XML_ERROR,
    `Invalid value for attribute '${name}' in element '${element.name}': '${text}'.`,
    { where: `${where}/@${name}` },
  );
}

function readProtocol(text: string, source: PoolSource, where: string): number {
  // libvirt checks the numeric source format, which is "auto"'s 0 for types without formats.
  if (source.format !== undefined && source.format !== "nfs" && source.format !== "auto") {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `storage pool protocol ver unsupported for pool type '${source.format}'`,
      { where },
    );
  }
  const value = /^\s*\d+$/.test(text) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value > 2 ** 32 - 1) {
    throw new VirtError(ErrorCode.XML_ERROR, `storage pool protocol ver '${text}' is malformed`, {
      where,
    });
  }
  return value;
}

function parseAdapter(element: XmlElement, where: string): PoolSourceAdapter | undefined {
  refuseUnknown(element, where, [], [
    "type",
    "name",
    "parent",
    "parent_wwnn",
    "parent_wwpn",
    "parent_fabric_wwn",
    "managed",
    "wwnn",
    "wwpn",
  ]);
  const type = element.attributes?.type;
  const name = attributeOf(element, "name");
  if (type === undefined) {
    const stray = ["wwnn", "wwpn", "parent"].some((key) => attributeOf(element, key) !== undefined);
    if (stray) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        "Use of 'wwnn', 'wwpn', and 'parent' attributes requires use of the adapter 'type'",
        { where },
      );
    }
    return name === undefined ? undefined : { type: "scsi_host", name };
  }
  if (type === "scsi_host") {
    if (name === undefined) {
      throw new VirtError(
        ErrorCode.XML_ERROR,
        "Either 'name' or 'parent' must be specified for the 'scsi_host' adapter",
        { where },
      );
    }
    return { type: "scsi_host", name };
  }
  if (type !== "fc_host") {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `Invalid value for attribute 'type' in element 'adapter': '${type}'.`,
      { where: `${where}/@type` },
    );
  }
  const wwnn = attributeOf(element, "wwnn");
  const wwpn = attributeOf(element, "wwpn");
  if (wwnn === undefined || wwpn === undefined) {
    throw new VirtError(
      ErrorCode.XML_ERROR,
      "'wwnn' and 'wwpn' must be specified for adapter type 'fchost'",
      { where },
    );
  }
  const adapter: PoolSourceAdapter = {
    type: "fc_host",
    wwnn: checkWwn(wwnn, where),
    wwpn: checkWwn(wwpn, where),
  };
  const parent = attributeOf(element, "parent");
  if (parent !== undefined) adapter.parent = parent;
  const parentWwnn = attributeOf(element, "parent_wwnn");
  const parentWwpn = attributeOf(element, "parent_wwpn");
  if ((parentWwnn === undefined) !== (parentWwpn === undefined)) {
    const [given, other] = parentWwnn === undefined
      ? [`parent_wwpn='${parentWwpn}'`, "parent_wwnn"]
      : [`parent_wwnn='${parentWwnn}'`, "parent_wwpn"];
    throw new VirtError(
      ErrorCode.XML_ERROR,
      `when providing ${given}, the ${other} must also be provided`,
      { where },
    );
  }
  if (parentWwnn !== undefined) adapter.parentWwnn = checkWwn(parentWwnn, where);
  if (parentWwpn !== undefined) adapter.parentWwpn = checkWwn(parentWwpn, where);
  const fabric = attributeOf(element, "parent_fabric_wwn");
  if (fabric !== undefined) adapter.parentFabricWwn = checkWwn(fabric, where);
  const managed = readYesNo(element, "managed", where);
  if (managed !== undefined) adapter.managed = managed;
  return adapter;
}

/** libvirt's virValidateWWN: 16 hex digits, an optional `0x` before them. */
function checkWwn(wwn: string, where: string): string {
  const digits = wwn.startsWith("0x") ? wwn.slice(2) : wwn;
  if (!/^[0-9a-fA-F]{16}$/.test(digits)) {
    throw new VirtError(ErrorCode.XML_ERROR, `Malformed wwn: ${wwn}`, { where });
  }
  return wwn;
}

function parseAuth(element: XmlElement, where: string): PoolSourceAuth {
  refuseUnknown(element, where, ["secret"], ["type", "username"]);
  const username = attributeOf(element, "username");
  if (username === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing username for auth", { where });
  }
  const type = element.attributes?.type;
  if (type === undefined) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "storage pool missing auth type", { where });
  }
  if (type !== "chap" && type !== "ceph") {
    throw new VirtError(ErrorCode.XML_ERROR, `unknown auth type '${type}'`, { where });
  }
  const secret = firstChild(element, "secret");
  if (secret === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "Missing <secret> element in auth", { where });
  }
  return { type, username, secret: parseSecretReference(secret, `${where}/secret`) };
}

function parseCow(root: XmlElement, type: PoolType): boolean | undefined {
  const features = firstChild(root, "features");
  if (features === undefined) return undefined;
  refuseUnknown(features, "/pool/features", ["cow"]);
  const cow = firstChild(features, "cow");
  if (cow === undefined) return undefined;
  const state = readYesNo(cow, "state", "/pool/features/cow");
  if (state === undefined) return undefined;
  if (type !== "fs" && type !== "dir") {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      "cow feature may only be used for 'fs' and 'dir' pools",
      {
        where: "/pool/features/cow",
      },
    );
  }
  return state;
}

function checkRequiredParts(source: PoolSource, info: PoolTypeInfo): void {
  const parts = info.parts;
  if (parts.host && source.hosts.length === 0) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing storage pool source host name", {
      where: "/pool/source/host",
    });
  }
  if (parts.dir && source.dir === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing storage pool source path", {
      where: "/pool/source/dir",
    });
  }
  if (parts.adapter && source.adapter === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing storage pool source adapter", {
      where: "/pool/source/adapter",
    });
  }
  const onlyDevice = parts.device && !parts.host && !parts.dir && !parts.adapter && !parts.name &&
    !parts.initiatorIqn && !parts.network;
  if (onlyDevice && source.devices.length === 0) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing storage pool source device name", {
      where: "/pool/source/device",
    });
  }
}

function targetPath(root: XmlElement, type: PoolType, source: PoolSource): string {
  if (type === "logical") return `/dev/${source.name}`;
  if (type === "zfs") return `/dev/zvol/${source.name}`;
  const path = childText(firstChild(root, "target"), "path");
  if (path === undefined) {
    throw new VirtError(ErrorCode.XML_ERROR, "missing storage pool target path", {
      where: "/pool/target/path",
    });
  }
  return path;
}

function parseRefresh(root: XmlElement): "default" | "capacity" | undefined {
  const refresh = firstChild(root, "refresh");
  if (refresh === undefined) return undefined;
  refuseUnknown(refresh, "/pool/refresh", ["volume"]);
  const allocation = attributeOf(firstChild(refresh, "volume"), "allocation");
  if (allocation === undefined) return undefined;
  if (allocation !== "default" && allocation !== "capacity") {
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      `unknown storage pool volume refresh allocation type ${allocation}`,
      { where: "/pool/refresh/volume/@allocation" },
    );
  }
  return allocation;
}

/** The prefix the document binds to the type's namespace URI, if it declares one. */
function namespacePrefix(root: XmlElement, info: PoolTypeInfo): string | undefined {
  const uri = info.namespace?.uri;
  if (uri === undefined) return undefined;
  for (const [name, value] of Object.entries(root.attributes ?? {})) {
    if (name.startsWith("xmlns:") && value === uri) return name.slice("xmlns:".length);
  }
  return undefined;
}

function namespaceChild(root: XmlElement, info: PoolTypeInfo): string {
  const prefix = namespacePrefix(root, info);
  return prefix === undefined ? "" : `${prefix}:${info.namespace?.element}`;
}

function readNamespace(
  root: XmlElement,
  info: PoolTypeInfo,
): { name: string; value?: string }[] | undefined {
  const prefix = namespacePrefix(root, info);
  if (prefix === undefined || info.namespace === undefined) return undefined;
  const container = firstChild(root, `${prefix}:${info.namespace.element}`);
  if (container === undefined) return undefined;
  const where = `/pool/${prefix}:${info.namespace.element}`;
  const withValue = info.namespace.prefix === "rbd";
  const options: { name: string; value?: string }[] = [];
  elementsOf(container).forEach((option, index) => {
    const at = `${where}/${option.name}[${index + 1}]`;
    if (option.name !== `${prefix}:option`) {
      throw new VirtError(
        ErrorCode.CONFIG_UNSUPPORTED,
        `element '${option.name}' is not supported here`,
        {
          where: at,
        },
      );
    }
    refuseUnknown(option, at, [], withValue ? ["name", "value"] : ["name"]);
    const name = attributeOf(option, "name");
    const value = attributeOf(option, "value");
    if (name === undefined || (withValue && value === undefined)) {
      throw new VirtError(ErrorCode.XML_ERROR, "no option name specified", { where: at });
    }
    options.push(withValue ? { name, value } : { name });
  });
  return options;
}
