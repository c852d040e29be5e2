/**
 * Snapshots: `POST /v1/domains/:ref/snapshots` (take or redefine), the list, one snapshot, its
 * XML, the current one, revert and delete. Reads answer from the domain's snapshot tree; the
 * rest run as `snapshot` jobs in the domain's queue.
 *
 * @module
 */

import {
  currentSnapshotView,
  listSnapshotViews,
  snapshotView,
  snapshotXml,
} from "../../../actors/snapshot_queries.ts";
import { SNAPSHOT_XML_MAX_BYTES } from "../../../actors/snapshot_commands.ts";
import type { SnapshotFilter } from "../../model/snapshot_tree.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { checkSecureAllowed } from "../domain_secrets.ts";
import { jsonResponse } from "../http_errors.ts";
import { readBodyText } from "../request_body.ts";
import { summaryView } from "../views.ts";
import { booleanParam, commandOptions } from "./domain_routes.ts";

type Context = RouteContext & ApiRequestContext;

const flagOf = (url: URL, name: string): boolean => booleanParam(url, name) ?? false;

/** The list filters of `?…` (see the operations table's snapshot.list). */
function filterOf(url: URL): SnapshotFilter {
  const from = url.searchParams.get("from");
  return {
    ...(from === null || from === "" ? {} : { of: from }),
    descendants: flagOf(url, "descendants"),
    roots: flagOf(url, "roots"),
    topological: flagOf(url, "topological"),
    leaves: flagOf(url, "leaves"),
    noLeaves: flagOf(url, "no_leaves"),
    metadata: flagOf(url, "metadata"),
    noMetadata: flagOf(url, "no_metadata"),
    inactive: flagOf(url, "inactive"),
    active: flagOf(url, "active"),
    diskOnly: flagOf(url, "disk_only"),
    internal: flagOf(url, "internal"),
    external: flagOf(url, "external"),
  };
}

/** Registers the snapshot routes. */
export function snapshotRoutes(add: RouteAdder): void {
  add("snapshot.create", async (request, context: Context) => {
    const { host } = context.env;
    const summary = host.lookup(context.params.ref);
    const xml = await readBodyText(request, SNAPSHOT_XML_MAX_BYTES);
    const url = context.url;
    const answer: { name?: string } = {};
    await host.command("snapshot", summary.uuid, {
      action: "create",
      xml,
      flags: {
        redefine: flagOf(url, "redefine"),
        current: flagOf(url, "current"),
        noMetadata: flagOf(url, "no_metadata"),
        halt: flagOf(url, "halt"),
        diskOnly: flagOf(url, "disk_only"),
        reuseExternal: flagOf(url, "reuse_external"),
        quiesce: flagOf(url, "quiesce"),
        atomic: flagOf(url, "atomic"),
        live: flagOf(url, "live"),
        validate: flagOf(url, "validate"),
      },
      answer,
    }, commandOptions(context));
    return jsonResponse({ name: answer.name }, 201);
  });
  add("snapshot.list", (_request, context: Context) => {
    const domain = context.env.host.context(context.params.ref);
    return Promise.resolve(jsonResponse(listSnapshotViews(domain, filterOf(context.url))));
  });
  add("snapshot.info", (_request, context: Context) => {
    const domain = context.env.host.context(context.params.ref);
    return Promise.resolve(jsonResponse(snapshotView(domain, context.params.snapshot)));
  });
  add("snapshot.xml", (_request, context: Context) => {
    const secure = flagOf(context.url, "secure");
    checkSecureAllowed(context.role, secure, "virDomainSnapshotGetXMLDesc");
    const domain = context.env.host.context(context.params.ref);
    const xml = snapshotXml(domain, context.params.snapshot, secure);
    return Promise.resolve(
      new Response(xml, { headers: { "content-type": "application/xml" } }),
    );
  });
  add("snapshot.current", (_request, context: Context) => {
    const domain = context.env.host.context(context.params.ref);
    return Promise.resolve(jsonResponse(currentSnapshotView(domain)));
  });
  add("snapshot.revert", async (_request, context: Context) => {
    const { host } = context.env;
    const summary = host.lookup(context.params.ref);
    await host.command("snapshot", summary.uuid, {
      action: "revert",
      name: context.params.snapshot,
      running: flagOf(context.url, "running"),
      paused: flagOf(context.url, "paused"),
      force: flagOf(context.url, "force"),
    }, commandOptions(context));
    return jsonResponse({ ...summaryView(host.lookup(summary.uuid)), exists: true });
  });
  add("snapshot.delete", async (_request, context: Context) => {
    const { host } = context.env;
    const summary = host.lookup(context.params.ref);
    await host.command("snapshot", summary.uuid, {
      action: "delete",
      name: context.params.snapshot,
      children: flagOf(context.url, "children"),
      childrenOnly: flagOf(context.url, "children_only"),
      metadataOnly: flagOf(context.url, "metadata"),
    }, commandOptions(context));
    return new Response(null, { status: 204 });
  });
}
