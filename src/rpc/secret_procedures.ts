/**
 * Secret procedures of libvirt's remote program: lists, lookups by uuid and by usage, define,
 * XML, set and get a value, undefine — the calls `virsh secret-*` makes. A secret travels as
 * `remote_nonnull_secret` (uuid, usage type, usage id).
 *
 * @module
 */

import type { Secrets } from "../../actors/secrets.ts";
import { ErrorCode, VirtError } from "../model/errors.ts";
import {
  SECRET_VALUE_MAX_BYTES,
  type SecretDefinition,
  SECRETS_MAX,
  usageTypeName,
  usageTypeNumber,
} from "../model/secret.ts";
import { checkFlags } from "./domain_lookup.ts";
import type { CallContext, Procedure, ProcedureTable } from "./procedure.ts";
import { nonnullString, uuidBytes, uuidText, uuidType } from "./protocol.ts";
import { x, type XdrType } from "./xdr.ts";

/** `remote_nonnull_secret`. */
export const secretType: XdrType = x.struct(
  ["uuid", uuidType],
  ["usageType", x.int],
  ["usageID", nonnullString],
);

export interface WireSecret {
  uuid: Uint8Array;
  usageType: number;
  usageID: string;
}

const secretRet = x.struct(["secret", secretType]);

/** `virConnectListAllSecrets` filters (`VIR_CONNECT_LIST_SECRETS_*`). */
const LIST_FLAGS = { ephemeral: 1, noEphemeral: 2, private: 4, noPrivate: 8 } as const;

/** The connection's secrets, or code 3 naming `api` where it has none. */
function secretsOf(context: CallContext, api: string): Secrets {
  const secrets = context.target().secrets;
  if (secrets === undefined) throw new VirtError(ErrorCode.NO_SUPPORT, api);
  return secrets;
}

/** A secret's wire handle. */
export function wireSecret(secret: SecretDefinition): WireSecret {
  return {
    uuid: uuidBytes(secret.uuid),
    usageType: usageTypeNumber(secret),
    usageID: secret.usage?.id ?? "",
  };
}

/** A call on one secret, named by its handle's uuid. */
function onSecret(
  proc: number,
  api: string,
  readOnly: boolean,
  args: XdrType,
  ret: XdrType,
  act: (secrets: Secrets, uuid: string, args: { flags?: number }) => unknown,
): Procedure {
  return {
    proc,
    readOnly,
    args,
    ret,
    handler: (call: { secret: WireSecret; flags?: number }, context) => {
      const secrets = secretsOf(context, api);
      return act(secrets, secrets.byUuid(uuidText(call.secret.uuid)).uuid, call);
    },
  };
}

function matchesListFlags(secret: SecretDefinition, flags: number): boolean {
  const pair = (yes: number, no: number, value: boolean) =>
    (flags & (yes | no)) === 0 || (value ? (flags & yes) !== 0 : (flags & no) !== 0);
  return pair(LIST_FLAGS.ephemeral, LIST_FLAGS.noEphemeral, secret.ephemeral) &&
    pair(LIST_FLAGS.private, LIST_FLAGS.noPrivate, secret.private);
}

/** The secret procedures. */
export const SECRET_PROCEDURES: ProcedureTable = {
  virConnectListAllSecrets: {
    proc: 287,
    readOnly: true,
    args: x.struct(["need_results", x.int], ["flags", x.uint]),
    ret: x.struct(["secrets", x.array(secretType, SECRETS_MAX)], ["ret", x.uint]),
    handler: (args: { need_results: number; flags: number }, context) => {
      checkFlags(args.flags, 0xf, "virConnectListAllSecrets");
      const secrets = secretsOf(context, "virConnectListAllSecrets").list()
        .filter((secret) => matchesListFlags(secret, args.flags));
      return { secrets: args.need_results ? secrets.map(wireSecret) : [], ret: secrets.length };
    },
  },
  virConnectNumOfSecrets: {
    proc: 139,
    readOnly: true,
    args: x.void,
    ret: x.struct(["num", x.int]),
    handler: (_args, context) => ({
      num: secretsOf(context, "virConnectNumOfSecrets").list().length,
    }),
  },
  virConnectListSecrets: {
    proc: 140,
    readOnly: true,
    args: x.struct(["maxuuids", x.int]),
    ret: x.struct(["uuids", x.array(nonnullString, SECRETS_MAX)]),
    handler: (args: { maxuuids: number }, context) => {
      if (args.maxuuids > SECRETS_MAX) {
        throw new VirtError(
          ErrorCode.RPC,
          `too many remote uuids: ${args.maxuuids} > ${SECRETS_MAX}`,
        );
      }
      return {
        uuids: secretsOf(context, "virConnectListSecrets").list().map((secret) => secret.uuid)
          .slice(0, Math.max(0, args.maxuuids)),
      };
    },
  },
  virSecretLookupByUUID: {
    proc: 141,
    readOnly: true,
    args: x.struct(["uuid", uuidType]),
    ret: secretRet,
    handler: (args: { uuid: Uint8Array }, context) => ({
      secret: wireSecret(secretsOf(context, "virSecretLookupByUUID").byUuid(uuidText(args.uuid))),
    }),
  },
  virSecretLookupByUsage: {
    proc: 147,
    readOnly: true,
    args: x.struct(["usageType", x.int], ["usageID", nonnullString]),
    ret: secretRet,
    handler: (args: { usageType: number; usageID: string }, context) => {
      const type = usageTypeName(args.usageType);
      if (type === undefined || type === "none") {
        throw new VirtError(
          ErrorCode.NO_SECRET,
          `no secret with matching usage '${args.usageID}'`,
        );
      }
      return {
        secret: wireSecret(
          secretsOf(context, "virSecretLookupByUsage").byUsage(type, args.usageID),
        ),
      };
    },
  },
  virSecretDefineXML: {
    proc: 142,
    readOnly: false,
    args: x.struct(["xml", nonnullString], ["flags", x.uint]),
    ret: secretRet,
    handler: async (args: { xml: string; flags: number }, context) => {
      // VIR_SECRET_DEFINE_VALIDATE: evirt's parser checks always.
      checkFlags(args.flags, 1, "virSecretDefineXML");
      return {
        secret: wireSecret(await secretsOf(context, "virSecretDefineXML").define(args.xml)),
      };
    },
  },
  virSecretGetXMLDesc: onSecret(
    143,
    "virSecretGetXMLDesc",
    true,
    x.struct(["secret", secretType], ["flags", x.uint]),
    x.struct(["xml", nonnullString]),
    (secrets, uuid, args) => {
      checkFlags(args.flags ?? 0, 0, "virSecretGetXMLDesc");
      return { xml: secrets.xml(uuid) };
    },
  ),
  virSecretSetValue: onSecret(
    144,
    "virSecretSetValue",
    false,
    x.struct(
      ["secret", secretType],
      ["value", x.opaque(SECRET_VALUE_MAX_BYTES)],
      ["flags", x.uint],
    ),
    x.void,
    async (secrets, uuid, args) => {
      checkFlags(args.flags ?? 0, 0, "virSecretSetValue");
      await secrets.setValue(uuid, (args as { value: Uint8Array }).value);
    },
  ),
  // libvirt lets only read-write callers read a value (its ACL: `secret:read_secure`).
  virSecretGetValue: onSecret(
    145,
    "virSecretGetValue",
    false,
    x.struct(["secret", secretType], ["flags", x.uint]),
    x.struct(["value", x.opaque(SECRET_VALUE_MAX_BYTES)]),
    (secrets, uuid, args) => {
      checkFlags(args.flags ?? 0, 0, "virSecretGetValue");
      return { value: secrets.value(uuid) };
    },
  ),
  virSecretUndefine: onSecret(
    146,
    "virSecretUndefine",
    false,
    x.struct(["secret", secretType]),
    x.void,
    async (secrets, uuid) => {
      await secrets.undefine(uuid);
    },
  ),
};
