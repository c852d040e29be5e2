/**
 * The host's guests stopped and started as a whole, as libvirt-guests does
 * (`actors/host_guests.ts`): the list and the last pass (`GET /v1/host/guests`, waiting up to
 * `wait` seconds for a new line), a stop (`POST /v1/host/guests/stop`) and a start
 * (`POST /v1/host/guests/start`).
 *
 * @module
 */

import type { HostGuests } from "../../../actors/host_guests.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import type { GuestsStopAction } from "../../model/facts.ts";
import type { ApiEnvironment, RouteAdder } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { numberParam } from "./domain_routes.ts";

/** Longest `wait` of `GET /v1/host/guests`, in seconds (the operations table's bound). */
const GUESTS_WAIT_MAX_SECONDS = 60;

/** Registers the routes of the host's guests. */
export function hostGuestsRoutes(add: RouteAdder): void {
  add("host.guests", async (_request, { env, url }) => {
    const guests = guestsOf(env);
    const after = numberParam(url, "after", 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const waitSeconds = numberParam(url, "wait", 0, GUESTS_WAIT_MAX_SECONDS) ?? 0;
    if (waitSeconds > 0) await guests.changed(after, waitSeconds * 1000);
    return jsonResponse(guests.view(after));
  });
  add("host.stop_guests", async (_request, { env, url }) => {
    const action = url.searchParams.get("on_shutdown");
    return jsonResponse(
      await guestsOf(env).stop(
        action === null || action === "" ? undefined : action as GuestsStopAction,
      ),
    );
  });
  add("host.start_guests", (_request, { env }) => jsonResponse(guestsOf(env).start()));
}

function guestsOf(env: ApiEnvironment): HostGuests {
  if (env.guests === undefined) {
    throw new VirtError(
      ErrorCode.NO_SUPPORT,
      "this connection has no host's guests to stop or start (only the service has)",
    );
  }
  return env.guests;
}
