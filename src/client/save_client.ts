/**
 * The save-image part of the evirt client: save, restore, and the XML a save image carries,
 * over the routes of the operations table, on an {@linkcode EvirtClient}'s transport.
 *
 * @module
 */

import type { Static } from "@sinclair/typebox";
import type { DomainJobSchema } from "../api/api_schemas.ts";
import type { DomainSummaryView } from "../api/views.ts";
import { pathOf } from "../model/operations.ts";
import type { EvirtClient } from "./client.ts";

/** The flags of save, restore and save-image-define. */
export interface SaveFlags {
  running?: boolean;
  paused?: boolean;
  bypassCache?: boolean;
}

function query(file: string | undefined, values: Record<string, boolean | undefined>): string {
  const params = new URLSearchParams(file === undefined ? {} : { file });
  for (const [name, value] of Object.entries(values)) {
    if (value === true) params.set(name, "true");
  }
  return params.size === 0 ? "" : `?${params}`;
}

function flagQuery(file: string | undefined, flags: SaveFlags): string {
  return query(file, {
    running: flags.running,
    paused: flags.paused,
    bypass_cache: flags.bypassCache,
  });
}

/** `domjobinfo`'s answer: the libvirt job type and the job (null: none). */
export type DomainJobView = Static<typeof DomainJobSchema>;

const xmlBody = (xml: string) => ({ body: xml, type: "application/xml" });

/**
 * Save images of one service.
 *
 * @example
 * ```ts ignore
 * const images = new SaveClient(client);
 * await images.save("web", "/var/tmp/web.save");
 * await images.restore("/var/tmp/web.save");
 * ```
 */
export class SaveClient {
  readonly #client: EvirtClient;

  /** @param client The client whose transport requests travel on. */
  constructor(client: EvirtClient) {
    this.#client = client;
  }

  /** Saves a running or paused domain to `file` and ends its instance. */
  async save(reference: string, file: string, flags: SaveFlags = {}): Promise<void> {
    const path = pathOf("domain.save", { ref: reference });
    await this.#client.request("POST", `${path}${flagQuery(file, flags)}`);
  }

  /** Starts the domain of a save image; `xml` replaces its definition (same domain). */
  async restore(file: string, flags: SaveFlags = {}, xml?: string): Promise<DomainSummaryView> {
    const path = `${pathOf("domain.restore")}${flagQuery(file, flags)}`;
    const response = await this.#client.request(
      "POST",
      path,
      xml === undefined ? undefined : xmlBody(xml),
    );
    return await response.json() as DomainSummaryView;
  }

  /** The domain XML a save image carries. */
  async xml(file: string, secure = false): Promise<string> {
    const path = `${pathOf("domain.save_image_xml")}${query(file, { secure })}`;
    return await (await this.#client.request("GET", path)).text();
  }

  /** Replaces the domain XML a save image carries. */
  async define(file: string, xml: string, flags: SaveFlags = {}): Promise<void> {
    const path = `${pathOf("domain.save_image_define")}${flagQuery(file, flags)}`;
    await this.#client.request("PUT", path, xmlBody(xml));
  }

  /** Saves a domain to its managed save image. */
  async managedSave(reference: string, flags: SaveFlags = {}): Promise<void> {
    const path = pathOf("domain.managed_save", { ref: reference });
    const query = flagQuery(undefined, flags);
    await this.#client.request("POST", `${path}${query}`);
  }

  /** The domain XML of a domain's managed save image (code 55 without one). */
  async managedSaveXml(reference: string, secure = false): Promise<string> {
    const path = pathOf("domain.managed_save_xml", { ref: reference });
    return await (await this.#client.request("GET", `${path}${secure ? "?secure=true" : ""}`))
      .text();
  }

  /** Whether a domain has a managed save image. */
  async hasManagedSave(reference: string): Promise<boolean> {
    try {
      await this.managedSaveXml(reference);
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 55) return false;
      throw error;
    }
  }

  /** Replaces the domain XML of a domain's managed save image. */
  async managedSaveDefine(reference: string, xml: string, flags: SaveFlags = {}): Promise<void> {
    const path = pathOf("domain.managed_save_define", { ref: reference });
    const query = flagQuery(undefined, flags);
    await this.#client.request("PUT", `${path}${query}`, xmlBody(xml));
  }

  /** `domjobinfo`: the domain's save or restore under way, or its last completed save. */
  async jobInfo(
    reference: string,
    options: { completed?: boolean; keepCompleted?: boolean } = {},
  ): Promise<DomainJobView> {
    const path = `${pathOf("domain.job_info", { ref: reference })}${
      query(undefined, { completed: options.completed, keep_completed: options.keepCompleted })
    }`;
    return await (await this.#client.request("GET", path)).json() as DomainJobView;
  }

  /** `domjobabort`: cancels the domain's save under way. */
  async abortJob(reference: string): Promise<void> {
    await this.#client.request("POST", pathOf("domain.abort_job", { ref: reference }));
  }

  /** Removes a domain's managed save image. */
  async managedSaveRemove(reference: string): Promise<void> {
    await this.#client.request("DELETE", pathOf("domain.managed_save_remove", { ref: reference }));
  }
}
