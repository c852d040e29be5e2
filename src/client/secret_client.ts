/**
 * The secret calls of evirt's API (`/v1/secrets`), on an {@linkcode EvirtClient}'s transport.
 * A value travels as the body's bytes only.
 *
 * @module
 */

import type { SecretDefinition } from "../model/secret.ts";
import { pathOf } from "../model/operations.ts";
import type { ClientResponse, EvirtClient } from "./client.ts";

/**
 * Secrets over evirt's API.
 *
 * @example
 * ```ts ignore
 * const secrets = new SecretClient(client);
 * const secret = await secrets.define("<secret><usage type='ceph'><name>admin</name></usage></secret>");
 * await secrets.setValue(secret.uuid, new TextEncoder().encode("key"));
 * ```
 */
export class SecretClient {
  readonly #client: EvirtClient;

  /** @param client The client whose transport requests travel on. */
  constructor(client: EvirtClient) {
    this.#client = client;
  }

  /** Every secret (never a value). */
  async list(): Promise<SecretDefinition[]> {
    const response = await this.#client.request("GET", pathOf("secret.list"));
    return ((await response.json()) as { secrets: SecretDefinition[] }).secrets;
  }

  /** Defines or redefines a secret from its XML. */
  async define(xml: string): Promise<SecretDefinition> {
    const response = await this.#client.request("POST", pathOf("secret.define"), {
      body: xml,
      type: "application/xml",
    });
    return await response.json() as SecretDefinition;
  }

  /** A secret's XML. */
  async xml(secret: string): Promise<string> {
    return await (await this.#client.request("GET", pathOf("secret.dumpxml", { secret }))).text();
  }

  /** Removes a secret and its value. */
  async undefine(secret: string): Promise<void> {
    await this.#client.request("DELETE", pathOf("secret.undefine", { secret }));
  }

  /** Sets a secret's value. */
  async setValue(secret: string, value: Uint8Array): Promise<void> {
    const stream = new Blob([new Uint8Array(value)]).stream();
    await this.#client.requestStream(
      "PUT",
      pathOf("secret.set_value", { secret }),
      stream,
      value.length,
    );
  }

  /** A secret's value (refused for a private secret, code 65). */
  async value(secret: string): Promise<Uint8Array> {
    const response = await this.#client.request("GET", pathOf("secret.get_value", { secret }));
    return await bytesOf(response);
  }
}

async function bytesOf(response: ClientResponse): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  return new Uint8Array(await new Response(response.body).arrayBuffer());
}
