/**
 * The `install` task: puts an `evirt` command on PATH and, where systemd runs (or when asked), an
 * `evirt.service` unit beside it.
 *
 * Beside it go the man page (`ROOT/share/man/man1/evirt.1`) and the completion scripts
 * (`ROOT/share/bash-completion/completions/evirt`, `ROOT/share/zsh/site-functions/_evirt`).
 *
 * The command is the shim `deno install --global` writes (no download: it runs this checkout's
 * sources with the Deno running the task), with two changes and why:
 * - its `exec deno` becomes the absolute path of this Deno, because a Deno fetched by `npx` is not
 *   on PATH;
 * - its `--config` names this checkout's `deno.json` instead of the copy `deno install` makes,
 *   which loses the import map and the `node_modules` beside it (so `xstate` would not resolve);
 *   the `--import-map` the install step needed goes (the configuration's serves at run time).
 *
 * Where: `EVIRT_INSTALL_ROOT` (or `--root DIR`), the command going to `DIR/bin/evirt`; default
 * `/usr/local` as root, else `~/.local`. The unit goes to `EVIRT_INSTALL_UNIT_DIR` (or
 * `--unit-dir DIR`); by default to `/etc/systemd/system` when run as root on a host whose init is
 * systemd, and nowhere otherwise (the task says why).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ConfigError } from "../config/config.ts";
import { loadProcessLayeredConfig } from "../config/layered_config.ts";
import { systemdUnit } from "./systemd_unit.ts";
import { bashCompletion, shellWord, zshCompletion } from "../cli/completion.ts";
import { manPage } from "../cli/man_page.ts";
import { loadAllVerbs } from "../cli/verb_registry.ts";
import { VERSION } from "../model/version.ts";

const NAME = "evirt";
const REPO_DIR = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const ENTRY = `${REPO_DIR}/src/cli/main.ts`;
const CONFIG = `${REPO_DIR}/deno.json`;
/** Given apart: `deno install` ignores a configuration file's `importMap` while it checks. */
const IMPORT_MAP = `${REPO_DIR}/import_map.json`;
const SYSTEM_UNIT_DIR = "/etc/systemd/system";
/** Longest `deno install` or `systemctl daemon-reload` may take, in ms. */
const STEP_TIMEOUT_MS = 120_000;

/** Where the task installs, from its arguments and environment. */
export interface InstallTargets {
  /** The prefix: the command goes to `root/bin/evirt`. */
  root: string;
  /** Where `evirt.service` goes, or null for nowhere. */
  unitDir: string | null;
  /** Why no unit is written, when `unitDir` is null. */
  noUnitReason?: string;
}

/**
 * Resolves the install targets.
 *
 * @throws {ConfigError} When a directory is not absolute.
 *
 * @example
 * ```ts
 * const targets = installTargets([], { EVIRT_INSTALL_ROOT: "/opt/evirt" }, { uid: 1000, systemd: false });
 * console.log(targets.root, targets.unitDir); // "/opt/evirt" null
 * ```
 */
export function installTargets(
  args: string[],
  env: Record<string, string | undefined>,
  host: { uid: number; systemd: boolean },
): InstallTargets {
  const { values } = parseArgs({
    args,
    options: { root: { type: "string" }, "unit-dir": { type: "string" } },
    strict: true,
  });
  const root = values.root ?? env.EVIRT_INSTALL_ROOT ??
    (host.uid === 0 ? "/usr/local" : `${env.HOME ?? ""}/.local`);
  if (!root.startsWith("/")) {
    throw new ConfigError("EVIRT_INSTALL_ROOT", `must be an absolute path, got '${root}'`);
  }
  const unitDir = values["unit-dir"] ?? env.EVIRT_INSTALL_UNIT_DIR;
  if (unitDir !== undefined && unitDir !== "") {
    if (!unitDir.startsWith("/")) {
      throw new ConfigError("EVIRT_INSTALL_UNIT_DIR", `must be an absolute path, got '${unitDir}'`);
    }
    return { root, unitDir };
  }
  if (!host.systemd) {
    return { root, unitDir: null, noUnitReason: "systemd is not this host's init" };
  }
  if (host.uid !== 0) {
    return { root, unitDir: null, noUnitReason: `${SYSTEM_UNIT_DIR} needs root` };
  }
  return { root, unitDir: SYSTEM_UNIT_DIR };
}

async function run(args: string[]): Promise<number> {
  let targets: InstallTargets;
  let config;
  let stopGuests = false;
  try {
    targets = installTargets(args, Deno.env.toObject(), {
      uid: Deno.uid() ?? -1,
      systemd: systemdIsInit(),
    });
    const layered = await loadProcessLayeredConfig();
    config = layered.config;
    // "Installed with the policy": the installing configuration says what a stop does.
    stopGuests = layered.settings.some((each) =>
      each.key === "on_shutdown" && !each.source.startsWith("default")
    );
  } catch (error) {
    console.error(`install: error: ${(error as Error).message}`);
    return 1;
  }
  const binDir = `${targets.root}/bin`;
  const command = `${binDir}/${NAME}`;
  await Deno.mkdir(binDir, { recursive: true });
  const installed = await runStep(Deno.execPath(), [
    "install",
    "--global",
    "--force",
    "--allow-all",
    "--config",
    CONFIG,
    "--import-map",
    IMPORT_MAP,
    "--root",
    targets.root,
    "--name",
    NAME,
    ENTRY,
  ]);
  if (!installed.success) {
    console.error(`install: error: deno install failed:\n${installed.output}`);
    return 1;
  }
  await Deno.writeTextFile(command, fixShim(await Deno.readTextFile(command)), { mode: 0o755 });
  await Deno.remove(`${binDir}/.${NAME}`, { recursive: true }).catch(() => {});
  console.log(`install: ${command} (runs ${ENTRY} with ${Deno.execPath()})`);
  for (const [file, text] of await documentation(targets.root)) {
    await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(file, text, { mode: 0o644 });
    console.log(`install: ${file}`);
  }
  const path = (Deno.env.get("PATH") ?? "").split(":");
  if (!path.includes(binDir)) console.log(`install: note: ${binDir} is not on PATH`);
  if (targets.unitDir === null) {
    console.log(`install: no systemd unit: ${targets.noUnitReason}`);
    return 0;
  }
  let unit: string;
  try {
    unit = systemdUnit({
      command,
      stateDir: config.stateDir,
      runtimeDir: config.runtimeDir,
      stopGuests,
    });
  } catch (error) {
    console.error(`install: error: ${(error as Error).message}`);
    return 1;
  }
  await Deno.mkdir(targets.unitDir, { recursive: true });
  const unitPath = `${targets.unitDir}/${NAME}.service`;
  await Deno.writeTextFile(unitPath, unit, { mode: 0o644 });
  console.log(`install: ${unitPath}`);
  if (stopGuests) {
    console.log("install: its ExecStop runs 'evirt host shutdown-guests' (on_shutdown is set)");
  }
  if (targets.unitDir === SYSTEM_UNIT_DIR) {
    const reload = await runStep("systemctl", ["daemon-reload"]);
    if (!reload.success) {
      console.error(`install: systemctl daemon-reload failed:\n${reload.output}`);
    }
    console.log(`install: start it with 'systemctl enable --now ${NAME}'`);
  }
  return 0;
}

/** The man page and the completion scripts, by where they go under `root`. */
async function documentation(root: string): Promise<[string, string][]> {
  const verbs = await loadAllVerbs();
  return [
    [`${root}/share/man/man1/${NAME}.1`, manPage(verbs, VERSION)],
    [`${root}/share/bash-completion/completions/${NAME}`, bashCompletion(verbs)],
    [`${root}/share/zsh/site-functions/_${NAME}`, zshCompletion(verbs)],
  ];
}

/**
 * The shim with this Deno's absolute path and this checkout's configuration (see the module
 * documentation for why).
 */
export function fixShim(shim: string): string {
  const line = shim.split("\n").findIndex((each) => each.startsWith("exec deno "));
  if (line < 0) throw new Error(`Unexpected shim from deno install:\n${shim}`);
  const lines = shim.split("\n");
  lines[line] = lines[line]
    .replace(/^exec deno /, `exec ${shellWord(Deno.execPath())} `)
    .replace(/--config (?:'[^']*'|\S+)/, `--config ${shellWord(CONFIG)}`)
    // The configuration's import map serves at run time; naming both makes Deno warn each run.
    .replace(/ --import-map (?:'[^']*'|\S+)/, "");
  return lines.join("\n");
}

/** systemd's own test that it is the init (`sd_booted`): its runtime folder exists. */
function systemdIsInit(): boolean {
  try {
    return Deno.statSync("/run/systemd/system").isDirectory;
  } catch {
    return false;
  }
}

async function runStep(
  program: string,
  args: string[],
): Promise<{ success: boolean; output: string }> {
  try {
    const output = await new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    }).output();
    const decoder = new TextDecoder();
    return {
      success: output.success,
      output: decoder.decode(output.stdout) + decoder.decode(output.stderr),
    };
  } catch (error) {
    return { success: false, output: (error as Error).message };
  }
}

if (import.meta.main) Deno.exit(await run(Deno.args));
