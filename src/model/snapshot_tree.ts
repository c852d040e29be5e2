/**
 * A domain's snapshots as a tree (libvirt's virDomainSnapshotObjList): each snapshot names its
 * parent; one may be current. Pure functions over plain JSON, folded from the domain's facts:
 * creation adds a leaf under the current snapshot, deletion removes a set and hands their
 * children to the nearest survivor above, revert makes one current.
 *
 * The lists answer libvirt's filters (VIR_DOMAIN_SNAPSHOT_LIST_*): roots, leaves, children or
 * descendants of one, by state (active, inactive, disk-only) and by location (internal,
 * external); each in name order, or parents first (topological) when asked.
 *
 * @module
 */

import type { SnapshotDefinition } from "./snapshot.ts";

/** Most snapshots one domain may have (libvirt's REMOTE_DOMAIN_SNAPSHOT_LIST_MAX). */
export const SNAPSHOTS_PER_DOMAIN_MAX = 16384;

/** One stored snapshot: its complete definition (name, parent, state, time, domain). */
export interface StoredSnapshot {
  definition: SnapshotDefinition & { name: string; creationTimeSeconds: number };
}

/** A domain's snapshots: by name, and the current one. */
export interface SnapshotTree {
  snapshots: Record<string, StoredSnapshot>;
  /** The current snapshot's name; null when none is current. */
  current: string | null;
}

/** A tree without snapshots. */
export const EMPTY_SNAPSHOT_TREE: SnapshotTree = Object.freeze({
  snapshots: Object.freeze({}) as Record<string, StoredSnapshot>,
  current: null,
});

/** The tree with `snapshot` added (or replaced, when redefined); `current` makes it current. */
export function withSnapshot(
  tree: SnapshotTree,
  snapshot: StoredSnapshot,
  current: boolean,
): SnapshotTree {
  const name = snapshot.definition.name;
  return {
    snapshots: { ...tree.snapshots, [name]: snapshot },
    current: current ? name : tree.current,
  };
}

/**
 * The tree without the snapshots `names`. Their surviving children take the nearest surviving
 * ancestor as parent (or become roots); a removed current snapshot passes `current` to its
 * nearest surviving ancestor, as libvirt's delete does.
 */
export function withoutSnapshots(tree: SnapshotTree, names: readonly string[]): SnapshotTree {
  const removed = new Set(names);
  const survivorAbove = (name: string | undefined): string | undefined => {
    let at = name;
    for (let steps = 0; at !== undefined && removed.has(at); steps++) {
      if (steps > SNAPSHOTS_PER_DOMAIN_MAX) throw new Error("snapshot tree has a cycle");
      at = tree.snapshots[at]?.definition.parent;
    }
    return at;
  };
  const snapshots: Record<string, StoredSnapshot> = {};
  for (const [name, snapshot] of Object.entries(tree.snapshots)) {
    if (removed.has(name)) continue;
    const parent = survivorAbove(snapshot.definition.parent);
    if (parent === snapshot.definition.parent) {
      snapshots[name] = snapshot;
      continue;
    }
    const definition = { ...snapshot.definition };
    if (parent === undefined) delete definition.parent;
    else definition.parent = parent;
    snapshots[name] = { definition };
  }
  const current = tree.current !== null && removed.has(tree.current)
    ? survivorAbove(tree.current) ?? null
    : tree.current;
  return { snapshots, current };
}

/** The tree with `name` (or none) current. */
export function withCurrent(tree: SnapshotTree, name: string | null): SnapshotTree {
  return { snapshots: tree.snapshots, current: name };
}

/** The names of the children of `name` (of the roots, when undefined), in name order. */
export function childrenOf(tree: SnapshotTree, name: string | undefined): string[] {
  return Object.values(tree.snapshots).filter((snapshot) => snapshot.definition.parent === name)
    .map((snapshot) => snapshot.definition.name).sort(compareNames);
}

/** Every descendant of `name`, parents before children (depth first, children in name order). */
export function descendantsOf(tree: SnapshotTree, name: string): string[] {
  const children = childrenIndex(tree);
  const out: string[] = [];
  const stack = [...(children.get(name) ?? [])].reverse();
  while (stack.length > 0) {
    const next = stack.pop()!;
    out.push(next);
    stack.push(...[...(children.get(next) ?? [])].reverse());
  }
  return out;
}

/** Parent → children (in name order), for linear walks. */
function childrenIndex(tree: SnapshotTree): Map<string | undefined, string[]> {
  const index = new Map<string | undefined, string[]>();
  for (const snapshot of Object.values(tree.snapshots)) {
    const parent = snapshot.definition.parent;
    const list = index.get(parent) ?? [];
    list.push(snapshot.definition.name);
    index.set(parent, list);
  }
  for (const list of index.values()) list.sort(compareNames);
  return index;
}

/** libvirt's filters of a snapshot list (VIR_DOMAIN_SNAPSHOT_LIST_*). */
export interface SnapshotFilter {
  /** Only roots (LIST_ROOTS); with `of`: only its direct children. */
  roots?: boolean;
  /** List the descendants of this snapshot instead of all (virDomainSnapshotListAllChildren). */
  of?: string;
  /** With `of`: every descendant, not only the children (LIST_DESCENDANTS). */
  descendants?: boolean;
  /** Parents before children (LIST_TOPOLOGICAL). */
  topological?: boolean;
  /** Only snapshots without children (LIST_LEAVES); `noLeaves` (LIST_NO_LEAVES) the others. */
  leaves?: boolean;
  noLeaves?: boolean;
  /** By state: `inactive` shutoff, `active` with memory, `diskOnly` disk-snapshot (LIST_INACTIVE …). */
  inactive?: boolean;
  active?: boolean;
  diskOnly?: boolean;
  /** By location: any internal disk or memory, or any external (LIST_INTERNAL, LIST_EXTERNAL). */
  internal?: boolean;
  external?: boolean;
  /** With metadata (LIST_METADATA) / without (LIST_NO_METADATA): every stored one has it. */
  metadata?: boolean;
  noMetadata?: boolean;
}

/** The names `filter` selects, in name order (or parents first with `topological`). */
export function listSnapshots(tree: SnapshotTree, filter: SnapshotFilter = {}): string[] {
  if (filter.noMetadata === true && filter.metadata !== true) return [];
  let names: string[];
  if (filter.of !== undefined) {
    names = filter.descendants === true
      ? descendantsOf(tree, filter.of)
      : childrenOf(tree, filter.of);
    if (filter.topological !== true) names.sort(compareNames);
  } else if (filter.roots === true) {
    names = childrenOf(tree, undefined);
  } else {
    names = filter.topological === true
      ? topologicalOrder(tree)
      : Object.keys(tree.snapshots).sort(compareNames);
  }
  const children = childrenIndex(tree);
  const leafWanted = filter.leaves === true || filter.noLeaves === true;
  const stateWanted = filter.inactive === true || filter.active === true ||
    filter.diskOnly === true;
  const locationWanted = filter.internal === true || filter.external === true;
  const picked = names.filter((name) => {
    const definition = tree.snapshots[name].definition;
    if (leafWanted) {
      const leaf = (children.get(name) ?? []).length === 0;
      if (!(leaf ? filter.leaves === true : filter.noLeaves === true)) return false;
    }
    if (stateWanted) {
      const kind = definition.state === "shutoff"
        ? "inactive"
        : definition.state === "disk-snapshot"
        ? "diskOnly"
        : "active";
      if (filter[kind] !== true) return false;
    }
    if (locationWanted) {
      const external = isExternal(definition);
      if (!(external ? filter.external === true : filter.internal === true)) return false;
    }
    return true;
  });
  return picked;
}

/** Every snapshot, each after its parent. */
export function topologicalOrder(tree: SnapshotTree): string[] {
  const out: string[] = [];
  for (const root of childrenOf(tree, undefined)) {
    out.push(root, ...descendantsOf(tree, root));
  }
  return out;
}

/** Whether a snapshot keeps anything outside the disk images it names (libvirt's "external"). */
export function isExternal(definition: SnapshotDefinition): boolean {
  if (definition.memory === "external") return true;
  return definition.disks.some((disk) => disk.snapshot === "external");
}

/** Name order as virsh sorts (byte order of the names). */
export function compareNames(first: string, second: string): number {
  return first < second ? -1 : first > second ? 1 : 0;
}
