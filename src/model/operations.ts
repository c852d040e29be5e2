/**
 * The operations table: one row per operation evirt offers, whatever the door it comes through.
 * A row names the object kind it acts on, the libvirt calls it answers (API name and the
 * `REMOTE_PROC_*` number of libvirt's wire protocol), whether a read-only caller may run it, its
 * flags and query parameters, its HTTP method and route, its answer, and the `evirt` verbs that
 * use it.
 *
 * Everything else derives from here: the HTTP routes and their role checks (`src/api/app.ts`), the
 * OpenAPI document (`src/api/openapi.ts`), the client's paths and action names
 * (`src/client/client.ts`), the domain commands the host dispatches (`DomainCommandName`), the verb
 * registry of the CLI (`src/cli/verb_registry.ts`) and the RPC dispatch (keyed by libvirt API name).
 * Adding an operation is one row here plus its implementation; `tests/src/model/operations_test.ts`
 * fails when a route, verb or OpenAPI entry has no row, or a row has none of them.
 *
 * This file is data and a few pure lookups: it imports nothing, so every layer may read it. It is
 * long (one row per operation, about 25 lines each) because the table is meant to be read in
 * one place; splitting it by object kind would scatter what must stay unique across kinds.
 *
 * @module
 */

/** The kinds of object an operation acts on. */
export type ObjectKind =
  | "host"
  | "domain"
  | "pool"
  | "volume"
  | "network"
  | "snapshot"
  | "secret";

/** Who may run an operation: `read-only` callers can list, read and subscribe; nothing else. */
export type OperationAccess = "read-only" | "read-write";

/** One libvirt call an operation answers. */
export interface LibvirtCall {
  /** The public API, e.g. `virDomainCreateWithFlags`. */
  api: string;
  /**
   * The `REMOTE_PROC_*` number of the call in libvirt's `remote_protocol.x`, or null for a call
   * that has none of its own (libvirt's client builds it from another procedure).
   */
  procedure: number | null;
  /**
   * The procedure's name when it does not follow from the API's (`REMOTE_PROC_` + the API in
   * upper snake case without `vir`), e.g. the callback form of event registration.
   */
  remoteName?: string;
}

/** A query (or header) parameter of an operation's HTTP route. */
export interface OperationParameter {
  /** The name in the query string, snake case (`queue_timeout_ms`). */
  name: string;
  /** Its type: `boolean` takes `true`/`1`/empty or `false`/`0`. */
  type: "boolean" | "number" | "integer" | "string";
  /** One line for the OpenAPI document. */
  description: string;
  /** The libvirt flag it stands for (`VIR_DOMAIN_START_PAUSED`), when there is one. */
  flag?: string;
  /** Smallest value accepted (numbers). */
  min?: number;
  /** Largest value accepted (numbers). */
  max?: number;
  /** Allowed values (strings). */
  values?: readonly string[];
  /** The parameter must be given. */
  required?: boolean;
  /** May be given more than once. */
  repeatable?: boolean;
  /** Where it travels: the query string (default) or a header. */
  in?: "query" | "header";
}

/** What a route answers on success. */
export interface OperationAnswer {
  /** The HTTP status of success. */
  status: 200 | 201 | 204;
  /** One line for the OpenAPI document. */
  description: string;
  /** The body's schema: a component of the OpenAPI document, by name. */
  schema?: string;
  /** The body's media type. Default `application/json` when there is a schema. */
  media?: string;
}

/** The HTTP side of an operation. */
export interface OperationRoute {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** The path pattern: `:name` segments capture one segment (`/v1/domains/:ref`). */
  path: string;
  /** Query parameters, in the order the OpenAPI document lists them. */
  query: readonly OperationParameter[];
  /** The request body, by the name the OpenAPI document gives it; none when absent. */
  body?:
    | "definition"
    | "OptionalDefinition"
    | "MetadataChange"
    | "Autostart"
    | "CommandText"
    | "NativeConfig"
    | "DomainXml"
    | "DeviceXml"
    | "StorageXml"
    | "NetworkXml"
    | "SecretXml"
    | "SecretValue"
    | "NetworkPortXml"
    | "NetworkUpdate"
    | "SnapshotXml"
    | "VolumeContent";
  answer: OperationAnswer;
  /** Runs a job in the domain's queue: takes `queue_timeout_ms`, may answer 503 (busy). */
  queued?: boolean;
  /** Streams without the request timeout (event streams). */
  streaming?: boolean;
  /**
   * The request body streams to its destination (a volume upload): it is not held against the
   * request body budget, and its size is the route's own bound.
   */
  rawBody?: true;
}

/** One operation. */
export interface Operation {
  /** Unique, `<object>.<what>`, e.g. `domain.start`. */
  name: string;
  object: ObjectKind;
  /** The libvirt calls it answers, the first being the one named in errors; may be empty. */
  libvirt: readonly LibvirtCall[];
  /** Read-only callers may run it, or only read-write ones (code 29 otherwise). */
  access: OperationAccess;
  /** One line: what it does. */
  summary: string;
  /** Its HTTP route, or null for an operation with no route of its own. */
  http: OperationRoute | null;
  /** The `evirt` verbs that run it (a verb may use several operations). */
  verbs: readonly string[];
  /** The domain command whose validity the lifecycle machine decides, for domain jobs. */
  command?: string;
  /**
   * Refused (code 38) while a domain holds facts the log could not write: the operation would
   * make the hypervisor act unrecorded (actors/held_facts_retry.ts). `destroy` has it not:
   * ending a guest must stay possible.
   */
  refusedWhileFactsHeld?: true;
}

const flag = (name: string, description: string, libvirtFlag?: string): OperationParameter => ({
  name,
  type: "boolean",
  description,
  ...(libvirtFlag === undefined ? {} : { flag: libvirtFlag }),
});

/** The disk a block job operation names. */
const BLOCK_JOB_DISK: OperationParameter = {
  name: "disk",
  type: "string",
  description: "The disk's target (vda) or source path",
  required: true,
};

/** A block job's speed limit. */
const BLOCK_JOB_BANDWIDTH: OperationParameter = {
  name: "bandwidth",
  type: "string",
  description: "The speed limit, a decimal integer: MiB/s, or bytes/s with bytes; 0 none",
};

/** `--live` / `--config` of the device operations (neither: `--current`). */
const DEVICE_SCOPE_FLAGS: readonly OperationParameter[] = [
  flag("live", "Change the running guest", "VIR_DOMAIN_AFFECT_LIVE"),
  flag("config", "Change the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
];

/** virsh's call without flags (`virDomainAttachDevice`): the running guest, errors name it. */
const LEGACY_DEVICE_CALL: OperationParameter = flag(
  "legacy",
  "As the call without flags: the running guest only; errors name virDomainAttachDevice / virDomainDetachDevice",
);

/** Longest `?wait=` and `?timeout=` accepted, in seconds. */
export const WAIT_MAX_SECONDS = 3600;

/** Longest queue wait a caller may ask for, in ms. */
export const QUEUE_TIMEOUT_MAX_MS = 600_000;

/** The `queue_timeout_ms` parameter every queued route takes. */
export const QUEUE_TIMEOUT_PARAMETER: OperationParameter = {
  name: "queue_timeout_ms",
  type: "integer",
  description: "How long to wait for a busy domain before answering 503 (default 10000)",
  min: 0,
  max: QUEUE_TIMEOUT_MAX_MS,
};

/** libvirt's list filters (virConnectListAllDomains flags), as query flags. */
const LIST_FILTERS: readonly OperationParameter[] = [
  flag("active", "Only running, paused, … domains", "VIR_CONNECT_LIST_DOMAINS_ACTIVE"),
  flag("inactive", "Only shut off domains", "VIR_CONNECT_LIST_DOMAINS_INACTIVE"),
  flag("persistent", "Only persistent domains", "VIR_CONNECT_LIST_DOMAINS_PERSISTENT"),
  flag("transient", "Only transient domains", "VIR_CONNECT_LIST_DOMAINS_TRANSIENT"),
  flag("running", "Only running domains", "VIR_CONNECT_LIST_DOMAINS_RUNNING"),
  flag("paused", "Only paused domains", "VIR_CONNECT_LIST_DOMAINS_PAUSED"),
  flag("shutoff", "Only shut off domains", "VIR_CONNECT_LIST_DOMAINS_SHUTOFF"),
  flag("other", "Only domains in other states", "VIR_CONNECT_LIST_DOMAINS_OTHER"),
  flag(
    "managed_save",
    "Only domains with a managed save image",
    "VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE",
  ),
  flag(
    "no_managed_save",
    "Only domains without a managed save image",
    "VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE",
  ),
  flag("autostart", "Only autostart domains", "VIR_CONNECT_LIST_DOMAINS_AUTOSTART"),
  flag("no_autostart", "Only domains without autostart", "VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART"),
];

const STATS_QUERY: readonly OperationParameter[] = [
  {
    name: "groups",
    type: "string",
    description:
      "Comma-separated groups: state, cpu-total, balloon, vcpu, interface, block, perf (QEMU only; iothread, memory, dirtyrate, vm are not reported); none: all",
  },
  flag(
    "nowait",
    "Never wait for a domain's first sample",
    "VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT",
  ),
  flag(
    "enforce",
    "Refuse groups that are not reported (code 74)",
    "VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS",
  ),
  flag(
    "backing",
    "Backing chains (not supported: code 74)",
    "VIR_CONNECT_GET_ALL_DOMAINS_STATS_BACKING",
  ),
];

/** The save image a save, restore or save-image call names. */
const SAVE_IMAGE_QUERY: readonly OperationParameter[] = [
  {
    name: "file",
    type: "string",
    description: "The save image's path on the host",
    required: true,
  },
];

/** The flags of save and restore. */
const SAVE_FLAGS: readonly OperationParameter[] = [
  flag("running", "Restore running", "VIR_DOMAIN_SAVE_RUNNING"),
  flag("paused", "Restore paused", "VIR_DOMAIN_SAVE_PAUSED"),
  flag(
    "bypass_cache",
    "Write or read the image past the host's file cache (O_DIRECT)",
    "VIR_DOMAIN_SAVE_BYPASS_CACHE",
  ),
];

/** The flags of a snapshot's creation (VIR_DOMAIN_SNAPSHOT_CREATE_*). */
const SNAPSHOT_CREATE_FLAGS: readonly OperationParameter[] = [
  flag("redefine", "Record a stored document as it is", "VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE"),
  flag("current", "With redefine: make it current", "VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT"),
  flag("no_metadata", "Keep no record of it", "VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA"),
  flag("halt", "Stop the domain after", "VIR_DOMAIN_SNAPSHOT_CREATE_HALT"),
  flag("disk_only", "Disks only, as new overlays", "VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY"),
  flag("reuse_external", "Use existing overlay files", "VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT"),
  flag("quiesce", "Freeze the guest's file systems", "VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE"),
  flag("atomic", "All disks or none", "VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC"),
  flag("live", "Without pausing the guest", "VIR_DOMAIN_SNAPSHOT_CREATE_LIVE"),
  flag("validate", "Check the document against the schema", "VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE"),
];

/** libvirt's snapshot list filters (VIR_DOMAIN_SNAPSHOT_LIST_*) and the snapshot to start from. */
const SNAPSHOT_LIST_FILTERS: readonly OperationParameter[] = [
  { name: "from", type: "string", description: "List the children of this snapshot" },
  flag("descendants", "With from: every descendant", "VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS"),
  flag("roots", "Only snapshots without a parent", "VIR_DOMAIN_SNAPSHOT_LIST_ROOTS"),
  flag("topological", "Parents before children", "VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL"),
  flag("leaves", "Only snapshots without children", "VIR_DOMAIN_SNAPSHOT_LIST_LEAVES"),
  flag("no_leaves", "Only snapshots with children", "VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES"),
  flag("metadata", "Only snapshots with metadata", "VIR_DOMAIN_SNAPSHOT_LIST_METADATA"),
  flag("no_metadata", "Only snapshots without metadata", "VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA"),
  flag("inactive", "Only snapshots of a shut-off domain", "VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE"),
  flag("active", "Only snapshots with memory", "VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE"),
  flag("disk_only", "Only disk-only snapshots", "VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY"),
  flag("internal", "Only internal snapshots", "VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL"),
  flag("external", "Only external snapshots", "VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL"),
];

const ACTION_ANSWER: OperationAnswer = { status: 200, description: "Done", schema: "ActionResult" };

const WAIT_PARAMETER = (description: string): OperationParameter => ({
  name: "wait",
  type: "number",
  description,
  min: 0,
  max: WAIT_MAX_SECONDS,
});

/**
 * Every operation. Rows are grouped by object; within a group, reads come before changes.
 *
 * @example Which route and role `virDomainSuspend` has
 * ```ts
 * import { operationByApi } from "./operations.ts";
 * const row = operationByApi("virDomainSuspend");
 * console.log(row?.http?.path, row?.access); // "/v1/domains/:ref/actions/suspend" "read-write"
 * ```
 */
export const OPERATIONS = [
  // --- host -------------------------------------------------------------------------------------
  {
    name: "host.version",
    object: "host",
    libvirt: [
      { api: "virConnectGetVersion", procedure: 4 },
      { api: "virConnectGetLibVersion", procedure: 157 },
    ],
    access: "read-only",
    summary: "Service and hypervisor versions",
    http: {
      method: "GET",
      path: "/v1/version",
      query: [],
      answer: { status: 200, description: "Versions", schema: "Version" },
    },
    verbs: ["version"],
  },
  {
    name: "host.describe",
    object: "host",
    libvirt: [
      { api: "virNodeGetInfo", procedure: 6 },
      { api: "virConnectGetHostname", procedure: 59 },
    ],
    access: "read-only",
    summary: "Hostname and node information",
    http: {
      method: "GET",
      path: "/v1/host",
      query: [],
      answer: { status: 200, description: "Host", schema: "Host" },
    },
    verbs: ["hostname", "nodeinfo"],
  },
  {
    name: "host.summary",
    object: "host",
    libvirt: [],
    access: "read-only",
    summary:
      "The log's position (its last fact) and the event stream's subscribers by kind: what the web console's host page shows",
    http: {
      method: "GET",
      path: "/v1/host/summary",
      query: [],
      answer: { status: 200, description: "Host summary", schema: "HostSummary" },
    },
    verbs: [],
  },
  {
    name: "host.fleet_hosts",
    object: "host",
    libvirt: [],
    access: "read-only",
    summary:
      "The hosts sharing this service's NATS log: each one's drivers, capacity, heartbeat, and whether it is alive or lost",
    http: {
      method: "GET",
      path: "/v1/fleet/hosts",
      query: [],
      answer: { status: 200, description: "Fleet hosts", schema: "FleetHosts" },
    },
    verbs: ["host"],
  },
  {
    name: "host.fleet_domains",
    object: "host",
    libvirt: [],
    access: "read-only",
    summary:
      "Every domain of the fleet sharing this service's NATS log, with the host that owns it (its lease)",
    http: {
      method: "GET",
      path: "/v1/fleet/domains",
      query: [],
      answer: { status: 200, description: "Fleet domains", schema: "FleetDomains" },
    },
    verbs: ["host"],
  },
  {
    name: "host.guests",
    object: "host",
    libvirt: [],
    access: "read-only",
    summary:
      "The host's guests list (libvirt-guests': the guests its last stop saved or shut down, started again at the service's start with on_boot = start) and the last stop's or start's lines",
    http: {
      method: "GET",
      path: "/v1/host/guests",
      query: [
        {
          name: "after",
          type: "integer",
          description: "Only the pass's lines from this index on",
          min: 0,
        },
        {
          name: "wait",
          type: "integer",
          description: "Seconds to wait for a line after `after` or the pass's end",
          min: 0,
          max: 60,
        },
      ],
      answer: { status: 200, description: "The list and the last pass", schema: "Guests" },
    },
    verbs: ["host"],
  },
  {
    name: "host.stop_guests",
    object: "host",
    libvirt: [],
    access: "read-write",
    summary:
      "Stop the host's guests as libvirt-guests does (on_shutdown: managed save or shutdown): answers once the list is recorded; the pass runs on",
    http: {
      method: "POST",
      path: "/v1/host/guests/stop",
      query: [
        {
          name: "on_shutdown",
          type: "string",
          description: "This stop's on_shutdown instead of the configured one",
          values: ["suspend", "shutdown"],
        },
      ],
      answer: { status: 200, description: "The list and the pass", schema: "Guests" },
    },
    verbs: ["host"],
  },
  {
    name: "host.start_guests",
    object: "host",
    libvirt: [],
    access: "read-write",
    summary:
      "Start the listed guests as libvirt-guests does at boot (on_boot: start them, or drop the list); the pass runs on",
    http: {
      method: "POST",
      path: "/v1/host/guests/start",
      query: [],
      answer: { status: 200, description: "The list and the pass", schema: "Guests" },
    },
    verbs: ["host"],
  },
  {
    name: "domain.migrate",
    object: "domain",
    libvirt: [
      { api: "virDomainMigrate3", procedure: null },
      // virsh migrate --p2p: virDomainMigrateToURI3 calls Perform3Params on the source alone.
      {
        api: "virDomainMigratePerform3Params",
        procedure: 305,
        remoteName: "REMOTE_PROC_DOMAIN_MIGRATE_PERFORM3_PARAMS",
      },
      // virsh migrate (no --p2p): virDomainMigrate3 drives the V3 steps with parameters itself.
      {
        api: "virDomainMigrateBegin3Params",
        procedure: 302,
        remoteName: "REMOTE_PROC_DOMAIN_MIGRATE_BEGIN3_PARAMS",
      },
      {
        api: "virDomainMigratePrepare3Params",
        procedure: 303,
        remoteName: "REMOTE_PROC_DOMAIN_MIGRATE_PREPARE3_PARAMS",
      },
      {
        api: "virDomainMigrateFinish3Params",
        procedure: 306,
        remoteName: "REMOTE_PROC_DOMAIN_MIGRATE_FINISH3_PARAMS",
      },
      {
        api: "virDomainMigrateConfirm3Params",
        procedure: 307,
        remoteName: "REMOTE_PROC_DOMAIN_MIGRATE_CONFIRM3_PARAMS",
      },
    ],
    access: "read-write",
    summary:
      "Move a domain to another host of the fleet: offline (the ownership and definition of a shut-off domain) or live (a running QEMU guest, its state sent over loopback TCP)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/migrate",
      query: [
        {
          name: "host",
          type: "string",
          description: "The host of the fleet to move it to",
          required: true,
        },
        flag("offline", "Move the definition and ownership only", "VIR_MIGRATE_OFFLINE"),
        flag("live", "Move the running guest", "VIR_MIGRATE_LIVE"),
        {
          name: "bandwidth",
          type: "integer",
          description: "Bandwidth limit in MiB/s (VIR_MIGRATE_PARAM_BANDWIDTH); default unlimited",
        },
        {
          name: "max_downtime",
          type: "integer",
          description: "Longest downtime allowed, in ms (virDomainMigrateSetMaxDowntime)",
        },
      ],
      answer: { status: 200, description: "Moved", schema: "Migrated" },
    },
    verbs: ["migrate"],
  },
  {
    name: "host.uri",
    object: "host",
    libvirt: [{ api: "virConnectGetURI", procedure: 110 }],
    access: "read-only",
    summary: "The connection URI (the client answers it without asking the service)",
    http: null,
    verbs: ["uri"],
  },
  {
    name: "host.capabilities",
    object: "host",
    libvirt: [{ api: "virConnectGetCapabilities", procedure: 7 }],
    access: "read-only",
    summary: "The host's capabilities: its CPU and NUMA topology, the guests its drivers run",
    http: {
      method: "GET",
      path: "/v1/host/capabilities",
      query: [],
      answer: {
        status: 200,
        description: "Capabilities XML",
        schema: "Text",
        media: "application/xml",
      },
    },
    verbs: ["capabilities"],
  },
  {
    name: "host.domain_capabilities",
    object: "host",
    libvirt: [{ api: "virConnectGetDomainCapabilities", procedure: 342 }],
    access: "read-only",
    summary: "What an emulator, machine, architecture and domain type can run, as evirt runs it",
    http: {
      method: "GET",
      path: "/v1/host/domain-capabilities",
      query: [
        { name: "emulatorbin", type: "string", description: "Emulator binary" },
        { name: "arch", type: "string", description: "Architecture (default: the host's)" },
        { name: "machine", type: "string", description: "Machine type (default: the emulator's)" },
        { name: "virttype", type: "string", description: "Domain type (default: kvm if usable)" },
      ],
      answer: {
        status: 200,
        description: "Domain capabilities XML",
        schema: "Text",
        media: "application/xml",
      },
    },
    verbs: ["domcapabilities"],
  },
  {
    name: "host.domain_xml_from_native",
    object: "host",
    libvirt: [{ api: "virConnectDomainXMLFromNative", procedure: 135 }],
    access: "read-write",
    summary: "A hypervisor's native configuration (xen-xl, xen-xm, …) as domain XML",
    http: {
      method: "POST",
      path: "/v1/native-formats/:format/domain-xml",
      query: [],
      body: "NativeConfig",
      answer: {
        status: 200,
        description: "Domain XML",
        schema: "Text",
        media: "application/xml",
      },
    },
    verbs: ["domxml-from-native"],
  },
  {
    name: "host.domain_xml_to_native",
    object: "host",
    libvirt: [{ api: "virConnectDomainXMLToNative", procedure: 136 }],
    access: "read-write",
    summary: "Domain XML as a hypervisor's native configuration (xen-xl, xen-xm, …)",
    http: {
      method: "POST",
      path: "/v1/native-formats/:format/native-config",
      query: [],
      body: "DomainXml",
      answer: {
        status: 200,
        description: "The native configuration",
        schema: "Text",
        media: "text/plain",
      },
    },
    verbs: ["domxml-to-native"],
  },
  {
    name: "host.node_stats",
    object: "host",
    libvirt: [
      { api: "virNodeGetCPUStats", procedure: 227 },
      { api: "virNodeGetMemoryStats", procedure: 228 },
    ],
    access: "read-only",
    summary: "The host's CPU times and memory figures, of all CPUs and cells or of one",
    http: null,
    verbs: [],
  },
  {
    name: "host.max_vcpus",
    object: "host",
    libvirt: [{ api: "virConnectGetMaxVcpus", procedure: 5 }],
    access: "read-only",
    summary: "libvirt's fixed vCPU limit of a hypervisor type (the domain capabilities say more)",
    http: null,
    verbs: [],
  },
  {
    name: "host.cpu_models",
    object: "host",
    libvirt: [{ api: "virConnectGetCPUModelNames", procedure: 312 }],
    access: "read-only",
    summary: "The CPU models the emulator of an architecture offers",
    http: null,
    verbs: [],
  },
  {
    name: "host.openapi",
    object: "host",
    libvirt: [],
    access: "read-only",
    summary: "This document",
    http: {
      method: "GET",
      path: "/v1/openapi.json",
      query: [],
      answer: { status: 200, description: "OpenAPI document", schema: "OpenApi" },
    },
    verbs: [],
  },
  {
    name: "host.metrics",
    object: "host",
    libvirt: [],
    access: "read-only",
    summary: "Prometheus metrics",
    http: {
      method: "GET",
      path: "/metrics",
      query: [],
      answer: {
        status: 200,
        description: "Text exposition format",
        schema: "Text",
        media: "text/plain",
      },
    },
    verbs: [],
  },
  // --- domains ----------------------------------------------------------------------------------
  {
    name: "domain.list",
    object: "domain",
    libvirt: [{ api: "virConnectListAllDomains", procedure: 273 }],
    access: "read-only",
    summary: "List domains",
    http: {
      method: "GET",
      path: "/v1/domains",
      query: LIST_FILTERS,
      answer: { status: 200, description: "Domains", schema: "DomainList" },
    },
    verbs: ["list"],
  },
  {
    name: "domain.define",
    object: "domain",
    libvirt: [
      { api: "virDomainDefineXML", procedure: 11 },
      { api: "virDomainDefineXMLFlags", procedure: 350 },
    ],
    access: "read-write",
    summary: "Define or redefine a persistent domain",
    http: {
      method: "POST",
      path: "/v1/domains",
      query: [],
      body: "definition",
      answer: { status: 201, description: "Defined", schema: "Define" },
      queued: true,
    },
    verbs: ["define"],
    command: "define",
  },
  {
    name: "domain.create",
    object: "domain",
    libvirt: [{ api: "virDomainCreateXML", procedure: 10 }],
    access: "read-write",
    summary: "Create and start a transient domain",
    http: {
      method: "POST",
      path: "/v1/domains/create",
      query: [flag("paused", "Start with the CPUs paused", "VIR_DOMAIN_START_PAUSED")],
      body: "definition",
      answer: { status: 201, description: "Created", schema: "DomainSummary" },
      queued: true,
    },
    verbs: ["create"],
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.info",
    object: "domain",
    libvirt: [{ api: "virDomainGetInfo", procedure: 16 }],
    access: "read-only",
    summary: "Domain information",
    http: {
      method: "GET",
      path: "/v1/domains/:ref",
      query: [],
      answer: { status: 200, description: "Info", schema: "DomainInfo" },
    },
    verbs: ["dominfo", "domid", "domname", "domuuid", "vncdisplay", "domdisplay"],
  },
  {
    name: "domain.undefine",
    object: "domain",
    libvirt: [
      { api: "virDomainUndefine", procedure: 35 },
      { api: "virDomainUndefineFlags", procedure: 231 },
    ],
    access: "read-write",
    summary: "Undefine; a running domain continues as transient",
    http: {
      method: "DELETE",
      path: "/v1/domains/:ref",
      query: [],
      answer: { status: 204, description: "Undefined" },
      queued: true,
    },
    verbs: ["undefine"],
    command: "undefine",
  },
  {
    name: "domain.state",
    object: "domain",
    libvirt: [{ api: "virDomainGetState", procedure: 212 }],
    access: "read-only",
    summary: "State and reason",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/state",
      query: [],
      answer: { status: 200, description: "State", schema: "State" },
    },
    verbs: ["domstate"],
  },
  {
    name: "domain.xml",
    object: "domain",
    libvirt: [{ api: "virDomainGetXMLDesc", procedure: 14 }],
    access: "read-only",
    summary: "Domain XML",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/xml",
      query: [
        flag("inactive", "The persistent definition", "VIR_DOMAIN_XML_INACTIVE"),
        flag(
          "secure",
          "Include secrets (refused to read-only callers, code 29)",
          "VIR_DOMAIN_XML_SECURE",
        ),
      ],
      answer: { status: 200, description: "XML", schema: "Text", media: "application/xml" },
    },
    // virsh's interface verbs read the interface from the XML, then call the device APIs.
    verbs: ["dumpxml", "detach-interface", "domif-setlink", "domif-getlink"],
  },
  {
    name: "domain.definition",
    object: "domain",
    libvirt: [],
    access: "read-only",
    summary: "The definition as the JSON model (without secrets for read-only callers)",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/definition",
      query: [
        flag("inactive", "The persistent definition"),
        flag("secure", "Refused to read-only callers (code 29)"),
      ],
      answer: { status: 200, description: "Definition", schema: "DefinitionDocument" },
    },
    // virsh reads the VNC display, display URIs and console pty from the live XML; evirt's
    // verbs read the same live definition as JSON.
    verbs: ["dumpxml", "vncdisplay", "domdisplay", "ttyconsole"],
  },
  {
    name: "domain.metadata_get",
    object: "domain",
    libvirt: [{ api: "virDomainGetMetadata", procedure: 265 }],
    access: "read-only",
    summary: "Title, description or a metadata element",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/metadata",
      query: [
        {
          name: "type",
          type: "string",
          description: "What to read",
          values: ["title", "description", "element"],
          required: true,
        },
        { name: "uri", type: "string", description: "Namespace of the element" },
        flag("config", "From the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
      ],
      answer: { status: 200, description: "Value", schema: "Metadata" },
    },
    verbs: ["metadata", "desc"],
  },
  {
    name: "domain.metadata_set",
    object: "domain",
    libvirt: [{ api: "virDomainSetMetadata", procedure: 264 }],
    access: "read-write",
    summary: "Set or remove title, description or a metadata element",
    http: {
      method: "PUT",
      path: "/v1/domains/:ref/metadata",
      query: [],
      body: "MetadataChange",
      answer: { status: 204, description: "Changed" },
      queued: true,
    },
    verbs: ["metadata", "desc"],
    command: "metadata",
  },
  {
    name: "domain.attach_device",
    object: "domain",
    libvirt: [
      { api: "virDomainAttachDeviceFlags", procedure: 160 },
      { api: "virDomainAttachDevice", procedure: 8 },
    ],
    access: "read-write",
    summary: "Add a device to the running guest and/or the persistent definition",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/devices",
      query: [...DEVICE_SCOPE_FLAGS, LEGACY_DEVICE_CALL],
      body: "DeviceXml",
      answer: { status: 200, description: "Attached", schema: "DeviceChange" },
      queued: true,
    },
    verbs: ["attach-device", "attach-disk", "attach-interface"],
    command: "device",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.detach_device",
    object: "domain",
    libvirt: [
      { api: "virDomainDetachDeviceFlags", procedure: 161 },
      { api: "virDomainDetachDevice", procedure: 13 },
    ],
    access: "read-write",
    summary: "Remove a device (live removal waits up to 5 s for the guest, then stays pending)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/devices/detach",
      query: [...DEVICE_SCOPE_FLAGS, LEGACY_DEVICE_CALL],
      body: "DeviceXml",
      answer: { status: 200, description: "Detached or pending", schema: "DeviceChange" },
      queued: true,
    },
    verbs: ["detach-device", "detach-disk", "detach-interface"],
    command: "device",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.detach_device_alias",
    object: "domain",
    libvirt: [{ api: "virDomainDetachDeviceAlias", procedure: 392 }],
    access: "read-write",
    summary: "Remove the device with an alias (live: asks the guest and answers at once)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/devices/:alias/detach",
      query: DEVICE_SCOPE_FLAGS,
      answer: { status: 200, description: "Detached or pending", schema: "DeviceChange" },
      queued: true,
    },
    verbs: ["detach-device-alias"],
    command: "device",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.update_device",
    object: "domain",
    libvirt: [{ api: "virDomainUpdateDeviceFlags", procedure: 174 }],
    access: "read-write",
    summary: "Replace a device's settings (a cdrom or floppy medium: change-media)",
    http: {
      method: "PUT",
      path: "/v1/domains/:ref/devices",
      query: [
        ...DEVICE_SCOPE_FLAGS,
        flag("force", "Force a locked tray open", "VIR_DOMAIN_DEVICE_MODIFY_FORCE"),
      ],
      body: "DeviceXml",
      answer: { status: 200, description: "Updated", schema: "DeviceChange" },
      queued: true,
    },
    verbs: ["update-device", "change-media", "domif-setlink"],
    command: "device",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.autostart",
    object: "domain",
    libvirt: [{ api: "virDomainSetAutostart", procedure: 29 }],
    access: "read-write",
    summary: "Switch autostart",
    http: {
      method: "PUT",
      path: "/v1/domains/:ref/autostart",
      query: [],
      body: "Autostart",
      answer: { status: 200, description: "Changed", schema: "DomainSummary" },
      queued: true,
    },
    verbs: ["autostart"],
    command: "autostart",
  },
  {
    name: "domain.console",
    object: "domain",
    libvirt: [{ api: "virDomainOpenConsole", procedure: 201 }],
    access: "read-write",
    summary: "The host path of the domain's pty console; read-write only",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/console",
      query: [{
        name: "device",
        type: "string",
        description: "Serial or console alias, e.g. serial0",
      }],
      answer: { status: 200, description: "The pty", schema: "ConsolePath" },
    },
    verbs: ["console"],
  },
  {
    name: "domain.console_socket",
    object: "domain",
    // virDomainOpenConsole's stream, for a browser: read-only callers view without writing.
    libvirt: [],
    access: "read-only",
    summary:
      "The serial console over a WebSocket (binary frames both ways): one writer at a time, read-only callers view",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/console/socket",
      query: [
        { name: "device", type: "string", description: "Serial or console alias, e.g. serial0" },
        {
          name: "force",
          type: "boolean",
          description: "End another writer's session instead of being refused",
          flag: "VIR_DOMAIN_CONSOLE_FORCE",
        },
        {
          name: "view",
          type: "boolean",
          description:
            "Attach as a viewer even with a read-write role: never the writer, never refused for another's session",
        },
      ],
      answer: { status: 200, description: "Only a WebSocket upgrade is answered (101)" },
      streaming: true,
    },
    verbs: [],
  },
  {
    name: "domain.graphics_socket",
    object: "domain",
    // virDomainOpenGraphicsFD's connection, for a browser (noVNC): RFB bytes both ways.
    libvirt: [],
    access: "read-write",
    summary: "The VNC display over a WebSocket (RFB in binary frames); read-write only",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/graphics/socket",
      query: [],
      answer: { status: 200, description: "Only a WebSocket upgrade is answered (101)" },
      streaming: true,
    },
    verbs: [],
  },
  {
    name: "domain.start",
    object: "domain",
    libvirt: [
      { api: "virDomainCreate", procedure: 9 },
      { api: "virDomainCreateWithFlags", procedure: 196 },
    ],
    access: "read-write",
    summary: "Start a defined domain",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/actions/start",
      query: [
        flag("paused", "Start with the CPUs paused", "VIR_DOMAIN_START_PAUSED"),
        flag("force_boot", "Discard a managed save image and boot", "VIR_DOMAIN_START_FORCE_BOOT"),
        flag(
          "bypass_cache",
          "Read a managed save image past the host's file cache",
          "VIR_DOMAIN_START_BYPASS_CACHE",
        ),
      ],
      answer: ACTION_ANSWER,
      queued: true,
    },
    verbs: ["start"],
    command: "start",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.shutdown",
    object: "domain",
    libvirt: [
      { api: "virDomainShutdown", procedure: 33 },
      { api: "virDomainShutdownFlags", procedure: 258 },
    ],
    access: "read-write",
    summary: "Ask the guest to shut down; returns once the request reached it",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/actions/shutdown",
      query: [
        WAIT_PARAMETER("Seconds to wait for the guest to stop"),
        {
          name: "mode",
          type: "string",
          description:
            "How to ask the guest: comma-separated acpi, agent (default: acpi); agent needs a guest agent channel",
        },
        {
          name: "timeout",
          type: "number",
          description:
            "Seconds after which the domain is destroyed if still active (recorded, survives restarts)",
          min: 0,
          max: WAIT_MAX_SECONDS,
        },
      ],
      answer: ACTION_ANSWER,
      queued: true,
    },
    verbs: ["shutdown"],
    command: "shutdown",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.destroy",
    object: "domain",
    libvirt: [
      { api: "virDomainDestroy", procedure: 12 },
      { api: "virDomainDestroyFlags", procedure: 234 },
    ],
    access: "read-write",
    summary: "End the domain now",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/actions/destroy",
      query: [flag("graceful", "SIGTERM only, never SIGKILL", "VIR_DOMAIN_DESTROY_GRACEFUL")],
      answer: ACTION_ANSWER,
      queued: true,
    },
    verbs: ["destroy"],
    command: "destroy",
  },
  {
    name: "domain.reboot",
    object: "domain",
    libvirt: [{ api: "virDomainReboot", procedure: 27 }],
    access: "read-write",
    summary: "Ask the guest to reboot",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/actions/reboot",
      query: [
        WAIT_PARAMETER("Seconds to wait for the reset"),
        {
          name: "mode",
          type: "string",
          description:
            "How to ask the guest: comma-separated acpi, agent (default: acpi); agent needs a guest agent channel",
        },
      ],
      answer: ACTION_ANSWER,
      queued: true,
    },
    verbs: ["reboot"],
    command: "reboot",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.reset",
    object: "domain",
    libvirt: [{ api: "virDomainReset", procedure: 245 }],
    access: "read-write",
    summary: "Reset the guest now",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/actions/reset",
      query: [],
      answer: ACTION_ANSWER,
      queued: true,
    },
    verbs: ["reset"],
    command: "reset",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.suspend",
    object: "domain",
    libvirt: [{ api: "virDomainSuspend", procedure: 34 }],
    access: "read-write",
    summary: "Pause the CPUs",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/actions/suspend",
      query: [],
      answer: ACTION_ANSWER,
      queued: true,
    },
    verbs: ["suspend"],
    command: "suspend",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.resume",
    object: "domain",
    libvirt: [{ api: "virDomainResume", procedure: 28 }],
    access: "read-write",
    summary: "Run the CPUs again",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/actions/resume",
      query: [],
      answer: ACTION_ANSWER,
      queued: true,
    },
    verbs: ["resume"],
    command: "resume",
    refusedWhileFactsHeld: true,
  },
  // --- save and restore (save images; managed save) ---------------------------------------------
  {
    name: "domain.save",
    object: "domain",
    libvirt: [
      { api: "virDomainSave", procedure: 55 },
      { api: "virDomainSaveFlags", procedure: 232 },
    ],
    access: "read-write",
    summary: "Write the guest's state to a save image (libvirt's layout) and end the instance",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/save",
      query: [...SAVE_IMAGE_QUERY, ...SAVE_FLAGS],
      answer: ACTION_ANSWER,
      queued: true,
    },
    verbs: ["save"],
    command: "save",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.restore",
    object: "domain",
    libvirt: [
      { api: "virDomainRestore", procedure: 54 },
      { api: "virDomainRestoreFlags", procedure: 233 },
    ],
    access: "read-write",
    // Refused while facts are held as `create` is: it claims the domain through the same door.
    summary: "Start a domain from a save image (an optional body replaces its definition)",
    http: {
      method: "POST",
      path: "/v1/domains/restore",
      query: [...SAVE_IMAGE_QUERY, ...SAVE_FLAGS],
      body: "OptionalDefinition",
      answer: { status: 201, description: "Restored", schema: "DomainSummary" },
      queued: true,
    },
    verbs: ["restore"],
  },
  {
    name: "domain.save_image_xml",
    object: "domain",
    libvirt: [{ api: "virDomainSaveImageGetXMLDesc", procedure: 235 }],
    access: "read-only",
    summary: "The domain XML a save image carries",
    http: {
      method: "GET",
      path: "/v1/save-images/xml",
      query: [
        ...SAVE_IMAGE_QUERY,
        flag("secure", "Include passwords", "VIR_DOMAIN_SAVE_IMAGE_XML_SECURE"),
      ],
      answer: { status: 200, description: "XML", schema: "Text", media: "application/xml" },
    },
    verbs: ["save-image-dumpxml", "save-image-edit"],
  },
  {
    name: "domain.save_image_define",
    object: "domain",
    libvirt: [{ api: "virDomainSaveImageDefineXML", procedure: 236 }],
    access: "read-write",
    summary: "Replace the domain XML a save image carries (same domain, fits the image's room)",
    http: {
      method: "PUT",
      path: "/v1/save-images/xml",
      query: [...SAVE_IMAGE_QUERY, ...SAVE_FLAGS.slice(0, 2)],
      body: "definition",
      answer: { status: 204, description: "Replaced" },
    },
    verbs: ["save-image-define", "save-image-edit"],
  },
  {
    name: "domain.managed_save",
    object: "domain",
    libvirt: [{ api: "virDomainManagedSave", procedure: 182 }],
    access: "read-write",
    summary: "Save the guest to its managed save image, which the next start restores",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/managed-save",
      query: SAVE_FLAGS,
      answer: ACTION_ANSWER,
      queued: true,
    },
    verbs: ["managedsave"],
    command: "managedsave",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.managed_save_xml",
    object: "domain",
    libvirt: [
      { api: "virDomainHasManagedSaveImage", procedure: 183 },
      { api: "virDomainManagedSaveGetXMLDesc", procedure: 388 },
    ],
    access: "read-only",
    summary: "The domain XML of the managed save image (code 55 without one)",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/managed-save",
      query: [flag("secure", "Include passwords", "VIR_DOMAIN_SAVE_IMAGE_XML_SECURE")],
      answer: { status: 200, description: "XML", schema: "Text", media: "application/xml" },
    },
    verbs: ["managedsave-dumpxml"],
  },
  {
    name: "domain.managed_save_define",
    object: "domain",
    libvirt: [{ api: "virDomainManagedSaveDefineXML", procedure: 389 }],
    access: "read-write",
    summary: "Replace the domain XML of the managed save image",
    http: {
      method: "PUT",
      path: "/v1/domains/:ref/managed-save",
      query: SAVE_FLAGS.slice(0, 2),
      body: "definition",
      answer: { status: 204, description: "Replaced" },
    },
    verbs: ["managedsave-define"],
  },
  {
    name: "domain.managed_save_remove",
    object: "domain",
    libvirt: [{ api: "virDomainManagedSaveRemove", procedure: 184 }],
    access: "read-write",
    summary: "Remove the managed save image (none: nothing to do)",
    http: {
      method: "DELETE",
      path: "/v1/domains/:ref/managed-save",
      query: [],
      answer: { status: 204, description: "Removed" },
      queued: true,
    },
    verbs: ["managedsave-remove"],
    command: "managedsave_remove",
  },
  // --- snapshots ------------------------------------------------------------------------------
  {
    name: "snapshot.create",
    object: "snapshot",
    libvirt: [{ api: "virDomainSnapshotCreateXML", procedure: 185 }],
    access: "read-write",
    summary:
      "Take a snapshot (or, with redefine, record a stored one) from a <domainsnapshot> document",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/snapshots",
      query: SNAPSHOT_CREATE_FLAGS,
      body: "SnapshotXml",
      answer: { status: 201, description: "Created", schema: "SnapshotName" },
      queued: true,
    },
    verbs: ["snapshot-create", "snapshot-create-as", "snapshot-current", "snapshot-edit"],
    command: "snapshot",
    refusedWhileFactsHeld: true,
  },
  {
    name: "snapshot.list",
    object: "snapshot",
    libvirt: [
      { api: "virDomainListAllSnapshots", procedure: 274 },
      { api: "virDomainSnapshotNum", procedure: 187 },
      { api: "virDomainSnapshotListNames", procedure: 188 },
      { api: "virDomainSnapshotListAllChildren", procedure: 275 },
      { api: "virDomainSnapshotNumChildren", procedure: 246 },
      { api: "virDomainSnapshotListChildrenNames", procedure: 247 },
    ],
    access: "read-only",
    summary: "The domain's snapshots (or the children of one), filtered as libvirt's list flags",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/snapshots",
      query: SNAPSHOT_LIST_FILTERS,
      answer: { status: 200, description: "Snapshots", schema: "SnapshotList" },
    },
    verbs: ["snapshot-list"],
  },
  {
    name: "snapshot.info",
    object: "snapshot",
    libvirt: [
      { api: "virDomainSnapshotLookupByName", procedure: 189 },
      { api: "virDomainSnapshotGetParent", procedure: 244 },
      { api: "virDomainSnapshotIsCurrent", procedure: 271 },
      { api: "virDomainSnapshotHasMetadata", procedure: 272 },
    ],
    access: "read-only",
    summary: "One snapshot: state, location, parent, whether current, children and descendants",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/snapshots/:snapshot",
      query: [],
      answer: { status: 200, description: "The snapshot", schema: "SnapshotView" },
    },
    verbs: ["snapshot-info", "snapshot-parent", "snapshot-edit"],
  },
  {
    name: "snapshot.xml",
    object: "snapshot",
    libvirt: [{ api: "virDomainSnapshotGetXMLDesc", procedure: 186 }],
    access: "read-only",
    summary: "A snapshot's <domainsnapshot> document",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/snapshots/:snapshot/xml",
      query: [flag("secure", "Include passwords", "VIR_DOMAIN_SNAPSHOT_XML_SECURE")],
      answer: { status: 200, description: "XML", schema: "Text", media: "application/xml" },
    },
    verbs: ["snapshot-dumpxml", "snapshot-current", "snapshot-edit"],
  },
  {
    name: "snapshot.current",
    object: "snapshot",
    libvirt: [
      { api: "virDomainSnapshotCurrent", procedure: 191 },
      { api: "virDomainHasCurrentSnapshot", procedure: 190 },
    ],
    access: "read-only",
    summary: "The domain's current snapshot (code 72 without one)",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/current-snapshot",
      query: [],
      answer: { status: 200, description: "The snapshot", schema: "SnapshotView" },
    },
    verbs: ["snapshot-current", "snapshot-info", "snapshot-list"],
  },
  {
    name: "snapshot.revert",
    object: "snapshot",
    libvirt: [{ api: "virDomainRevertToSnapshot", procedure: 192 }],
    access: "read-write",
    summary:
      "Bring the domain back to a snapshot (its disks, its definition and, with memory, its run)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/snapshots/:snapshot/revert",
      query: [
        flag("running", "Run after the revert", "VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING"),
        flag("paused", "Leave paused after the revert", "VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED"),
        flag("force", "Revert despite the risks libvirt names", "VIR_DOMAIN_SNAPSHOT_REVERT_FORCE"),
      ],
      answer: ACTION_ANSWER,
      queued: true,
    },
    verbs: ["snapshot-revert"],
    command: "snapshot",
    refusedWhileFactsHeld: true,
  },
  {
    name: "snapshot.delete",
    object: "snapshot",
    libvirt: [{ api: "virDomainSnapshotDelete", procedure: 193 }],
    access: "read-write",
    summary: "Delete a snapshot (and its descendants, or only them); metadata: leave the images",
    http: {
      method: "DELETE",
      path: "/v1/domains/:ref/snapshots/:snapshot",
      query: [
        flag("children", "Its descendants too", "VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN"),
        flag("children_only", "Only its descendants", "VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY"),
        flag(
          "metadata",
          "Only the record; the images keep it",
          "VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY",
        ),
      ],
      answer: { status: 204, description: "Deleted" },
      queued: true,
    },
    verbs: ["snapshot-delete"],
    command: "snapshot",
    refusedWhileFactsHeld: true,
  },
  // --- block info and statistics ----------------------------------------------------------------
  {
    name: "domain.block_list",
    object: "domain",
    libvirt: [],
    access: "read-only",
    summary: "The domain's disks (virsh domblklist)",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/blocks",
      query: [flag("inactive", "From the persistent definition")],
      answer: { status: 200, description: "Disks", schema: "BlockList" },
    },
    verbs: ["domblklist", "domblkinfo"],
  },
  {
    name: "domain.block_info",
    object: "domain",
    libvirt: [{ api: "virDomainGetBlockInfo", procedure: 194 }],
    access: "read-only",
    summary:
      "Capacity, allocation and physical size of a disk: asked live for a running domain, read from storage for an inactive one",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/blocks/:disk/info",
      query: [],
      answer: { status: 200, description: "Block info", schema: "BlockInfo" },
    },
    verbs: ["domblkinfo"],
  },
  {
    name: "domain.disk_errors",
    object: "domain",
    libvirt: [{ api: "virDomainGetDiskErrors", procedure: 263 }],
    access: "read-only",
    summary:
      "The disks of a running domain whose I/O failed (no space on the host, or another error), asked live",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/blocks/errors",
      query: [],
      answer: { status: 200, description: "Disk errors", schema: "DiskErrors" },
    },
    verbs: ["domblkerror"],
  },
  {
    name: "domain.block_stats_total",
    object: "domain",
    libvirt: [{ api: "virDomainBlockStats", procedure: 64 }],
    access: "read-only",
    summary: "I/O counters summed over every disk (no disk named)",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/blocks/stats",
      query: [],
      answer: { status: 200, description: "Counters", schema: "BlockStats" },
    },
    verbs: ["domblkstat"],
  },
  {
    name: "domain.block_stats",
    object: "domain",
    libvirt: [{ api: "virDomainBlockStatsFlags", procedure: 243 }],
    access: "read-only",
    summary: "I/O counters of a disk, from the latest samples",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/blocks/:disk/stats",
      query: [],
      answer: { status: 200, description: "Counters", schema: "BlockStats" },
    },
    verbs: ["domblkstat"],
  },
  {
    name: "domain.interface_stats",
    object: "domain",
    libvirt: [{ api: "virDomainInterfaceStats", procedure: 65 }],
    access: "read-only",
    summary: "Interface counters in the guest's view, from the latest samples",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/interfaces/:iface/stats",
      query: [],
      answer: { status: 200, description: "Counters", schema: "InterfaceStats" },
    },
    verbs: ["domifstat"],
  },
  {
    name: "domain.memory_stats",
    object: "domain",
    libvirt: [{ api: "virDomainMemoryStats", procedure: 159 }],
    access: "read-only",
    summary: "Memory statistics, from the latest samples",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/memory/stats",
      query: [],
      answer: { status: 200, description: "Statistics", schema: "MemoryStats" },
    },
    verbs: ["dommemstat"],
  },
  {
    name: "domain.vcpus",
    object: "domain",
    libvirt: [{ api: "virDomainGetVcpus", procedure: 20 }],
    access: "read-only",
    summary: "vCPUs: state, CPU time, host CPU and affinity; configured ones when inactive",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/vcpus",
      query: [],
      answer: { status: 200, description: "vCPUs", schema: "Vcpus" },
    },
    verbs: ["vcpuinfo"],
  },
  {
    name: "domain.stats",
    object: "domain",
    // libvirt's client builds this call from REMOTE_PROC_CONNECT_GET_ALL_DOMAIN_STATS.
    libvirt: [{ api: "virDomainListGetStats", procedure: null }],
    access: "read-only",
    summary: "The domain's stats record",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/stats",
      query: STATS_QUERY,
      answer: { status: 200, description: "Record", schema: "StatsRecord" },
    },
    verbs: ["domstats"],
  },
  {
    name: "domain.stats_stream",
    object: "domain",
    libvirt: [],
    access: "read-only",
    summary: "A domain's statistics record as Server-Sent Events, one per new sample",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/stats/stream",
      query: [],
      answer: {
        status: 200,
        description: "The stream: a JSON StatsMessage per new sample",
        media: "text/event-stream",
      },
      streaming: true,
    },
    verbs: [],
  },
  {
    name: "domain.stats_all",
    object: "domain",
    libvirt: [{ api: "virConnectGetAllDomainStats", procedure: 344 }],
    access: "read-only",
    summary:
      "Stats records of all (filtered) or of the named domains, answered from the drivers' samples, never by querying a monitor",
    http: {
      method: "GET",
      path: "/v1/stats",
      query: [
        ...STATS_QUERY,
        {
          name: "domain",
          type: "string",
          description: "Only this domain (repeatable, in order); not with the list filters",
          repeatable: true,
        },
        ...LIST_FILTERS.filter((parameter) => !parameter.name.includes("autostart")),
      ],
      answer: { status: 200, description: "Records", schema: "StatsRecords" },
    },
    verbs: ["domstats"],
  },
  // --- daily verbs (issue 13): interfaces, rename, keys, screenshot, monitor and agent -------
  {
    name: "domain.interface_list",
    object: "domain",
    libvirt: [],
    access: "read-only",
    summary: "The domain's interfaces (virsh domiflist)",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/interfaces",
      query: [flag("inactive", "From the persistent definition")],
      answer: { status: 200, description: "Interfaces", schema: "InterfaceList" },
    },
    verbs: ["domiflist"],
  },
  {
    name: "domain.interface_addresses",
    object: "domain",
    libvirt: [{ api: "virDomainInterfaceAddresses", procedure: 353 }],
    access: "read-only",
    summary: "A running domain's interface addresses (virsh domifaddr)",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/interface-addresses",
      query: [{
        name: "source",
        type: "string",
        description: "Where the addresses come from (evirt answers lease)",
        values: ["lease", "agent", "arp"],
      }],
      answer: { status: 200, description: "Interfaces", schema: "InterfaceAddresses" },
    },
    verbs: ["domifaddr"],
  },
  {
    name: "domain.edit",
    object: "domain",
    // The client reads the XML (domain.xml), runs $EDITOR and defines the result (domain.define).
    libvirt: [],
    access: "read-write",
    summary: "Edit the persistent definition in $EDITOR; an unchanged file defines nothing",
    http: null,
    verbs: ["edit"],
  },
  {
    name: "domain.rename",
    object: "domain",
    libvirt: [{ api: "virDomainRename", procedure: 358 }],
    access: "read-write",
    summary: "Rename an inactive persistent domain",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/rename",
      query: [{ name: "new_name", type: "string", description: "The new name", required: true }],
      answer: { status: 200, description: "Renamed", schema: "DomainSummary" },
      queued: true,
    },
    verbs: ["domrename"],
    command: "rename",
  },
  {
    name: "domain.set_memory",
    object: "domain",
    libvirt: [
      { api: "virDomainSetMemoryFlags", procedure: 204 },
      { api: "virDomainSetMemory", procedure: 31 },
    ],
    access: "read-write",
    summary: "Change the current memory: live through the balloon, or in the persistent definition",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/memory",
      query: [
        {
          name: "kib",
          type: "integer",
          description: "The new size in KiB",
          required: true,
          min: 0,
          max: Number.MAX_SAFE_INTEGER,
        },
        flag("live", "Change the running instance (balloon)", "VIR_DOMAIN_AFFECT_LIVE"),
        flag("config", "Change the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
      ],
      answer: { status: 204, description: "Changed" },
      queued: true,
    },
    verbs: ["setmem"],
    command: "setmem",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.set_max_memory",
    object: "domain",
    libvirt: [{ api: "virDomainSetMaxMemory", procedure: 30 }],
    access: "read-write",
    summary: "Change the maximum memory of the persistent definition (not of a running domain)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/max-memory",
      query: [
        {
          name: "kib",
          type: "integer",
          description: "The new maximum in KiB",
          required: true,
          min: 0,
          max: Number.MAX_SAFE_INTEGER,
        },
        flag("live", "Change the running instance (refused)", "VIR_DOMAIN_AFFECT_LIVE"),
        flag("config", "Change the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
      ],
      answer: { status: 204, description: "Changed" },
      queued: true,
    },
    verbs: ["setmaxmem"],
    command: "setmem",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.set_vcpus",
    object: "domain",
    libvirt: [
      { api: "virDomainSetVcpusFlags", procedure: 199 },
      { api: "virDomainSetVcpus", procedure: 32 },
    ],
    access: "read-write",
    summary: "Change the vCPU count: live by hotplug, or the persistent definition's (or maximum)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/vcpus",
      query: [
        {
          name: "count",
          type: "integer",
          description: "The new vCPU count",
          required: true,
          min: 0,
          max: 0xffff,
        },
        flag("live", "Change the running instance (hotplug)", "VIR_DOMAIN_AFFECT_LIVE"),
        flag("config", "Change the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
        flag("maximum", "Change the maximum (with config)", "VIR_DOMAIN_VCPU_MAXIMUM"),
        flag("guest", "Change the vCPUs the guest OS uses (agent)", "VIR_DOMAIN_VCPU_GUEST"),
        flag("hotpluggable", "Added vCPUs are hotpluggable", "VIR_DOMAIN_VCPU_HOTPLUGGABLE"),
      ],
      answer: { status: 204, description: "Changed" },
      queued: true,
    },
    verbs: ["setvcpus"],
    command: "setvcpus",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.vcpu_count",
    object: "domain",
    libvirt: [{ api: "virDomainGetVcpusFlags", procedure: 200 }],
    access: "read-only",
    summary: "A vCPU count: the maximum or the current one, live or of the persistent definition",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/vcpu-count",
      query: [
        flag("live", "Of the running instance", "VIR_DOMAIN_AFFECT_LIVE"),
        flag("config", "Of the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
        flag("maximum", "The maximum, not the current count", "VIR_DOMAIN_VCPU_MAXIMUM"),
        flag("guest", "As the guest OS counts (agent)", "VIR_DOMAIN_VCPU_GUEST"),
      ],
      answer: { status: 200, description: "The count", schema: "VcpuCount" },
    },
    verbs: ["vcpucount"],
  },
  {
    name: "domain.block_resize",
    object: "domain",
    libvirt: [{ api: "virDomainBlockResize", procedure: 251 }],
    access: "read-write",
    summary: "Resize a running domain's disk (QMP block_resize); KiB unless bytes",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/block-resize",
      query: [
        {
          name: "disk",
          type: "string",
          description: "The disk's target (vda) or source path",
          required: true,
        },
        {
          name: "size",
          type: "string",
          description: "The new size, a decimal integer (KiB, or bytes with bytes)",
          required: true,
        },
        flag("bytes", "The size is in bytes", "VIR_DOMAIN_BLOCK_RESIZE_BYTES"),
      ],
      answer: { status: 204, description: "Resized" },
      queued: true,
    },
    verbs: ["blockresize"],
    command: "blockresize",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.block_commit",
    object: "domain",
    libvirt: [{ api: "virDomainBlockCommit", procedure: 290 }],
    access: "read-write",
    summary: "Commit images of a running disk's chain into a lower one (a block job)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/block-commit",
      query: [
        BLOCK_JOB_DISK,
        {
          name: "base",
          type: "string",
          description: "The image to commit into (path or target[index]); default the bottom",
        },
        {
          name: "top",
          type: "string",
          description: "The highest image committed (path or target[index]); default the top",
        },
        BLOCK_JOB_BANDWIDTH,
        flag(
          "shallow",
          "The base is the image right below the top",
          "VIR_DOMAIN_BLOCK_COMMIT_SHALLOW",
        ),
        flag("delete", "Delete the committed images", "VIR_DOMAIN_BLOCK_COMMIT_DELETE"),
        flag("active", "Commit the active layer (pivot to end)", "VIR_DOMAIN_BLOCK_COMMIT_ACTIVE"),
        flag("relative", "Keep relative backing names", "VIR_DOMAIN_BLOCK_COMMIT_RELATIVE"),
        flag("bytes", "The bandwidth is in bytes/s", "VIR_DOMAIN_BLOCK_COMMIT_BANDWIDTH_BYTES"),
      ],
      answer: { status: 204, description: "The job runs" },
      queued: true,
    },
    verbs: ["blockcommit"],
    command: "blockjob",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.block_pull",
    object: "domain",
    libvirt: [
      { api: "virDomainBlockPull", procedure: 240 },
      { api: "virDomainBlockRebase", procedure: 266 },
    ],
    access: "read-write",
    summary: "Pull the images of a running disk's chain into its top (a block job)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/block-pull",
      query: [
        BLOCK_JOB_DISK,
        {
          name: "base",
          type: "string",
          description: "The image that stays below the top (path or target[index]); default none",
        },
        BLOCK_JOB_BANDWIDTH,
        flag("relative", "Keep relative backing names", "VIR_DOMAIN_BLOCK_REBASE_RELATIVE"),
        flag("bytes", "The bandwidth is in bytes/s", "VIR_DOMAIN_BLOCK_REBASE_BANDWIDTH_BYTES"),
      ],
      answer: { status: 204, description: "The job runs" },
      queued: true,
    },
    verbs: ["blockpull"],
    command: "blockjob",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.block_copy",
    object: "domain",
    libvirt: [{ api: "virDomainBlockCopy", procedure: 345 }],
    access: "read-write",
    summary: "Copy a running disk to a new image, which it may then pivot to (a block job)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/block-copy",
      query: [
        BLOCK_JOB_DISK,
        {
          name: "dest",
          type: "string",
          description: "The destination's absolute path",
          required: true,
        },
        {
          name: "format",
          type: "string",
          description: "The destination's format; default the disk's (or probed with reuse)",
        },
        flag("blockdev", "The destination is a block device"),
        BLOCK_JOB_BANDWIDTH,
        {
          name: "granularity",
          type: "integer",
          description: "The dirty bitmap's granularity in bytes (a power of two)",
          min: 0,
          max: 0xffffffff,
        },
        {
          name: "buf_size",
          type: "string",
          description: "The copy buffer's size in bytes (a decimal integer)",
        },
        flag("shallow", "Copy only the top image", "VIR_DOMAIN_BLOCK_COPY_SHALLOW"),
        flag("reuse_external", "The destination exists", "VIR_DOMAIN_BLOCK_COPY_REUSE_EXT"),
        flag("transient_job", "The job need not survive", "VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB"),
        flag(
          "synchronous_writes",
          "Guest writes wait for the destination",
          "VIR_DOMAIN_BLOCK_COPY_SYNCHRONOUS_WRITES",
        ),
        flag("bytes", "The bandwidth is in bytes/s (always, for this call)"),
      ],
      answer: { status: 204, description: "The job runs" },
      queued: true,
    },
    verbs: ["blockcopy"],
    command: "blockjob",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.block_job_info",
    object: "domain",
    libvirt: [{ api: "virDomainGetBlockJobInfo", procedure: 238 }],
    access: "read-only",
    summary: "The block job of a running disk: its type, progress and speed limit",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/block-job",
      query: [
        BLOCK_JOB_DISK,
        flag("bytes", "The bandwidth in bytes/s", "VIR_DOMAIN_BLOCK_JOB_INFO_BANDWIDTH_BYTES"),
      ],
      answer: { status: 200, description: "The job, or found false", schema: "BlockJobInfo" },
    },
    verbs: ["blockjob", "blockcommit", "blockpull", "blockcopy"],
  },
  {
    name: "domain.block_job_abort",
    object: "domain",
    libvirt: [{ api: "virDomainBlockJobAbort", procedure: 237 }],
    access: "read-write",
    summary: "End a running disk's block job: cancel it, or pivot to its result",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/block-job/abort",
      query: [
        BLOCK_JOB_DISK,
        flag("async", "Answer once asked, not once ended", "VIR_DOMAIN_BLOCK_JOB_ABORT_ASYNC"),
        flag("pivot", "Switch the disk to the job's result", "VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT"),
      ],
      answer: { status: 204, description: "Ended (or asked to, with async)" },
      queued: true,
    },
    verbs: ["blockjob", "blockcommit", "blockcopy"],
    command: "blockjob",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.block_job_set_speed",
    object: "domain",
    libvirt: [{ api: "virDomainBlockJobSetSpeed", procedure: 239 }],
    access: "read-write",
    summary: "Set the speed limit of a running disk's block job",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/block-job/speed",
      query: [
        BLOCK_JOB_DISK,
        { ...BLOCK_JOB_BANDWIDTH, required: true },
        flag("bytes", "The bandwidth is in bytes/s", "VIR_DOMAIN_BLOCK_JOB_SPEED_BANDWIDTH_BYTES"),
      ],
      answer: { status: 204, description: "Set" },
      queued: true,
    },
    verbs: ["blockjob"],
    command: "blockjob",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.send_key",
    object: "domain",
    libvirt: [{ api: "virDomainSendKey", procedure: 226 }],
    access: "read-write",
    summary: "Send key presses to the guest (at most 16 keys, pressed together)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/send-key",
      query: [
        {
          name: "codeset",
          type: "string",
          description: "The key codes' set (default linux)",
          values: [
            "linux",
            "xt",
            "atset1",
            "atset2",
            "atset3",
            "os_x",
            "xt_kbd",
            "win32",
            "usb",
            "qnum",
            "rfb",
          ],
        },
        {
          name: "holdtime",
          type: "integer",
          description: "Milliseconds the keys are held (0: the hypervisor's default)",
          min: 0,
          max: 60_000,
        },
        {
          name: "keycode",
          type: "integer",
          description: "A key code in the codeset (repeatable, 1 to 16)",
          repeatable: true,
          required: true,
          min: 0,
          max: 0xffff,
        },
      ],
      answer: { status: 204, description: "Sent" },
    },
    verbs: ["send-key"],
  },
  {
    name: "domain.screenshot",
    object: "domain",
    // Over RPC the image follows the reply as a stream.
    libvirt: [{ api: "virDomainScreenshot", procedure: 211 }],
    access: "read-write",
    summary: "A screenshot of a display (QMP screendump): the image, its type in content-type",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/screenshot",
      query: [{
        name: "screen",
        type: "integer",
        description: "The display's head (default 0)",
        min: 0,
        max: 255,
      }],
      answer: {
        status: 200,
        description: "The image",
        schema: "Binary",
        media: "image/x-portable-pixmap",
      },
    },
    verbs: ["screenshot"],
  },
  {
    name: "domain.monitor_command",
    object: "domain",
    // Served by the QEMU program (0x20008087) as its procedure 1 (and 9, WithFiles), not the
    // remote program's numbers: `src/rpc/qemu_procedures.ts`.
    libvirt: [{ api: "virDomainQemuMonitorCommand", procedure: null }],
    access: "read-write",
    summary: "Pass a raw QMP (or HMP) command to the QEMU monitor; taints the domain",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/qemu-monitor-command",
      query: [
        flag("hmp", "The body is an HMP command line", "VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP"),
      ],
      body: "CommandText",
      answer: { status: 200, description: "QEMU's reply", schema: "CommandReply" },
    },
    verbs: ["qemu-monitor-command"],
  },
  {
    name: "domain.agent_command",
    object: "domain",
    // Served by the QEMU program (0x20008087) as its procedure 3: `src/rpc/qemu_procedures.ts`.
    libvirt: [{ api: "virDomainQemuAgentCommand", procedure: null }],
    access: "read-write",
    summary: "Pass a raw command to the guest agent (org.qemu.guest_agent.0 channel)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/qemu-agent-command",
      query: [{
        name: "timeout",
        type: "integer",
        description: "Seconds to wait for the agent (-2 default 5, -1 block up to 300, 0 no wait)",
        min: -2,
        max: 300,
      }],
      body: "CommandText",
      answer: { status: 200, description: "The agent's reply", schema: "CommandReply" },
    },
    verbs: ["qemu-agent-command"],
  },
  // --- events -----------------------------------------------------------------------------------
  {
    name: "domain.job_info",
    object: "domain",
    libvirt: [
      { api: "virDomainGetJobInfo", procedure: 163 },
      { api: "virDomainGetJobStats", procedure: 298 },
    ],
    access: "read-only",
    summary:
      "The domain's outgoing live migration, save or restore under way (or the last completed save): its progress",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/job",
      query: [
        flag("completed", "The last completed job instead", "VIR_DOMAIN_JOB_STATS_COMPLETED"),
        flag(
          "keep_completed",
          "Keep the completed job's statistics for the next call",
          "VIR_DOMAIN_JOB_STATS_KEEP_COMPLETED",
        ),
      ],
      answer: {
        status: 200,
        description: "The job (null: none) and its libvirt job type",
        schema: "DomainJob",
      },
    },
    verbs: ["domjobinfo"],
  },
  {
    name: "domain.abort_job",
    object: "domain",
    libvirt: [
      { api: "virDomainAbortJob", procedure: 164 },
      { api: "virDomainAbortJobFlags", procedure: 442 },
    ],
    access: "read-write",
    summary:
      "Cancel the domain's outgoing live migration or save under way; the guest runs on here as it was",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/job/abort",
      query: [],
      answer: {
        status: 204,
        description: "Asked; the migration's or save's own call fails with code 78",
      },
    },
    verbs: ["domjobabort"],
  },
  {
    name: "domain.migrate_limits",
    object: "domain",
    libvirt: [
      { api: "virDomainMigrateGetMaxSpeed", procedure: 242 },
      { api: "virDomainMigrateGetMaxDowntime", procedure: 387 },
    ],
    access: "read-only",
    summary: "A running domain's live migration limits: bandwidth (MiB/s) and downtime (ms)",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/migrate/limits",
      query: [],
      answer: { status: 200, description: "The limits", schema: "MigrateLimits" },
    },
    verbs: ["migrate-getspeed", "migrate-getmaxdowntime"],
  },
  {
    name: "domain.migrate_limits_set",
    object: "domain",
    libvirt: [
      { api: "virDomainMigrateSetMaxSpeed", procedure: 207 },
      { api: "virDomainMigrateSetMaxDowntime", procedure: 166 },
    ],
    access: "read-write",
    summary:
      "Set a running domain's live migration limits (for the next migration, or the one in flight)",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/migrate/limits",
      query: [
        {
          name: "bandwidth",
          type: "integer",
          description: "Bandwidth limit in MiB/s",
        },
        {
          name: "max_downtime",
          type: "integer",
          description: "Longest downtime allowed, in ms",
        },
      ],
      answer: { status: 204, description: "Set" },
    },
    verbs: ["migrate-setspeed", "migrate-setmaxdowntime"],
  },
  {
    name: "domain.pin_info",
    object: "domain",
    libvirt: [
      { api: "virDomainGetEmulatorPinInfo", procedure: 280 },
      {
        api: "virDomainGetIOThreadInfo",
        procedure: 351,
        remoteName: "REMOTE_PROC_DOMAIN_GET_IOTHREAD_INFO",
      },
    ],
    access: "read-only",
    summary: "Host CPUs of the emulator and of each I/O thread, live or of the persistent config",
    http: null,
    verbs: [],
  },
  {
    name: "domain.tuning",
    object: "domain",
    libvirt: [
      { api: "virDomainGetSchedulerType", procedure: 56 },
      { api: "virDomainGetSchedulerParameters", procedure: 57 },
      { api: "virDomainGetSchedulerParametersFlags", procedure: 223 },
      { api: "virDomainGetMemoryParameters", procedure: 198 },
      { api: "virDomainGetBlkioParameters", procedure: 206 },
      { api: "virDomainGetNumaParameters", procedure: 255 },
    ],
    access: "read-only",
    summary: "Scheduler, memory, block I/O and NUMA tuning, live or of the persistent config",
    http: null,
    verbs: [],
  },
  {
    name: "domain.perf_events",
    object: "domain",
    libvirt: [{ api: "virDomainGetPerfEvents", procedure: 365 }],
    access: "read-only",
    summary: "Which perf events are enabled, live or in the persistent config",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/perf",
      query: [
        flag("live", "Of the running instance", "VIR_DOMAIN_AFFECT_LIVE"),
        flag("config", "Of the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
      ],
      answer: {
        status: 200,
        description: "Every event and whether it counts",
        schema: "PerfEvents",
      },
    },
    verbs: ["perf"],
  },
  {
    name: "domain.set_perf_events",
    object: "domain",
    libvirt: [{ api: "virDomainSetPerfEvents", procedure: 366 }],
    access: "read-write",
    summary:
      "Start or stop counting perf events: the host counters of the running instance, or the persistent config",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/perf",
      query: [
        { name: "enable", type: "string", description: "Comma-separated events to count" },
        { name: "disable", type: "string", description: "Comma-separated events to stop counting" },
        flag("live", "Change the running instance", "VIR_DOMAIN_AFFECT_LIVE"),
        flag("config", "Change the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
      ],
      answer: { status: 204, description: "Changed" },
      queued: true,
    },
    verbs: ["perf"],
    command: "perf",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.interface_parameters",
    object: "domain",
    libvirt: [{ api: "virDomainGetInterfaceParameters", procedure: 257 }],
    access: "read-only",
    summary: "An interface's bandwidth parameters, live or of the persistent config",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/iftune",
      query: [
        {
          name: "device",
          type: "string",
          description: "The interface: its host-side device or MAC address",
          required: true,
        },
        flag("live", "Of the running instance", "VIR_DOMAIN_AFFECT_LIVE"),
        flag("config", "Of the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
      ],
      answer: {
        status: 200,
        description: "The seven parameters in libvirt's order (0: unset)",
        schema: "InterfaceParameters",
      },
    },
    verbs: ["domiftune"],
  },
  {
    name: "domain.set_interface_parameters",
    object: "domain",
    libvirt: [{ api: "virDomainSetInterfaceParameters", procedure: 256 }],
    access: "read-write",
    summary:
      "Change an interface's bandwidth: tc on the running instance's tap (and its network port), or the persistent config",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/iftune",
      query: [
        {
          name: "device",
          type: "string",
          description: "The interface: its host-side device or MAC address",
          required: true,
        },
        {
          name: "inbound",
          type: "string",
          description: "average[,peak[,burst[,floor]]] in KiB/s and KiB; 0 removes it",
        },
        {
          name: "outbound",
          type: "string",
          description: "average[,peak[,burst]] in KiB/s and KiB; 0 removes it",
        },
        flag("live", "Change the running instance", "VIR_DOMAIN_AFFECT_LIVE"),
        flag("config", "Change the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
      ],
      answer: { status: 204, description: "Changed" },
      queued: true,
    },
    verbs: ["domiftune"],
    command: "iftune",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.scheduler_info",
    object: "domain",
    libvirt: [],
    access: "read-only",
    summary: "The scheduler and its parameters (CPU shares, CFS bandwidths), live or of the config",
    http: {
      method: "GET",
      path: "/v1/domains/:ref/schedinfo",
      query: [
        flag("live", "Of the running instance", "VIR_DOMAIN_AFFECT_LIVE"),
        flag("config", "Of the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
      ],
      answer: {
        status: 200,
        description: "The scheduler and its parameters",
        schema: "SchedulerInfo",
      },
    },
    verbs: ["schedinfo"],
  },
  {
    name: "domain.set_scheduler_parameters",
    object: "domain",
    libvirt: [
      { api: "virDomainSetSchedulerParameters", procedure: 58 },
      { api: "virDomainSetSchedulerParametersFlags", procedure: 219 },
    ],
    access: "read-write",
    summary:
      "Set the CPU shares and vCPU bandwidth: the running instance's control group, or the persistent config",
    http: {
      method: "POST",
      path: "/v1/domains/:ref/schedinfo",
      query: [
        {
          name: "set",
          type: "string",
          description: "name=value[,name=value…]: cpu_shares, vcpu_period, vcpu_quota (as virsh)",
          required: true,
        },
        flag("live", "Change the running instance", "VIR_DOMAIN_AFFECT_LIVE"),
        flag("config", "Change the persistent definition", "VIR_DOMAIN_AFFECT_CONFIG"),
      ],
      answer: { status: 204, description: "Changed" },
      queued: true,
    },
    verbs: ["schedinfo"],
    command: "schedinfo",
    refusedWhileFactsHeld: true,
  },
  {
    name: "domain.guest_agent",
    object: "domain",
    libvirt: [
      { api: "virDomainGetTime", procedure: 337 },
      { api: "virDomainGetHostname", procedure: 277 },
      { api: "virDomainGetFSInfo", procedure: 349, remoteName: "REMOTE_PROC_DOMAIN_GET_FSINFO" },
      { api: "virDomainGetGuestInfo", procedure: 418 },
    ],
    // libvirt's policy: a call that may reach the guest agent needs a read-write connection.
    access: "read-write",
    summary:
      "Guest agent queries: time and host name asked of the agent; file systems and guest info refused",
    http: null,
    verbs: [],
  },
  {
    name: "domain.events",
    object: "domain",
    // libvirt's client registers through the callback form of the procedure since 1.2.1.
    libvirt: [{
      api: "virConnectDomainEventRegisterAny",
      procedure: 316,
      remoteName: "REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
    }],
    access: "read-only",
    summary: "The event stream: Server-Sent Events, or a WebSocket on upgrade",
    http: {
      method: "GET",
      path: "/v1/events",
      query: [
        {
          name: "since",
          type: "string",
          description:
            "Resume strictly after this position (0: from the beginning); with scope=fleet, SEQ:INDEX, or now for new facts only",
        },
        { name: "Last-Event-ID", type: "string", description: "Resume position", in: "header" },
        {
          name: "scope",
          type: "string",
          description:
            "local (this host's log) or fleet (every host of a NATS log; ids and since are SEQ:INDEX)",
          values: ["local", "fleet"],
        },
        {
          name: "domain",
          type: "string",
          description: "Only this domain (repeatable)",
          repeatable: true,
        },
        {
          name: "event",
          type: "string",
          description: "Only this event type, e.g. lifecycle (repeatable)",
          repeatable: true,
        },
        {
          name: "summary",
          type: "boolean",
          description:
            "Also send the host summary (as GET /v1/host/summary answers it) as `summary` events without an id: at the start and whenever a subscriber count or the oldest readable position changes (Server-Sent Events of the local stream only)",
        },
      ],
      answer: {
        status: 200,
        description: "The stream",
        schema: "Event",
        media: "text/event-stream",
      },
      streaming: true,
    },
    verbs: ["event"],
  },
  // --- storage pools and volumes ---------------------------------------------------------------
  {
    name: "pool.list",
    object: "pool",
    libvirt: [
      { api: "virConnectListAllStoragePools", procedure: 281 },
      { api: "virConnectNumOfStoragePools", procedure: 71 },
      { api: "virConnectListStoragePools", procedure: 72 },
      { api: "virConnectNumOfDefinedStoragePools", procedure: 73 },
      { api: "virConnectListDefinedStoragePools", procedure: 74 },
    ],
    access: "read-only",
    summary: "List storage pools",
    http: {
      method: "GET",
      path: "/v1/pools",
      query: [],
      answer: {
        status: 200,
        description: "Every pool (filters are the caller's)",
        schema: "PoolList",
      },
    },
    verbs: ["pool-list"],
  },
  {
    name: "pool.lookup",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolLookupByName", procedure: 84 },
      { api: "virStoragePoolLookupByUUID", procedure: 85 },
      { api: "virStoragePoolLookupByVolume", procedure: 86 },
      { api: "virStoragePoolLookupByTargetPath", procedure: 391 },
    ],
    access: "read-only",
    summary: "Find a storage pool by name, uuid, volume or target path",
    http: null,
    verbs: [],
  },
  {
    name: "pool.info",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolGetInfo", procedure: 87 },
      { api: "virStoragePoolIsActive", procedure: 154 },
      { api: "virStoragePoolIsPersistent", procedure: 155 },
      { api: "virStoragePoolGetAutostart", procedure: 89 },
    ],
    access: "read-only",
    summary: "A storage pool's state, figures and flags",
    http: {
      method: "GET",
      path: "/v1/pools/:pool",
      query: [],
      answer: {
        status: 200,
        description: "The pool's state, flags and figures",
        schema: "PoolInfo",
      },
    },
    verbs: ["pool-info", "pool-list"],
  },
  {
    name: "pool.dumpxml",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolGetXMLDesc", procedure: 88 },
    ],
    access: "read-only",
    summary: "A storage pool's XML",
    http: {
      method: "GET",
      path: "/v1/pools/:pool/xml",
      query: [{
        name: "inactive",
        type: "boolean",
        description: "The definition the next start uses",
        flag: "VIR_STORAGE_XML_INACTIVE",
      }],
      answer: { status: 200, description: "Pool XML", media: "application/xml" },
    },
    verbs: ["pool-dumpxml"],
  },
  {
    name: "pool.define",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolDefineXML", procedure: 77 },
    ],
    access: "read-write",
    summary: "Define or redefine a persistent storage pool",
    http: {
      method: "POST",
      path: "/v1/pools",
      query: [],
      body: "StorageXml",
      answer: { status: 201, description: "The pool defined", schema: "PoolSummary" },
    },
    verbs: ["pool-define"],
  },
  {
    name: "pool.create",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolCreateXML", procedure: 76 },
    ],
    access: "read-write",
    summary: "Create and start a transient storage pool",
    http: {
      method: "POST",
      path: "/v1/pools/create",
      query: [{
        name: "build",
        type: "boolean",
        description: "Build the target first",
        flag: "VIR_STORAGE_POOL_CREATE_WITH_BUILD",
      }, {
        name: "overwrite",
        type: "boolean",
        description: "Build, overwriting",
        flag: "VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE",
      }, {
        name: "no_overwrite",
        type: "boolean",
        description: "Build, never overwriting",
        flag: "VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE",
      }],
      body: "StorageXml",
      answer: { status: 201, description: "The pool created and started", schema: "PoolSummary" },
    },
    verbs: ["pool-create"],
  },
  {
    name: "pool.build",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolBuild", procedure: 79 },
    ],
    access: "read-write",
    summary: "Build a storage pool's target",
    http: {
      method: "POST",
      path: "/v1/pools/:pool/actions/build",
      query: [{
        name: "overwrite",
        type: "boolean",
        description: "Overwrite what is there",
        flag: "VIR_STORAGE_POOL_BUILD_OVERWRITE",
      }, {
        name: "no_overwrite",
        type: "boolean",
        description: "Refuse to overwrite",
        flag: "VIR_STORAGE_POOL_BUILD_NO_OVERWRITE",
      }],
      answer: { status: 200, description: "The pool after it", schema: "PoolSummary" },
    },
    verbs: ["pool-build"],
  },
  {
    name: "pool.start",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolCreate", procedure: 78 },
    ],
    access: "read-write",
    summary: "Start a storage pool",
    http: {
      method: "POST",
      path: "/v1/pools/:pool/actions/start",
      query: [{
        name: "build",
        type: "boolean",
        description: "Build the target first",
        flag: "VIR_STORAGE_POOL_CREATE_WITH_BUILD",
      }, {
        name: "overwrite",
        type: "boolean",
        description: "Build, overwriting",
        flag: "VIR_STORAGE_POOL_CREATE_WITH_BUILD_OVERWRITE",
      }, {
        name: "no_overwrite",
        type: "boolean",
        description: "Build, never overwriting",
        flag: "VIR_STORAGE_POOL_CREATE_WITH_BUILD_NO_OVERWRITE",
      }],
      answer: { status: 200, description: "The pool after it", schema: "PoolSummary" },
    },
    verbs: ["pool-start"],
  },
  {
    name: "pool.destroy",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolDestroy", procedure: 80 },
    ],
    access: "read-write",
    summary: "Stop a storage pool",
    http: {
      method: "POST",
      path: "/v1/pools/:pool/actions/destroy",
      query: [],
      answer: { status: 200, description: "The pool after it", schema: "PoolSummary" },
    },
    verbs: ["pool-destroy"],
  },
  {
    name: "pool.delete",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolDelete", procedure: 81 },
    ],
    access: "read-write",
    summary: "Remove a storage pool's target",
    http: {
      method: "POST",
      path: "/v1/pools/:pool/actions/delete",
      query: [],
      answer: { status: 200, description: "The pool after it", schema: "PoolSummary" },
    },
    verbs: ["pool-delete"],
  },
  {
    name: "pool.undefine",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolUndefine", procedure: 82 },
    ],
    access: "read-write",
    summary: "Remove a storage pool's definition",
    http: {
      method: "DELETE",
      path: "/v1/pools/:pool",
      query: [],
      answer: { status: 204, description: "Undefined" },
    },
    verbs: ["pool-undefine"],
  },
  {
    name: "pool.refresh",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolRefresh", procedure: 83 },
    ],
    access: "read-write",
    summary: "List a storage pool's volumes again",
    http: {
      method: "POST",
      path: "/v1/pools/:pool/actions/refresh",
      query: [],
      answer: { status: 200, description: "The pool after it", schema: "PoolSummary" },
    },
    verbs: ["pool-refresh"],
  },
  {
    name: "pool.autostart",
    object: "pool",
    libvirt: [
      { api: "virStoragePoolSetAutostart", procedure: 90 },
    ],
    access: "read-write",
    summary: "Set a storage pool's autostart flag",
    http: {
      method: "PUT",
      path: "/v1/pools/:pool/autostart",
      query: [],
      body: "Autostart",
      answer: { status: 200, description: "The pool after it", schema: "PoolSummary" },
    },
    verbs: ["pool-autostart"],
  },
  {
    name: "volume.list",
    object: "volume",
    libvirt: [
      { api: "virStoragePoolListAllVolumes", procedure: 282 },
      { api: "virStoragePoolNumOfVolumes", procedure: 91 },
      { api: "virStoragePoolListVolumes", procedure: 92 },
    ],
    access: "read-only",
    summary: "List a storage pool's volumes",
    http: {
      method: "GET",
      path: "/v1/pools/:pool/volumes",
      query: [],
      answer: { status: 200, description: "The pool's volumes, by name", schema: "VolumeList" },
    },
    verbs: ["vol-list"],
  },
  {
    name: "volume.lookup",
    object: "volume",
    libvirt: [
      { api: "virStorageVolLookupByName", procedure: 95 },
      { api: "virStorageVolLookupByKey", procedure: 96 },
      { api: "virStorageVolLookupByPath", procedure: 97 },
    ],
    access: "read-only",
    summary: "Find a volume by name, key or path",
    http: {
      method: "GET",
      path: "/v1/volumes",
      query: [{ name: "key", type: "string", description: "The volume's key" }, {
        name: "path",
        type: "string",
        description: "The volume's path",
      }],
      answer: { status: 200, description: "The volume", schema: "Volume" },
    },
    verbs: ["vol-name", "vol-pool", "vol-key"],
  },
  {
    name: "volume.info",
    object: "volume",
    libvirt: [
      { api: "virStorageVolGetInfo", procedure: 98 },
      { api: "virStorageVolGetInfoFlags", procedure: 378 },
    ],
    access: "read-only",
    summary: "A volume's type, capacity and allocation",
    http: {
      method: "GET",
      path: "/v1/pools/:pool/volumes/:volume",
      query: [],
      answer: { status: 200, description: "The volume", schema: "Volume" },
    },
    verbs: ["vol-info", "vol-key"],
  },
  {
    name: "volume.dumpxml",
    object: "volume",
    libvirt: [
      { api: "virStorageVolGetXMLDesc", procedure: 99 },
    ],
    access: "read-only",
    summary: "A volume's XML",
    http: {
      method: "GET",
      path: "/v1/pools/:pool/volumes/:volume/xml",
      query: [],
      answer: { status: 200, description: "Volume XML", media: "application/xml" },
    },
    verbs: ["vol-dumpxml"],
  },
  {
    name: "volume.path",
    object: "volume",
    libvirt: [
      { api: "virStorageVolGetPath", procedure: 100 },
    ],
    access: "read-only",
    summary: "A volume's path",
    http: {
      method: "GET",
      path: "/v1/pools/:pool/volumes/:volume/path",
      query: [],
      answer: { status: 200, description: "The volume's path", schema: "VolumePath" },
    },
    verbs: ["vol-path"],
  },
  {
    name: "volume.create",
    object: "volume",
    libvirt: [
      { api: "virStorageVolCreateXML", procedure: 93 },
    ],
    access: "read-write",
    summary: "Create a volume from XML",
    http: {
      method: "POST",
      path: "/v1/pools/:pool/volumes",
      query: [{
        name: "prealloc_metadata",
        type: "boolean",
        description: "Preallocate qcow2 metadata",
        flag: "VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA",
      }],
      body: "StorageXml",
      answer: { status: 201, description: "The volume made", schema: "Volume" },
    },
    verbs: ["vol-create", "vol-create-as"],
  },
  {
    name: "volume.delete",
    object: "volume",
    libvirt: [
      { api: "virStorageVolDelete", procedure: 94 },
    ],
    access: "read-write",
    summary: "Remove a volume",
    http: {
      method: "DELETE",
      path: "/v1/pools/:pool/volumes/:volume",
      query: [],
      answer: { status: 204, description: "Deleted" },
    },
    verbs: ["vol-delete"],
  },
  {
    name: "volume.resize",
    object: "volume",
    libvirt: [
      { api: "virStorageVolResize", procedure: 260 },
    ],
    access: "read-write",
    summary: "Change a volume's capacity",
    http: {
      method: "POST",
      path: "/v1/pools/:pool/volumes/:volume/actions/resize",
      query: [{
        name: "capacity",
        type: "string",
        description: "New capacity (or change, with delta) in bytes",
        required: true,
      }, {
        name: "allocate",
        type: "boolean",
        description: "Allocate the new space",
        flag: "VIR_STORAGE_VOL_RESIZE_ALLOCATE",
      }, {
        name: "delta",
        type: "boolean",
        description: "The capacity is a change",
        flag: "VIR_STORAGE_VOL_RESIZE_DELTA",
      }, {
        name: "shrink",
        type: "boolean",
        description: "Allow shrinking",
        flag: "VIR_STORAGE_VOL_RESIZE_SHRINK",
      }],
      answer: { status: 200, description: "The volume after it", schema: "Volume" },
    },
    verbs: ["vol-resize"],
  },
  {
    name: "volume.wipe",
    object: "volume",
    libvirt: [
      { api: "virStorageVolWipe", procedure: 165 },
      { api: "virStorageVolWipePattern", procedure: 259 },
    ],
    access: "read-write",
    summary: "Wipe a volume's content",
    http: {
      method: "POST",
      path: "/v1/pools/:pool/volumes/:volume/actions/wipe",
      query: [{
        name: "algorithm",
        type: "string",
        description: "libvirt's wipe algorithm",
        values: [
          "zero",
          "nnsa",
          "dod",
          "bsi",
          "gutmann",
          "schneier",
          "pfitzner7",
          "pfitzner33",
          "random",
          "trim",
        ],
      }],
      answer: { status: 200, description: "The volume after it", schema: "Volume" },
    },
    verbs: ["vol-wipe"],
  },
  {
    name: "pool.events",
    object: "pool",
    libvirt: [
      { api: "virConnectStoragePoolEventRegisterAny", procedure: 368 },
      { api: "virConnectStoragePoolEventDeregisterAny", procedure: 369 },
    ],
    access: "read-only",
    summary: "Storage pool lifecycle and refresh events",
    http: null,
    verbs: [],
  },
  // --- secrets ---------------------------------------------------------------------------------
  {
    name: "secret.list",
    object: "secret",
    libvirt: [
      { api: "virConnectListAllSecrets", procedure: 287 },
      { api: "virConnectNumOfSecrets", procedure: 139 },
      { api: "virConnectListSecrets", procedure: 140 },
    ],
    access: "read-only",
    summary: "List secrets",
    http: {
      method: "GET",
      path: "/v1/secrets",
      query: [],
      answer: { status: 200, description: "Every secret", schema: "SecretList" },
    },
    verbs: ["secret-list"],
  },
  {
    name: "secret.lookup",
    object: "secret",
    libvirt: [
      { api: "virSecretLookupByUUID", procedure: 141 },
      { api: "virSecretLookupByUsage", procedure: 147 },
    ],
    access: "read-only",
    summary: "Find a secret by uuid or by usage",
    http: null,
    verbs: [],
  },
  {
    name: "secret.dumpxml",
    object: "secret",
    libvirt: [{ api: "virSecretGetXMLDesc", procedure: 143 }],
    access: "read-only",
    summary: "A secret's XML",
    http: {
      method: "GET",
      path: "/v1/secrets/:secret/xml",
      query: [],
      answer: { status: 200, description: "Secret XML", media: "application/xml" },
    },
    verbs: ["secret-dumpxml"],
  },
  {
    name: "secret.define",
    object: "secret",
    libvirt: [{ api: "virSecretDefineXML", procedure: 142 }],
    access: "read-write",
    summary: "Define or redefine a secret",
    http: {
      method: "POST",
      path: "/v1/secrets",
      query: [],
      body: "SecretXml",
      answer: { status: 201, description: "The secret defined", schema: "SecretSummary" },
    },
    verbs: ["secret-define"],
  },
  {
    name: "secret.undefine",
    object: "secret",
    libvirt: [{ api: "virSecretUndefine", procedure: 146 }],
    access: "read-write",
    summary: "Remove a secret and its value",
    http: {
      method: "DELETE",
      path: "/v1/secrets/:secret",
      query: [],
      answer: { status: 204, description: "The secret is gone" },
    },
    verbs: ["secret-undefine"],
  },
  {
    name: "secret.set_value",
    object: "secret",
    libvirt: [{ api: "virSecretSetValue", procedure: 144 }],
    access: "read-write",
    summary: "Set a secret's value (kept encrypted, never logged)",
    http: {
      method: "PUT",
      path: "/v1/secrets/:secret/value",
      query: [],
      body: "SecretValue",
      answer: { status: 204, description: "The value is set" },
    },
    verbs: ["secret-set-value"],
  },
  {
    name: "secret.get_value",
    object: "secret",
    libvirt: [{ api: "virSecretGetValue", procedure: 145 }],
    access: "read-write",
    summary: "A secret's value (refused for a private secret, code 65)",
    http: {
      method: "GET",
      path: "/v1/secrets/:secret/value",
      query: [],
      answer: { status: 200, description: "The value's bytes", media: "application/octet-stream" },
    },
    verbs: ["secret-get-value"],
  },
  {
    name: "secret.events",
    object: "secret",
    libvirt: [
      { api: "virConnectSecretEventRegisterAny", procedure: 380 },
      { api: "virConnectSecretEventDeregisterAny", procedure: 381 },
    ],
    access: "read-only",
    summary: "Secret lifecycle and value-changed events (never the value)",
    http: null,
    verbs: [],
  },
  // --- virtual networks ------------------------------------------------------------------------
  {
    name: "network.list",
    object: "network",
    libvirt: [
      { api: "virConnectListAllNetworks", procedure: 283 },
      { api: "virConnectNumOfNetworks", procedure: 52 },
      { api: "virConnectListNetworks", procedure: 38 },
      { api: "virConnectNumOfDefinedNetworks", procedure: 50 },
      { api: "virConnectListDefinedNetworks", procedure: 36 },
    ],
    access: "read-only",
    summary: "List virtual networks",
    http: {
      method: "GET",
      path: "/v1/networks",
      query: [],
      answer: {
        status: 200,
        description: "Every network (filters are the caller's)",
        schema: "NetworkList",
      },
    },
    verbs: ["net-list"],
  },
  {
    name: "network.lookup",
    object: "network",
    libvirt: [
      { api: "virNetworkLookupByName", procedure: 46 },
      { api: "virNetworkLookupByUUID", procedure: 47 },
    ],
    access: "read-only",
    summary: "Find a virtual network by name or uuid",
    http: null,
    verbs: [],
  },
  {
    name: "network.info",
    object: "network",
    libvirt: [
      { api: "virNetworkIsActive", procedure: 152 },
      { api: "virNetworkIsPersistent", procedure: 153 },
      { api: "virNetworkGetAutostart", procedure: 44 },
      { api: "virNetworkGetBridgeName", procedure: 45 },
    ],
    access: "read-only",
    summary: "A virtual network's state, flags and bridge",
    http: {
      method: "GET",
      path: "/v1/networks/:network",
      query: [],
      answer: {
        status: 200,
        description: "The network's state, flags and bridge",
        schema: "NetworkSummary",
      },
    },
    verbs: ["net-info", "net-uuid", "net-name", "net-edit"],
  },
  {
    name: "network.dumpxml",
    object: "network",
    libvirt: [{ api: "virNetworkGetXMLDesc", procedure: 43 }],
    access: "read-only",
    summary: "A virtual network's XML",
    http: {
      method: "GET",
      path: "/v1/networks/:network/xml",
      query: [{
        name: "inactive",
        type: "boolean",
        description: "The definition the next start uses",
        flag: "VIR_NETWORK_XML_INACTIVE",
      }],
      answer: { status: 200, description: "Network XML", media: "application/xml" },
    },
    verbs: ["net-dumpxml", "net-edit"],
  },
  {
    name: "network.define",
    object: "network",
    libvirt: [
      { api: "virNetworkDefineXML", procedure: 41 },
      { api: "virNetworkDefineXMLFlags", procedure: 432 },
    ],
    access: "read-write",
    summary: "Define or redefine a persistent virtual network",
    http: {
      method: "POST",
      path: "/v1/networks",
      query: [],
      body: "NetworkXml",
      answer: { status: 201, description: "The network defined", schema: "NetworkSummary" },
    },
    verbs: ["net-define", "net-edit"],
  },
  {
    name: "network.create",
    object: "network",
    libvirt: [
      { api: "virNetworkCreateXML", procedure: 40 },
      { api: "virNetworkCreateXMLFlags", procedure: 437 },
    ],
    access: "read-write",
    summary: "Create and start a transient virtual network",
    http: {
      method: "POST",
      path: "/v1/networks/create",
      query: [],
      body: "NetworkXml",
      answer: {
        status: 201,
        description: "The network created and started",
        schema: "NetworkSummary",
      },
    },
    verbs: ["net-create"],
  },
  {
    name: "network.start",
    object: "network",
    libvirt: [{ api: "virNetworkCreate", procedure: 39 }],
    access: "read-write",
    summary: "Start a virtual network",
    http: {
      method: "POST",
      path: "/v1/networks/:network/actions/start",
      query: [],
      answer: { status: 200, description: "The network after it", schema: "NetworkSummary" },
    },
    verbs: ["net-start"],
  },
  {
    name: "network.destroy",
    object: "network",
    libvirt: [{ api: "virNetworkDestroy", procedure: 42 }],
    access: "read-write",
    summary: "Stop a virtual network",
    http: {
      method: "POST",
      path: "/v1/networks/:network/actions/destroy",
      query: [],
      answer: { status: 200, description: "The network after it", schema: "NetworkSummary" },
    },
    verbs: ["net-destroy"],
  },
  {
    name: "network.undefine",
    object: "network",
    libvirt: [{ api: "virNetworkUndefine", procedure: 49 }],
    access: "read-write",
    summary: "Remove a virtual network's persistent definition",
    http: {
      method: "DELETE",
      path: "/v1/networks/:network",
      query: [],
      answer: { status: 204, description: "Undefined" },
    },
    verbs: ["net-undefine"],
  },
  {
    name: "network.autostart",
    object: "network",
    libvirt: [{ api: "virNetworkSetAutostart", procedure: 48 }],
    access: "read-write",
    summary: "Set a virtual network's autostart flag",
    http: {
      method: "PUT",
      path: "/v1/networks/:network/autostart",
      query: [],
      body: "Autostart",
      answer: { status: 200, description: "The network after it", schema: "NetworkSummary" },
    },
    verbs: ["net-autostart"],
  },
  {
    name: "network.update",
    object: "network",
    libvirt: [{ api: "virNetworkUpdate", procedure: 291 }],
    access: "read-write",
    summary:
      "Add, delete or modify one DHCP host or range, DNS record, forward interface or portgroup",
    http: {
      method: "POST",
      path: "/v1/networks/:network/actions/update",
      query: [],
      body: "NetworkUpdate",
      answer: { status: 200, description: "The network after it", schema: "NetworkSummary" },
    },
    verbs: ["net-update"],
  },
  {
    name: "network.dhcp_leases",
    object: "network",
    libvirt: [{ api: "virNetworkGetDHCPLeases", procedure: 341 }],
    access: "read-only",
    summary: "A running virtual network's DHCP leases",
    http: {
      method: "GET",
      path: "/v1/networks/:network/leases",
      query: [{ name: "mac", type: "string", description: "Only this MAC address's leases" }],
      answer: {
        status: 200,
        description: "The leases dnsmasq granted that have not expired",
        schema: "NetworkLeases",
      },
    },
    verbs: ["net-dhcp-leases"],
  },
  {
    name: "network.port_create",
    object: "network",
    libvirt: [{ api: "virNetworkPortCreateXML", procedure: 406 }],
    access: "read-write",
    summary: "Allocate a port on a running virtual network from <networkport> XML",
    http: {
      method: "POST",
      path: "/v1/networks/:network/ports",
      query: [],
      body: "NetworkPortXml",
      answer: { status: 201, description: "The port allocated", schema: "NetworkPortRef" },
    },
    verbs: ["net-port-create"],
  },
  {
    name: "network.port_list",
    object: "network",
    libvirt: [
      { api: "virNetworkListAllPorts", procedure: 404 },
      { api: "virNetworkPortLookupByUUID", procedure: 405 },
    ],
    access: "read-only",
    summary: "A running virtual network's ports, or one by uuid",
    http: {
      method: "GET",
      path: "/v1/networks/:network/ports",
      query: [],
      answer: { status: 200, description: "The ports, oldest first", schema: "NetworkPortList" },
    },
    verbs: ["net-port-list"],
  },
  {
    name: "network.port_dumpxml",
    object: "network",
    libvirt: [
      { api: "virNetworkPortGetXMLDesc", procedure: 409 },
      { api: "virNetworkPortGetParameters", procedure: 407 },
    ],
    access: "read-only",
    summary: "A network port's XML and bandwidth parameters",
    http: {
      method: "GET",
      path: "/v1/networks/:network/ports/:port/xml",
      query: [],
      answer: { status: 200, description: "Network port XML", media: "application/xml" },
    },
    verbs: ["net-port-dumpxml"],
  },
  {
    name: "network.port_set_parameters",
    object: "network",
    libvirt: [{ api: "virNetworkPortSetParameters", procedure: 408 }],
    access: "read-write",
    summary: "Replace a network port's bandwidth",
    http: null,
    verbs: [],
  },
  {
    name: "network.port_delete",
    object: "network",
    libvirt: [{ api: "virNetworkPortDelete", procedure: 410 }],
    access: "read-write",
    summary: "Release a network port",
    http: {
      method: "DELETE",
      path: "/v1/networks/:network/ports/:port",
      query: [],
      answer: { status: 204, description: "Released" },
    },
    verbs: ["net-port-delete"],
  },
  {
    name: "network.events",
    object: "network",
    libvirt: [
      { api: "virConnectNetworkEventRegisterAny", procedure: 313 },
      { api: "virConnectNetworkEventDeregisterAny", procedure: 314 },
    ],
    access: "read-only",
    summary: "Virtual network lifecycle events",
    http: null,
    verbs: [],
  },
  {
    name: "volume.clone",
    object: "volume",
    libvirt: [{ api: "virStorageVolCreateXMLFrom", procedure: 125 }],
    access: "read-write",
    summary: "Create a volume as a copy of another (qemu-img convert, holes kept)",
    http: {
      method: "POST",
      path: "/v1/pools/:pool/volumes/:volume/actions/clone",
      query: [{
        name: "prealloc_metadata",
        type: "boolean",
        description: "Preallocate qcow2 metadata",
        flag: "VIR_STORAGE_VOL_CREATE_PREALLOC_METADATA",
      }, {
        name: "target_pool",
        type: "string",
        description: "The pool the copy goes to (default: the source's)",
      }],
      body: "StorageXml",
      answer: { status: 201, description: "The copy", schema: "Volume" },
    },
    verbs: ["vol-clone", "vol-create-from"],
  },
  {
    name: "pool.capabilities",
    object: "pool",
    libvirt: [{ api: "virConnectGetStoragePoolCapabilities", procedure: 403 }],
    access: "read-only",
    summary: "Pool types this host supports and their formats",
    http: null,
    verbs: [],
  },
  {
    name: "volume.upload",
    object: "volume",
    libvirt: [{ api: "virStorageVolUpload", procedure: 208 }],
    access: "read-write",
    summary: "Write a volume's content from a stream (a job: other volume calls get code 55)",
    http: {
      method: "PUT",
      path: "/v1/pools/:pool/volumes/:volume/content",
      query: [
        { name: "offset", type: "integer", description: "Where to start writing, bytes", min: 0 },
        {
          name: "length",
          type: "integer",
          description: "Most bytes to write (0: to the stream's end)",
          min: 0,
        },
        {
          name: "sparse",
          type: "boolean",
          description: "Zero blocks become holes (the volume after offset is exactly the stream)",
          flag: "VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM",
        },
      ],
      body: "VolumeContent",
      answer: {
        status: 200,
        description: "Bytes written and the volume",
        schema: "VolumeTransfer",
      },
      streaming: true,
      rawBody: true,
    },
    verbs: ["vol-upload"],
  },
  {
    name: "volume.download",
    object: "volume",
    libvirt: [{ api: "virStorageVolDownload", procedure: 209 }],
    access: "read-write",
    summary: "Read a volume's content as a stream (a job: other volume calls get code 55)",
    http: {
      method: "GET",
      path: "/v1/pools/:pool/volumes/:volume/content",
      query: [
        { name: "offset", type: "integer", description: "Where to start reading, bytes", min: 0 },
        {
          name: "length",
          type: "integer",
          description: "Most bytes to read (0: to the end)",
          min: 0,
        },
        {
          name: "sparse",
          type: "boolean",
          description: "Zero blocks as hole records (application/x-evirt-sparse-stream)",
          flag: "VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM",
        },
      ],
      answer: { status: 200, description: "The bytes", media: "application/octet-stream" },
      streaming: true,
    },
    verbs: ["vol-download"],
  },
  {
    name: "volume.job",
    object: "volume",
    libvirt: [],
    access: "read-only",
    summary:
      "The long job a volume is busy with (create, clone, wipe, upload, download): bytes done of the total, since when (evirt's; libvirt's storage calls just block)",
    http: {
      method: "GET",
      path: "/v1/pools/:pool/volumes/:volume/job",
      query: [],
      answer: { status: 200, description: "The job, or null when idle", schema: "VolumeJob" },
    },
    verbs: ["vol-job", "vol-clone", "vol-create-from", "vol-create-as", "vol-wipe"],
  },
  {
    name: "volume.job_cancel",
    object: "volume",
    libvirt: [],
    access: "read-write",
    summary:
      "Cancel a volume's job: a create or clone removes its half-made volume; a wipe or upload leaves the volume as it is (either recorded)",
    http: {
      method: "DELETE",
      path: "/v1/pools/:pool/volumes/:volume/job",
      query: [],
      answer: { status: 200, description: "The job as it was cancelled", schema: "VolumeJob" },
    },
    verbs: ["vol-job"],
  },
] as const satisfies readonly Operation[];

/** The rows as they are typed, for type-level derivations. */
export type OperationRow = (typeof OPERATIONS)[number];

/** Every operation's name. */
export type OperationName = OperationRow["name"];

/** The operations that have an HTTP route. */
export type RoutedOperationName = Extract<OperationRow, { http: OperationRoute }>["name"];

/** The domain commands whose validity the lifecycle machine decides (`command.start`, …). */
export type DomainCommandName = Extract<OperationRow, { command: string }>["command"];

/** The lifecycle actions of the API: routes `/v1/domains/:ref/actions/<action>`. */
export type DomainActionName = ActionOfPath<OperationRow["http"]>;

type ActionOfPath<Route> = Route extends { path: `/v1/domains/:ref/actions/${infer Action}` }
  ? Action
  : never;

/** Every verb some operation names. */
export type OperationVerb = OperationRow["verbs"][number];

const BY_NAME = new Map<string, Operation>(OPERATIONS.map((row) => [row.name, row]));
const BY_API = new Map<string, Operation>(
  OPERATIONS.flatMap((row) => row.libvirt.map((call) => [call.api, row] as const)),
);

/**
 * The row of an operation.
 *
 * @throws {Error} When there is no such operation (a programming error: names are typed).
 *
 * @example
 * ```ts
 * import { operation } from "./operations.ts";
 * console.log(operation("domain.start").libvirt[0].api); // "virDomainCreate"
 * ```
 */
export function operation(name: OperationName): Operation {
  const row = BY_NAME.get(name);
  if (row === undefined) throw new Error(`No operation named ${name}`);
  return row;
}

/**
 * The operation that answers a libvirt API, or undefined (the RPC dispatch's lookup).
 *
 * @example
 * ```ts
 * import { operationByApi } from "./operations.ts";
 * console.log(operationByApi("virDomainCreateWithFlags")?.name); // "domain.start"
 * ```
 */
export function operationByApi(api: string): Operation | undefined {
  return BY_API.get(api);
}

/**
 * The libvirt call named in a read-only refusal (`read only access prevents virDomainCreate`),
 * or the route when the operation answers no libvirt call.
 */
export function deniedCallOf(row: Operation): string {
  const first = row.libvirt[0];
  if (first !== undefined) return first.api;
  return row.http === null ? row.name : `${row.http.method} ${row.http.path}`;
}

/**
 * The path of a route with its `:name` segments filled in, each URI-encoded.
 *
 * @throws {Error} When a segment's value is missing (a programming error).
 *
 * @example
 * ```ts
 * import { pathOf } from "./operations.ts";
 * console.log(pathOf("domain.block_info", { ref: "web", disk: "/var/a b.img" }));
 * // "/v1/domains/web/blocks/%2Fvar%2Fa%20b.img/info"
 * ```
 */
export function pathOf(name: RoutedOperationName, values: Record<string, string> = {}): string {
  const http = operation(name).http;
  if (http === null) throw new Error(`Operation ${name} has no route`);
  return http.path.split("/").map((segment) => {
    if (!segment.startsWith(":")) return segment;
    const value = values[segment.slice(1)];
    if (value === undefined) throw new Error(`Route ${http.path} needs ${segment}`);
    return encodeURIComponent(value);
  }).join("/");
}
