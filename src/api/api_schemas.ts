/**
 * The API's answer schemas written with TypeBox: each is a JSON Schema (the OpenAPI document's
 * `components.schemas` take them as they are) and a TypeScript type (`Static<typeof …>`) that
 * the views are checked against at compile time, so the document cannot drift from what the
 * routes return. The API tests validate answers against them with TypeBox's `Value.Check`.
 *
 * Moved here so far: the error answer, `version`, `hostname`/`nodeinfo`, a domain's summary,
 * info and state, the domain list, and the top level of the domain definition; the other schemas
 * are still literals in `openapi.ts`.
 *
 * @module
 */

import { FormatRegistry, type Static, type TSchema, Type } from "@sinclair/typebox";
import type {
  DomainInfoView,
  DomainSummaryView,
  HostView,
  StateView,
  VersionView,
} from "./views.ts";
import type { DomainDefinition } from "../model/domain.ts";

/** The error answer: libvirt's error number and name, the message as libvirt prints it. */
export const ErrorSchema = Type.Object({
  error: Type.Object({
    code: Type.Integer({ description: "libvirt virErrorNumber" }),
    name: Type.String({ description: "libvirt's name of the number, e.g. OPERATION_INVALID" }),
    message: Type.String({ description: "As libvirt prints it" }),
    detail: Type.Optional(Type.String()),
    where: Type.Optional(Type.String({ description: "Where in the input the problem is" })),
  }),
});

/** `GET /v1/version`. */
export const VersionSchema = Type.Object({
  evirt: Type.String({ description: "evirt's version" }),
  api: Type.String({ description: "The API version, v1" }),
  hypervisors: Type.Array(Type.Object({
    driver: Type.String(),
    version: Type.String(),
    domainTypes: Type.Array(Type.String()),
  })),
});

/** `GET /v1/host`: `hostname` and `nodeinfo`. */
export const HostSchema = Type.Object({
  hostname: Type.String(),
  node: Type.Object({
    model: Type.String(),
    memoryKiB: Type.Integer(),
    cpus: Type.Integer(),
    mhz: Type.Integer(),
    nodes: Type.Integer(),
    sockets: Type.Integer(),
    cores: Type.Integer(),
    threads: Type.Integer(),
    cpuMapCpus: Type.Optional(Type.Integer()),
  }),
});

/** A domain's summary, as lists and lookups answer it. */
export const DomainSummarySchema = Type.Object({
  uuid: Type.String({ format: "uuid" }),
  name: Type.String(),
  id: Type.Union([Type.Integer(), Type.Null()], { description: "Null when inactive" }),
  state: Type.Integer({ description: "libvirt virDomainState" }),
  stateName: Type.String({ description: "As virsh prints it, e.g. shut off" }),
  reason: Type.Integer(),
  reasonName: Type.String(),
  persistent: Type.Boolean(),
  autostart: Type.Boolean(),
  active: Type.Boolean(),
  managedSave: Type.Boolean({ description: "Whether the next start restores a managed save" }),
  pendingFacts: Type.Union([
    Type.Null(),
    Type.Object({
      facts: Type.Integer(),
      cause: Type.String(),
      since: Type.String({ format: "date-time" }),
      needsReconcile: Type.Boolean(),
      dropped: Type.Integer(),
    }),
  ], { description: "Facts the event log has refused so far (a full disk); null when none" }),
}, { $id: "DomainSummary" });

/** `GET /v1/domains/{ref}/state`: `domstate --reason`. */
export const StateSchema = Type.Object({
  state: Type.Integer({ description: "libvirt virDomainState" }),
  stateName: Type.String(),
  reason: Type.Integer(),
  reasonName: Type.String(),
});

/** `GET /v1/domains/{ref}`: `dominfo`, the summary and the figures. */
export const DomainInfoSchema = Type.Composite([
  DomainSummarySchema,
  Type.Object({
    type: Type.String({ description: "The hypervisor type, e.g. qemu" }),
    osType: Type.String({ description: "The guest OS type, e.g. hvm" }),
    maxMemoryKiB: Type.Integer(),
    memoryKiB: Type.Integer(),
    vcpus: Type.Integer(),
    cpuTimeNs: Type.Integer({ description: "CPU time consumed, in ns" }),
    security: Type.Optional(Type.Object({
      model: Type.String(),
      doi: Type.String(),
      label: Type.Optional(Type.String()),
    })),
    title: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
  }),
]);

/** `GET /v1/domains`. */
export const DomainListSchema = Type.Object({
  domains: Type.Array(Type.Ref("DomainSummary")),
});

/**
 * The typed domain model (`src/model/domain.ts`), model version 1: its top level; devices and
 * the nested settings are objects whose members the model's JSDoc describes.
 */
export const DomainDefinitionSchema = Type.Object({
  type: Type.String({ description: "Domain type: test, qemu, kvm, …" }),
  name: Type.String(),
  uuid: Type.Optional(Type.String({ format: "uuid" })),
  id: Type.Optional(Type.Integer()),
  genid: Type.Optional(Type.String()),
  title: Type.Optional(Type.String()),
  description: Type.Optional(Type.String()),
  memoryKiB: Type.Integer({ minimum: 1 }),
  currentMemoryKiB: Type.Optional(Type.Integer({ minimum: 1 })),
  vcpus: Type.Integer({ minimum: 1 }),
  iothreads: Type.Optional(Type.Integer()),
  os: Type.Object({}, { additionalProperties: true }),
  devices: Type.Object({}, { additionalProperties: true }),
  features: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Type.String()))),
  onPoweroff: Type.Optional(Type.String()),
  onReboot: Type.Optional(Type.String()),
  onCrash: Type.Optional(Type.String()),
  onLockfailure: Type.Optional(Type.String()),
}, {
  additionalProperties: true,
  description: "The typed domain model (src/model/domain.ts), model version 1",
});

/**
 * Teaches TypeBox's validator the string formats these schemas use (`uuid`, `date-time`); its
 * format registry is process-wide, so a validating caller registers them once.
 *
 * @example
 * ```ts
 * import { Value } from "@sinclair/typebox/value";
 * import { DomainSummarySchema, registerSchemaFormats } from "./api_schemas.ts";
 * registerSchemaFormats();
 * console.log(Value.Check(DomainSummarySchema.properties.uuid, "not-a-uuid")); // false
 * ```
 */
export function registerSchemaFormats(): void {
  FormatRegistry.Set(
    "uuid",
    (value) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value),
  );
  FormatRegistry.Set("date-time", (value) => !Number.isNaN(Date.parse(value)));
}

/** The schemas of this module by their name in `components.schemas`. */
export const API_SCHEMAS: Record<string, TSchema> = {
  Error: ErrorSchema,
  Version: VersionSchema,
  Host: HostSchema,
  DomainSummary: DomainSummarySchema,
  DomainInfo: DomainInfoSchema,
  State: StateSchema,
  DomainList: DomainListSchema,
  DomainDefinition: DomainDefinitionSchema,
};

/**
 * The schemas as plain JSON: TypeBox's `$ref: "DomainSummary"` written as the document's
 * `#/components/schemas/DomainSummary` (and the `$id` it resolves by dropped), its symbol keys
 * dropped by the JSON round trip.
 *
 * @example
 * ```ts
 * import { componentSchemas } from "./api_schemas.ts";
 * console.log(componentSchemas().DomainList);
 * // { type: "object", properties: { domains: { type: "array", items: { $ref: "#/components/schemas/DomainSummary" } } }, required: ["domains"] }
 * ```
 */
export function componentSchemas(): Record<string, unknown> {
  return plainSchemas(API_SCHEMAS);
}

/**
 * TypeBox schemas as the document's plain JSON: a `$ref` by `$id` written as
 * `#/components/schemas/NAME` (and the `$id` dropped), symbol keys dropped by the JSON round trip.
 *
 * @example
 * ```ts
 * import { Type } from "@sinclair/typebox";
 * import { plainSchemas } from "./api_schemas.ts";
 * console.log(plainSchemas({ Name: Type.String() })); // { Name: { type: "string" } }
 * ```
 */
export function plainSchemas(schemas: Record<string, TSchema>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(schemas),
    (key, value) => {
      // TypeBox names a referenced schema by `$id`; the document names it by its place.
      if (key === "$id") return undefined;
      return key === "$ref" && typeof value === "string" && !value.startsWith("#")
        ? `#/components/schemas/${value}`
        : value;
    },
  );
}

// The views must be what the schemas say (compile-time checks; no code runs).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _version: Same<Static<typeof VersionSchema>, VersionView> = true;
const _host: Same<Static<typeof HostSchema>, HostView> = true;
const _summary: Same<Static<typeof DomainSummarySchema>, DomainSummaryView> = true;
const _info: Same<Static<typeof DomainInfoSchema>, DomainInfoView> = true;
const _state: Same<Static<typeof StateSchema>, StateView> = true;
const _definition: DomainDefinition extends Static<typeof DomainDefinitionSchema> ? true : false =
  true;
void [_version, _host, _summary, _info, _state, _definition];
