/**
 * The hugetlbfs mounts QEMU's huge-page guest memory comes from (libvirt's `hugetlbfs_mount`):
 * one per page size, the one of the host's default page size first (a `<hugepages/>` without a
 * `<page>` uses it). Read from `/proc/mounts` (a mount's `pagesize=` option, else the default
 * page size of `/proc/meminfo`), unless the driver is given a list.
 *
 * A domain's huge pages live in its own folder under the mount (`libvirt/qemu/<domain folder>`,
 * as libvirt's), made for QEMU's user at start and removed when the domain ends.
 *
 * @module
 */

import { toKiB } from "../../src/model/units.ts";

/** One hugetlbfs mount. */
export interface HugetlbfsMount {
  /** The mount point, e.g. `/dev/hugepages`. */
  path: string;
  /** The size of its pages, in KiB. */
  pageSizeKiB: number;
}

/**
 * The hugetlbfs mounts of `/proc/mounts` text, default page size first; one per page size (the
 * first listed wins, as libvirt's).
 *
 * @param mountsText `/proc/mounts`.
 * @param meminfoText `/proc/meminfo` (its `Hugepagesize:` is the default page size).
 *
 * @example
 * ```ts
 * import { hugetlbfsMountsOf } from "./hugetlbfs_mounts.ts";
 * const mounts = hugetlbfsMountsOf(
 *   "hugetlbfs /dev/hugepages1G hugetlbfs rw,pagesize=1G 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw 0 0\n",
 *   "Hugepagesize:       2048 kB\n",
 * );
 * console.log(mounts); // [{ path: "/dev/hugepages", pageSizeKiB: 2048 }, { path: "/dev/hugepages1G", pageSizeKiB: 1048576 }]
 * ```
 */
export function hugetlbfsMountsOf(mountsText: string, meminfoText: string): HugetlbfsMount[] {
  const defaultKiB = defaultPageSizeKiB(meminfoText);
  const mounts: HugetlbfsMount[] = [];
  for (const line of mountsText.split("\n")) {
    const [, path, type, options] = line.split(" ");
    if (type !== "hugetlbfs" || path === undefined) continue;
    const option = (options ?? "").split(",").find((each) => each.startsWith("pagesize="));
    const pageSizeKiB = option === undefined ? defaultKiB : pageSizeOf(option.slice(9));
    if (pageSizeKiB === undefined) continue;
    if (mounts.some((mount) => mount.pageSizeKiB === pageSizeKiB)) continue;
    mounts.push({ path: unescapeMountPath(path), pageSizeKiB });
  }
  return orderedMounts(mounts, defaultKiB);
}

/**
 * The mounts with the one of the default page size first (the rest in their order).
 *
 * @example
 * ```ts
 * import { orderedMounts } from "./hugetlbfs_mounts.ts";
 * const mounts = [{ path: "/a", pageSizeKiB: 1048576 }, { path: "/b", pageSizeKiB: 2048 }];
 * console.log(orderedMounts(mounts, 2048)[0].path); // "/b"
 * ```
 */
export function orderedMounts(
  mounts: readonly HugetlbfsMount[],
  defaultKiB: number | undefined,
): HugetlbfsMount[] {
  const first = mounts.filter((mount) => mount.pageSizeKiB === defaultKiB);
  return [...first, ...mounts.filter((mount) => mount.pageSizeKiB !== defaultKiB)];
}

/** The host's hugetlbfs mounts (empty where `/proc` cannot be read). */
export function readHugetlbfsMounts(): HugetlbfsMount[] {
  try {
    return hugetlbfsMountsOf(
      Deno.readTextFileSync("/proc/mounts"),
      Deno.readTextFileSync("/proc/meminfo"),
    );
  } catch {
    return [];
  }
}

/**
 * The host's default huge page size in KiB (`Hugepagesize:` of `/proc/meminfo`), or undefined.
 */
export function defaultPageSizeKiB(meminfoText: string): number | undefined {
  const match = /^Hugepagesize:\s+(\d+)\s*kB/m.exec(meminfoText);
  return match === null ? undefined : Number(match[1]);
}

/** A `pagesize=` value (`2M`, `1G`, `2048k`) in KiB, or undefined when unreadable. */
function pageSizeOf(text: string): number | undefined {
  const match = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (match === null) return undefined;
  return toKiB(BigInt(match[1]), match[2] === "" ? "b" : match[2].toUpperCase());
}

/** `/proc/mounts` escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal) => String.fromCharCode(parseInt(octal, 8)));
}
