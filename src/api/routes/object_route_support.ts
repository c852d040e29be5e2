/**
 * What the storage pool and network routes share: an object named by uuid or name (as virsh
 * looks it up), boolean query flags, XML bodies and answers, and the autostart body.
 *
 * @module
 */

import type { RouteContext } from "../api_context.ts";
import { booleanParam } from "./domain_routes.ts";
import { readBodyText, readJsonObject } from "../request_body.ts";
import { AutostartSchema, checkBody } from "../request_schemas.ts";

/** Largest pool, volume or network XML accepted, in bytes (as the RPC procedures' bound). */
export const OBJECT_XML_MAX_BYTES = 1024 * 1024;

const UUID_PATTERN = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * The object `reference` names: by uuid first (dashed or not), then by name, as virsh looks
 * an object up; a name that looks like a uuid of no object is tried as a name.
 */
export function byUuidOrName<T>(
  objects: { byUuid(uuid: string): T; byName(name: string): T },
  reference: string,
): T {
  if (UUID_PATTERN.test(reference)) {
    const dashed = reference.replace(/-/g, "").replace(
      /^(.{8})(.{4})(.{4})(.{4})(.{12})$/,
      "$1-$2-$3-$4-$5",
    );
    try {
      return objects.byUuid(dashed);
    } catch {
      // Not a uuid of ours: an object may be named like one.
    }
  }
  return objects.byName(reference);
}

/**
 * A boolean query flag: absent is false; `true`, `1` or empty is true; `false`, `0` false.
 *
 * @throws {VirtError} Code 8 for another value, naming the parameter.
 */
export function queryFlag(context: RouteContext, name: string): boolean {
  return booleanParam(context.url, name) ?? false;
}

/** An XML answer. */
export function xmlResponse(xml: string): Response {
  return new Response(xml, { headers: { "content-type": "application/xml" } });
}

/** An XML request body, bounded by {@linkcode OBJECT_XML_MAX_BYTES}. */
export async function xmlBody(request: Request): Promise<string> {
  return await readBodyText(request, OBJECT_XML_MAX_BYTES);
}

/**
 * The `autostart` of an Autostart body.
 *
 * @throws {VirtError} Code 8 when it is not a boolean.
 */
export async function autostartBody(request: Request, bodyMaxBytes: number): Promise<boolean> {
  return checkBody(AutostartSchema, await readJsonObject(request, bodyMaxBytes)).autostart;
}
