/**
 * `/v1/domains`: list, define, create, look up, info, state, XML, JSON model, metadata,
 * autostart, undefine, and lifecycle actions.
 *
 * @module
 */

import type { CommandOptions, Host } from "../../../actors/host.ts";
import { LIST_FILTER_NAMES, type ListFilter } from "../../model/domain_list.ts";
import { DOMAIN_MODEL_VERSION } from "../../model/domain.ts";
import {
  type DomainActionName,
  type OperationRow,
  OPERATIONS,
  QUEUE_TIMEOUT_MAX_MS,
  type RoutedOperationName,
  WAIT_MAX_SECONDS,
} from "../../model/operations.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import { formatDomainXml } from "../../xml/mod.ts";
import { withBlockJobMirrors } from "../../model/block_jobs.ts";
import { liveFactsOf, withLiveFacts } from "../../model/live_facts.ts";
import { readXml } from "../../xml/xml_reader.ts";
import { writeXml } from "../../xml/xml_writer.ts";
import { elementNamespace } from "../../../actors/domain_machine.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { checkSecureAllowed, withoutSecrets } from "../domain_secrets.ts";
import { jsonResponse } from "../http_errors.ts";
import { DEFINITION_INLINE_MAX_BYTES, type DefinitionReaderPool } from "../definition_reader.ts";
import { definitionFromRequest, readJsonObject } from "../request_body.ts";
import { AutostartSchema, checkBody, MetadataChangeSchema } from "../request_schemas.ts";
import type { Static } from "@sinclair/typebox";
import { infoView, stateView, summaryView } from "../views.ts";

type Context = RouteContext & ApiRequestContext;

/** Registers the domain routes. */
export function domainRoutes(add: RouteAdder): void {
  add("domain.list", (_request, context) => listDomains(context));
  add("domain.define", defineDomain);
  add("domain.create", createDomain);
  add("domain.info", (_request, context) => domainInfo(context));
  add("domain.undefine", async (_request, context) => {
    const { host } = context.env;
    const summary = host.lookup(context.params.ref);
    await host.command("undefine", summary.uuid, {}, commandOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.state", (_request, context) => {
    return jsonResponse(stateView(context.env.host.lookup(context.params.ref)));
  });
  add("domain.xml", (_request, context) => domainXml(context));
  add("domain.definition", (_request, context) => domainJson(context));
  add("domain.metadata_get", (_request, context) => getMetadata(context));
  add("domain.metadata_set", setMetadata);
  add("domain.autostart", setAutostart);
  add("domain.console", (_request, context) => {
    const device = context.url.searchParams.get("device") ?? undefined;
    return jsonResponse({ path: context.env.host.consolePath(context.params.ref, device) });
  });
  for (const row of OPERATIONS) {
    const action = actionOf(row);
    if (action === undefined) continue;
    add(row.name as RoutedOperationName, (_request, context) => runAction(action, context));
  }
}

/** The lifecycle action a row's route runs (`/v1/domains/:ref/actions/<action>`), if any. */
function actionOf(row: OperationRow): DomainActionName | undefined {
  const prefix = "/v1/domains/:ref/actions/";
  const path = row.http?.path;
  return path?.startsWith(prefix) ? path.slice(prefix.length) as DomainActionName : undefined;
}

function listDomains(context: Context): Response {
  const domains = context.env.host.list(listFilterOf(context.url)).map(summaryView);
  return jsonResponse({ domains });
}

/**
 * libvirt's list filters from query flags named in snake case (`no_autostart`).
 *
 * @param names The filters the route accepts. Default: all of them.
 */
export function listFilterOf(
  url: URL,
  names: readonly (keyof ListFilter)[] = LIST_FILTER_NAMES,
): ListFilter {
  const filter: ListFilter = {};
  for (const name of names) {
    const value = booleanParam(url, snakeCase(name));
    if (value !== undefined) filter[name] = value;
  }
  return filter;
}

/** The service's definition reader, when it has one (large bodies are read off the main loop). */
function readerOf(context: Context): { reader?: DefinitionReaderPool } {
  const reader = context.env.definitionReader;
  return reader === undefined ? {} : { reader };
}

/** Large definitions processed at once (see `ApiEnvironment.largeDefinitions`). */
export const LARGE_DEFINITIONS_MAX = 2;

/** How long a large definition waits for its turn, in ms, before code 87. */
export const LARGE_DEFINITION_WAIT_MS = 30_000;

/** Runs `work` holding a turn among large definitions when the request's body is large. */
async function inTurn(
  request: Request,
  context: Context,
  work: () => Promise<Response>,
): Promise<Response> {
  const turns = context.env.largeDefinitions;
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (turns === undefined || declared <= DEFINITION_INLINE_MAX_BYTES) return await work();
  await turns.take(1);
  try {
    return await work();
  } finally {
    turns.give(1);
  }
}

function defineDomain(request: Request, context: Context): Promise<Response> {
  return inTurn(request, context, () => defineNow(request, context));
}

function createDomain(request: Request, context: Context): Promise<Response> {
  return inTurn(request, context, () => createNow(request, context));
}

async function defineNow(request: Request, context: Context): Promise<Response> {
  const { host } = context.env;
  const definition = await definitionFromRequest(request, {
    maxBytes: context.env.xmlMaxBytes,
    ...readerOf(context),
  });
  const { uuid, detail } = await host.define(definition, commandOptions(context));
  return jsonResponse({ uuid, name: definition.name, detail }, 201);
}

async function createNow(request: Request, context: Context): Promise<Response> {
  const { host } = context.env;
  const paused = booleanParam(context.url, "paused") ?? false;
  const definition = await definitionFromRequest(request, {
    maxBytes: context.env.xmlMaxBytes,
    ...readerOf(context),
  });
  const { uuid } = await host.create(definition, { ...commandOptions(context), paused });
  return jsonResponse(summaryView(host.lookup(uuid)), 201);
}

function domainInfo(context: Context): Response {
  const { host } = context.env;
  const info = host.info(context.params.ref);
  const domain = host.context(info.uuid);
  const definition = domain.live ?? domain.definition!;
  return jsonResponse(infoView(info, {
    osType: definition.os.type ?? "hvm",
    title: definition.title,
    description: definition.description,
  }));
}

function domainXml(context: Context): Response {
  const { host } = context.env;
  const summary = host.lookup(context.params.ref);
  const domain = host.context(summary.uuid);
  const inactive = booleanParam(context.url, "inactive") ?? false;
  const secure = booleanParam(context.url, "secure") ?? false;
  checkSecureAllowed(context.role, secure, "virDomainGetXMLDesc");
  const useLive = !inactive && domain.live !== null;
  const definition = useLive
    ? withBlockJobMirrors(
      withLiveFacts(domain.live!, liveFactsOf(domain.runtime)),
      domain.blockJobs,
    )
    : (domain.definition ?? domain.live!);
  const xml = formatDomainXml(definition, {
    inactive: !useLive,
    secure,
    ...(useLive && domain.id !== null ? { id: domain.id } : {}),
  });
  return new Response(xml, { headers: { "content-type": "application/xml" } });
}

function domainJson(context: Context): Response {
  const { host } = context.env;
  const summary = host.lookup(context.params.ref);
  const domain = host.context(summary.uuid);
  const inactive = booleanParam(context.url, "inactive") ?? false;
  const secure = booleanParam(context.url, "secure") ?? false;
  checkSecureAllowed(context.role, secure, "virDomainGetXMLDesc");
  const definition = !inactive && domain.live !== null
    ? withBlockJobMirrors(withLiveFacts(domain.live, liveFactsOf(domain.runtime)), domain.blockJobs)
    : (domain.definition ?? domain.live)!;
  return jsonResponse({
    modelVersion: DOMAIN_MODEL_VERSION,
    definition: context.role === "read-only" ? withoutSecrets(definition) : definition,
  });
}

function getMetadata(context: Context): Response {
  const { host } = context.env;
  const summary = host.lookup(context.params.ref);
  const domain = host.context(summary.uuid);
  const type = context.url.searchParams.get("type") ?? "";
  const config = booleanParam(context.url, "config") ?? booleanParam(context.url, "inactive") ??
    false;
  const definition = !config && domain.live !== null ? domain.live : domain.definition;
  const missing = () =>
    new VirtError(ErrorCode.NO_DOMAIN_METADATA, "Requested metadata element is not present");
  if (definition === null) throw missing();
  if (type === "title" || type === "description") {
    const value = definition[type];
    if (value === undefined) throw missing();
    return jsonResponse({ type, value });
  }
  if (type === "element") {
    const uri = context.url.searchParams.get("uri");
    if (uri === null || uri === "") {
      throw new VirtError(ErrorCode.INVALID_ARG, "metadata element needs a namespace uri", {
        where: "uri",
      });
    }
    const element = (definition.metadata ?? []).find((entry) => elementNamespace(entry) === uri);
    if (element === undefined) throw missing();
    return jsonResponse({ type, uri, value: writeXml(element) });
  }
  throw new VirtError(ErrorCode.INVALID_ARG, `unknown metadata type '${type}'`, { where: "type" });
}

async function setMetadata(request: Request, context: Context): Promise<Response> {
  const { host } = context.env;
  const body = checkBody(
    MetadataChangeSchema,
    await readJsonObject(request, context.env.xmlMaxBytes),
  );
  const summary = host.lookup(context.params.ref);
  const scope = { live: body.live, config: body.config };
  const type = body.type;
  if (type === "title" || type === "description") {
    const value = body.value ?? null;
    if (type === "title" && typeof value === "string" && value.includes("\n")) {
      throw new VirtError(ErrorCode.INVALID_ARG, "title can't contain newlines", {
        where: "value",
      });
    }
    await host.command("metadata", summary.uuid, {
      change: { kind: type, value: value === "" ? null : value },
      scope,
    }, commandOptions(context));
  } else {
    const change = elementChange(body);
    await host.command("metadata", summary.uuid, { change, scope }, commandOptions(context));
  }
  return new Response(null, { status: 204 });
}

/** A metadata element to set: `xml` put in namespace `uri` under prefix `key`. */
function elementChange(body: Static<typeof MetadataChangeSchema>) {
  const uri = body.uri;
  if (uri === undefined || uri === "") {
    throw new VirtError(ErrorCode.INVALID_ARG, "metadata element needs a namespace uri", {
      where: "uri",
    });
  }
  const xml = body.value;
  if (xml === null || xml === undefined || xml === "") {
    return { kind: "element" as const, nsuri: uri, element: null };
  }
  const key = body.key;
  if (key === undefined || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
    throw new VirtError(ErrorCode.INVALID_ARG, "metadata element needs a valid namespace key", {
      where: "key",
    });
  }
  const parsed = readXml(xml);
  const local = parsed.name.includes(":") ? parsed.name.split(":")[1] : parsed.name;
  const attributes: Record<string, string> = { [`xmlns:${key}`]: uri };
  for (const [name, value] of Object.entries(parsed.attributes ?? {})) {
    if (name === "xmlns" || name.startsWith("xmlns:")) continue;
    attributes[name] = value;
  }
  const element = { ...parsed, name: `${key}:${local}`, attributes };
  return { kind: "element" as const, nsuri: uri, key, element };
}

async function setAutostart(request: Request, context: Context): Promise<Response> {
  const { host } = context.env;
  const body = checkBody(AutostartSchema, await readJsonObject(request, context.env.bodyMaxBytes));
  const summary = host.lookup(context.params.ref);
  await host.command(
    "autostart",
    summary.uuid,
    { autostart: body.autostart },
    commandOptions(context),
  );
  return jsonResponse(summaryView(host.lookup(summary.uuid)));
}

async function runAction(action: DomainActionName, context: Context): Promise<Response> {
  const { host } = context.env;
  const { url } = context;
  const summary = host.lookup(context.params.ref);
  const options = commandOptions(context);
  const waitSeconds = numberParam(url, "wait", 0, WAIT_MAX_SECONDS);
  switch (action) {
    case "start":
      await host.command("start", summary.uuid, {
        paused: booleanParam(url, "paused") ?? false,
        forceBoot: booleanParam(url, "force_boot") ?? false,
        bypassCache: booleanParam(url, "bypass_cache") ?? false,
      }, options);
      break;
    case "shutdown": {
      const timeoutSeconds = numberParam(url, "timeout", 0, WAIT_MAX_SECONDS);
      const mode = shutdownModeParam(url);
      await host.command(
        "shutdown",
        summary.uuid,
        {
          ...(timeoutSeconds === undefined ? {} : { timeoutMs: timeoutSeconds * 1000 }),
          ...(mode === undefined ? {} : { mode }),
        },
        options,
      );
      if (waitSeconds !== undefined) await waitInactive(host, summary.uuid, waitSeconds);
      break;
    }
    case "destroy":
      await host.command("destroy", summary.uuid, {
        graceful: booleanParam(url, "graceful") ?? false,
      }, options);
      break;
    case "reboot": {
      const rebooted = waitSeconds === undefined
        ? undefined
        : waitForFact(host, summary.uuid, "domain.rebooted", waitSeconds);
      const mode = shutdownModeParam(url);
      await host.command("reboot", summary.uuid, mode === undefined ? {} : { mode }, options);
      await rebooted;
      break;
    }
    case "reset":
    case "suspend":
    case "resume":
      await host.command(action, summary.uuid, {}, options);
      break;
    default:
      throw new Error(`Action ${action satisfies never} has no implementation`);
  }
  const after = host.list().find((domain) => domain.uuid === summary.uuid);
  return jsonResponse(
    after === undefined
      ? { uuid: summary.uuid, name: summary.name, exists: false }
      : { ...summaryView(after), exists: true },
  );
}

async function waitInactive(host: Host, uuid: string, seconds: number): Promise<void> {
  try {
    await host.waitFor(uuid, (summary) => !summary.active, seconds * 1000);
  } catch (error) {
    throw new VirtError(
      ErrorCode.OPERATION_TIMEOUT,
      `the guest did not shut down within ${seconds} s (the request reached it)`,
      { cause: error },
    );
  }
}

function waitForFact(host: Host, uuid: string, type: string, seconds: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = host.onApplied((changed, applied) => {
      if (changed !== uuid) return;
      if (applied.some(({ fact }) => fact.type === type || fact.type === "domain.stopped")) {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
    const timer = setTimeout(() => {
      stop();
      reject(
        new VirtError(
          ErrorCode.OPERATION_TIMEOUT,
          `the guest did not reboot within ${seconds} s (the request reached it)`,
        ),
      );
    }, seconds * 1000);
  });
}

/** The queue timeout the caller asked for, and the request's signal: a caller that left is not served. */
/** The queue options of a request: its signal and `queue_timeout_ms`. */
export function commandOptions(context: Context): CommandOptions {
  const queueTimeoutMs = numberParam(context.url, "queue_timeout_ms", 0, QUEUE_TIMEOUT_MAX_MS);
  return {
    signal: context.signal,
    ...(queueTimeoutMs === undefined ? {} : { queueTimeoutMs }),
  };
}

/** virsh's `--mode acpi,agent` of shutdown and reboot; undefined when absent. */
function shutdownModeParam(url: URL): { acpi: boolean; agent: boolean } | undefined {
  const value = url.searchParams.get("mode");
  if (value === null || value === "") return undefined;
  const mode = { acpi: false, agent: false };
  for (const word of value.split(",")) {
    if (word === "acpi" || word === "agent") mode[word] = true;
    else {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `Unknown mode value, expecting 'acpi', 'agent', 'initctl', 'signal' or 'paravirt'`,
        {
          where: "mode",
        },
      );
    }
  }
  return mode;
}

/** A boolean query parameter: `true`/`1`/`` (present) or `false`/`0`; undefined when absent. */
export function booleanParam(url: URL, name: string): boolean | undefined {
  const value = url.searchParams.get(name);
  if (value === null) return undefined;
  if (value === "" || value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new VirtError(ErrorCode.INVALID_ARG, `${name} must be true or false, got '${value}'`, {
    where: name,
  });
}

/** A numeric query parameter within bounds; undefined when absent. */
export function numberParam(url: URL, name: string, min: number, max: number): number | undefined {
  const value = url.searchParams.get(name);
  if (value === null) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < min || number > max) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `${name} must be a number from ${min} to ${max}, got '${value}'`,
      { where: name },
    );
  }
  return number;
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}
