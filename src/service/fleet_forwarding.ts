/**
 * Requests for another host's domains, forwarded to their owner over NATS (request and reply
 * on `evirt.api.<host>`): any host of a fleet answers for any domain of it.
 *
 * The owner answers a forwarded request with its own API, as it would a caller on its socket,
 * with the role the first host gave the caller (the NATS server is the fleet's trust boundary,
 * as it is for the log). A forwarded request carries {@linkcode FORWARDED_HEADER}, and is never
 * forwarded again: at most one hop. Bodies and answers are bounded by the server's largest
 * message. Streams are not forwarded as requests: a console socket is carried from the owner
 * (`fleet_streams.ts`), event streams are not (the fleet's is `?scope=fleet`).
 *
 * @module
 */

import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { FORWARDED_HEADER, type Role } from "../api/api_context.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import { errorResponse } from "../api/http_errors.ts";

/** Forwarded requests a host answers at once; more are refused (code 87). */
export const FORWARDED_IN_FLIGHT_MAX = 64;

/** Headers a forwarded request keeps (the rest are the first hop's transport). */
const KEPT_HEADERS = ["content-type", "accept", "x-request-id", "x-evirt-driver"];

/** Set on the answer of a forwarded request: the host that answered it. */
export const ANSWERED_HEADER = "x-evirt-answered-by";

interface ForwardedRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: string;
  role: Role;
  from: string;
}

/** Base64 of bytes and back (the platform's `Uint8Array` base64 methods). */
export function encodeBase64(bytes: Uint8Array): string {
  return (bytes as Uint8Array & { toBase64(): string }).toBase64();
}

export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  return (Uint8Array as unknown as { fromBase64(text: string): Uint8Array<ArrayBuffer> })
    .fromBase64(text);
}

interface ForwardedAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

/** The subject a host answers forwarded requests on. */
function subjectOf(host: string): string {
  return `evirt.api.${host}`;
}

/** Answers the requests forwarded to `host` with `handle`; stop it with `unsubscribe`. */
export function serveForwarded(
  connection: NatsConnection,
  host: string,
  handle: (request: Request, role: Role) => Promise<Response>,
): Subscription {
  let inFlight = 0;
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  return connection.subscribe(subjectOf(host), {
    callback: (error, message) => {
      if (error !== null) return;
      if (inFlight >= FORWARDED_IN_FLIGHT_MAX) {
        const busy = new VirtError(
          ErrorCode.RESOURCE_BUSY,
          `more than ${FORWARDED_IN_FLIGHT_MAX} forwarded requests are in progress`,
        );
        answerOf(errorResponse(busy)).then((answer) =>
          message.respond(encoder.encode(JSON.stringify(answer)))
        );
        return;
      }
      inFlight++;
      (async () => {
        try {
          const forwarded = JSON.parse(decoder.decode(message.data)) as ForwardedRequest;
          const headers = new Headers(forwarded.headers);
          headers.set(FORWARDED_HEADER, forwarded.from);
          const body = forwarded.body === "" ? undefined : decodeBase64(forwarded.body);
          const response = await handle(
            new Request(`http://evirt${forwarded.path}`, {
              method: forwarded.method,
              headers,
              ...(body === undefined ? {} : { body }),
            }),
            forwarded.role === "read-write" ? "read-write" : "read-only",
          );
          let text = JSON.stringify(await answerOf(response));
          if (text.length > connection.info!.max_payload) {
            text = JSON.stringify(
              await answerOf(errorResponse(
                new VirtError(
                  ErrorCode.OPERATION_UNSUPPORTED,
                  `the answer of host '${host}' is larger than a NATS message: ask '${host}' directly`,
                ),
              )),
            );
          }
          message.respond(encoder.encode(text));
        } catch (error) {
          message.respond(encoder.encode(JSON.stringify(await answerOf(errorResponse(error)))));
        } finally {
          inFlight--;
        }
      })();
    },
  });
}

/**
 * Sends one message to the host that owns a domain and gives its JSON answer: the request/reply
 * both forwarders (HTTP requests, libvirt protocol calls) share.
 *
 * @throws {VirtError} Code 3 for a message larger than NATS carries; 38 when the owner does not
 *   answer within `timeoutMs` (or has no service listening).
 */
export async function askOwner<Answer>(
  connection: NatsConnection,
  subject: string,
  owner: string,
  message: { text: string; what: "request" | "call"; timeoutMs: number },
): Promise<Answer> {
  if (message.text.length > connection.info!.max_payload) {
    throw new VirtError(
      ErrorCode.OPERATION_UNSUPPORTED,
      message.what === "request"
        ? `this request is larger than a NATS message: send it to host '${owner}' directly`
        : `this call is larger than a NATS message: connect to host '${owner}' directly`,
    );
  }
  let reply;
  try {
    reply = await connection.request(subject, message.text, { timeout: message.timeoutMs });
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `host '${owner}', which owns this domain, did not answer: ${(error as Error).message}`,
    );
  }
  return reply.json<Answer>();
}

/**
 * Forwards `request` to `owner` and gives its answer.
 *
 * @throws {VirtError} Code 3 for a request larger than a NATS message; 38 when the owner does not
 *   answer within `timeoutMs` (or has no service listening).
 */
export async function forwardRequest(
  connection: NatsConnection,
  from: string,
  owner: string,
  request: Request,
  role: Role,
  timeoutMs: number,
): Promise<Response> {
  const url = new URL(request.url);
  const body = request.body === null
    ? new Uint8Array()
    : new Uint8Array(await request.arrayBuffer());
  const forwarded: ForwardedRequest = {
    method: request.method,
    path: url.pathname + url.search,
    headers: KEPT_HEADERS.flatMap((name) => {
      const value = request.headers.get(name);
      return value === null ? [] : [[name, value] as [string, string]];
    }),
    body: encodeBase64(body),
    role,
    from,
  };
  const answer = await askOwner<ForwardedAnswer>(connection, subjectOf(owner), owner, {
    text: JSON.stringify(forwarded),
    what: "request",
    timeoutMs,
  });
  const headers = new Headers(answer.headers);
  headers.set(ANSWERED_HEADER, owner);
  const bytes = decodeBase64(answer.body);
  return new Response(
    answer.status === 204 || answer.status === 304 || request.method === "HEAD" ? null : bytes,
    { status: answer.status, headers },
  );
}

/** A response as the reply carries it. */
async function answerOf(response: Response): Promise<ForwardedAnswer> {
  return {
    status: response.status,
    headers: [...response.headers],
    body: encodeBase64(new Uint8Array(await response.arrayBuffer())),
  };
}
