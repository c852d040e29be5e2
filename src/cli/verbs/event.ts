/**
 * `event`: waits for domain events and prints them as virsh does — one event, or with `--loop`
 * every event until `--timeout` or Ctrl-C — then `events received: N`. evirt's events are facts
 * of a log, so `--since POS` first replays what happened after position POS (from `--json`
 * output or an earlier run), then follows live.
 *
 * Without `--timeout` the wait is deliberately unbounded, as virsh's: it ends on the first event
 * (or, with `--loop`, on Ctrl-C), or when the stream cannot be reached again after
 * {@linkcode RECONNECT_ATTEMPTS_MAX} attempts in a row.
 *
 * @module
 */

import { EVENT_IDS } from "../../model/lifecycle.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { CommandFailure, domainCommand } from "../command_failure.ts";
import { formatEvent, formatEventSummary } from "../layouts.ts";
import type { Verb, VerbContext, VerbOutcome } from "../verb.ts";

/** Reconnects in a row (no event between them) before the stream counts as lost. */
export const RECONNECT_ATTEMPTS_MAX = 10;
/** The longest `--timeout`, in seconds (virsh's limit: what fits in an int of ms). */
const TIMEOUT_SECONDS_MAX = 2_147_483;

type Ending = "done" | "timeout" | "interrupt" | "lost";

/**
 * The `event` verb.
 *
 * @example
 * ```sh
 * evirt event --all --loop --timeout 60
 * evirt event --domain web --event lifecycle --since 120 --loop
 * ```
 */
export const eventVerb: Verb = {
  name: "event",
  summary: "Domain Events",
  json: true,
  options: [
    { name: "domain", kind: "string", positional: true, help: "filter by domain name, id or uuid" },
    { name: "event", kind: "string", help: "which event type to wait for" },
    { name: "all", kind: "bool", help: "wait for all events instead of just one type" },
    { name: "loop", kind: "bool", help: "loop until timeout or interrupt, rather than one-shot" },
    {
      name: "timeout",
      kind: "integer",
      min: 1,
      max: TIMEOUT_SECONDS_MAX,
      help: "timeout seconds",
    },
    { name: "list", kind: "bool", help: "list valid event types" },
    { name: "timestamp", kind: "bool", help: "show timestamp for each printed event" },
    {
      name: "since",
      kind: "string",
      help:
        "first replay the events after this log position (with --fleet: SEQ:INDEX), then follow",
    },
    {
      name: "fleet",
      kind: "bool",
      help: "every host's events of the fleet sharing the service's NATS log, with their host",
    },
  ],
  async run(context: VerbContext, args: VerbArguments): Promise<VerbOutcome> {
    checkExclusive(args);
    if (args.flag("list")) {
      context.print(EVENT_IDS.map((name) => `${name}\n`).join(""));
      return {};
    }
    const event = args.text("event");
    if (event === undefined && !args.flag("all")) {
      throw new ArgumentError("one of --list, --all, or --event <type> is required", "--event");
    }
    if (event !== undefined && !EVENT_IDS.includes(event)) {
      throw new CommandFailure(`unknown event type ${event}`);
    }
    if (args.flag("fleet")) return await followFleet(context, args, event);
    const reference = args.text("domain");
    const uuid = reference === undefined
      ? undefined
      : (await domainCommand(reference, undefined, () => context.client.info(reference))).uuid;
    const since = localSince(args.text("since"));
    const { ending, count, lostReason } = await consume(
      context,
      args,
      (signal, onReconnect) =>
        (async function* () {
          for await (
            const message of context.client.events({
              ...(uuid === undefined ? {} : { domains: [uuid] }),
              ...(event === undefined ? {} : { events: [event] }),
              ...(since === undefined ? {} : { since }),
              signal,
              onReconnect,
            })
          ) {
            // Bookkeeping facts (launched, autostart, deadlines) are no libvirt event.
            if (message.event !== null) yield message;
          }
        })(),
      (message) =>
        args.flag("json")
          ? `${JSON.stringify(message)}\n`
          : formatEvent(message, args.flag("timestamp")),
    );
    return finish(context, args, ending, count, lostReason);
  },
};

/** The summary line, and the exit code: 0 when an event came. */
function finish(
  context: VerbContext,
  args: VerbArguments,
  ending: Ending,
  count: number,
  lostReason: string,
): VerbOutcome {
  if (ending === "lost") {
    throw new CommandFailure("lost the event stream", new Error(lostReason));
  }
  const summary = formatEventSummary(ending, count);
  // With --json, stdout stays one JSON document per line.
  if (args.flag("json")) context.io.stderr(summary);
  else context.print(summary);
  return { exitCode: count > 0 ? 0 : 1 };
}

function checkExclusive(args: VerbArguments): void {
  const pairs: [string, string][] = [["all", "event"], ["list", "all"], ["list", "event"]];
  for (const [first, second] of pairs) {
    if (args.has(first) && args.has(second)) {
      throw new ArgumentError(
        `Options --${first} and --${second} are mutually exclusive`,
        `--${first}`,
      );
    }
  }
}

/**
 * Prints the messages `open` yields, one (or with `--loop` all) until `--timeout`, Ctrl-C, or
 * the stream is lost.
 */
async function consume<M>(
  context: VerbContext,
  args: VerbArguments,
  open: (
    signal: AbortSignal,
    onReconnect: (attempt: number, delayMs: number, reason: string) => void,
  ) => AsyncIterable<M>,
  render: (message: M) => string,
): Promise<{ ending: Ending; count: number; lostReason: string }> {
  const stop = new AbortController();
  let ending: Ending = "done";
  let lostReason = "";
  const end = (why: Ending) => {
    if (stop.signal.aborted) return;
    ending = why;
    stop.abort();
  };
  const timeoutSeconds = args.integer("timeout");
  const timer = timeoutSeconds === undefined
    ? undefined
    : setTimeout(() => end("timeout"), timeoutSeconds * 1000);
  const stopListening = context.io.onInterrupt(() => end("interrupt"));
  let count = 0;
  try {
    context.progress.start("waiting for events");
    const stream = open(stop.signal, (attempt, delayMs, reason) => {
      context.warn(`event stream interrupted (${reason}); reconnecting in ${delayMs} ms`);
      if (attempt > RECONNECT_ATTEMPTS_MAX) {
        lostReason = reason;
        end("lost");
      }
    });
    for await (const message of stream) {
      context.progress.stop();
      context.print(render(message));
      count++;
      if (!args.flag("loop")) break;
      context.progress.start("waiting for events");
    }
  } finally {
    context.progress.stop();
    if (timer !== undefined) clearTimeout(timer);
    stopListening();
  }
  return { ending, count, lostReason };
}

/** `--since` of the local stream: a log position. */
function localSince(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new ArgumentError(
      `--since must be a log position (an integer), got '${text}'`,
      "--since",
    );
  }
  return Number(text);
}

/**
 * `event --fleet`: the fleet stream, every host's events in one order, each line prefixed by its
 * host; the domain (a name) and `--event` filter as they do locally.
 */
async function followFleet(
  context: VerbContext,
  args: VerbArguments,
  event: string | undefined,
): Promise<VerbOutcome> {
  const domain = args.text("domain");
  const since = args.text("since");
  if (since !== undefined && !/^[0-9]{1,15}(:[0-9]{1,6})?$/.test(since)) {
    throw new ArgumentError(`--since with --fleet is SEQ:INDEX, got '${since}'`, "--since");
  }
  const { ending, count, lostReason } = await consume(
    context,
    args,
    (signal, onReconnect) =>
      (async function* () {
        for await (
          const message of context.client.fleetEvents({
            ...(since === undefined ? {} : { since }),
            signal,
            onReconnect,
          })
        ) {
          if (message.event === undefined || message.event === null) continue;
          if (event !== undefined && message.event !== event) continue;
          if (
            domain !== undefined && message.domain.name !== domain && message.domain.uuid !== domain
          ) continue;
          yield message;
        }
      })(),
    (message) =>
      args.flag("json")
        ? `${JSON.stringify(message)}\n`
        : `${message.host}: ${formatEvent(message, args.flag("timestamp"))}`,
  );
  return finish(context, args, ending, count, lostReason);
}
