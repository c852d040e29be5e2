/**
 * `<memoryBacking><hugepages>` for QEMU, as libvirt gives it: each guest node's RAM (the whole
 * RAM of a guest without nodes) comes from the `<page>` whose `nodeset` holds the node, else
 * from the page without a `nodeset` (a bare `<hugepages/>` is one such page of the host's
 * default size). That RAM is a `memory-backend-file` in the domain's folder under the hugetlbfs
 * mount of the page's size (`<mount>/libvirt/qemu/<domain folder>`), preallocated; a memfd
 * source asks the memfd for huge pages instead. A page of the ordinary page size is ordinary
 * memory.
 *
 * Which mounts exist is decided at start (libvirt's errors, code 1, when none fits); the
 * define-time check leaves it open.
 *
 * @module
 */

import type { DomainDefinition, XmlElement } from "../../src/model/domain.ts";
import { parseCpuSet } from "../../src/model/cpu_set.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { toKiB } from "../../src/model/units.ts";
import { refuseConfig } from "./config_refusal.ts";
import type { HugetlbfsMount } from "./hugetlbfs_mounts.ts";

/** The ordinary page size of x86, in KiB: a `<page>` of it is ordinary memory. */
const SMALL_PAGE_KIB = 4;

const WHERE = "/domain/memoryBacking/hugepages";

/** Where a start's huge pages come from. */
export interface HugepageHost {
  /** The hugetlbfs mounts, default page size first; undefined at define (not checked then). */
  mounts: readonly HugetlbfsMount[] | undefined;
  /** The domain's folder name under each mount's `libvirt/qemu/`. */
  folderName: string;
  /** The folders the build used, for the driver to make before QEMU starts. */
  folders: string[];
}

/** One `<page>`: its size (undefined: the host's default) and guest nodes (undefined: all). */
export interface HugePage {
  pageSizeKiB?: number;
  nodes?: number[];
}

/** A definition's huge pages and the host they come from. */
export interface HugePages {
  pages: HugePage[];
  host: HugepageHost;
}

/**
 * The `<hugepages>` element's pages.
 *
 * @throws {VirtError} 67 naming a child other than `<page>` or a page without a size.
 *
 * @example
 * ```ts ignore
 * const pages = hugePagesOf(definition, element, { mounts: [], folderName: "domain-1-vm", folders: [] });
 * ```
 */
export function hugePagesOf(
  definition: DomainDefinition,
  element: XmlElement,
  host: HugepageHost,
): HugePages {
  const guestNodes = (definition.cpu?.numa?.cells ?? []).length;
  const pages = (element.children ?? []).filter((child): child is XmlElement =>
    typeof child !== "string"
  ).map((child, index) => {
    const where = `${WHERE}/${child.name}[${index + 1}]`;
    if (child.name !== "page") {
      throw refuseConfig(where, `hugepages element '${child.name}' is not supported`);
    }
    const { size, unit, nodeset } = child.attributes ?? {};
    if (size === undefined || !/^\d+$/.test(size)) {
      throw refuseConfig(`${where}/@size`, "hugepage size is missing or not a number");
    }
    const page: HugePage = { pageSizeKiB: toKiB(BigInt(size), unit) };
    if (nodeset !== undefined) page.nodes = parseCpuSet(nodeset);
    return page;
  });
  // As libvirt's parser: without guest nodes, a lone page for node 0 is the page of all RAM.
  if (guestNodes === 0 && pages.length === 1 && pages[0].nodes?.join() === "0") {
    delete pages[0].nodes;
  }
  return { pages: pages.length === 0 ? [{}] : pages, host };
}

/**
 * The page a guest node's RAM comes from, or undefined for ordinary memory.
 *
 * @param node The guest node; undefined for a guest without nodes.
 */
export function hugePageOf(hugePages: HugePages, node: number | undefined): HugePage | undefined {
  const pages = hugePages.pages;
  const page = pages.find((each) => each.nodes?.includes(node ?? 0)) ??
    pages.find((each) => each.nodes === undefined);
  if (page === undefined || page.pageSizeKiB === SMALL_PAGE_KIB) return undefined;
  return page;
}

/**
 * The domain's folder under the hugetlbfs mount of `page`'s size, noted for the driver to make.
 *
 * @throws {VirtError} 1 (libvirt's wording) when no mount has pages of that size.
 */
export function hugePageFolder(hugePages: HugePages, page: HugePage): string {
  const host = hugePages.host;
  const mounts = host.mounts;
  let mount: HugetlbfsMount | undefined;
  if (mounts === undefined) {
    // The define-time check: the mount is chosen at start.
    mount = { path: "/dev/hugepages", pageSizeKiB: page.pageSizeKiB ?? 0 };
  } else if (mounts.length === 0) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      "hugetlbfs filesystem is not mounted or disabled by administrator config",
      { where: WHERE },
    );
  } else {
    mount = page.pageSizeKiB === undefined
      ? mounts[0]
      : mounts.find((each) => each.pageSizeKiB === page.pageSizeKiB);
    if (mount === undefined) {
      throw new VirtError(
        ErrorCode.INTERNAL_ERROR,
        `Unable to find any usable hugetlbfs mount for ${page.pageSizeKiB} KiB`,
        { where: WHERE },
      );
    }
  }
  const folder = `${mount.path.replace(/\/+$/, "")}/libvirt/qemu/${host.folderName}`;
  if (mounts !== undefined && !host.folders.includes(folder)) host.folders.push(folder);
  return folder;
}
