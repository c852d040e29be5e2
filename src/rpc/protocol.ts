/**
 * libvirt's RPC protocol facts as TypeScript data, written from the protocol's published facts
 * (program numbers, message types, limits, the header and error structs, and the shared types of
 * the remote program). The procedures themselves are in `procedures.ts`.
 *
 * @module
 */

import { x, type XdrType } from "./xdr.ts";

/** The remote program (`REMOTE_PROGRAM`) and its version. */
export const REMOTE_PROGRAM = 0x20008086;
/** Version of the remote program. */
export const REMOTE_PROTOCOL_VERSION = 1;
/** The keepalive program (`KEEPALIVE_PROGRAM`, "keep" in ASCII) and its version. */
export const KEEPALIVE_PROGRAM = 0x6b656570;
/** Version of the keepalive program. */
export const KEEPALIVE_PROTOCOL_VERSION = 1;
/** Keepalive procedures. */
export const KeepaliveProc = { PING: 1, PONG: 2 } as const;

/** Message types (`virNetMessageType`). */
export const MessageType = {
  CALL: 0,
  REPLY: 1,
  MESSAGE: 2,
  STREAM: 3,
  CALL_WITH_FDS: 4,
  REPLY_WITH_FDS: 5,
  STREAM_HOLE: 6,
} as const;

/** Message status (`virNetMessageStatus`). */
export const MessageStatus = { OK: 0, ERROR: 1, CONTINUE: 2 } as const;

/** Largest whole packet, length word included (`VIR_NET_MESSAGE_MAX`), in bytes. */
export const MESSAGE_MAX_BYTES = 33_554_432;
/** Bytes of the length word. */
export const LENGTH_BYTES = 4;
/** Bytes of the header (six 4-byte words). */
export const HEADER_BYTES = 24;
/** Longest string of the protocol (`REMOTE_STRING_MAX`), in bytes. */
export const STRING_MAX_BYTES = 4_194_304;
/** Most domains a list answers (`REMOTE_DOMAIN_LIST_MAX`). */
export const DOMAIN_LIST_MAX = 16_384;
/** Most messages a domain answers (`REMOTE_DOMAIN_MESSAGES_MAX`). */
export const DOMAIN_MESSAGES_MAX = 2_048;
/** Largest stream data chunk libvirt sends (`VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX`), in bytes. */
export const STREAM_CHUNK_MAX_BYTES = 262_120;

/** libvirt's error domain of RPC-layer errors (`VIR_FROM_RPC`). */
export const ERROR_DOMAIN_RPC = 7;
/** libvirt's error domain of the remote driver (`VIR_FROM_REMOTE`). */
export const ERROR_DOMAIN_REMOTE = 13;
/** libvirt's error domain of domain config errors (`VIR_FROM_DOMAIN`). */
export const ERROR_DOMAIN_DOMAIN = 20;
/** libvirt's error domain of the QEMU driver (`VIR_FROM_QEMU`). */
export const ERROR_DOMAIN_QEMU = 10;
/** `VIR_ERR_ERROR`: the level of every error evirt sends. */
export const ERROR_LEVEL_ERROR = 2;

/** The message header. */
export interface MessageHeader {
  prog: number;
  vers: number;
  proc: number;
  type: number;
  serial: number;
  status: number;
}

/** `remote_nonnull_string`. */
export const nonnullString: XdrType = x.string(STRING_MAX_BYTES);
/** `remote_string`: an optional string. */
export const optionalString: XdrType = x.optional(nonnullString);
/** `remote_uuid`: 16 raw bytes. */
export const uuidType: XdrType = x.fixed(16);

/** `remote_nonnull_domain`: what every domain procedure names its domain with. */
export const domainType: XdrType = x.struct(
  ["name", nonnullString],
  ["uuid", uuidType],
  ["id", x.int],
);

/** A decoded `remote_nonnull_domain`. */
export interface WireDomain {
  name: string;
  uuid: Uint8Array;
  /** The running instance's id, or -1 when inactive. */
  id: number;
}

/** `virNetMessageError`: the body of every error reply. */
export const errorType: XdrType = x.struct(
  ["code", x.int],
  ["domain", x.int],
  ["message", optionalString],
  ["level", x.int],
  ["dom", x.optional(domainType)],
  ["str1", optionalString],
  ["str2", optionalString],
  ["str3", optionalString],
  ["int1", x.int],
  ["int2", x.int],
  ["net", x.optional(x.struct(["name", nonnullString], ["uuid", uuidType]))],
);

/** Typed parameter kinds (`virTypedParameterType`). */
export const TypedParam = {
  INT: 1,
  UINT: 2,
  LLONG: 3,
  ULLONG: 4,
  DOUBLE: 5,
  BOOLEAN: 6,
  STRING: 7,
} as const;

/** `remote_typed_param`: a name and a discriminated value. */
export const typedParamType: XdrType = x.struct(
  ["field", nonnullString],
  [
    "value",
    x.union({
      [TypedParam.INT]: x.int,
      [TypedParam.UINT]: x.uint,
      [TypedParam.LLONG]: x.hyper,
      [TypedParam.ULLONG]: x.uhyper,
      [TypedParam.DOUBLE]: x.double,
      [TypedParam.BOOLEAN]: x.int,
      [TypedParam.STRING]: nonnullString,
    }),
  ],
);

/** A typed parameter as handlers build it. */
export interface WireTypedParam {
  field: string;
  value: { type: number; value: number | bigint | string };
}

/** The uuid text form (`6695eb01-…`) of 16 wire bytes. */
export function uuidText(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}

/** The 16 wire bytes of a uuid in text form. */
export function uuidBytes(text: string): Uint8Array {
  const hex = text.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`Invalid uuid '${text}'`);
  const bytes = new Uint8Array(16);
  for (let index = 0; index < 16; index++) {
    bytes[index] = parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}
