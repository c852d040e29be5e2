/**
 * The API's OpenAPI 3.1 document, served at `/v1/openapi.json`. Its paths derive from the
 * operations table (`src/model/operations.ts`): each routed row gives a path, a method, a summary
 * naming the libvirt calls, the parameters and the answer; this file adds only the schemas and
 * the shared error answers. A test checks that every documented route answers and every route is
 * documented.
 *
 * @module
 */

import {
  type Operation,
  type OperationParameter,
  type OperationRoute,
  OPERATIONS,
} from "../model/operations.ts";
import { parameterSchema, queryParameters } from "./request_schemas.ts";
import { VERSION } from "../model/version.ts";
import { componentSchemas, plainSchemas } from "./api_schemas.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ "application/json": { schema } });
const errorResponses = {
  "400": { description: "Invalid input (codes 8, 27, 67, 74)", content: json(ref("Error")) },
  "401": { description: "Missing or bad token (code 45)", content: json(ref("Error")) },
  "403": { description: "Read-only access (code 29)", content: json(ref("Error")) },
  "404": { description: "No such domain (code 42)", content: json(ref("Error")) },
  "409": {
    description: "Invalid in the current state (code 55) or conflict (code 9)",
    content: json(ref("Error")),
  },
  "503": {
    description: "Domain busy (code 87): 'busy with <job> since <time>'",
    content: json(ref("Error")),
  },
  "504": { description: "Timed out (code 68)", content: json(ref("Error")) },
};

/** The path parameters routes use, by name. */
const PATH_PARAMETERS: Record<string, { description: string }> = {
  ref: { description: "Domain name, uuid (with or without dashes) or id of a running domain" },
  disk: { description: "Disk target (vda) or source path (URL-encoded)" },
  iface: { description: "Host device name (e.g. the tap) or MAC address" },
  alias: { description: "Device alias, e.g. virtio-disk1 or a user's ua-…" },
  pool: { description: "Storage pool name or uuid" },
  volume: { description: "Volume name in the pool (URL-encoded)" },
  network: { description: "Network name or uuid (with or without dashes)" },
  secret: { description: "Secret uuid (with or without dashes)" },
  port: { description: "Network port uuid" },
  format: { description: "A native configuration format: xen-xl, xen-xm, vmware-vmx, …" },
  snapshot: { description: "Snapshot name (URL-encoded)" },
};

/** The request bodies rows name. */
const REQUEST_BODIES: Record<NonNullable<OperationRoute["body"]>, unknown> = {
  definition: {
    required: true,
    content: {
      "application/xml": { schema: { type: "string", description: "libvirt domain XML" } },
      "application/json": { schema: ref("DomainDefinition") },
    },
  },
  OptionalDefinition: {
    required: false,
    content: {
      "application/xml": { schema: { type: "string", description: "libvirt domain XML" } },
      "application/json": { schema: ref("DomainDefinition") },
    },
  },
  MetadataChange: { required: true, content: json(ref("MetadataChange")) },
  DeviceXml: {
    required: true,
    content: {
      "application/xml": { schema: { type: "string", description: "One libvirt device element" } },
    },
  },
  VolumeContent: {
    required: true,
    content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
  },
  StorageXml: {
    required: true,
    content: {
      "application/xml": { schema: { type: "string", description: "Pool or volume XML" } },
    },
  },
  NetworkXml: {
    required: true,
    content: {
      "application/xml": { schema: { type: "string", description: "Network XML" } },
    },
  },
  SecretXml: {
    required: true,
    content: {
      "application/xml": { schema: { type: "string", description: "<secret> XML" } },
    },
  },
  SecretValue: {
    required: true,
    content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
  },
  NetworkPortXml: {
    required: true,
    content: {
      "application/xml": { schema: { type: "string", description: "Network port XML" } },
    },
  },
  NativeConfig: {
    required: true,
    content: {
      "text/plain": { schema: { type: "string", description: "The native configuration" } },
    },
  },
  DomainXml: {
    required: true,
    content: {
      "application/xml": { schema: { type: "string", description: "libvirt domain XML" } },
    },
  },
  SnapshotXml: {
    required: true,
    content: {
      "application/xml": { schema: { type: "string", description: "<domainsnapshot> XML" } },
    },
  },
  CommandText: {
    required: true,
    content: { "text/plain": { schema: { type: "string", description: "The command" } } },
  },
  Autostart: { required: true, content: json(ref("Autostart")) },
  NetworkUpdate: { required: true, content: json(ref("NetworkUpdate")) },
};

/** What a few routes add to the table's row (longer descriptions, answers besides success). */
const EXTRAS: Record<string, { description?: string; responses?: Record<string, unknown> }> = {
  "domain.stats_all": {
    description:
      "Answered from the drivers' samples, never by querying a monitor: each record says how old its samples are and whether they are stale (the monitor stopped answering).",
  },
  "domain.events": {
    description:
      "One message per fact of the log. The SSE id is the fact's global position; resume strictly after it with since or Last-Event-ID. Heartbeats are comments. A position older than retention answers 410.",
    responses: {
      "101": { description: "WebSocket: one JSON Event per text message" },
      "410": { description: "The position was pruned: list again", content: json(ref("Error")) },
    },
  },
  "domain.console_socket": {
    description:
      "The domain's pty console as binary WebSocket messages both ways. A second writer is refused with code 9 (close code 4009) unless force is set, which ends the first (close code 4001). A read-only caller views; a message from it closes the socket with code 4029. Over a session cookie the CSRF token travels as the subprotocol evirt-csrf.TOKEN beside evirt.v1.",
    responses: { "101": { description: "WebSocket: the console's bytes" } },
  },
  "domain.graphics_socket": {
    description:
      "A connection to the domain's VNC server as binary WebSocket messages both ways (what noVNC speaks). Code 55 when the domain is not running, 67 without a VNC display on an address.",
    responses: { "101": { description: "WebSocket: RFB bytes" } },
  },
};

function pathParameters(path: string): unknown[] {
  return path.split("/").filter((segment) => segment.startsWith(":")).map((segment) => {
    const name = segment.slice(1);
    const known = PATH_PARAMETERS[name];
    if (known === undefined) throw new Error(`Path parameter ${name} is not documented`);
    return { name, in: "path", required: true, ...known, schema: { type: "string" } };
  });
}

/** A parameter as the document lists it, its schema the one requests are validated by. */
function queryParameter(parameter: OperationParameter): unknown {
  const schema = plainSchemas({ schema: parameterSchema(parameter) }).schema;
  return {
    name: parameter.name,
    in: parameter.in ?? "query",
    description: parameter.flag === undefined
      ? parameter.description
      : `${parameter.description} (${parameter.flag})`,
    ...(parameter.required ? { required: true } : {}),
    schema,
  };
}

function pathItem(row: Operation, http: OperationRoute): Record<string, unknown> {
  const { answer } = http;
  const apis = row.libvirt.map((call) => call.api).join(", ");
  const extra = EXTRAS[row.name] ?? {};
  const headers = http.query.filter((parameter) => parameter.in === "header");
  const query = [...queryParameters(row), ...headers];
  return {
    operationId: row.name,
    summary: apis === "" ? row.summary : `${row.summary} (${apis})`,
    ...(extra.description === undefined ? {} : { description: extra.description }),
    "x-evirt-access": row.access,
    parameters: [...pathParameters(http.path), ...query.map(queryParameter)],
    ...(http.body === undefined ? {} : { requestBody: REQUEST_BODIES[http.body] }),
    responses: {
      [String(answer.status)]: {
        description: answer.description,
        ...(answer.schema === undefined
          ? {}
          : { content: { [answer.media ?? "application/json"]: { schema: ref(answer.schema) } } }),
      },
      ...extra.responses,
      ...(row.object === "host" ? { "401": errorResponses["401"] } : errorResponses),
    },
  };
}

/** The document's paths, one per routed row (`:ref` written `{ref}`). */
function paths(): Record<string, Record<string, unknown>> {
  const result: Record<string, Record<string, unknown>> = {};
  for (const row of OPERATIONS as readonly Operation[]) {
    if (row.http === null) continue;
    const path = row.http.path.replaceAll(/:(\w+)/g, "{$1}");
    result[path] ??= {};
    result[path][row.http.method.toLowerCase()] = pathItem(row, row.http);
  }
  return result;
}

/** The OpenAPI document. */
export const OPENAPI_DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "evirt",
    version: VERSION,
    description:
      "Virtualization manager in the spirit of libvirt. Errors carry libvirt's error numbers.",
    license: { name: "MIT", identifier: "MIT" },
  },
  servers: [
    {
      url: "http://{host}:{port}",
      description: "The TCP listener (EVIRT_LISTEN): every call needs a bearer token. The " +
        "unix sockets $EVIRT_RUNTIME_DIR/evirt.sock (read-write) and evirt-ro.sock (read-only) " +
        "serve the same paths without one.",
      variables: {
        host: { default: "localhost" },
        port: { default: "8080" },
      },
    },
  ],
  // A token over TCP; none over the unix sockets, whose file modes decide who may call.
  security: [{ bearerToken: [] }, {}],
  paths: paths(),
  components: {
    securitySchemes: {
      bearerToken: {
        type: "http",
        scheme: "bearer",
        description: "A token of EVIRT_TOKENS_FILE: read-write or read-only",
      },
    },
    schemas: componentSchemas(),
  },
};
