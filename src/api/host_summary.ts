/**
 * The host summary (`GET /v1/host/summary`, and the `summary` control event of the event stream
 * asked with `summary=true`): the log's position and oldest readable position, and the event
 * stream's subscribers by kind.
 *
 * @module
 */

import type { ApiEnvironment } from "./api_context.ts";
import type { HostSummaryView } from "./views.ts";

/** The host summary now. */
export function hostSummaryView(env: ApiEnvironment): HostSummaryView {
  return {
    log: { position: env.store.headPosition(), oldestPosition: env.store.oldestPosition() },
    subscribers: env.metrics.subscribersByKind(),
  };
}
