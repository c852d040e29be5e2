/**
 * `send-key`: presses keys in the guest, named (`KEY_A` in the linux codeset, `VK_RETURN` in
 * win32) or numbered, as virsh reads them.
 *
 * @module
 */

import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { type Codeset, isCodeset, parseKey, SEND_KEY_MAX_KEYS } from "../../model/keycodes.ts";
import { isVirtError } from "../../model/errors.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `send-key` verb.
 *
 * @example
 * ```sh
 * evirt send-key web --codeset linux --holdtime 100 KEY_LEFTCTRL KEY_LEFTALT KEY_DELETE
 * ```
 */
export const sendKeyVerb: Verb = {
  name: "send-key",
  summary: "Send keycodes to the guest",
  options: [
    DOMAIN_OPTION,
    { name: "codeset", kind: "string", help: "the codeset of keycodes, default:linux" },
    {
      name: "holdtime",
      kind: "integer",
      help: "the time (in milliseconds) how long the keys will be held",
      max: 60_000,
    },
    { name: "keycode", kind: "string", rest: true, required: true, help: "the key code" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const codesetName = args.text("codeset") ?? "linux";
    if (!isCodeset(codesetName)) {
      throw new ArgumentError(`unknown codeset: '${codesetName}'`, "codeset");
    }
    const codeset: Codeset = codesetName;
    const words = args.list("keycode");
    if (words.length > SEND_KEY_MAX_KEYS) {
      throw new ArgumentError("too many keycodes", "keycode");
    }
    const codes = words.map((word) => {
      try {
        return parseKey(codeset, word);
      } catch (error) {
        if (isVirtError(error)) throw new ArgumentError(error.message, "keycode");
        throw error;
      }
    });
    const holdTimeMs = args.integer("holdtime") ?? 0;
    await domainCommand(
      reference,
      undefined,
      () => context.client.sendKey(reference, { codeset, holdTimeMs, codes }),
    );
  },
};
