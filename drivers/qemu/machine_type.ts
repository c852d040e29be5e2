/**
 * The versioned machine type libvirt writes at define: `pc` becomes `pc-i440fx-7.2` and `q35`
 * `pc-q35-7.2` for QEMU 7.2, and a definition without a machine gets the emulator's default.
 * The names come from the installed emulator (`-machine help`: `pc … (alias of pc-i440fx-7.2)`,
 * `pc-i440fx-7.2 … (default)`), so a QEMU upgrade never changes a defined guest's machine.
 *
 * @module
 */

/** What `-machine help` says: alias → machine, and the default machine. */
export interface MachineTypes {
  /** Each alias and the versioned machine it stands for, e.g. `pc` → `pc-i440fx-7.2`. */
  aliases: Record<string, string>;
  /** The machine used when none is named, e.g. `pc-i440fx-7.2`. */
  defaultMachine?: string;
}

/**
 * Parses `-machine help` output.
 *
 * @example
 * ```ts
 * import { parseMachineHelp } from "./machine_type.ts";
 * const text = "Supported machines are:\n" +
 *   "pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)\n" +
 *   "pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)\n";
 * console.log(parseMachineHelp(text));
 * // { aliases: { pc: "pc-i440fx-7.2" }, defaultMachine: "pc-i440fx-7.2" }
 * ```
 */
export function parseMachineHelp(text: string): MachineTypes {
  const aliases: Record<string, string> = {};
  let defaultMachine: string | undefined;
  for (const line of text.split("\n")) {
    const name = /^(\S+)\s/.exec(line)?.[1];
    if (name === undefined || name === "Supported") continue;
    const alias = /\(alias of (\S+)\)/.exec(line)?.[1];
    if (alias !== undefined) aliases[name] = alias;
    if (/\(default\)/.test(line)) defaultMachine = name;
  }
  return defaultMachine === undefined ? { aliases } : { aliases, defaultMachine };
}

/**
 * The machine a definition's `<os><type machine>` stands for: the alias resolved, the
 * emulator's default when absent, else the name as written.
 *
 * @example
 * ```ts
 * import { resolveMachine } from "./machine_type.ts";
 * const types = { aliases: { pc: "pc-i440fx-7.2", q35: "pc-q35-7.2" }, defaultMachine: "pc-i440fx-7.2" };
 * console.log(resolveMachine("q35", types), resolveMachine(undefined, types)); // "pc-q35-7.2" "pc-i440fx-7.2"
 * ```
 */
export function resolveMachine(
  machine: string | undefined,
  types: MachineTypes,
): string | undefined {
  if (machine === undefined) return types.defaultMachine;
  return types.aliases[machine] ?? machine;
}
