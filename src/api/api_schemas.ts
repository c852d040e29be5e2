/**
 * The API's answer schemas written with TypeBox: each is a JSON Schema (the OpenAPI document's
 * `components.schemas` take them as they are) and a TypeScript type (`Static<typeof …>`) that
 * the views are checked against at compile time, so the document cannot drift from what the
 * routes return. The API tests validate answers against them with TypeBox's `Value.Check`.
 *
 * This module holds the host's and the domains' own answers; `object_schemas.ts` (pools,
 * volumes, networks, snapshots) and `stats_schemas.ts` (disks, interfaces, memory, vCPUs,
 * statistics) the rest, and `request_schemas.ts` the request bodies: {@linkcode API_SCHEMAS}
 * gathers every one under its name in the document.
 *
 * @module
 */

import { FormatRegistry, type Static, type TSchema, Type } from "@sinclair/typebox";
import type {
  DefineView,
  DomainInfoView,
  DomainSummaryView,
  EventMessage,
  FleetDomainsView,
  FleetHostsView,
  HostSummaryView,
  HostView,
  MigratedView,
  MigrateLimitsView,
  StateView,
  VersionView,
} from "./views.ts";
import type { InterfaceListRow } from "../projections/interface_list.ts";
import { OBJECT_SCHEMAS } from "./object_schemas.ts";
import { STATS_SCHEMAS } from "./stats_schemas.ts";
import { BODY_SCHEMAS } from "./request_schemas.ts";
import type { DomainDefinition } from "../model/domain.ts";
import type { GuestsView } from "../../actors/host_guests.ts";

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

/** `GET /v1/host/summary`: the log's position and the event stream's subscribers by kind. */
export const HostSummarySchema = Type.Object({
  log: Type.Object({
    position: Type.Integer({ description: "Position of the last durable fact (0: none yet)" }),
    oldestPosition: Type.Integer({ description: "Oldest position still readable" }),
  }),
  subscribers: Type.Object({
    sse: Type.Integer({ description: "Server-Sent Events subscribers of /v1/events" }),
    websocket: Type.Integer({ description: "WebSocket subscribers of /v1/events" }),
    rpc: Type.Integer({
      description: "Event callbacks registered over the libvirt protocol (domain, pool, network)",
    }),
    fleet: Type.Integer({
      description: "Subscribers of the fleet stream (/v1/events?scope=fleet)",
    }),
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
  $id: "DomainDefinition",
  additionalProperties: true,
  description: "The typed domain model (src/model/domain.ts), model version 1",
});

/** A domain action's answer: the domain after it, or only its identity once it is gone. */
export const ActionResultSchema = Type.Union([
  Type.Composite([DomainSummarySchema, Type.Object({ exists: Type.Literal(true) })]),
  Type.Object({
    uuid: Type.String({ format: "uuid" }),
    name: Type.String(),
    exists: Type.Literal(false, { description: "A transient domain that ended" }),
  }),
]);

/** `define`: `virDomainDefineXML`. */
export const DefineSchema = Type.Object({
  uuid: Type.String({ format: "uuid" }),
  name: Type.String(),
  detail: Type.Union([Type.Literal("added"), Type.Literal("updated")]),
});

/** `GET /v1/domains/{ref}/definition`: the typed definition and its model version. */
export const DefinitionDocumentSchema = Type.Object({
  modelVersion: Type.Integer(),
  definition: Type.Ref("DomainDefinition"),
});

/** `metadata`: the title, description or an element of a namespace. */
export const MetadataSchema = Type.Object({
  type: Type.Union([Type.Literal("title"), Type.Literal("description"), Type.Literal("element")]),
  uri: Type.Optional(Type.String()),
  value: Type.String({ description: "The text, or the element's XML" }),
});

/** `blockjob --info`: `virDomainGetBlockJobInfo`. */
export const BlockJobInfoSchema = Type.Object({
  found: Type.Boolean({ description: "Whether the disk has a block job" }),
  type: Type.Integer({ description: "libvirt's job type (1 pull … 4 active commit)" }),
  bandwidth: Type.String({ description: "Speed limit: MiB/s, or bytes/s with bytes" }),
  cur: Type.String({ description: "Work done (bytes, a decimal string)" }),
  end: Type.String({ description: "Work in all (bytes, a decimal string)" }),
});

/** `perf`: `virDomainGetPerfEvents`. */
export const PerfEventsSchema = Type.Object({
  events: Type.Array(Type.Object({ name: Type.String(), enabled: Type.Boolean() }), {
    description: "Every perf event libvirt knows, in its order",
  }),
});

/** `schedinfo`: `virDomainGetSchedulerType` and `virDomainGetSchedulerParametersFlags`. */
export const SchedulerInfoSchema = Type.Object({
  scheduler: Type.String({ description: "posix (QEMU, LXC) or fair (test hypervisor)" }),
  parameters: Type.Array(Type.Object({ name: Type.String(), value: Type.Integer() }), {
    description: "cpu_shares, vcpu_period, … in libvirt's order (µs; 0: unset)",
  }),
});

/** `domiftune`: `virDomainGetInterfaceParameters`. */
export const InterfaceParametersSchema = Type.Object({
  parameters: Type.Array(Type.Object({ name: Type.String(), value: Type.Integer() }), {
    description: "inbound.average … outbound.burst, in libvirt's order (KiB/s, KiB; 0: unset)",
  }),
});

/** `domjobinfo`: a save's or restore's statistics (sizes in bytes, times in ms). */
export const DomainJobSchema = Type.Object({
  type: Type.Integer({ description: "virDomainJobType: 0 none, 2 unbounded, 3 completed" }),
  job: Type.Union([
    Type.Null(),
    Type.Object({
      operation: Type.Union([
        Type.Literal("save"),
        Type.Literal("restore"),
        Type.Literal("migration_out"),
        Type.Literal("migration_in"),
      ]),
      status: Type.Union([
        Type.Literal("active"),
        Type.Literal("completed"),
        Type.Literal("failed"),
        Type.Literal("cancelled"),
      ]),
      timeElapsedMs: Type.Integer({ minimum: 0 }),
      dataTotal: Type.Integer({ minimum: 0 }),
      dataProcessed: Type.Integer({ minimum: 0 }),
      dataRemaining: Type.Integer({ minimum: 0 }),
      memoryTotal: Type.Integer({ minimum: 0 }),
      memoryProcessed: Type.Integer({ minimum: 0 }),
      memoryRemaining: Type.Integer({ minimum: 0 }),
      memoryConstant: Type.Integer({ minimum: 0 }),
      memoryNormal: Type.Integer({ minimum: 0 }),
      memoryNormalBytes: Type.Integer({ minimum: 0 }),
      memoryBps: Type.Integer({ minimum: 0 }),
      memoryDirtyRate: Type.Integer({ minimum: 0 }),
      memoryPageSize: Type.Integer({ minimum: 0 }),
      memoryIteration: Type.Integer({ minimum: 0 }),
      memoryPostcopyRequests: Type.Integer({ minimum: 0 }),
      setupTimeMs: Type.Integer({ minimum: 0 }),
      downtimeMs: Type.Optional(Type.Integer({ minimum: 0 })),
    }),
  ]),
});

/** `vcpucount` with one selection. */
export const VcpuCountSchema = Type.Object({
  count: Type.Integer({ description: "The vCPU count asked for" }),
});

/** A device change that may wait for the guest. */
export const DeviceChangeSchema = Type.Object({
  pending: Type.Array(Type.String(), {
    description: "Aliases the guest was asked to release and has not yet",
  }),
});

/** `ttyconsole`. */
export const ConsolePathSchema = Type.Object({ path: Type.String() });

/** A monitor or agent command's reply. */
export const CommandReplySchema = Type.Object({
  reply: Type.String({ description: "The reply, as the monitor or agent gave it" }),
});

/** `domiflist`. */
export const InterfaceListSchema = Type.Object({
  interfaces: Type.Array(Type.Object({
    interface: Type.String({ description: "Host device, or - when not known" }),
    type: Type.String(),
    source: Type.String(),
    model: Type.String(),
    mac: Type.String(),
  })),
});

/** `GET /v1/fleet/domains`. */
export const FleetDomainsSchema = Type.Object({
  domains: Type.Array(Type.Object({
    uuid: Type.String(),
    name: Type.String(),
    host: Type.String({ description: "The owner (its lease)" }),
    active: Type.Boolean({ description: "Active at the lease's last change" }),
    sinceMs: Type.Integer({ description: "When the owner took it, ms since the epoch" }),
    pending: Type.Optional(
      Type.Boolean({ description: "Given to its owner, not yet defined there" }),
    ),
  })),
});

/** `POST /v1/domains/:ref/migrate`. */
export const MigratedSchema = Type.Object({
  uuid: Type.String(),
  name: Type.String(),
  host: Type.String({ description: "Where the domain is now" }),
  totalTimeMs: Type.Optional(
    Type.Integer({ description: "A live migration's total time (QEMU's figure), ms" }),
  ),
  downtimeMs: Type.Optional(
    Type.Integer({ description: "A live migration's guest downtime (QEMU's figure), ms" }),
  ),
  memoryProcessedBytes: Type.Optional(
    Type.Integer({ description: "A live migration's memory sent, bytes" }),
  ),
});

/** `GET /v1/domains/:ref/migrate/limits`. */
export const MigrateLimitsSchema = Type.Object({
  bandwidth: Type.Integer({ description: "MiB/s" }),
  maxDowntime: Type.Integer({ description: "ms" }),
});

/** `GET /v1/fleet/hosts`. */
export const FleetHostsSchema = Type.Object({
  hosts: Type.Array(Type.Object({
    name: Type.String(),
    state: Type.Union([Type.Literal("alive"), Type.Literal("lost")]),
    drivers: Type.Array(Type.String()),
    cpus: Type.Integer(),
    memoryKiB: Type.Integer(),
    startedAtMs: Type.Integer(),
    heartbeatAtMs: Type.Integer(),
    lostAtMs: Type.Optional(Type.Integer()),
  })),
});

/** `GET /v1/host/guests`: the host's guests list and its last pass (actors/host_guests.ts). */
export const GuestsSchema = Type.Object({
  listed: Type.Array(Type.Object({
    uuid: Type.String(),
    name: Type.String(),
    action: Type.Union([Type.Literal("suspend"), Type.Literal("shutdown")]),
    order: Type.Integer(),
    active: Type.Boolean(),
    managedSave: Type.Boolean(),
  })),
  pass: Type.Union([
    Type.Object({
      kind: Type.Union([Type.Literal("stop"), Type.Literal("start")]),
      action: Type.Union([
        Type.Literal("suspend"),
        Type.Literal("shutdown"),
        Type.Literal("start"),
        Type.Literal("ignore"),
      ]),
      running: Type.Boolean(),
      failed: Type.Boolean({ description: "libvirt-guests would exit with 1" }),
      startedAtMs: Type.Integer(),
      endedAtMs: Type.Union([Type.Integer(), Type.Null()]),
      lines: Type.Array(Type.String(), { description: "libvirt-guests' lines" }),
      firstLine: Type.Integer({ description: "The index of lines[0]" }),
      lineCount: Type.Integer(),
    }),
    Type.Null(),
  ]),
});

/** One event of `GET /v1/events`: one fact of the log. */
export const EventSchema = Type.Object({
  position: Type.Integer({ description: "The fact's global position" }),
  time: Type.String({ format: "date-time" }),
  domain: Type.Object({ uuid: Type.String({ format: "uuid" }), name: Type.String() }),
  fact: Type.String({ description: "The fact's type, e.g. domain.started" }),
  eventId: Type.Union([Type.Integer(), Type.Null()]),
  event: Type.Union([Type.String(), Type.Null()]),
  lifecycle: Type.Optional(Type.Object({
    type: Type.Integer(),
    typeName: Type.String(),
    detail: Type.Integer(),
    detailName: Type.String(),
  })),
  data: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]))),
});

/** An answer that is text (XML, a command line, …) in the media type the row names. */
export const TextSchema = Type.String();

/** An answer of raw bytes (a screenshot, a volume's content). */
export const BinarySchema = Type.String({ format: "binary" });

/** The OpenAPI document itself. */
export const OpenApiSchema = Type.Object({}, { additionalProperties: true });

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

/** Every schema of the API by its name in `components.schemas`. */
export const API_SCHEMAS: Record<string, TSchema> = {
  Error: ErrorSchema,
  Version: VersionSchema,
  Host: HostSchema,
  HostSummary: HostSummarySchema,
  DomainSummary: DomainSummarySchema,
  DomainInfo: DomainInfoSchema,
  State: StateSchema,
  DomainList: DomainListSchema,
  DomainDefinition: DomainDefinitionSchema,
  ActionResult: ActionResultSchema,
  Define: DefineSchema,
  DefinitionDocument: DefinitionDocumentSchema,
  Metadata: MetadataSchema,
  BlockJobInfo: BlockJobInfoSchema,
  MigrateLimits: MigrateLimitsSchema,
  VcpuCount: VcpuCountSchema,
  PerfEvents: PerfEventsSchema,
  InterfaceParameters: InterfaceParametersSchema,
  SchedulerInfo: SchedulerInfoSchema,
  DomainJob: DomainJobSchema,
  DeviceChange: DeviceChangeSchema,
  ConsolePath: ConsolePathSchema,
  CommandReply: CommandReplySchema,
  InterfaceList: InterfaceListSchema,
  FleetHosts: FleetHostsSchema,
  Guests: GuestsSchema,
  FleetDomains: FleetDomainsSchema,
  Migrated: MigratedSchema,
  Event: EventSchema,
  Text: TextSchema,
  Binary: BinarySchema,
  OpenApi: OpenApiSchema,
  ...OBJECT_SCHEMAS,
  ...STATS_SCHEMAS,
  ...BODY_SCHEMAS,
};

/** The schemas others refer to by `$ref` (those with an `$id`), for validators. */
export const REFERENCED_SCHEMAS: TSchema[] = Object.values(API_SCHEMAS).filter((schema) =>
  schema.$id !== undefined
);

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
 * `#/components/schemas/NAME` (and the `$id` dropped), a tuple's items as `prefixItems`, symbol
 * keys dropped by the JSON round trip.
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
      if (key === "$ref" && typeof value === "string" && !value.startsWith("#")) {
        return `#/components/schemas/${value}`;
      }
      // A tuple is draft 7's `items: [...]` in TypeBox, `prefixItems` in OpenAPI 3.1.
      if (value !== null && typeof value === "object" && Array.isArray(value.items)) {
        const { items, additionalItems: _, ...rest } = value;
        return { ...rest, prefixItems: items };
      }
      return value;
    },
  );
}

// The views must be what the schemas say (compile-time checks; no code runs).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _version: Same<Static<typeof VersionSchema>, VersionView> = true;
const _host: Same<Static<typeof HostSchema>, HostView> = true;
const _hostSummary: Same<Static<typeof HostSummarySchema>, HostSummaryView> = true;
const _summary: Same<Static<typeof DomainSummarySchema>, DomainSummaryView> = true;
const _info: Same<Static<typeof DomainInfoSchema>, DomainInfoView> = true;
const _state: Same<Static<typeof StateSchema>, StateView> = true;
const _definition: DomainDefinition extends Static<typeof DomainDefinitionSchema> ? true : false =
  true;
const _define: Same<Static<typeof DefineSchema>, DefineView> = true;
const _interfaces: Same<
  Static<typeof InterfaceListSchema>["interfaces"][number],
  InterfaceListRow
> = true;
const _fleet: Same<Static<typeof FleetHostsSchema>, FleetHostsView> = true;
const _limits: Same<Static<typeof MigrateLimitsSchema>, MigrateLimitsView> = true;
const _fleetDomains: Same<Static<typeof FleetDomainsSchema>, FleetDomainsView> = true;
const _migrated: Same<Static<typeof MigratedSchema>, MigratedView> = true;
const _event: Same<Static<typeof EventSchema>, EventMessage> = true;
void [
  _version,
  _host,
  _hostSummary,
  _summary,
  _info,
  _state,
  _definition,
  _define,
  _interfaces,
  _fleet,
  _event,
];
const _guests: Same<Static<typeof GuestsSchema>, GuestsView> = true;
void [_fleetDomains, _migrated, _guests];
