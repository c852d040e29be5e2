/**
 * What an RPC connection is opened to: the service's own host (`qemu:///system`,
 * `qemu:///session`, `evirt:///system`, `lxc:///system`) or, for `test:///default`, a fresh
 * in-memory test hypervisor owned by that one connection, as libvirt's test driver is per
 * connection.
 *
 * As libvirt's per-driver connections, `lxc:///system` sees only the host's `type='lxc'`
 * domains and `qemu:///…` all the others (`actors/domain_type_scope.ts`); `evirt:///system` sees
 * every domain.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import type { StoragePools } from "../../actors/storage_pools.ts";
import type { Networks } from "../../actors/networks.ts";
import type { Secrets } from "../../actors/secrets.ts";
import type { NodeInfo } from "../../actors/driver_protocol.ts";
import type { EventHub } from "../projections/event_hub.ts";
import type { SerialConsoles } from "../host/serial_consoles.ts";
import type { EventStreamSettings } from "../projections/event_hub.ts";
import { TEST_NODE_INFO } from "../../drivers/test/test_driver.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import type { RpcFleet } from "./fleet_calls.ts";
import {
  type DomainTypeScope,
  LXC_DOMAINS,
  NON_LXC_DOMAINS,
  scopedHost,
} from "../../actors/domain_type_scope.ts";

/** The service pieces procedures use. */
export interface RpcTarget {
  /** The URI the client opened, as `virConnectGetURI` answers it. */
  uri: string;
  /** `virConnectGetType`: `QEMU`, `LXC` or `Test`. */
  hypervisorType: string;
  host: Host;
  /** The storage pools; absent where the target has none (`test:///default`). */
  storage?: StoragePools;
  /** The virtual networks; absent where the target has none (`test:///default`). */
  networks?: Networks;
  /** The host's secrets; absent where the target has none (`test:///default`). */
  secrets?: Secrets;
  /** The one reader of the log's tail that events come from. */
  hub: EventHub;
  /**
   * The service's serial console sessions (one writer per console, shared with the web
   * console); absent where the target has none (`test:///default`).
   */
  consoles?: SerialConsoles;
  /** Bounds of event subscribers (shared with the SSE stream). */
  events: EventStreamSettings;
  /** Largest domain XML accepted, in bytes. */
  xmlMaxBytes: number;
  /**
   * The fleet the host belongs to: calls on another host's domains are carried out there
   * (`fleet_calls.ts`). Absent outside a fleet and for `test:///default`.
   */
  fleet?: RpcFleet;
  hostname(): string;
  nodeInfo(): NodeInfo;
  /** Releases what the connection owns (the per-connection test hypervisor); idempotent. */
  close(): Promise<void>;
}

/** A private test hypervisor: its host, its event hub, and how to release it. */
export interface TestHypervisor {
  host: Host;
  hub: EventHub;
  close(): Promise<void>;
}

/** The service's host, shared by every connection opened to it. */
export interface SharedService extends
  Pick<
    RpcTarget,
    | "host"
    | "storage"
    | "networks"
    | "secrets"
    | "hub"
    | "consoles"
    | "events"
    | "xmlMaxBytes"
    | "fleet"
    | "hostname"
    | "nodeInfo"
  > {
  /**
   * Opens a fresh `test:///default` hypervisor for one connection. Injected by the service
   * assembly (the RPC layer builds no hosts of its own); without it `test:///default` is refused.
   */
  openTestHypervisor?: () => Promise<TestHypervisor>;
  /**
   * Told how many event callbacks on the service's own host were registered (+) or dropped (-),
   * for the host summary's subscriber counts.
   */
  eventCallbacks?: (delta: number) => void;
}

/** A view of the service's host: the URI it answers with, its type name, which domains it sees. */
interface ServiceView {
  uri: string;
  hypervisorType: string;
  scope?: DomainTypeScope;
}

/** URIs that name the service's own host, and the view each opens. */
const SERVICE_URIS: ReadonlyMap<string, ServiceView> = new Map([
  ["qemu:///system", { uri: "qemu:///system", hypervisorType: "QEMU", scope: NON_LXC_DOMAINS }],
  ["qemu:///session", { uri: "qemu:///session", hypervisorType: "QEMU", scope: NON_LXC_DOMAINS }],
  ["evirt:///system", { uri: "evirt:///system", hypervisorType: "QEMU" }],
  ["lxc:///system", { uri: "lxc:///system", hypervisorType: "LXC", scope: LXC_DOMAINS }],
  ["lxc:///", { uri: "lxc:///system", hypervisorType: "LXC", scope: LXC_DOMAINS }],
]);

/** The URI libvirt's clients send when none is given (the daemon picks its default driver). */
const DEFAULT_URI = "qemu:///system";

/**
 * Opens the target a client names.
 *
 * @param name The URI from `CONNECT_OPEN` (null or empty: the default, `qemu:///system`).
 * @throws {VirtError} NO_CONNECT (5) for a URI evirt does not serve.
 *
 * @example
 * ```ts ignore
 * const target = await openRpcTarget("test:///default", service);
 * await target.close();
 * ```
 */
export async function openRpcTarget(
  name: string | null,
  service: SharedService,
): Promise<RpcTarget> {
  const uri = name === null || name === "" ? DEFAULT_URI : name.replace(/\?.*$/, "");
  const view = SERVICE_URIS.get(uri);
  if (view !== undefined) {
    return {
      uri: view.uri,
      hypervisorType: view.hypervisorType,
      host: view.scope === undefined ? service.host : scopedHost(service.host, view.scope),
      ...(service.storage === undefined ? {} : { storage: service.storage }),
      ...(service.networks === undefined ? {} : { networks: service.networks }),
      ...(service.secrets === undefined ? {} : { secrets: service.secrets }),
      hub: service.hub,
      ...(service.consoles === undefined ? {} : { consoles: service.consoles }),
      events: service.events,
      xmlMaxBytes: service.xmlMaxBytes,
      ...(service.fleet === undefined ? {} : { fleet: service.fleet }),
      hostname: service.hostname,
      nodeInfo: service.nodeInfo,
      close: () => Promise.resolve(),
    };
  }
  if (uri === "test:///default" && service.openTestHypervisor !== undefined) {
    const core = await service.openTestHypervisor();
    let closed: Promise<void> | undefined;
    return {
      uri,
      hypervisorType: "Test",
      host: core.host,
      hub: core.hub,
      events: service.events,
      xmlMaxBytes: service.xmlMaxBytes,
      hostname: service.hostname,
      nodeInfo: () => TEST_NODE_INFO,
      close: () => closed ??= core.close(),
    };
  }
  throw new VirtError(ErrorCode.NO_CONNECT, uri);
}
