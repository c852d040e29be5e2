/**
 * The schemas of requests: each routed row of the operations table gives its query parameters
 * one TypeBox object schema, and that one schema both validates every request before its
 * handler runs and is what the OpenAPI document lists (`openapi.ts` reads
 * {@linkcode parameterSchema}). A request naming a parameter its route does not take, giving one
 * twice that is not repeatable, leaving out a required one, or giving a value outside its type,
 * range or values is refused with code 8 (`VIR_ERR_INVALID_ARG`) and the parameter's name as
 * the location, before anything runs.
 *
 * Query strings carry text: a value is read as its parameter's type first (`true`/`1`/empty and
 * `false`/`0` for booleans, decimal numbers for numbers), then checked by the schema.
 *
 * JSON request bodies have their schemas here too ({@linkcode BODY_SCHEMAS}): the handler reads
 * a body through {@linkcode checkBody}, and the document lists the same schema.
 *
 * @module
 */

import { Kind, type Static, type TObject, type TSchema, Type } from "@sinclair/typebox";
import { Value, ValueErrorType } from "@sinclair/typebox/value";
import {
  type Operation,
  type OperationParameter,
  QUEUE_TIMEOUT_PARAMETER,
} from "../model/operations.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { NETWORK_UPDATE_COMMANDS, NETWORK_UPDATE_SECTIONS } from "../model/network_update.ts";

/**
 * The schema of one parameter's value (an array of them when repeatable).
 *
 * @example
 * ```ts
 * import { parameterSchema } from "./request_schemas.ts";
 * const schema = parameterSchema({ name: "n", type: "integer", description: "", min: 0, max: 9 });
 * console.log(JSON.stringify(schema)); // {"minimum":0,"maximum":9,"type":"integer"}
 * ```
 */
export function parameterSchema(parameter: OperationParameter): TSchema {
  const one = valueSchema(parameter);
  return parameter.repeatable ? Type.Array(one, { minItems: 1 }) : one;
}

function valueSchema(parameter: OperationParameter): TSchema {
  const range = {
    ...(parameter.min === undefined ? {} : { minimum: parameter.min }),
    ...(parameter.max === undefined ? {} : { maximum: parameter.max }),
  };
  switch (parameter.type) {
    case "boolean":
      return Type.Boolean();
    case "integer":
      return Type.Integer(range);
    case "number":
      return Type.Number(range);
    case "string":
      return parameter.values === undefined
        ? Type.String()
        : Type.Union(parameter.values.map((value) => Type.Literal(value)));
  }
}

/** The query parameters a routed row takes: its own, and `queue_timeout_ms` when queued. */
export function queryParameters(row: Operation): readonly OperationParameter[] {
  if (row.http === null) return [];
  const query = row.http.query.filter((parameter) => (parameter.in ?? "query") === "query");
  return row.http.queued ? [QUEUE_TIMEOUT_PARAMETER, ...query] : query;
}

/** A row's query parameters by name and their object schema, made once per row. */
interface RowQuery {
  parameters: ReadonlyMap<string, OperationParameter>;
  schema: TObject;
}

const rowQueries = new Map<string, RowQuery>();

function rowQuery(row: Operation): RowQuery {
  let query = rowQueries.get(row.name);
  if (query === undefined) {
    const parameters = queryParameters(row);
    const properties: Record<string, TSchema> = {};
    for (const parameter of parameters) {
      const value = parameterSchema(parameter);
      properties[parameter.name] = parameter.required ? value : Type.Optional(value);
    }
    query = {
      parameters: new Map(parameters.map((parameter) => [parameter.name, parameter])),
      schema: Type.Object(properties, { additionalProperties: false }),
    };
    rowQueries.set(row.name, query);
  }
  return query;
}

/**
 * Checks a request's query string against its row's schema.
 *
 * @throws {VirtError} INVALID_ARG (8), located at the parameter, on the first problem.
 *
 * @example
 * ```ts
 * import { operation } from "../model/operations.ts";
 * import { validateQuery } from "./request_schemas.ts";
 * validateQuery(operation("domain.list"), new URL("http://evirt/v1/domains?active=1"));
 * try {
 *   validateQuery(operation("domain.list"), new URL("http://evirt/v1/domains?activ=1"));
 * } catch (error) {
 *   console.log((error as Error).message); // "unknown parameter 'activ' for GET /v1/domains"
 * }
 * ```
 */
export function validateQuery(row: Operation, url: URL): void {
  if (row.http === null) return;
  const { parameters, schema } = rowQuery(row);
  const given: Record<string, unknown> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const parameter = parameters.get(name);
    if (parameter === undefined) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `unknown parameter '${name}' for ${row.http.method} ${row.http.path}`,
        { where: name },
      );
    }
    const values = url.searchParams.getAll(name);
    if (!parameter.repeatable && values.length > 1) {
      throw new VirtError(ErrorCode.INVALID_ARG, `${name} may be given once`, { where: name });
    }
    const read = values.map((value) => readValue(parameter, value));
    given[name] = parameter.repeatable ? read : read[0];
  }
  if (Value.Check(schema, given)) return;
  const first = Value.Errors(schema, given).First();
  const name = first?.path.split("/")[1] ?? "";
  const parameter = parameters.get(name);
  if (parameter === undefined) throw new VirtError(ErrorCode.INVALID_ARG, "invalid query");
  if (!(name in given)) {
    throw new VirtError(ErrorCode.INVALID_ARG, `${name} is required`, { where: name });
  }
  throw new VirtError(ErrorCode.INVALID_ARG, expectation(parameter, url), { where: name });
}

/** A query value read as its parameter's type; left as text when it is not one (to be refused). */
function readValue(parameter: OperationParameter, value: string): unknown {
  switch (parameter.type) {
    case "boolean":
      if (value === "" || value === "true" || value === "1") return true;
      if (value === "false" || value === "0") return false;
      return value;
    case "integer":
    case "number": {
      const number = Number(value);
      return value.trim() === "" || !Number.isFinite(number) ? value : number;
    }
    case "string":
      return value;
  }
}

/** What a parameter takes, said as the handlers' own refusals say it. */
function expectation(parameter: OperationParameter, url: URL): string {
  const got = url.searchParams.getAll(parameter.name).join("', '");
  const { name } = parameter;
  switch (parameter.type) {
    case "boolean":
      return `${name} must be true or false, got '${got}'`;
    case "integer":
    case "number": {
      const kind = parameter.type === "integer" ? "an integer" : "a number";
      const range = parameter.min !== undefined && parameter.max !== undefined
        ? ` from ${parameter.min} to ${parameter.max}`
        : parameter.min !== undefined
        ? ` of at least ${parameter.min}`
        : parameter.max !== undefined
        ? ` of at most ${parameter.max}`
        : "";
      return `${name} must be ${kind}${range}, got '${got}'`;
    }
    case "string":
      return parameter.values === undefined
        ? `${name} is not valid, got '${got}'`
        : `${name} must be one of ${parameter.values.join(", ")}, got '${got}'`;
  }
}

/** `PUT …/autostart` of domains, pools and networks. */
export const AutostartSchema = Type.Object({
  autostart: Type.Boolean({ description: "Start it when the service starts" }),
}, { additionalProperties: false });

/** `PUT /v1/domains/{ref}/metadata`: `virDomainSetMetadata`. */
export const MetadataChangeSchema = Type.Object({
  type: Type.Union([Type.Literal("title"), Type.Literal("description"), Type.Literal("element")]),
  value: Type.Optional(Type.Union([Type.String(), Type.Null()], {
    description: "Text, or the element's XML; null or empty removes",
  })),
  uri: Type.Optional(Type.String({ description: "The element's namespace" })),
  key: Type.Optional(Type.String({ description: "The element's namespace prefix" })),
  live: Type.Optional(Type.Boolean()),
  config: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

/** The names of a libvirt enumeration's table but its `none`, as literals. */
function namesOf(table: Record<string, number>, description: string) {
  const names = Object.keys(table).filter((name) => name !== "none");
  return Type.Union(names.map((name) => Type.Literal(name)), { description });
}

/** `POST /v1/networks/{network}/actions/update`: `virNetworkUpdate`. */
export const NetworkUpdateSchema = Type.Object({
  command: namesOf(NETWORK_UPDATE_COMMANDS, "virNetworkUpdateCommand, as virsh names it"),
  section: namesOf(NETWORK_UPDATE_SECTIONS, "virNetworkUpdateSection, as virsh names it"),
  parentIndex: Type.Optional(Type.Integer({
    minimum: -(2 ** 31),
    maximum: 2 ** 31 - 1,
    description: "Which <ip> (from 0); negative or absent: the one with DHCP",
  })),
  xml: Type.String({ description: "The element to add or modify, or to match" }),
  live: Type.Optional(Type.Boolean({ description: "Affect the running network" })),
  config: Type.Optional(Type.Boolean({ description: "Affect the persistent definition" })),
}, { additionalProperties: false });

/** The JSON request bodies by the name rows give them. */
export const BODY_SCHEMAS = {
  Autostart: AutostartSchema,
  MetadataChange: MetadataChangeSchema,
  NetworkUpdate: NetworkUpdateSchema,
} as const;

/**
 * A JSON body checked against its schema.
 *
 * @throws {VirtError} INVALID_ARG (8), located at the member, on the first problem.
 *
 * @example
 * ```ts
 * import { AutostartSchema, checkBody } from "./request_schemas.ts";
 * console.log(checkBody(AutostartSchema, { autostart: true }).autostart); // true
 * ```
 */
export function checkBody<T extends TSchema>(schema: T, body: unknown): Static<T> {
  if (Value.Check(schema, body)) return body;
  const first = Value.Errors(schema, body).First();
  const name = first?.path.split("/").filter((part) => part !== "").join(".") ?? "";
  if (first === undefined || name === "") {
    throw new VirtError(ErrorCode.INVALID_ARG, "JSON body does not match its schema", {
      where: "body",
    });
  }
  const problem = first.type === ValueErrorType.ObjectAdditionalProperties
    ? `unknown member '${name}'`
    : first.type === ValueErrorType.ObjectRequiredProperty
    ? `${name} is required`
    : `${name} ${expected(first.schema)}`;
  throw new VirtError(ErrorCode.INVALID_ARG, problem, { where: name });
}

/** What a member's schema takes, in words. */
function expected(schema: TSchema): string {
  switch (schema[Kind]) {
    case "Boolean":
      return "must be true or false";
    case "String":
      return "must be a string";
    case "Union": {
      const members = (schema as unknown as { anyOf: TSchema[] }).anyOf;
      if (members.every((member) => member[Kind] === "Literal")) {
        return `must be one of ${members.map((member) => member.const).join(", ")}`;
      }
      return `must be ${members.map((member) => String(member[Kind]).toLowerCase()).join(" or ")}`;
    }
    default:
      return `must be ${String(schema[Kind]).toLowerCase()}`;
  }
}
