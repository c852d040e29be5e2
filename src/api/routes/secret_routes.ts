/**
 * Secret routes: the same secret registry libvirt's protocol reaches
 * (`src/rpc/secret_procedures.ts`), over HTTP. A secret is named by its uuid (`:secret`). A value
 * travels as the request or answer body's bytes, and only there.
 *
 * @module
 */

import type { Secrets } from "../../../actors/secrets.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import { SECRET_VALUE_MAX_BYTES } from "../../model/secret.ts";
import { parseUuid } from "../../xml/storage_xml_common.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { readBodyBytes } from "../request_body.ts";
import { xmlBody, xmlResponse } from "./object_route_support.ts";

type Context = RouteContext & ApiRequestContext;

function secretsOf(context: Context): Secrets {
  const secrets = context.env.secrets;
  if (secrets === undefined) {
    throw new VirtError(ErrorCode.NO_SUPPORT, "this connection has no secrets");
  }
  return secrets;
}

/** The uuid `:secret` names, of a secret that exists. */
function secretUuid(secrets: Secrets, reference: string): string {
  let uuid: string;
  try {
    uuid = parseUuid(reference, "secret");
  } catch {
    throw new VirtError(ErrorCode.NO_SECRET, `no secret with matching uuid '${reference}'`);
  }
  return secrets.byUuid(uuid).uuid;
}

/**
 * Adds the secret routes.
 *
 * @example
 * ```ts ignore
 * secretRoutes(add);
 * ```
 */
export function secretRoutes(add: RouteAdder): void {
  add("secret.list", (_request, context) => jsonResponse({ secrets: secretsOf(context).list() }));
  add("secret.define", async (request, context) => {
    return jsonResponse(await secretsOf(context).define(await xmlBody(request)), 201);
  });
  add("secret.dumpxml", (_request, context) => {
    const secrets = secretsOf(context);
    return xmlResponse(secrets.xml(secretUuid(secrets, context.params.secret)));
  });
  add("secret.undefine", async (_request, context) => {
    const secrets = secretsOf(context);
    await secrets.undefine(secretUuid(secrets, context.params.secret));
    return new Response(null, { status: 204 });
  });
  add("secret.set_value", async (request, context) => {
    const secrets = secretsOf(context);
    const uuid = secretUuid(secrets, context.params.secret);
    await secrets.setValue(uuid, await readBodyBytes(request, SECRET_VALUE_MAX_BYTES));
    return new Response(null, { status: 204 });
  });
  add("secret.get_value", (_request, context) => {
    const secrets = secretsOf(context);
    const value = secrets.value(secretUuid(secrets, context.params.secret));
    return new Response(new Uint8Array(value), {
      headers: { "content-type": "application/octet-stream" },
    });
  });
}
