/**
 * libvirt-protocol calls on another host's domains, carried to their owner over NATS (request
 * and reply on `evirt.rpc.<host>`, beside the API's `evirt.api.<host>` of
 * `fleet_forwarding.ts`); which calls, and how the owner runs them, is `rpc/fleet_calls.ts`.
 *
 * A forwarded call is never forwarded again (the owner runs it on its own host): one hop. The
 * owner answers at most {@linkcode FORWARDED_IN_FLIGHT_MAX} at once (more: code 87); calls and
 * answers are bounded by the server's largest message.
 *
 * @module
 */

import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { ErrorCode, type ErrorCodeValue, isVirtError, VirtError } from "../model/errors.ts";
import type { ForwardedCall } from "../rpc/fleet_calls.ts";
import {
  askOwner,
  decodeBase64,
  encodeBase64,
  FORWARDED_IN_FLIGHT_MAX,
} from "./fleet_forwarding.ts";

/** A call as the request carries it. */
interface CallMessage {
  uri: string;
  proc: number;
  /** Base64 of the XDR arguments. */
  args: string;
  readOnly: boolean;
  /** The id of the stream the call opens, carried by `fleet_streams.ts`. */
  stream?: string;
}

/** An answer as the reply carries it: the encoded result, or the error. */
type AnswerMessage =
  | { result: string }
  | { code: number; message: string; bare: boolean; where?: string };

function subjectOf(host: string): string {
  return `evirt.rpc.${host}`;
}

function errorAnswer(error: unknown): AnswerMessage {
  const failure = isVirtError(error)
    ? error
    : new VirtError(ErrorCode.INTERNAL_ERROR, (error as Error).message);
  return {
    code: failure.code,
    message: failure.message,
    bare: failure.bare,
    ...(failure.where === undefined ? {} : { where: failure.where }),
  };
}

/** Answers the calls forwarded to `host` with `run`; stop it with `unsubscribe`. */
export function serveForwardedCalls(
  connection: NatsConnection,
  host: string,
  run: (call: ForwardedCall) => Promise<Uint8Array>,
): Subscription {
  let inFlight = 0;
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const reply = (respond: (data: Uint8Array) => boolean, answer: AnswerMessage) =>
    respond(encoder.encode(JSON.stringify(answer)));
  return connection.subscribe(subjectOf(host), {
    callback: (error, message) => {
      if (error !== null) return;
      const respond = (data: Uint8Array) => message.respond(data);
      if (inFlight >= FORWARDED_IN_FLIGHT_MAX) {
        reply(
          respond,
          errorAnswer(
            new VirtError(
              ErrorCode.RESOURCE_BUSY,
              `more than ${FORWARDED_IN_FLIGHT_MAX} forwarded calls are in progress`,
            ),
          ),
        );
        return;
      }
      inFlight++;
      (async () => {
        try {
          const call = JSON.parse(decoder.decode(message.data)) as CallMessage;
          const result = await run({
            uri: call.uri,
            proc: call.proc,
            args: decodeBase64(call.args),
            readOnly: call.readOnly !== false,
            ...(typeof call.stream === "string" ? { stream: call.stream } : {}),
          });
          let answer: AnswerMessage = { result: encodeBase64(result) };
          if (JSON.stringify(answer).length > connection.info!.max_payload) {
            answer = errorAnswer(
              new VirtError(
                ErrorCode.OPERATION_UNSUPPORTED,
                `the answer of host '${host}' is larger than a NATS message: connect to '${host}'`,
              ),
            );
          }
          reply(respond, answer);
        } catch (error) {
          reply(respond, errorAnswer(error));
        } finally {
          inFlight--;
        }
      })();
    },
  });
}

/**
 * Runs `call` on `owner`; its encoded result.
 *
 * @throws {VirtError} The owner's error; 84 for a call larger than a NATS message; 38 when the
 *   owner does not answer within `timeoutMs` (or has no service listening).
 */
export async function forwardCall(
  connection: NatsConnection,
  owner: string,
  call: ForwardedCall,
  timeoutMs: number,
): Promise<Uint8Array> {
  const message: CallMessage = {
    uri: call.uri,
    proc: call.proc,
    args: encodeBase64(call.args),
    readOnly: call.readOnly,
    ...(call.stream === undefined ? {} : { stream: call.stream }),
  };
  const answer = await askOwner<AnswerMessage>(connection, subjectOf(owner), owner, {
    text: JSON.stringify(message),
    what: "call",
    timeoutMs,
  });
  if ("result" in answer) return decodeBase64(answer.result);
  throw new VirtError(answer.code as ErrorCodeValue, answer.message, {
    bare: answer.bare,
    ...(answer.where === undefined ? {} : { where: answer.where }),
  });
}
