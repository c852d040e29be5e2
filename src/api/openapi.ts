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
  QUEUE_TIMEOUT_PARAMETER,
} from "../model/operations.ts";
import { VERSION } from "../model/version.ts";
import { componentSchemas } from "./api_schemas.ts";

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

const freshness = {
  sampleAgeMs: { type: ["integer", "null"], description: "Age of the samples, ms" },
  stale: { type: "boolean", description: "The last sampling failed: the figures are old" },
  staleReason: { type: "string" },
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
  Autostart: {
    required: true,
    content: json({
      type: "object",
      required: ["autostart"],
      properties: { autostart: { type: "boolean" } },
    }),
  },
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
};

const poolSummary = {
  type: "object",
  properties: {
    uuid: { type: "string" },
    name: { type: "string" },
    type: { type: "string", description: "Pool type (dir, …)" },
    state: { type: "integer", description: "virStoragePoolState" },
    stateName: { type: "string" },
    active: { type: "boolean" },
    persistent: { type: "boolean" },
    autostart: { type: "boolean" },
  },
};
const volume = {
  type: "object",
  properties: {
    pool: { type: "string" },
    poolUuid: { type: "string" },
    name: { type: "string" },
    key: { type: "string" },
    path: { type: "string" },
    type: { type: "integer", description: "virStorageVolType" },
    typeName: { type: "string" },
    format: { type: "string" },
    capacityBytes: { type: "integer" },
    allocationBytes: { type: "integer" },
    physicalBytes: { type: "integer" },
  },
};

const networkSummary = {
  type: "object",
  properties: {
    uuid: { type: "string" },
    name: { type: "string" },
    active: { type: "boolean" },
    persistent: { type: "boolean" },
    autostart: { type: "boolean" },
    bridge: { type: "string", description: "The bridge's name, where it has one" },
  },
};

/** The storage and network answers' schemas. */
const STORAGE_SCHEMAS = {
  NetworkSummary: networkSummary,
  NetworkList: {
    type: "object",
    properties: { networks: { type: "array", items: networkSummary } },
  },
  NetworkLeases: {
    type: "object",
    properties: {
      leases: {
        type: "array",
        items: {
          type: "object",
          properties: {
            iface: { type: "string" },
            expiryTime: { type: "integer", description: "Seconds since the epoch; 0: never" },
            type: { type: "string", enum: ["ipv4", "ipv6"] },
            mac: { type: "string" },
            iaid: { type: "string" },
            ipaddr: { type: "string" },
            prefix: { type: "integer" },
            hostname: { type: "string" },
            clientid: { type: "string" },
          },
        },
      },
    },
  },
  PoolSummary: poolSummary,
  PoolList: { type: "object", properties: { pools: { type: "array", items: poolSummary } } },
  PoolInfo: {
    ...poolSummary,
    properties: {
      ...poolSummary.properties,
      capacityBytes: { type: "integer" },
      allocationBytes: { type: "integer" },
      availableBytes: { type: "integer" },
    },
  },
  Volume: volume,
  VolumeList: { type: "object", properties: { volumes: { type: "array", items: volume } } },
  VolumePath: { type: "object", properties: { path: { type: "string" } } },
  VolumeTransfer: {
    type: "object",
    properties: { bytes: { type: "integer", description: "Bytes written" }, volume },
  },
  VolumeJob: {
    type: "object",
    properties: {
      pool: { type: "string" },
      volume: { type: "string" },
      job: {
        type: ["object", "null"],
        properties: {
          name: { type: "string", description: "The verb running it (vol-clone, vol-wipe, …)" },
          sinceMs: { type: "integer", description: "When it began, ms since the epoch" },
          bytesDone: { type: "integer" },
          bytesTotal: { type: "integer", description: "0 when unknown" },
          cancelled: { type: "boolean" },
        },
      },
    },
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

function queryParameter(parameter: OperationParameter): unknown {
  const schema: Record<string, unknown> = parameter.values === undefined
    ? { type: parameter.type }
    : { enum: parameter.values };
  if (parameter.min !== undefined) schema.minimum = parameter.min;
  if (parameter.max !== undefined) schema.maximum = parameter.max;
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
  const query = http.queued ? [QUEUE_TIMEOUT_PARAMETER, ...http.query] : http.query;
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
    schemas: {
      ...STORAGE_SCHEMAS,
      ...componentSchemas(),
      ActionResult: {
        allOf: [ref("DomainSummary"), {
          type: "object",
          properties: { exists: { type: "boolean" } },
        }],
      },
      Define: {
        type: "object",
        properties: {
          uuid: { type: "string" },
          name: { type: "string" },
          detail: { enum: ["added", "updated"] },
        },
      },
      MetadataChange: {
        type: "object",
        required: ["type"],
        properties: {
          type: { enum: ["title", "description", "element"] },
          value: {
            type: ["string", "null"],
            description: "Text, or the element's XML; null removes",
          },
          uri: { type: "string" },
          key: { type: "string" },
          live: { type: "boolean" },
          config: { type: "boolean" },
        },
      },
      BlockList: {
        type: "object",
        properties: {
          disks: {
            type: "array",
            items: {
              type: "object",
              properties: {
                type: { type: "string" },
                device: { type: "string" },
                target: { type: "string" },
                source: { type: ["string", "null"] },
                format: { type: "string" },
              },
            },
          },
        },
      },
      BlockInfo: {
        type: "object",
        properties: {
          target: { type: "string" },
          capacityBytes: { type: "integer" },
          allocationBytes: { type: "integer" },
          physicalBytes: { type: "integer" },
        },
      },
      DiskErrors: {
        type: "object",
        properties: {
          disks: { type: "integer" },
          errors: {
            type: "array",
            items: {
              type: "object",
              properties: {
                target: { type: "string" },
                error: { type: "string", enum: ["unspecified", "no-space"] },
              },
            },
          },
        },
      },
      BlockStats: {
        type: "object",
        properties: {
          device: { type: "string" },
          stats: {
            type: "array",
            description: "[field, value]: rd_operations, rd_bytes, wr_operations, wr_bytes, …",
            items: { type: "array" },
          },
          ...freshness,
        },
      },
      InterfaceStats: {
        type: "object",
        properties: {
          interface: { type: "string" },
          name: { type: "string" },
          rxBytes: { type: "integer" },
          rxPackets: { type: "integer" },
          rxErrors: { type: "integer" },
          rxDrops: { type: "integer" },
          txBytes: { type: "integer" },
          txPackets: { type: "integer" },
          txErrors: { type: "integer" },
          txDrops: { type: "integer" },
          ...freshness,
        },
      },
      MemoryStats: {
        type: "object",
        properties: {
          stats: {
            type: "array",
            description: "[tag, value]: actual, swap_in, …, rss (KiB)",
            items: { type: "array" },
          },
          ...freshness,
        },
      },
      Vcpus: {
        type: "object",
        properties: {
          vcpus: {
            type: "array",
            items: {
              type: "object",
              properties: {
                number: { type: "integer" },
                state: { type: ["integer", "null"] },
                stateName: { type: ["string", "null"] },
                cpuTimeNs: { type: ["integer", "null"] },
                cpu: { type: ["integer", "null"] },
                affinity: { type: "array", items: { type: "boolean" } },
              },
            },
          },
          ...freshness,
        },
      },
      StatsRecord: {
        type: "object",
        properties: {
          uuid: { type: "string" },
          name: { type: "string" },
          ...freshness,
          stats: {
            type: "array",
            description:
              "libvirt's keys in order, e.g. {key: 'block.0.allocation', value: 106954752}",
            items: {
              type: "object",
              properties: { key: { type: "string" }, value: { type: ["integer", "string"] } },
            },
          },
        },
      },
      StatsRecords: {
        type: "object",
        properties: { records: { type: "array", items: ref("StatsRecord") } },
      },
      DefinitionDocument: {
        type: "object",
        properties: { modelVersion: { type: "integer" }, definition: ref("DomainDefinition") },
      },
      Metadata: { type: "object" },
      BlockJobInfo: {
        type: "object",
        required: ["found", "type", "bandwidth", "cur", "end"],
        properties: {
          found: { type: "boolean", description: "Whether the disk has a block job" },
          type: { type: "integer", description: "libvirt's job type (1 pull … 4 active commit)" },
          bandwidth: { type: "string", description: "Speed limit: MiB/s, or bytes/s with bytes" },
          cur: { type: "string", description: "Work done (bytes, a decimal string)" },
          end: { type: "string", description: "Work in all (bytes, a decimal string)" },
        },
      },
      PerfEvents: {
        type: "object",
        required: ["events"],
        properties: {
          events: {
            type: "array",
            description: "Every perf event libvirt knows, in its order",
            items: {
              type: "object",
              required: ["name", "enabled"],
              properties: { name: { type: "string" }, enabled: { type: "boolean" } },
            },
          },
        },
      },
      VcpuCount: {
        type: "object",
        required: ["count"],
        properties: { count: { type: "integer", description: "The vCPU count asked for" } },
      },
      DeviceChange: {
        type: "object",
        required: ["pending"],
        properties: {
          pending: {
            type: "array",
            items: { type: "string" },
            description: "Aliases the guest was asked to release and has not yet",
          },
        },
      },
      ConsolePath: { type: "object", properties: { path: { type: "string" } } },
      Text: { type: "string" },
      SnapshotName: {
        type: "object",
        required: ["name"],
        properties: { name: { type: "string" } },
      },
      SnapshotView: {
        type: "object",
        properties: {
          name: { type: "string" },
          domain: { type: "string" },
          parent: { type: ["string", "null"] },
          current: { type: "boolean" },
          state: { type: "string", description: "running, paused, shutoff, disk-snapshot, …" },
          location: { type: "string", enum: ["internal", "external"] },
          creationTimeSeconds: { type: "integer" },
          description: { type: "string" },
          children: { type: "integer" },
          descendants: { type: "integer" },
          metadata: { type: "boolean" },
        },
      },
      SnapshotList: { type: "array", items: ref("SnapshotView") },
      Binary: { type: "string", format: "binary" },
      CommandReply: {
        type: "object",
        required: ["reply"],
        properties: {
          reply: { type: "string", description: "The reply, as the monitor or agent gave it" },
        },
      },
      InterfaceAddresses: {
        type: "object",
        properties: {
          interfaces: {
            type: "array",
            items: {
              type: "object",
              properties: {
                name: { type: "string", description: "The host-side device (tap)" },
                hwaddr: { type: "string" },
                addrs: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      type: { type: "string", enum: ["ipv4", "ipv6"] },
                      addr: { type: "string" },
                      prefix: { type: "integer" },
                    },
                  },
                },
              },
            },
          },
        },
      },
      InterfaceList: {
        type: "object",
        properties: {
          interfaces: {
            type: "array",
            items: {
              type: "object",
              properties: {
                interface: { type: "string", description: "Host device, or - when not known" },
                type: { type: "string" },
                source: { type: "string" },
                model: { type: "string" },
                mac: { type: "string" },
              },
            },
          },
        },
      },
      OpenApi: { type: "object" },
      FleetHosts: {
        type: "object",
        required: ["hosts"],
        properties: {
          hosts: {
            type: "array",
            items: {
              type: "object",
              required: [
                "name",
                "state",
                "drivers",
                "cpus",
                "memoryKiB",
                "startedAtMs",
                "heartbeatAtMs",
              ],
              properties: {
                name: { type: "string" },
                state: { type: "string", enum: ["alive", "lost"] },
                drivers: { type: "array", items: { type: "string" } },
                cpus: { type: "integer" },
                memoryKiB: { type: "integer" },
                startedAtMs: { type: "integer" },
                heartbeatAtMs: { type: "integer" },
                lostAtMs: { type: "integer" },
              },
            },
          },
        },
      },
      Event: {
        type: "object",
        properties: {
          position: { type: "integer" },
          time: { type: "string" },
          domain: {
            type: "object",
            properties: { uuid: { type: "string" }, name: { type: "string" } },
          },
          fact: { type: "string" },
          eventId: { type: ["integer", "null"] },
          event: { type: ["string", "null"] },
          lifecycle: { type: "object" },
          data: { type: "object" },
        },
      },
    },
  },
};
