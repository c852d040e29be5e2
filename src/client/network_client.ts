/**
 * The network part of the evirt client: virtual networks over the routes of the operations
 * table, on an {@linkcode EvirtClient}'s transport.
 *
 * @module
 */

import type { NetworkLeaseView, NetworkView } from "../api/network_views.ts";
import { pathOf } from "../model/operations.ts";

/** A network port as the service names it: its uuid and its network's. */
export interface NetworkPortRef {
  uuid: string;
  network: string;
}
import type { EvirtClient } from "./client.ts";

const xmlBody = (xml: string) => ({ body: xml, type: "application/xml" });

/**
 * The networks of one service.
 *
 * @example
 * ```ts ignore
 * const networks = new NetworkClient(client);
 * console.log((await networks.list()).map((network) => network.name));
 * ```
 */
export class NetworkClient {
  readonly #client: EvirtClient;

  /** @param client The client whose transport requests travel on. */
  constructor(client: EvirtClient) {
    this.#client = client;
  }

  async #json<T>(
    method: string,
    path: string,
    body?: { body: string; type: string },
  ): Promise<T> {
    return await (await this.#client.request(method, path, body)).json() as T;
  }

  /** Every network. */
  async list(): Promise<NetworkView[]> {
    return (await this.#json<{ networks: NetworkView[] }>("GET", pathOf("network.list")))
      .networks;
  }

  /** A network by name or uuid. */
  info(network: string): Promise<NetworkView> {
    return this.#json("GET", pathOf("network.info", { network }));
  }

  /** A network's unexpired DHCP leases; with `mac`, that MAC address's only. */
  async leases(network: string, mac?: string): Promise<NetworkLeaseView[]> {
    const query = mac === undefined ? "" : `?mac=${encodeURIComponent(mac)}`;
    const path = pathOf("network.dhcp_leases", { network }) + query;
    return (await this.#json<{ leases: NetworkLeaseView[] }>("GET", path)).leases;
  }

  /** A running network's ports (their uuids), oldest first. */
  async ports(network: string): Promise<NetworkPortRef[]> {
    const path = pathOf("network.port_list", { network });
    return (await this.#json<{ ports: NetworkPortRef[] }>("GET", path)).ports;
  }

  /** Allocates a port on a running network from `<networkport>` XML. */
  createPort(network: string, xml: string): Promise<NetworkPortRef> {
    return this.#json("POST", pathOf("network.port_create", { network }), xmlBody(xml));
  }

  /** A network port's XML. */
  async portXml(network: string, port: string): Promise<string> {
    return await (await this.#client.request(
      "GET",
      pathOf("network.port_dumpxml", { network, port }),
    ))
      .text();
  }

  /** Releases a network port. */
  async deletePort(network: string, port: string): Promise<void> {
    await this.#client.request("DELETE", pathOf("network.port_delete", { network, port }));
  }

  /** A network's XML; `inactive`: the definition its next start uses. */
  async xml(network: string, inactive = false): Promise<string> {
    const path = pathOf("network.dumpxml", { network }) + (inactive ? "?inactive=true" : "");
    return await (await this.#client.request("GET", path)).text();
  }

  /** Defines (or redefines) a network. */
  define(xml: string): Promise<NetworkView> {
    return this.#json("POST", pathOf("network.define"), xmlBody(xml));
  }

  /** Creates and starts a transient network. */
  create(xml: string): Promise<NetworkView> {
    return this.#json("POST", pathOf("network.create"), xmlBody(xml));
  }

  /** Starts or stops a network. */
  action(network: string, action: "start" | "destroy"): Promise<NetworkView> {
    return this.#json("POST", pathOf(`network.${action}`, { network }));
  }

  /** Undefines a network. */
  async undefine(network: string): Promise<void> {
    await this.#client.request("DELETE", pathOf("network.undefine", { network }));
  }

  /**
   * Applies one `net-update` to a network: `command` and `section` as virsh names them;
   * neither `live` nor `config`: the running network if it runs, else its definition.
   */
  update(
    network: string,
    request: {
      command: string;
      section: string;
      xml: string;
      parentIndex?: number;
      live?: boolean;
      config?: boolean;
    },
  ): Promise<NetworkView> {
    return this.#json("POST", pathOf("network.update", { network }), {
      body: JSON.stringify(request),
      type: "application/json",
    });
  }

  /** Sets a network's autostart flag. */
  setAutostart(network: string, autostart: boolean): Promise<NetworkView> {
    return this.#json("PUT", pathOf("network.autostart", { network }), {
      body: JSON.stringify({ autostart }),
      type: "application/json",
    });
  }
}
