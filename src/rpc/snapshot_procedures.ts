/**
 * Snapshot procedures (`REMOTE_PROC_DOMAIN_SNAPSHOT_*`, 185–193, 244, 246, 247, 271, 272, 274,
 * 275) with libvirt's flags, so that the real `virsh snapshot-*` works over evirt's protocol.
 * A snapshot travels as `remote_nonnull_domain_snapshot`: its name and its domain.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import { listSnapshotViews, snapshotView, snapshotXml } from "../../actors/snapshot_queries.ts";
import { SNAPSHOT_CREATE_FLAG_BITS } from "../../actors/snapshot_commands.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import type { SnapshotFilter } from "../model/snapshot_tree.ts";
import {
  checkFlags,
  type DomainArgs,
  domainFlagsArgs,
  lookupWire,
  wireDomain,
} from "./domain_lookup.ts";
import type { ProcedureTable } from "./procedure.ts";
import { domainType, nonnullString, type WireDomain } from "./protocol.ts";
import { x } from "./xdr.ts";

/** `remote_nonnull_domain_snapshot`. */
const snapshotType = x.struct(["name", nonnullString], ["dom", domainType]);

/** REMOTE_DOMAIN_SNAPSHOT_LIST_MAX. */
const SNAPSHOT_LIST_MAX = 16384;

interface WireSnapshot {
  name: string;
  dom: WireDomain;
}

const snapshotFlagsArgs = x.struct(["snap", snapshotType], ["flags", x.uint]);

/** VIR_DOMAIN_SNAPSHOT_LIST_* (ROOTS and DESCENDANTS share bit 0). */
const LIST = {
  ROOTS_OR_DESCENDANTS: 1,
  METADATA: 2,
  LEAVES: 4,
  NO_LEAVES: 8,
  NO_METADATA: 16,
  INACTIVE: 32,
  ACTIVE: 64,
  DISK_ONLY: 128,
  INTERNAL: 256,
  EXTERNAL: 512,
  TOPOLOGICAL: 1024,
} as const;
const LIST_ALL = Object.values(LIST).reduce((all, bit) => all | bit, 0);

/** VIR_DOMAIN_SNAPSHOT_XML_SECURE. */
const XML_SECURE = 1;
/** VIR_DOMAIN_SNAPSHOT_REVERT_*. */
const REVERT = { RUNNING: 1, PAUSED: 2, FORCE: 4 } as const;
/** VIR_DOMAIN_SNAPSHOT_DELETE_*. */
const DELETE = { CHILDREN: 1, METADATA_ONLY: 2, CHILDREN_ONLY: 4 } as const;

const CREATE_ALL = Object.values(SNAPSHOT_CREATE_FLAG_BITS).reduce((all, bit) => all | bit, 0);

/** The filter of a list's flags, listing from the domain (`of` undefined) or from a snapshot. */
function filterOf(flags: number, of?: string): SnapshotFilter {
  const has = (bit: number) => (flags & bit) !== 0;
  return {
    ...(of === undefined
      ? { roots: has(LIST.ROOTS_OR_DESCENDANTS) }
      : { of, descendants: has(LIST.ROOTS_OR_DESCENDANTS) }),
    metadata: has(LIST.METADATA),
    noMetadata: has(LIST.NO_METADATA),
    leaves: has(LIST.LEAVES),
    noLeaves: has(LIST.NO_LEAVES),
    inactive: has(LIST.INACTIVE),
    active: has(LIST.ACTIVE),
    diskOnly: has(LIST.DISK_ONLY),
    internal: has(LIST.INTERNAL),
    external: has(LIST.EXTERNAL),
    topological: has(LIST.TOPOLOGICAL),
  };
}

function names(host: Host, dom: WireDomain, flags: number, api: string, of?: string): string[] {
  checkFlags(flags, LIST_ALL, api);
  const { uuid } = lookupWire(host, dom);
  return listSnapshotViews(host.context(uuid), filterOf(flags, of)).map((view) => view.name);
}

/** The wire snapshot `name` of the domain, after checking it exists (code 72). */
function wireSnapshot(host: Host, dom: WireDomain, name: string): WireSnapshot {
  const summary = lookupWire(host, dom);
  snapshotView(host.context(summary.uuid), name);
  return { name, dom: wireDomain(summary) };
}

function bounded(list: string[], max: number): string[] {
  if (max < 0) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      "maxnames in virDomainSnapshotListNames must be positive",
    );
  }
  return list.slice(0, Math.min(max, SNAPSHOT_LIST_MAX));
}

/** The snapshot procedures. */
export const SNAPSHOT_PROCEDURES: ProcedureTable = {
  virDomainSnapshotCreateXML: {
    proc: 185,
    readOnly: false,
    args: x.struct(["dom", domainType], ["xml_desc", nonnullString], ["flags", x.uint]),
    ret: x.struct(["snap", snapshotType]),
    handler: async (call: { dom: WireDomain; xml_desc: string; flags: number }, context) => {
      checkFlags(call.flags, CREATE_ALL, "virDomainSnapshotCreateXML");
      const { host } = context.target();
      const summary = lookupWire(host, call.dom);
      const has = (bit: number) => (call.flags & bit) !== 0;
      const bits = SNAPSHOT_CREATE_FLAG_BITS;
      const answer: { name?: string } = {};
      await host.command("snapshot", summary.uuid, {
        action: "create",
        xml: call.xml_desc,
        flags: {
          redefine: has(bits.redefine),
          current: has(bits.current),
          noMetadata: has(bits.noMetadata),
          halt: has(bits.halt),
          diskOnly: has(bits.diskOnly),
          reuseExternal: has(bits.reuseExternal),
          quiesce: has(bits.quiesce),
          atomic: has(bits.atomic),
          live: has(bits.live),
          validate: has(bits.validate),
        },
        answer,
      });
      return { snap: { name: answer.name ?? "", dom: wireDomain(host.lookup(summary.uuid)) } };
    },
  },
  virDomainSnapshotGetXMLDesc: {
    proc: 186,
    readOnly: true,
    args: snapshotFlagsArgs,
    ret: x.struct(["xml", nonnullString]),
    handler: (call: { snap: WireSnapshot; flags: number }, context) => {
      checkFlags(call.flags, XML_SECURE, "virDomainSnapshotGetXMLDesc");
      const secure = (call.flags & XML_SECURE) !== 0;
      if (context.readOnly && secure) {
        throw new VirtError(
          ErrorCode.OPERATION_DENIED,
          "virDomainSnapshotGetXMLDesc with secure flag",
        );
      }
      const { host } = context.target();
      const { uuid } = lookupWire(host, call.snap.dom);
      return { xml: snapshotXml(host.context(uuid), call.snap.name, secure) };
    },
  },
  virDomainSnapshotNum: {
    proc: 187,
    readOnly: true,
    args: domainFlagsArgs,
    ret: x.struct(["num", x.int]),
    handler: (call: DomainArgs, context) => ({
      num: names(context.target().host, call.dom, call.flags ?? 0, "virDomainSnapshotNum").length,
    }),
  },
  virDomainSnapshotListNames: {
    proc: 188,
    readOnly: true,
    args: x.struct(["dom", domainType], ["maxnames", x.int], ["flags", x.uint]),
    ret: x.struct(["names", x.array(nonnullString, SNAPSHOT_LIST_MAX)]),
    handler: (call: { dom: WireDomain; maxnames: number; flags: number }, context) => ({
      names: bounded(
        names(context.target().host, call.dom, call.flags, "virDomainSnapshotListNames"),
        call.maxnames,
      ),
    }),
  },
  virDomainSnapshotLookupByName: {
    proc: 189,
    readOnly: true,
    args: x.struct(["dom", domainType], ["name", nonnullString], ["flags", x.uint]),
    ret: x.struct(["snap", snapshotType]),
    handler: (call: { dom: WireDomain; name: string; flags: number }, context) => {
      checkFlags(call.flags, 0, "virDomainSnapshotLookupByName");
      return { snap: wireSnapshot(context.target().host, call.dom, call.name) };
    },
  },
  virDomainHasCurrentSnapshot: {
    proc: 190,
    readOnly: true,
    args: domainFlagsArgs,
    ret: x.struct(["result", x.int]),
    handler: (call: DomainArgs, context) => {
      checkFlags(call.flags ?? 0, 0, "virDomainHasCurrentSnapshot");
      const { host } = context.target();
      const current = host.context(lookupWire(host, call.dom).uuid).snapshots?.current ?? null;
      return { result: current === null ? 0 : 1 };
    },
  },
  virDomainSnapshotCurrent: {
    proc: 191,
    readOnly: true,
    args: domainFlagsArgs,
    ret: x.struct(["snap", snapshotType]),
    handler: (call: DomainArgs, context) => {
      checkFlags(call.flags ?? 0, 0, "virDomainSnapshotCurrent");
      const { host } = context.target();
      const summary = lookupWire(host, call.dom);
      const current = host.context(summary.uuid).snapshots?.current ?? null;
      if (current === null) {
        throw new VirtError(
          ErrorCode.NO_DOMAIN_SNAPSHOT,
          "the domain does not have a current snapshot",
        );
      }
      return { snap: { name: current, dom: wireDomain(summary) } };
    },
  },
  virDomainRevertToSnapshot: {
    proc: 192,
    readOnly: false,
    args: snapshotFlagsArgs,
    ret: x.void,
    handler: async (call: { snap: WireSnapshot; flags: number }, context) => {
      checkFlags(
        call.flags,
        REVERT.RUNNING | REVERT.PAUSED | REVERT.FORCE,
        "virDomainRevertToSnapshot",
      );
      const { host } = context.target();
      await host.command("snapshot", lookupWire(host, call.snap.dom).uuid, {
        action: "revert",
        name: call.snap.name,
        running: (call.flags & REVERT.RUNNING) !== 0,
        paused: (call.flags & REVERT.PAUSED) !== 0,
        force: (call.flags & REVERT.FORCE) !== 0,
      });
    },
  },
  virDomainSnapshotDelete: {
    proc: 193,
    readOnly: false,
    args: snapshotFlagsArgs,
    ret: x.void,
    handler: async (call: { snap: WireSnapshot; flags: number }, context) => {
      checkFlags(
        call.flags,
        DELETE.CHILDREN | DELETE.METADATA_ONLY | DELETE.CHILDREN_ONLY,
        "virDomainSnapshotDelete",
      );
      const { host } = context.target();
      await host.command("snapshot", lookupWire(host, call.snap.dom).uuid, {
        action: "delete",
        name: call.snap.name,
        children: (call.flags & DELETE.CHILDREN) !== 0,
        childrenOnly: (call.flags & DELETE.CHILDREN_ONLY) !== 0,
        metadataOnly: (call.flags & DELETE.METADATA_ONLY) !== 0,
      });
    },
  },
  virDomainSnapshotGetParent: {
    proc: 244,
    readOnly: true,
    args: snapshotFlagsArgs,
    ret: x.struct(["snap", snapshotType]),
    handler: (call: { snap: WireSnapshot; flags: number }, context) => {
      checkFlags(call.flags, 0, "virDomainSnapshotGetParent");
      const { host } = context.target();
      const summary = lookupWire(host, call.snap.dom);
      const view = snapshotView(host.context(summary.uuid), call.snap.name);
      if (view.parent === null) {
        throw new VirtError(
          ErrorCode.NO_DOMAIN_SNAPSHOT,
          `snapshot '${view.name}' does not have a parent`,
        );
      }
      return { snap: { name: view.parent, dom: wireDomain(summary) } };
    },
  },
  virDomainSnapshotNumChildren: {
    proc: 246,
    readOnly: true,
    args: snapshotFlagsArgs,
    ret: x.struct(["num", x.int]),
    handler: (call: { snap: WireSnapshot; flags: number }, context) => ({
      num: names(
        context.target().host,
        call.snap.dom,
        call.flags,
        "virDomainSnapshotNumChildren",
        call.snap.name,
      ).length,
    }),
  },
  virDomainSnapshotListChildrenNames: {
    proc: 247,
    readOnly: true,
    args: x.struct(["snap", snapshotType], ["maxnames", x.int], ["flags", x.uint]),
    ret: x.struct(["names", x.array(nonnullString, SNAPSHOT_LIST_MAX)]),
    handler: (call: { snap: WireSnapshot; maxnames: number; flags: number }, context) => ({
      names: bounded(
        names(
          context.target().host,
          call.snap.dom,
          call.flags,
          "virDomainSnapshotListChildrenNames",
          call.snap.name,
        ),
        call.maxnames,
      ),
    }),
  },
  virDomainSnapshotIsCurrent: {
    proc: 271,
    readOnly: true,
    args: snapshotFlagsArgs,
    ret: x.struct(["current", x.int]),
    handler: (call: { snap: WireSnapshot; flags: number }, context) => {
      checkFlags(call.flags, 0, "virDomainSnapshotIsCurrent");
      const { host } = context.target();
      const { uuid } = lookupWire(host, call.snap.dom);
      return { current: snapshotView(host.context(uuid), call.snap.name).current ? 1 : 0 };
    },
  },
  virDomainSnapshotHasMetadata: {
    proc: 272,
    readOnly: true,
    args: snapshotFlagsArgs,
    ret: x.struct(["metadata", x.int]),
    handler: (call: { snap: WireSnapshot; flags: number }, context) => {
      checkFlags(call.flags, 0, "virDomainSnapshotHasMetadata");
      const { host } = context.target();
      const { uuid } = lookupWire(host, call.snap.dom);
      return { metadata: snapshotView(host.context(uuid), call.snap.name).metadata ? 1 : 0 };
    },
  },
  virDomainListAllSnapshots: {
    proc: 274,
    readOnly: true,
    args: x.struct(["dom", domainType], ["need_results", x.int], ["flags", x.uint]),
    ret: x.struct(["snapshots", x.array(snapshotType, SNAPSHOT_LIST_MAX)], ["ret", x.int]),
    handler: (call: { dom: WireDomain; need_results: number; flags: number }, context) => {
      const { host } = context.target();
      const list = names(host, call.dom, call.flags, "virDomainListAllSnapshots");
      const dom = wireDomain(lookupWire(host, call.dom));
      return {
        snapshots: call.need_results ? list.map((name) => ({ name, dom })) : [],
        ret: list.length,
      };
    },
  },
  virDomainSnapshotListAllChildren: {
    proc: 275,
    readOnly: true,
    args: x.struct(["snapshot", snapshotType], ["need_results", x.int], ["flags", x.uint]),
    ret: x.struct(["snapshots", x.array(snapshotType, SNAPSHOT_LIST_MAX)], ["ret", x.int]),
    handler: (
      call: { snapshot: WireSnapshot; need_results: number; flags: number },
      context,
    ) => {
      const { host } = context.target();
      const list = names(
        host,
        call.snapshot.dom,
        call.flags,
        "virDomainSnapshotListAllChildren",
        call.snapshot.name,
      );
      const dom = wireDomain(lookupWire(host, call.snapshot.dom));
      return {
        snapshots: call.need_results ? list.map((name) => ({ name, dom })) : [],
        ret: list.length,
      };
    },
  },
};
