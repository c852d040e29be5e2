/**
 * `config show`: the effective configuration — every key of the configuration file with its
 * value and where it came from (an environment variable, `FILE:LINE`, or the default) — as the
 * service would read it with this environment. Needs no service.
 *
 * @module
 */

import { CONFIG_KEYS } from "../../config/config_keys.ts";
import { loadLayeredConfig } from "../../config/layered_config.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import type { Verb, VerbContext } from "../verb.ts";

/**
 * The `config` verb.
 *
 * @example
 * ```sh
 * evirt config show
 * evirt config show --config /etc/evirt/evirt.toml --json
 * ```
 */
export const configVerb: Verb = {
  name: "config",
  summary: "show the effective configuration and where each value came from (no service needed)",
  offline: true,
  options: [
    { name: "action", kind: "string", positional: true, required: true, help: "show" },
    { name: "config", kind: "string", help: "the configuration file (default: $EVIRT_CONFIG)" },
    {
      name: "json",
      kind: "bool",
      help: "print the file and settings (with each key's meaning and default) as JSON",
    },
  ],
  async run(context: VerbContext, args: VerbArguments): Promise<void> {
    const action = args.text("action")!;
    if (action !== "show") {
      throw new ArgumentError(`unknown config action '${action}': expected show`, "action");
    }
    const file = args.text("config");
    const layered = await loadLayeredConfig(context.io.env, { uid: context.io.uid }, {
      ...(file === undefined ? {} : { configFile: file }),
    });
    if (args.flag("json")) {
      // With each key's meaning and default, so scripts need not read the README.
      const settings = layered.settings.map((setting) => {
        const { defaultText, help } = CONFIG_KEYS.find((each) => each.key === setting.key)!;
        return { ...setting, default: defaultText, help };
      });
      context.json({ file: layered.file, settings });
      return;
    }
    context.print(formatConfig(layered.file, layered.settings));
  },
};

/**
 * The `config show` table: the file line, then one row per key.
 *
 * @example
 * ```ts
 * import { formatConfig } from "./config.ts";
 * const text = formatConfig(null, [{ key: "listen", variable: "EVIRT_LISTEN", value: "off", source: "default" }]);
 * console.log(text.split("\n")[0]); // "Configuration file: none (no default location)"
 * ```
 */
export function formatConfig(
  file: { path: string; source: string; present: boolean } | null,
  settings: readonly { key: string; value: string; source: string }[],
): string {
  const fileLine = file === null
    ? "none (no default location)"
    : `${file.path} (${file.present ? "read" : "absent"}; ${file.source})`;
  const keyWidth = Math.max(3, ...settings.map((each) => each.key.length)) + 2;
  const valueWidth = Math.max(5, ...settings.map((each) => each.value.length)) + 2;
  const header = `${"Key".padEnd(keyWidth)}${"Value".padEnd(valueWidth)}Source`;
  const rows = settings.map((each) =>
    `${each.key.padEnd(keyWidth)}${each.value.padEnd(valueWidth)}${each.source}`
  );
  return [
    `Configuration file: ${fileLine}`,
    "",
    header,
    "-".repeat(header.length + 20),
    ...rows,
    "",
  ].join("\n");
}
