/**
 * The daily verbs that act on one domain beside its lifecycle: `domiflist`, `domrename`,
 * `send-key`, `screenshot`, `qemu-monitor-command` and `qemu-agent-command`.
 *
 * @module
 */

import {
  agentCommand,
  monitorCommand,
  screenshot,
  sendKey,
} from "../../../actors/guest_commands.ts";
import {
  ADDRESS_SOURCES,
  type AddressSource,
  interfaceAddresses,
} from "../../../actors/interface_addresses.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import { type Codeset, isCodeset } from "../../model/keycodes.ts";
import { QUEUE_TIMEOUT_MAX_MS } from "../../model/operations.ts";
import { interfaceList } from "../../projections/interface_list.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { readBodyText } from "../request_body.ts";
import { summaryView } from "../views.ts";
import { booleanParam, numberParam } from "./domain_routes.ts";

type Context = RouteContext & ApiRequestContext;

/** Longest monitor or agent command accepted, in bytes. */
export const GUEST_COMMAND_MAX_BYTES = 64 * 1024;

/** How long a monitor command, a key press or a screenshot may take, in ms. */
export const GUEST_REQUEST_TIMEOUT_MS = 30_000;

/** Registers the routes. */
export function guestRoutes(add: RouteAdder): void {
  add("domain.interface_list", (_request, context) => {
    const inspection = context.env.host.inspect(context.params.ref);
    const inactive = booleanParam(context.url, "inactive") ?? false;
    const definition = inactive
      ? (inspection.persistentDefinition ?? inspection.definition)
      : inspection.definition;
    return jsonResponse({ interfaces: interfaceList(definition) });
  });
  add("domain.interface_addresses", async (_request, context) => {
    const source = context.url.searchParams.get("source") ?? "lease";
    if (!Object.hasOwn(ADDRESS_SOURCES, source)) {
      throw new VirtError(ErrorCode.INVALID_ARG, `Unknown data source '${source}'`, {
        where: "source",
      });
    }
    const inspection = context.env.host.inspect(context.params.ref);
    const interfaces = await interfaceAddresses(
      inspection.handle?.definition,
      context.env.networks,
      source as AddressSource,
    );
    return jsonResponse({ interfaces });
  });
  add("domain.rename", async (_request, context) => {
    const { host } = context.env;
    const newName = context.url.searchParams.get("new_name") ?? "";
    if (newName === "") {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        "string new_name in virDomainRename must not be empty",
        { where: "new_name" },
      );
    }
    const summary = host.lookup(context.params.ref);
    const queueTimeoutMs = numberParam(context.url, "queue_timeout_ms", 0, QUEUE_TIMEOUT_MAX_MS);
    await host.command("rename", summary.uuid, { newName }, {
      signal: context.signal,
      ...(queueTimeoutMs === undefined ? {} : { queueTimeoutMs }),
    });
    return jsonResponse(summaryView(host.lookup(summary.uuid)));
  });
  add("domain.send_key", async (_request, context) => {
    const codeset = codesetParam(context.url);
    const holdTimeMs = numberParam(context.url, "holdtime", 0, 60_000) ?? 0;
    const codes = context.url.searchParams.getAll("keycode").map((text) => {
      const value = Number(text);
      if (text.trim() === "" || !Number.isInteger(value) || value < 0 || value > 0xffff) {
        throw new VirtError(ErrorCode.INVALID_ARG, `invalid keycode: '${text}'`, {
          where: "keycode",
        });
      }
      return value;
    });
    const inspection = context.env.host.inspect(context.params.ref);
    await sendKey(inspection, { codeset, codes, holdTimeMs }, signalOf(context));
    return new Response(null, { status: 204 });
  });
  add("domain.screenshot", async (_request, context) => {
    const screen = numberParam(context.url, "screen", 0, 255) ?? 0;
    const inspection = context.env.host.inspect(context.params.ref);
    const image = await screenshot(inspection, screen, signalOf(context));
    return new Response(image.data, { headers: { "content-type": image.mime } });
  });
  add("domain.monitor_command", async (request, context) => {
    const command = await readBodyText(request, GUEST_COMMAND_MAX_BYTES);
    const hmp = booleanParam(context.url, "hmp") ?? false;
    const inspection = context.env.host.inspect(context.params.ref);
    const reply = await monitorCommand(inspection, command, { hmp }, signalOf(context));
    return jsonResponse({ reply });
  });
  add("domain.agent_command", async (request, context) => {
    const command = await readBodyText(request, GUEST_COMMAND_MAX_BYTES);
    const timeout = numberParam(context.url, "timeout", -2, 300) ?? -2;
    const inspection = context.env.host.inspect(context.params.ref);
    const reply = await agentCommand(inspection, command, timeout, signalOf(context));
    return jsonResponse({ reply });
  });
}

function codesetParam(url: URL): Codeset {
  const name = url.searchParams.get("codeset") ?? "linux";
  if (!isCodeset(name)) {
    throw new VirtError(ErrorCode.INVALID_ARG, `Unsupported codeset '${name}'`, {
      where: "codeset",
    });
  }
  return name;
}

function signalOf(context: Context): AbortSignal {
  return AbortSignal.any([context.signal, AbortSignal.timeout(GUEST_REQUEST_TIMEOUT_MS)]);
}
