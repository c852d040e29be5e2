/**
 * What an emulator binary can do, probed once per binary and cached: its version, its machine
 * types (`-machine help`), whether it supports `-sandbox` (QEMU built without seccomp refuses the
 * option), and the CPU models and flags `-cpu help` lists (QEMU refuses a name it no longer has).
 * One run of
 * `EMULATOR -sandbox on -version` answers both: options are parsed in order, so an unsupported
 * `-sandbox` fails before `-version` prints.
 *
 * The cache key is the binary's absolute path with its size and modification time, so an
 * upgraded QEMU is probed again.
 *
 * @module
 */

import { SANDBOX_OPTION } from "./command_line.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { type MachineTypes, parseMachineHelp } from "./machine_type.ts";
import { BinaryProbeCache } from "./binary_probe_cache.ts";

/** How long one probe run may take, in milliseconds. */
export const CAPABILITY_PROBE_TIMEOUT_MS = 10_000;

/** Largest probe output kept, in bytes. */
export const CAPABILITY_OUTPUT_MAX_BYTES = 64 * 1024;

/** Binaries whose capabilities are remembered. */
export const CAPABILITY_CACHE_MAX = 32;

/** What an emulator binary can do. */
export interface EmulatorCapabilities {
  /** The binary's absolute path. */
  path: string;
  /** Its version, e.g. `7.2.22`. */
  version: string;
  /** Whether `-sandbox` is supported. */
  sandbox: boolean;
  /** Its machine aliases (`pc` → `pc-i440fx-7.2`) and default machine, from `-machine help`. */
  machines: MachineTypes;
  /** The CPU models and CPUID flag names `-cpu help` lists; undefined when it lists none. */
  cpuNames?: CpuNames;
}

/** What `-cpu` takes: model names (with versions and aliases) and CPUID flag names. */
export interface CpuNames {
  models: ReadonlySet<string>;
  flags: ReadonlySet<string>;
}

/**
 * Parses `-cpu help` output of an x86 QEMU: `x86 NAME …` model lines, then the words after
 * `Recognized CPUID flags:`.
 *
 * @returns The names, or undefined when the text lists no model.
 *
 * @example
 * ```ts
 * import { parseCpuHelp } from "./qemu_capabilities.ts";
 * const names = parseCpuHelp("x86 Haswell   Intel Core\nx86 qemu64\n\nRecognized CPUID flags:\n  3dnow abm\n");
 * console.log([...names!.models], [...names!.flags]); // ["Haswell", "qemu64"] ["3dnow", "abm"]
 * ```
 */
export function parseCpuHelp(text: string): CpuNames | undefined {
  const [modelPart, flagPart = ""] = text.split("Recognized CPUID flags:");
  const models = new Set<string>();
  for (const line of modelPart.split("\n")) {
    const match = /^x86\s+(\S+)/.exec(line);
    if (match !== null) models.add(match[1]);
  }
  if (models.size === 0) return undefined;
  const flags = new Set(flagPart.split(/\s+/).filter((word) => word !== "" && !word.endsWith(":")));
  return { models, flags };
}

/**
 * The absolute path of an emulator: `name` itself when it contains a `/`, else the first
 * executable `name` on PATH.
 *
 * @throws {VirtError} SYSTEM_ERROR (38) when it cannot be found or is not an executable file.
 *
 * @example
 * ```ts ignore
 * resolveEmulator("qemu-system-x86_64"); // "/usr/bin/qemu-system-x86_64"
 * ```
 */
export function resolveEmulator(name: string, path = Deno.env.get("PATH") ?? ""): string {
  const candidates = name.includes("/")
    ? [name]
    : path.split(":").filter((dir) => dir !== "").map((dir) => `${dir}/${name}`);
  for (const candidate of candidates) {
    try {
      const info = Deno.statSync(candidate);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return candidate;
    } catch {
      // Not here.
    }
  }
  throw new VirtError(
    ErrorCode.SYSTEM_ERROR,
    name.includes("/")
      ? `cannot find QEMU binary ${name}: No such file or directory`
      : `cannot find QEMU binary ${name} on PATH`,
    { where: "/domain/devices/emulator" },
  );
}

/**
 * Parses `-version` output: the first `QEMU emulator version X.Y.Z` line.
 *
 * @returns The version, or undefined when the text has none.
 *
 * @example
 * ```ts
 * import { parseQemuVersion } from "./qemu_capabilities.ts";
 * console.log(parseQemuVersion("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7)\n")); // "7.2.22"
 * ```
 */
export function parseQemuVersion(text: string): string | undefined {
  return /QEMU emulator version ([0-9]+\.[0-9]+(?:\.[0-9]+)?)/.exec(text)?.[1];
}

/**
 * Probes and caches emulator capabilities.
 *
 * @example
 * ```ts ignore
 * const capabilities = new CapabilityCache();
 * const qemu = await capabilities.get("qemu-system-x86_64");
 * console.log(qemu.version, qemu.sandbox); // "7.2.22" true
 * ```
 */
export class CapabilityCache {
  readonly #probes = new BinaryProbeCache(
    CAPABILITY_CACHE_MAX,
    (name) => resolveEmulator(name),
    probe,
  );
  /** Probed capabilities by the name or path asked for, for synchronous checks. */
  readonly #settled = new Map<string, EmulatorCapabilities>();

  /**
   * The capabilities of an emulator probed already (by `get`), or undefined.
   *
   * @param emulator The name or path `get` was given.
   */
  known(emulator: string): EmulatorCapabilities | undefined {
    const byName = this.#settled.get(emulator);
    if (byName !== undefined) return byName;
    try {
      return this.#settled.get(resolveEmulator(emulator));
    } catch {
      return undefined;
    }
  }

  /**
   * The capabilities of an emulator, probed on first use.
   *
   * @param emulator A path or a name looked up on PATH.
   * @throws {VirtError} SYSTEM_ERROR (38) when the binary cannot be found or run;
   *   INTERNAL_ERROR (1) when it does not print a QEMU version.
   */
  get(emulator: string): Promise<EmulatorCapabilities> {
    const entry = this.#probes.get(emulator);
    if (this.#settled.size >= CAPABILITY_CACHE_MAX) this.#settled.clear();
    entry.then((capabilities) => {
      this.#settled.set(emulator, capabilities);
      this.#settled.set(capabilities.path, capabilities);
    }, () => {});
    return entry;
  }
}

async function probe(path: string): Promise<EmulatorCapabilities> {
  const help = await run(path, ["-machine", "help"]);
  const machines = help.success ? parseMachineHelp(help.text) : { aliases: {} };
  const cpuHelp = await run(path, ["-cpu", "help"]);
  const cpuNames = cpuHelp.success ? parseCpuHelp(cpuHelp.text) : undefined;
  // The whole option: a QEMU that lacks one of its sets refuses it.
  const withSandbox = await run(path, ["-sandbox", SANDBOX_OPTION, "-version"]);
  const version = parseQemuVersion(withSandbox.text);
  if (withSandbox.success && version !== undefined) {
    return {
      path,
      version,
      sandbox: true,
      machines,
      ...(cpuNames === undefined ? {} : { cpuNames }),
    };
  }
  const plain = await run(path, ["-version"]);
  const plainVersion = parseQemuVersion(plain.text);
  if (!plain.success || plainVersion === undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `cannot determine the version of QEMU binary ${path}: ${plain.text.trim().slice(0, 200)}`,
    );
  }
  return {
    path,
    version: plainVersion,
    sandbox: false,
    machines,
    ...(cpuNames === undefined ? {} : { cpuNames }),
  };
}

async function run(path: string, args: string[]): Promise<{ success: boolean; text: string }> {
  try {
    const output = await new Deno.Command(path, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { LC_ALL: "C" },
      signal: AbortSignal.timeout(CAPABILITY_PROBE_TIMEOUT_MS),
    }).output();
    const decoder = new TextDecoder();
    const text = decoder.decode(output.stdout.subarray(0, CAPABILITY_OUTPUT_MAX_BYTES)) +
      decoder.decode(output.stderr.subarray(0, CAPABILITY_OUTPUT_MAX_BYTES));
    return { success: output.success, text };
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot run QEMU binary ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
