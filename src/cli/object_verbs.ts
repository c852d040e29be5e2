/**
 * What the verbs of pools and networks share: how a failure of a command on one object is told
 * (virsh's `failed to get pool 'x'` for a missing object, else the verb's own line), and the
 * `*-undefine` and `*-autostart` verbs, which differ only in the object's words.
 *
 * @module
 */

import { ErrorCode, type ErrorCodeValue, isVirtError } from "../model/errors.ts";
import type { OptionSpec, VerbArguments } from "./arguments.ts";
import { CommandFailure } from "./command_failure.ts";
import type { Verb, VerbContext } from "./verb.ts";

/** Runs a command on one object, telling its failure as virsh does. */
export type ObjectCommand = <T>(
  reference: string,
  line: string | undefined,
  command: () => Promise<T>,
) => Promise<T>;

/**
 * The runner of commands on objects of one kind: a missing object (`missing`, libvirt's code)
 * becomes `failed to get NOUN 'REF'` and libvirt's message, any other failure `line` (when
 * given) and the message.
 *
 * @example
 * ```ts
 * import { ErrorCode } from "../model/errors.ts";
 * import { objectCommand } from "./object_verbs.ts";
 * const poolCommand = objectCommand("pool", ErrorCode.NO_STORAGE_POOL);
 * console.log(await poolCommand("p", undefined, () => Promise.resolve(1))); // 1
 * ```
 */
export function objectCommand(noun: string, missing: ErrorCodeValue): ObjectCommand {
  return async (reference, line, command) => {
    try {
      return await command();
    } catch (error) {
      if (isVirtError(error, missing)) {
        throw new CommandFailure(`failed to get ${noun} '${reference}'`, error);
      }
      if (line === undefined || isVirtError(error, ErrorCode.NO_CONNECT)) throw error;
      throw new CommandFailure(line, error);
    }
  };
}

/** One kind of object, as its verbs name it. */
export interface ObjectKindWords {
  /** The verbs' prefix: `pool`, `net`. */
  prefix: string;
  /** virsh's word in messages: `pool`, `network`. */
  noun: string;
  /** The object's positional option. */
  option: OptionSpec;
  /** Runs a command on one object. */
  command: ObjectCommand;
}

function capitalised(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/**
 * The `PREFIX-undefine` verb: `undefine` asked of the service, virsh's lines.
 *
 * @example
 * ```ts ignore
 * undefineVerb(POOL_WORDS, "undefine an inactive pool", (c, ref) => storageOf(c).undefinePool(ref));
 * ```
 */
export function undefineVerb(
  kind: ObjectKindWords,
  summary: string,
  undefine: (context: VerbContext, reference: string) => Promise<unknown>,
): Verb {
  return {
    name: `${kind.prefix}-undefine`,
    summary,
    options: [kind.option],
    async run(context: VerbContext, args: VerbArguments) {
      const reference = args.required(kind.option.name);
      await kind.command(
        reference,
        `Failed to undefine ${kind.noun} ${reference}`,
        () => undefine(context, reference),
      );
      context.printExtra(`${capitalised(kind.noun)} ${reference} has been undefined\n`);
    },
  };
}

/**
 * The `PREFIX-autostart` verb (`--disable` to unmark): virsh's lines.
 *
 * @example
 * ```ts ignore
 * autostartVerb(POOL_WORDS, (c, ref, on) => storageOf(c).setPoolAutostart(ref, on));
 * ```
 */
export function autostartVerb(
  kind: ObjectKindWords,
  setAutostart: (context: VerbContext, reference: string, enable: boolean) => Promise<unknown>,
): Verb {
  return {
    name: `${kind.prefix}-autostart`,
    summary: `autostart a ${kind.noun}`,
    options: [kind.option, { name: "disable", kind: "bool", help: "disable autostarting" }],
    async run(context: VerbContext, args: VerbArguments) {
      const reference = args.required(kind.option.name);
      const enable = !args.flag("disable");
      const mark = enable ? "mark" : "unmark";
      await kind.command(
        reference,
        `failed to ${mark} ${kind.noun} ${reference} as autostarted`,
        () => setAutostart(context, reference, enable),
      );
      context.printExtra(`${capitalised(kind.noun)} ${reference} ${mark}ed as autostarted\n`);
    },
  };
}
