/**
 * Reading a domain's snapshots (what `snapshot-list`, `snapshot-info`, `snapshot-dumpxml`,
 * `snapshot-current` and `snapshot-parent` show): views folded from the domain's snapshot tree,
 * shared by the HTTP routes and the RPC procedures.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";
import {
  childrenOf,
  descendantsOf,
  isExternal,
  listSnapshots,
  type SnapshotFilter,
  type SnapshotTree,
} from "../src/model/snapshot_tree.ts";
import { formatSnapshotXml } from "../src/xml/format_snapshot.ts";
import type { DomainContext } from "./domain_machine.ts";
import { EMPTY_SNAPSHOT_TREE } from "../src/model/snapshot_tree.ts";
import { findSnapshot } from "./snapshot_commands.ts";
import type { SnapshotView } from "../src/model/snapshot.ts";

export type { SnapshotView };

/** The snapshot tree of a domain's context. */
export function treeOfContext(context: DomainContext): SnapshotTree {
  return context.snapshots ?? EMPTY_SNAPSHOT_TREE;
}

/**
 * The view of the snapshot `name`.
 *
 * @throws {VirtError} Code 72 when the domain has no such snapshot.
 */
export function snapshotView(context: DomainContext, name: string): SnapshotView {
  const tree = treeOfContext(context);
  const { definition } = findSnapshot(tree, name);
  return {
    name,
    domain: context.name,
    parent: definition.parent ?? null,
    current: tree.current === name,
    state: definition.state ?? "nostate",
    location: isExternal(definition) ? "external" : "internal",
    creationTimeSeconds: definition.creationTimeSeconds,
    ...(definition.description === undefined ? {} : { description: definition.description }),
    children: childrenOf(tree, name).length,
    descendants: descendantsOf(tree, name).length,
    metadata: true,
  };
}

/**
 * The views `filter` selects.
 *
 * @throws {VirtError} Code 72 when `filter.of` names no snapshot of the domain.
 */
export function listSnapshotViews(context: DomainContext, filter: SnapshotFilter): SnapshotView[] {
  const tree = treeOfContext(context);
  if (filter.of !== undefined) findSnapshot(tree, filter.of);
  return listSnapshots(tree, filter).map((name) => snapshotView(context, name));
}

/**
 * The current snapshot's view.
 *
 * @throws {VirtError} Code 72 when none is current.
 */
export function currentSnapshotView(context: DomainContext): SnapshotView {
  const current = treeOfContext(context).current;
  if (current === null) {
    throw new VirtError(
      ErrorCode.NO_DOMAIN_SNAPSHOT,
      "the domain does not have a current snapshot",
    );
  }
  return snapshotView(context, current);
}

/**
 * The snapshot's `<domainsnapshot>` document, as libvirt's virDomainSnapshotGetXMLDesc writes it.
 *
 * @throws {VirtError} Code 72 when the domain has no such snapshot.
 */
export function snapshotXml(context: DomainContext, name: string, secure: boolean): string {
  const { definition } = findSnapshot(treeOfContext(context), name);
  return formatSnapshotXml(definition, { uuid: context.uuid, secure });
}
