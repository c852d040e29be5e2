/**
 * `GET /v1/domains/{ref}/stats/stream`: a domain's statistics record (the stats projection, as
 * `domstats` answers it) as Server-Sent Events, one message each time its driver takes a new
 * sample, so a page draws live charts without asking again. The service looks at the driver's
 * latest sample every {@linkcode STATS_STREAM_CHECK_MS} (an in-memory read, never a monitor
 * query) and sends only a sample it has not sent.
 *
 * @module
 */

import type { Host } from "../../actors/host.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { type DomainStatsRecord, StatsReader } from "../projections/stats_reader.ts";

/** How often the latest sample is looked at, in ms. */
export const STATS_STREAM_CHECK_MS = 250;
/** Streams one host serves at once. */
export const STATS_STREAMS_MAX = 256;
/** The groups a stream reports: what the console charts. */
const STREAM_GROUPS = ["state", "cpu-total", "balloon", "vcpu", "interface", "block"];
/** Messages queued for a reader that does not keep up before its stream is ended. */
const QUEUED_MESSAGES_MAX = 64;
/** A comment keeps proxies from closing an idle stream, every this many ms. */
const HEARTBEAT_MS = 15_000;

const openStreams = new WeakMap<Host, number>();

/** One message of the stream. */
export interface StatsMessage {
  /** When the driver took the sample, in ms since the epoch. */
  takenAtMs: number;
  stale: boolean;
  /** libvirt's keys and values (`cpu.time`, `balloon.current`, `block.0.rd.bytes`, …). */
  stats: Record<string, number | string>;
}

/**
 * The stream of one domain's samples, until `signal` aborts or the domain goes away.
 *
 * @throws {VirtError} Code 87 when the host already serves {@linkcode STATS_STREAMS_MAX}
 *   streams; NO_DOMAIN when the domain does not exist.
 *
 * @example
 * ```ts ignore
 * return new Response(statsStream(host, "web", request.signal), {
 *   headers: { "content-type": "text/event-stream" },
 * });
 * ```
 */
export function statsStream(
  host: Host,
  reference: string,
  signal: AbortSignal,
): ReadableStream<Uint8Array> {
  const { uuid } = host.lookup(reference);
  const open = openStreams.get(host) ?? 0;
  if (open >= STATS_STREAMS_MAX) {
    throw new VirtError(
      ErrorCode.RESOURCE_BUSY,
      `the service already serves ${STATS_STREAMS_MAX} statistics streams`,
    );
  }
  openStreams.set(host, open + 1);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    openStreams.set(host, (openStreams.get(host) ?? 1) - 1);
  };
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastTakenAtMs: number | undefined;
  let lastWriteMs = Date.now();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(": evirt stats stream\n\n"));
      const finish = () => {
        clearTimeout(timer);
        release();
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      signal.addEventListener("abort", finish, { once: true });
      const tick = async () => {
        if (signal.aborted) return;
        if ((controller.desiredSize ?? 0) < -QUEUED_MESSAGES_MAX) return finish();
        const nowMs = Date.now();
        let record: DomainStatsRecord | undefined;
        try {
          [record] = await new StatsReader(host, { now: () => nowMs }).domainStats({
            domains: [uuid],
            groups: STREAM_GROUPS,
            nowait: true,
          });
        } catch (error) {
          // The domain went away: say why, and end.
          const detail = error instanceof VirtError ? error.toJSON() : { message: String(error) };
          controller.enqueue(encoder.encode(`event: end\ndata: ${JSON.stringify(detail)}\n\n`));
          return finish();
        }
        if (record !== undefined && record.sampleAgeMs !== null) {
          const takenAtMs = nowMs - record.sampleAgeMs;
          if (takenAtMs !== lastTakenAtMs) {
            lastTakenAtMs = takenAtMs;
            const message: StatsMessage = {
              takenAtMs,
              stale: record.stale,
              stats: Object.fromEntries(record.stats.map((field) => [field.key, field.value])),
            };
            controller.enqueue(encoder.encode(`data: ${JSON.stringify(message)}\n\n`));
            lastWriteMs = nowMs;
          }
        }
        if (nowMs - lastWriteMs >= HEARTBEAT_MS) {
          controller.enqueue(encoder.encode(": heartbeat\n\n"));
          lastWriteMs = nowMs;
        }
        if (!signal.aborted) timer = setTimeout(tick, STATS_STREAM_CHECK_MS);
      };
      tick();
    },
    cancel() {
      clearTimeout(timer);
      release();
    },
  });
}
