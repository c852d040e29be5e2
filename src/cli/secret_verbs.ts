/**
 * The secret verbs (`secret-define`, `secret-undefine`, `secret-list`, `secret-dumpxml`,
 * `secret-set-value`, `secret-get-value`), with virsh's options, messages and failure lines.
 * virsh names a secret by its uuid only; a word that is no uuid fails as libvirt's
 * `virSecretLookupByUUIDString` fails, before the service is asked. Each verb has its file in
 * `verbs/` that the registry loads.
 *
 * @module
 */

import { SecretClient } from "../client/secret_client.ts";
import { normalizeUuid } from "../model/domain_list.ts";
import { ErrorCode } from "../model/errors.ts";
import type { SecretDefinition } from "../model/secret.ts";
import { ArgumentError, type OptionSpec, type VerbArguments } from "./arguments.ts";
import { asFailure, CommandFailure } from "./command_failure.ts";
import { readBoundedBytes, readBoundedText } from "./document_file.ts";
import { formatTable } from "./layouts.ts";
import { objectCommand } from "./object_verbs.ts";
import type { Verb, VerbContext } from "./verb.ts";
import { printXml, XPATH_OPTIONS } from "./xml_output.ts";

/** virsh's `<secret>` data option. */
const SECRET_OPTION: OptionSpec = {
  name: "secret",
  kind: "string",
  positional: true,
  required: true,
  help: "secret UUID",
};

/** The most bytes `secret-set-value --file` reads (virsh's `virFileReadAll(…, 1024)`). */
const VALUE_FILE_MAX_BYTES = 1024;

/** Runs a secret command: a missing secret is `failed to get secret 'REF'`. */
const secretCommand = objectCommand("secret", ErrorCode.NO_SECRET);

function secretsOf(context: VerbContext): SecretClient {
  return new SecretClient(context.client);
}

/**
 * The secret's uuid in canonical form, or virsh's failure for a word that is none.
 *
 * @throws {CommandFailure} `failed to get secret 'REF'`, then libvirt's line.
 */
function secretUuid(reference: string): string {
  const uuid = normalizeUuid(reference);
  if (uuid !== undefined) return uuid;
  throw new CommandFailure(
    `failed to get secret '${reference}'`,
    new CommandFailure("uuidstr in virSecretLookupByUUIDString must be a valid UUID"),
  );
}

/** Finds the secret named by `reference` as virsh does before acting on it; its uuid. */
async function lookedUp(context: VerbContext, reference: string): Promise<string> {
  const uuid = secretUuid(reference);
  await secretCommand(reference, undefined, () => secretsOf(context).xml(uuid));
  return uuid;
}

/** A secret's usage as `secret-list` shows it: `TYPE ID`, or `Unused`. */
function usageText(secret: SecretDefinition): string {
  return secret.usage === undefined ? "Unused" : `${secret.usage.type} ${secret.usage.id}`;
}

/** `virsh secret-list`: the table, sorted by uuid as virsh sorts it. */
export function formatSecretList(secrets: readonly SecretDefinition[], quiet: boolean): string {
  const sorted = [...secrets].sort((a, b) => {
    const left = a.uuid.toLowerCase();
    const right = b.uuid.toLowerCase();
    return left < right ? -1 : left > right ? 1 : 0;
  });
  return formatTable(
    ["UUID", "Usage"],
    sorted.map((secret) => [secret.uuid, usageText(secret)]),
    !quiet,
  );
}

/**
 * Base64 decoded as GLib's `g_base64_decode` decodes it (what virsh uses): characters outside
 * the alphabet are skipped, a trailing partial group is dropped, `=` in a group's last places
 * shortens it.
 *
 * @example
 * ```ts
 * import { decodeBase64Leniently } from "./secret_verbs.ts";
 * console.log(new TextDecoder().decode(decodeBase64Leniently("aGk=\n"))); // "hi"
 * ```
 */
export function decodeBase64Leniently(text: string): Uint8Array {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const out: number[] = [];
  let value = 0;
  let count = 0;
  let last = "";
  let beforeLast = "";
  for (const character of text) {
    const rank = character === "=" ? 0 : alphabet.indexOf(character);
    if (rank < 0) continue;
    beforeLast = last;
    last = character;
    value = ((value << 6) | rank) & 0xffffff;
    count++;
    if (count === 4) {
      out.push(value >> 16);
      if (beforeLast !== "=") out.push((value >> 8) & 0xff);
      if (last !== "=") out.push(value & 0xff);
      count = 0;
    }
  }
  return new Uint8Array(out);
}

function encodeBase64(bytes: Uint8Array): string {
  return (bytes as Uint8Array & { toBase64(): string }).toBase64();
}

/** The `secret-define` verb. */
export const secretDefineVerb: Verb = {
  name: "secret-define",
  summary: "define or modify a secret from an XML file",
  options: [
    {
      name: "file",
      kind: "string",
      positional: true,
      required: true,
      help: "file containing secret attributes in XML",
    },
    { name: "validate", kind: "bool", help: "validate the XML against the schema" },
  ],
  // `--validate` asks nothing more: evirt's secret parser checks `secret.rng`'s rules always.
  async run(context: VerbContext, args: VerbArguments) {
    const file = args.required("file");
    const xml = await readBoundedText(file, context.xmlMaxBytes);
    const secret = await secretCommand(
      file,
      `Failed to set attributes from ${file}`,
      () => secretsOf(context).define(xml),
    );
    context.printExtra(`Secret ${secret.uuid} created\n`);
  },
};

/** The `secret-undefine` verb. */
export const secretUndefineVerb: Verb = {
  name: "secret-undefine",
  summary: "undefine a secret",
  options: [SECRET_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("secret");
    const uuid = secretUuid(reference);
    await secretCommand(
      reference,
      `Failed to delete secret ${reference}`,
      () => secretsOf(context).undefine(uuid),
    );
    context.printExtra(`Secret ${reference} deleted\n`);
  },
};

/** The `secret-list` verb. */
export const secretListVerb: Verb = {
  name: "secret-list",
  summary: "list secrets",
  json: true,
  options: [
    { name: "ephemeral", kind: "bool", help: "list ephemeral secrets" },
    { name: "no-ephemeral", kind: "bool", help: "list non-ephemeral secrets" },
    { name: "private", kind: "bool", help: "list private secrets" },
    { name: "no-private", kind: "bool", help: "list non-private secrets" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    // A filter and its negation together keep every secret, as libvirt's filter does.
    const pair = (yes: boolean, no: boolean, value: boolean) => yes === no || value === yes;
    const secrets = (await secretsOf(context).list()).filter((secret) =>
      pair(args.flag("ephemeral"), args.flag("no-ephemeral"), secret.ephemeral) &&
      pair(args.flag("private"), args.flag("no-private"), secret.private)
    );
    if (args.flag("json")) context.json(secrets);
    else context.print(formatSecretList(secrets, context.quiet));
  },
};

/** The `secret-dumpxml` verb. */
export const secretDumpxmlVerb: Verb = {
  name: "secret-dumpxml",
  summary: "secret attributes in XML",
  options: [SECRET_OPTION, ...XPATH_OPTIONS],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("secret");
    const uuid = secretUuid(reference);
    const xml = await secretCommand(reference, undefined, () => secretsOf(context).xml(uuid));
    await printXml(context, args, xml);
  },
};

/**
 * virsh's exclusive pairs of `secret-set-value`, in the order it checks them (evirt has no
 * `--interactive`: the value comes from `--file` or `--base64`).
 */
const SET_VALUE_EXCLUSIVE: ReadonlyArray<[string, string]> = [
  ["file", "base64"],
  ["plain", "base64"],
];

/** The `secret-set-value` verb: the value from `--base64` or `--file` (base64 unless `--plain`). */
export const secretSetValueVerb: Verb = {
  name: "secret-set-value",
  summary: "set a secret value",
  options: [
    SECRET_OPTION,
    { name: "file", kind: "string", help: "read secret from file" },
    {
      name: "plain",
      kind: "bool",
      help: "read the secret from file without converting from base64",
    },
    { name: "base64", kind: "string", help: "base64-encoded secret value" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const given = (name: string) => args.flag(name) || args.text(name) !== undefined;
    for (const [one, other] of SET_VALUE_EXCLUSIVE) {
      if (given(one) && given(other)) {
        throw new ArgumentError(`Options --${one} and --${other} are mutually exclusive`, other);
      }
    }
    const reference = args.required("secret");
    const uuid = await lookedUp(context, reference);
    const base64 = args.text("base64");
    const file = args.text("file");
    for (const [name, given] of [["base64", base64], ["file", file]]) {
      if (given === "") {
        throw new CommandFailure(`Failed to get option '${name}': Option argument is empty`);
      }
    }
    let value: Uint8Array;
    if (base64 !== undefined) {
      context.io.stderr("error: Passing secret value as command-line argument is insecure!\n");
      value = decodeBase64Leniently(base64);
    } else if (file !== undefined) {
      const bytes = await readBoundedBytes(
        file,
        VALUE_FILE_MAX_BYTES,
        "Value too large for defined data type",
      );
      value = args.flag("plain")
        ? bytes
        : decodeBase64Leniently(new TextDecoder("latin1").decode(bytes));
    } else {
      throw new CommandFailure("Input secret value is missing");
    }
    await asFailure("Failed to set secret value", () => secretsOf(context).setValue(uuid, value));
    context.printExtra("Secret value set\n");
  },
};

/** The `secret-get-value` verb: base64, or the raw bytes with `--plain`. */
export const secretGetValueVerb: Verb = {
  name: "secret-get-value",
  summary: "Output a secret value",
  options: [
    SECRET_OPTION,
    { name: "plain", kind: "bool", help: "get value without converting to base64" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("secret");
    const uuid = await lookedUp(context, reference);
    // Found: a value refused (none set, a private secret) is libvirt's line alone.
    const value = await secretsOf(context).value(uuid);
    if (!args.flag("plain")) context.print(encodeBase64(value));
    else if (context.io.stdoutBytes !== undefined) context.io.stdoutBytes(value);
    else context.print(new TextDecoder().decode(value));
  },
};
