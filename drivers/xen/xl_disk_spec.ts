/**
 * One `xl.cfg` disk specification (Xen's xl-disk-configuration): comma-separated
 * `key=value` pairs, flags and positional parameters (target, format, vdev, access in that
 * order; `target=` eats the rest of the string), with the deprecated `phy:`/`file:`/`tap:`…
 * prefixes on the target that xm-style entries carry.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/** What a disk specification says. */
export interface XlDiskSpec {
  /** The backing path (`pdev_path`); undefined for an empty CD-ROM. */
  target?: string;
  /** `raw`, `qcow`, `qcow2`, `vhd`, `qed`, `empty`; undefined when not given. */
  format?: string;
  /** The guest device (`xvda`, `hdc`). */
  vdev: string;
  /** Whether the guest may write. */
  readwrite: boolean;
  /** Whether it is a CD-ROM. */
  cdrom: boolean;
  /** `phy`, `tap`, `qdisk`, `standalone`; undefined when not given. */
  backendtype?: string;
}

const FORMATS: Record<string, string> = {
  raw: "raw",
  qcow: "qcow",
  qcow2: "qcow2",
  vhd: "vhd",
  qed: "qed",
  empty: "empty",
};
const BACKENDS = new Set(["phy", "tap", "qdisk", "standalone"]);
const FLAGS = new Set([
  "cdrom",
  "direct-io-safe",
  "discard",
  "no-discard",
  "colo",
  "trusted",
  "untrusted",
]);
const DEPRECATED_FORMAT_PREFIX = /^(raw|qcow2?|vhd):/;
const DEPRECATED_PREFIX = /^(tapdisk|tap2?|aio|ioemu|file|phy):/;

function fail(spec: string, detail: string): never {
  throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, `disk spec '${spec}': ${detail}`, {
    where: "disk",
  });
}

function setFormat(spec: string, result: Partial<XlDiskSpec>, value: string): void {
  if (value === "") return;
  const format = FORMATS[value];
  if (format === undefined) fail(spec, `unknown value for format: ${value}`);
  result.format = format;
}

function setAccess(spec: string, result: Partial<XlDiskSpec>, value: string): void {
  // libvirt writes `!` for a shareable disk; it reads back as read-write.
  if (["", "rw", "w", "!", "w!", "rw!"].includes(value)) result.readwrite = true;
  else if (value === "r" || value === "ro") result.readwrite = false;
  else fail(spec, `unknown value for access: ${value}`);
}

/** Strips the deprecated prefixes off a positional target, noting a format they imply. */
function stripPrefixes(result: Partial<XlDiskSpec>, target: string): [string, boolean] {
  let path = target;
  let prefixed = false;
  for (;;) {
    const format = DEPRECATED_FORMAT_PREFIX.exec(path);
    if (format !== null) {
      result.format = FORMATS[format[1]];
      path = path.slice(format[0].length);
      prefixed = true;
      continue;
    }
    const other = DEPRECATED_PREFIX.exec(path);
    if (other !== null) {
      path = path.slice(other[0].length);
      prefixed = true;
      continue;
    }
    return [path, prefixed];
  }
}

/**
 * Parses one disk specification.
 *
 * @example
 * ```ts
 * import { parseXlDiskSpec } from "./xl_disk_spec.ts";
 * parseXlDiskSpec("format=raw,vdev=xvda,access=rw,target=/dev/vg/guest").vdev; // "xvda"
 * ```
 *
 * @throws {VirtError} Code 67 for an unknown key or value, a missing vdev, or too many
 *   positional parameters.
 */
export function parseXlDiskSpec(spec: string): XlDiskSpec {
  const result: Partial<XlDiskSpec> = { readwrite: true, cdrom: false };
  let targetSet = false;
  let deprecatedPrefix = false;
  let formatDone = false;
  let vdevSet = false;
  let accessSet = false;
  let rest = spec;
  while (rest.length > 0) {
    rest = rest.replace(/^[ \t\n]+/, "");
    if (rest.startsWith("target=")) {
      result.target = rest.slice("target=".length);
      targetSet = true;
      break;
    }
    const comma = rest.indexOf(",");
    const token = comma === -1 ? rest : rest.slice(0, comma);
    rest = comma === -1 ? "" : rest.slice(comma + 1);
    const named = /^([a-z][-a-z0-9]*)=(.*)$/.exec(token);
    if (named !== null) {
      const [, key, value] = named;
      if (key === "format") {
        setFormat(spec, result, value);
        formatDone = true;
      } else if (key === "vdev") {
        result.vdev = value;
        vdevSet = true;
      } else if (key === "access") {
        setAccess(spec, result, value);
        accessSet = true;
      } else if (key === "devtype") {
        if (value === "cdrom") result.cdrom = true;
        else if (value !== "disk") fail(spec, `unknown value for type: ${value}`);
      } else if (key === "backendtype") {
        if (!BACKENDS.has(value)) fail(spec, `unknown value for backendtype: ${value}`);
        result.backendtype = value;
      } else if (
        ![
          "backend",
          "script",
          "colo-host",
          "colo-port",
          "colo-export",
          "active-disk",
          "hidden-disk",
          "specification",
          "transport",
        ].includes(key)
      ) {
        fail(spec, `unknown parameter '${key}'`);
      }
      continue;
    }
    if (FLAGS.has(token)) {
      if (token === "cdrom") result.cdrom = true;
      continue;
    }
    if (token.includes("=")) fail(spec, `unknown parameter '${token}'`);
    if (!targetSet) {
      const [path, prefixed] = stripPrefixes(result, token);
      result.target = path;
      targetSet = true;
      deprecatedPrefix = prefixed;
      if (prefixed) formatDone = true;
    } else if (!formatDone && !deprecatedPrefix) {
      setFormat(spec, result, token);
      formatDone = true;
    } else if (!vdevSet) {
      let vdev = token;
      if (vdev.endsWith(":cdrom")) {
        vdev = vdev.slice(0, -":cdrom".length);
        result.cdrom = true;
      }
      result.vdev = vdev;
      vdevSet = true;
    } else if (!accessSet) {
      setAccess(spec, result, token);
      accessSet = true;
    } else {
      fail(spec, "too many positional parameters");
    }
  }
  if (result.vdev === undefined || result.vdev === "") fail(spec, "no vdev specified");
  if (result.cdrom) {
    result.readwrite = false;
    if (result.target === undefined || result.target === "") result.format = "empty";
  }
  if (result.target === "") delete result.target;
  return result as XlDiskSpec;
}
