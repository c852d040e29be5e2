/**
 * ESX datastore paths ⇄ the file names a `.vmx` file holds, as libvirt's VMX conversion is
 * given them by its caller (the `virVMXContext` parse/format file-name hooks; evirt follows the
 * mapping libvirt's own VMX tests use, there being no ESX host to ask):
 *
 * - `.vmx` → XML: `/vmfs/volumes/DATASTORE/PATH` → `[DATASTORE] PATH`; any other absolute path
 *   stays as it is; a bare file name lives beside the `.vmx` file, in `[datastore] directory/`;
 *   a relative path with a directory is refused.
 * - XML → `.vmx`: `[DATASTORE] PATH` → `/vmfs/volumes/DATASTORE/PATH`; an absolute path stays;
 *   anything else is refused.
 *
 * A datastore lookup decides whether a referenced file exists: a missing CD-ROM image leaves
 * the drive empty, a missing disk image refuses the conversion.
 *
 * @module
 */

/** Whether the file at `[datastore] path` exists on the host. */
export type DatastoreLookup = (datastore: string, path: string) => boolean;

/** The outcome of mapping a `.vmx` file name: the XML source, or absent for a missing file. */
export type ParsedFileName =
  | { ok: true; source?: string }
  | { ok: false; reason: string };

/** Every datastore file exists (no host to ask). */
export const EVERY_FILE_EXISTS: DatastoreLookup = () => true;

/**
 * Maps a `.vmx` file name to its XML source path.
 *
 * @param fileName The value from the `.vmx` file.
 * @param exists The datastore lookup.
 * @param allowMissing Whether a missing file gives an absent source rather than a refusal.
 *
 * @example
 * ```ts
 * import { EVERY_FILE_EXISTS, parseVmxFileName } from "./datastore_path.ts";
 * console.log(parseVmxFileName("/vmfs/volumes/ds1/vm/vm.vmdk", EVERY_FILE_EXISTS, false));
 * // { ok: true, source: "[ds1] vm/vm.vmdk" }
 * ```
 */
export function parseVmxFileName(
  fileName: string,
  exists: DatastoreLookup,
  allowMissing: boolean,
): ParsedFileName {
  const prefix = "/vmfs/volumes/";
  if (fileName.startsWith(prefix)) {
    // The datastore is the first non-empty component, the path everything after its slash.
    const rest = fileName.slice(prefix.length).replace(/^\/+/, "");
    const slash = rest.indexOf("/");
    const datastore = slash === -1 ? rest : rest.slice(0, slash);
    const path = slash === -1 ? "" : rest.slice(slash + 1);
    if (datastore === "" || path === "") {
      return { ok: false, reason: `Could not parse datastore path '${fileName}'` };
    }
    if (!exists(datastore, path)) {
      return allowMissing
        ? { ok: true }
        : { ok: false, reason: `Referenced missing file '${fileName}'` };
    }
    return { ok: true, source: `[${datastore}] ${path}` };
  }
  if (fileName.startsWith("/")) return { ok: true, source: fileName };
  if (fileName.includes("/")) {
    return { ok: false, reason: `Relative path '${fileName}' is not supported` };
  }
  return { ok: true, source: `[datastore] directory/${fileName}` };
}

/**
 * Maps an XML source path to the file name a `.vmx` file holds, or undefined when it is
 * neither a datastore path nor absolute.
 *
 * @example
 * ```ts
 * import { formatVmxFileName } from "./datastore_path.ts";
 * console.log(formatVmxFileName("[ds1] vm/vm.vmdk")); // "/vmfs/volumes/ds1/vm/vm.vmdk"
 * ```
 */
export function formatVmxFileName(source: string): string | undefined {
  if (source.startsWith("[")) {
    // `[DATASTORE] PATH`: the datastore ends at the first `]`, the path may be empty.
    const body = source.slice(1);
    const close = body.indexOf("]");
    if (close === 0 || body === "") return undefined;
    const datastore = close === -1 ? body : body.slice(0, close);
    const path = close === -1 ? "" : body.slice(close + 1).replace(/^ +/, "");
    return `/vmfs/volumes/${datastore}/${path}`;
  }
  if (source.startsWith("/")) return source;
  return undefined;
}
