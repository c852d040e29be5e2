/**
 * The API's OpenAPI 3.1 document, served at `/v1/openapi.json`. It is the specification the
 * routes implement; a test checks that every documented route answers and every route is
 * documented.
 *
 * @module
 */

import { VERSION } from "../model/version.ts";

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
const domainRef = {
  name: "ref",
  in: "path",
  required: true,
  description: "Domain name, uuid (with or without dashes) or id of a running domain",
  schema: { type: "string" },
};
const queueTimeout = {
  name: "queue_timeout_ms",
  in: "query",
  description: "How long to wait for a busy domain before answering 503 (default 10000)",
  schema: { type: "integer", minimum: 0, maximum: 600000 },
};
const flag = (name: string, description: string) => ({
  name,
  in: "query",
  description,
  schema: { type: "boolean" },
});
const diskParameter = {
  name: "disk",
  in: "path",
  required: true,
  description: "Disk target (vda) or source path (URL-encoded)",
  schema: { type: "string" },
};
const statsParameters = [
  {
    name: "groups",
    in: "query",
    description:
      "Comma-separated groups: state, cpu-total, balloon, vcpu, interface, block (perf, iothread, memory, dirtyrate, vm are not reported); none: all",
    schema: { type: "string" },
  },
  flag("nowait", "Never wait for a domain's first sample"),
  flag("enforce", "Refuse groups that are not reported (code 74)"),
  flag("backing", "Backing chains (not supported: code 74)"),
];
const freshness = {
  sampleAgeMs: { type: ["integer", "null"], description: "Age of the samples, ms" },
  stale: { type: "boolean", description: "The last sampling failed: the figures are old" },
  staleReason: { type: "string" },
};
const definitionBody = {
  required: true,
  content: {
    "application/xml": { schema: { type: "string", description: "libvirt domain XML" } },
    "application/json": { schema: ref("DomainDefinition") },
  },
};

function action(summary: string, parameters: unknown[] = []) {
  return {
    post: {
      summary,
      parameters: [domainRef, queueTimeout, ...parameters],
      responses: {
        "200": { description: "Done", content: json(ref("ActionResult")) },
        ...errorResponses,
      },
    },
  };
}

/** The OpenAPI document. */
export const OPENAPI_DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "evirt",
    version: VERSION,
    description:
      "Virtualization manager in the spirit of libvirt. Errors carry libvirt's error numbers.",
  },
  paths: {
    "/v1/version": {
      get: {
        summary: "Service and hypervisor versions",
        responses: { "200": { description: "Versions", content: json(ref("Version")) } },
      },
    },
    "/v1/host": {
      get: {
        summary: "Hostname and node information",
        responses: { "200": { description: "Host", content: json(ref("Host")) } },
      },
    },
    "/v1/openapi.json": {
      get: { summary: "This document", responses: { "200": { description: "OpenAPI document" } } },
    },
    "/metrics": {
      get: {
        summary: "Prometheus metrics",
        responses: {
          "200": {
            description: "Text exposition format",
            content: { "text/plain": { schema: { type: "string" } } },
          },
        },
      },
    },
    "/v1/domains": {
      get: {
        summary: "List domains (virConnectListAllDomains)",
        parameters: [
          flag("active", "Only running, paused, … domains"),
          flag("inactive", "Only shut off domains"),
          flag("persistent", "Only persistent domains"),
          flag("transient", "Only transient domains"),
          flag("running", "Only running domains"),
          flag("paused", "Only paused domains"),
          flag("shutoff", "Only shut off domains"),
          flag("other", "Only domains in other states"),
          flag("autostart", "Only autostart domains"),
          flag("no_autostart", "Only domains without autostart"),
        ],
        responses: {
          "200": {
            description: "Domains",
            content: json({
              type: "object",
              properties: { domains: { type: "array", items: ref("DomainSummary") } },
            }),
          },
          ...errorResponses,
        },
      },
      post: {
        summary: "Define or redefine a persistent domain (virDomainDefineXML)",
        parameters: [queueTimeout],
        requestBody: definitionBody,
        responses: {
          "201": { description: "Defined", content: json(ref("Define")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/create": {
      post: {
        summary: "Create and start a transient domain (virDomainCreateXML)",
        parameters: [queueTimeout, flag("paused", "Start with the CPUs paused")],
        requestBody: definitionBody,
        responses: {
          "201": { description: "Created", content: json(ref("DomainSummary")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}": {
      get: {
        summary: "Domain information (virDomainGetInfo)",
        parameters: [domainRef],
        responses: {
          "200": { description: "Info", content: json(ref("DomainInfo")) },
          ...errorResponses,
        },
      },
      delete: {
        summary: "Undefine (virDomainUndefine); a running domain continues as transient",
        parameters: [domainRef, queueTimeout],
        responses: { "204": { description: "Undefined" }, ...errorResponses },
      },
    },
    "/v1/domains/{ref}/state": {
      get: {
        summary: "State and reason (virDomainGetState)",
        parameters: [domainRef],
        responses: {
          "200": { description: "State", content: json(ref("State")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/xml": {
      get: {
        summary: "Domain XML (virDomainGetXMLDesc)",
        parameters: [
          domainRef,
          flag("inactive", "The persistent definition"),
          flag("secure", "Include secrets"),
        ],
        responses: {
          "200": {
            description: "XML",
            content: { "application/xml": { schema: { type: "string" } } },
          },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/definition": {
      get: {
        summary: "The definition as the JSON model",
        parameters: [domainRef, flag("inactive", "The persistent definition")],
        responses: {
          "200": {
            description: "Definition",
            content: json({
              type: "object",
              properties: {
                modelVersion: { type: "integer" },
                definition: ref("DomainDefinition"),
              },
            }),
          },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/metadata": {
      get: {
        summary: "Title, description or a metadata element (virDomainGetMetadata)",
        parameters: [
          domainRef,
          {
            name: "type",
            in: "query",
            required: true,
            schema: { enum: ["title", "description", "element"] },
          },
          {
            name: "uri",
            in: "query",
            description: "Namespace of the element",
            schema: { type: "string" },
          },
          flag("config", "From the persistent definition"),
        ],
        responses: {
          "200": { description: "Value", content: json({ type: "object" }) },
          ...errorResponses,
        },
      },
      put: {
        summary: "Set or remove title, description or a metadata element (virDomainSetMetadata)",
        parameters: [domainRef, queueTimeout],
        requestBody: { required: true, content: json(ref("MetadataChange")) },
        responses: { "204": { description: "Changed" }, ...errorResponses },
      },
    },
    "/v1/domains/{ref}/autostart": {
      put: {
        summary: "Switch autostart (virDomainSetAutostart)",
        parameters: [domainRef, queueTimeout],
        requestBody: {
          required: true,
          content: json({
            type: "object",
            required: ["autostart"],
            properties: { autostart: { type: "boolean" } },
          }),
        },
        responses: {
          "200": { description: "Changed", content: json(ref("DomainSummary")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/console": {
      get: {
        summary:
          "The host path of the domain's pty console (virDomainOpenConsole); read-write only",
        parameters: [domainRef, {
          name: "device",
          in: "query",
          description: "Serial or console alias, e.g. serial0",
          schema: { type: "string" },
        }],
        responses: {
          "200": {
            description: "The pty",
            content: json({ type: "object", properties: { path: { type: "string" } } }),
          },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/actions/start": action("Start a defined domain (virDomainCreate)", [
      flag("paused", "Start with the CPUs paused"),
    ]),
    "/v1/domains/{ref}/actions/shutdown": action(
      "Ask the guest to shut down (virDomainShutdown); returns once the request reached it",
      [
        {
          name: "wait",
          in: "query",
          description: "Seconds to wait for the guest to stop",
          schema: { type: "number" },
        },
        {
          name: "timeout",
          in: "query",
          description:
            "Seconds after which the domain is destroyed if still active (recorded, survives restarts)",
          schema: { type: "number" },
        },
      ],
    ),
    "/v1/domains/{ref}/actions/destroy": action("End the domain now (virDomainDestroy)", [
      flag("graceful", "SIGTERM only, never SIGKILL"),
    ]),
    "/v1/domains/{ref}/actions/reboot": action("Ask the guest to reboot (virDomainReboot)", [
      {
        name: "wait",
        in: "query",
        description: "Seconds to wait for the reset",
        schema: { type: "number" },
      },
    ]),
    "/v1/domains/{ref}/actions/reset": action("Reset the guest now (virDomainReset)"),
    "/v1/domains/{ref}/actions/suspend": action("Pause the CPUs (virDomainSuspend)"),
    "/v1/domains/{ref}/actions/resume": action("Run the CPUs again (virDomainResume)"),
    "/v1/domains/{ref}/blocks": {
      get: {
        summary: "The domain's disks (virsh domblklist)",
        parameters: [domainRef, flag("inactive", "From the persistent definition")],
        responses: {
          "200": { description: "Disks", content: json(ref("BlockList")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/blocks/{disk}/info": {
      get: {
        summary:
          "Capacity, allocation and physical size of a disk (virDomainGetBlockInfo): asked live for a running domain, read from storage for an inactive one",
        parameters: [domainRef, diskParameter],
        responses: {
          "200": { description: "Block info", content: json(ref("BlockInfo")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/blocks/stats": {
      get: {
        summary: "I/O counters summed over every disk (virDomainBlockStatsFlags with no disk)",
        parameters: [domainRef],
        responses: {
          "200": { description: "Counters", content: json(ref("BlockStats")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/blocks/{disk}/stats": {
      get: {
        summary: "I/O counters of a disk (virDomainBlockStatsFlags), from the latest samples",
        parameters: [domainRef, diskParameter],
        responses: {
          "200": { description: "Counters", content: json(ref("BlockStats")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/interfaces/{iface}/stats": {
      get: {
        summary:
          "Interface counters in the guest's view (virDomainInterfaceStats), from the latest samples",
        parameters: [domainRef, {
          name: "iface",
          in: "path",
          required: true,
          description: "Host device name (e.g. the tap) or MAC address",
          schema: { type: "string" },
        }],
        responses: {
          "200": { description: "Counters", content: json(ref("InterfaceStats")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/memory/stats": {
      get: {
        summary: "Memory statistics (virDomainMemoryStats), from the latest samples",
        parameters: [domainRef],
        responses: {
          "200": { description: "Statistics", content: json(ref("MemoryStats")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/vcpus": {
      get: {
        summary:
          "vCPUs (virDomainGetVcpus): state, CPU time, host CPU and affinity; configured ones when inactive",
        parameters: [domainRef],
        responses: {
          "200": { description: "vCPUs", content: json(ref("Vcpus")) },
          ...errorResponses,
        },
      },
    },
    "/v1/domains/{ref}/stats": {
      get: {
        summary: "The domain's stats record (virDomainListGetStats of one domain)",
        parameters: [domainRef, ...statsParameters],
        responses: {
          "200": { description: "Record", content: json(ref("StatsRecord")) },
          ...errorResponses,
        },
      },
    },
    "/v1/stats": {
      get: {
        summary:
          "Stats records of all (filtered) or of the named domains (virConnectGetAllDomainStats, virDomainListGetStats)",
        description:
          "Answered from the drivers' samples, never by querying a monitor: each record says how old its samples are and whether they are stale (the monitor stopped answering).",
        parameters: [
          ...statsParameters,
          {
            name: "domain",
            in: "query",
            description: "Only this domain (repeatable, in order); not with the list filters",
            schema: { type: "string" },
          },
          flag("active", "Only running, paused, … domains"),
          flag("inactive", "Only shut off domains"),
          flag("persistent", "Only persistent domains"),
          flag("transient", "Only transient domains"),
          flag("running", "Only running domains"),
          flag("paused", "Only paused domains"),
          flag("shutoff", "Only shut off domains"),
          flag("other", "Only domains in other states"),
        ],
        responses: {
          "200": {
            description: "Records",
            content: json({
              type: "object",
              properties: { records: { type: "array", items: ref("StatsRecord") } },
            }),
          },
          ...errorResponses,
        },
      },
    },
    "/v1/events": {
      get: {
        summary: "The event stream: Server-Sent Events, or a WebSocket on upgrade",
        description:
          "One message per fact of the log. The SSE id is the fact's global position; resume strictly after it with since or Last-Event-ID. Heartbeats are comments. A position older than retention answers 410.",
        parameters: [
          {
            name: "since",
            in: "query",
            description: "Resume strictly after this position (0: from the beginning)",
            schema: { type: "integer", minimum: 0 },
          },
          { name: "Last-Event-ID", in: "header", schema: { type: "string" } },
          {
            name: "domain",
            in: "query",
            description: "Only this domain (repeatable)",
            schema: { type: "string" },
          },
          {
            name: "event",
            in: "query",
            description: "Only this event type, e.g. lifecycle (repeatable)",
            schema: { type: "string" },
          },
        ],
        responses: {
          "200": {
            description: "The stream",
            content: { "text/event-stream": { schema: ref("Event") } },
          },
          "101": { description: "WebSocket: one JSON Event per text message" },
          "410": {
            description: "The position was pruned: list again",
            content: json(ref("Error")),
          },
          ...errorResponses,
        },
      },
    },
  },
  components: {
    schemas: {
      Error: {
        type: "object",
        properties: {
          error: {
            type: "object",
            required: ["code", "name", "message"],
            properties: {
              code: { type: "integer", description: "libvirt virErrorNumber" },
              name: { type: "string" },
              message: { type: "string", description: "As libvirt prints it" },
              detail: { type: "string" },
              where: { type: "string", description: "Where in the input the problem is" },
            },
          },
        },
      },
      DomainSummary: {
        type: "object",
        properties: {
          uuid: { type: "string" },
          name: { type: "string" },
          id: { type: ["integer", "null"] },
          state: { type: "integer" },
          stateName: { type: "string" },
          reason: { type: "integer" },
          reasonName: { type: "string" },
          persistent: { type: "boolean" },
          autostart: { type: "boolean" },
          active: { type: "boolean" },
        },
      },
      DomainInfo: {
        allOf: [ref("DomainSummary"), {
          type: "object",
          properties: {
            type: { type: "string" },
            osType: { type: "string" },
            maxMemoryKiB: { type: "integer" },
            memoryKiB: { type: "integer" },
            vcpus: { type: "integer" },
            cpuTimeNs: { type: "integer" },
            security: {
              type: "object",
              properties: {
                model: { type: "string" },
                doi: { type: "string" },
                label: { type: "string" },
              },
            },
            title: { type: "string" },
            description: { type: "string" },
          },
        }],
      },
      State: {
        type: "object",
        properties: {
          state: { type: "integer" },
          stateName: { type: "string" },
          reason: { type: "integer" },
          reasonName: { type: "string" },
        },
      },
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
      DomainDefinition: {
        type: "object",
        description: "The typed domain model (src/model/domain.ts), model version 1",
        required: ["type", "name", "memoryKiB", "vcpus", "os", "devices"],
      },
      Version: { type: "object" },
      Host: { type: "object" },
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
} as const;
