/**
 * The test services' guard that answers are what the OpenAPI document says: a JSON answer with
 * its row's success status is checked against the schema the row names, and one that does not
 * match becomes a 500 (code 1) naming the route, the schema and the first difference, so any
 * test that calls the route fails. Error answers are checked against the `Error` schema.
 *
 * @module
 */

import { Value } from "@sinclair/typebox/value";
import type { Operation } from "../model/operations.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { API_SCHEMAS, REFERENCED_SCHEMAS, registerSchemaFormats } from "./api_schemas.ts";
import { errorResponse } from "./http_errors.ts";

let formatsRegistered = false;

/**
 * `response` when its JSON body matches the row's schema (or it has none to check), else a 500.
 *
 * @example
 * ```ts ignore
 * const answer = await checkedAnswer(operation("domain.list"), Response.json({ domains: [] }));
 * console.log(answer.status); // 200
 * ```
 */
export async function checkedAnswer(row: Operation, response: Response): Promise<Response> {
  if (row.http === null || row.http.streaming) return response;
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) return response;
  const name = response.status === row.http.answer.status ? row.http.answer.schema : "Error";
  const schema = name === undefined ? undefined : API_SCHEMAS[name];
  if (schema === undefined) return response;
  if (!formatsRegistered) {
    registerSchemaFormats();
    formatsRegistered = true;
  }
  const text = await response.text();
  const body = JSON.parse(text);
  const first = Value.Errors(schema, REFERENCED_SCHEMAS, body).First();
  if (first === undefined) {
    return new Response(text, { status: response.status, headers: response.headers });
  }
  return errorResponse(
    new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `${row.http.method} ${row.http.path} answered ${response.status} not matching its schema ` +
        `${name}: ${first.path || "/"} ${first.message} (got ${JSON.stringify(first.value)})`,
    ),
  );
}
