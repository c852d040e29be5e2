/**
 * The `evirt` command: virsh's verbs, options, output layouts, error text and exit codes against
 * an evirt connection (`deno task evirt [-c URI] <verb> [args]`).
 *
 * This file only dispatches: global options → verb → its arguments → connection → run → report.
 * The verbs live in `src/cli/verbs/`, the layouts in `src/cli/layouts.ts`.
 *
 * @module
 */

import {
  ArgumentError,
  type GlobalOptions,
  parseGlobalOptions,
  parseVerbArguments,
  type VerbArguments,
} from "./arguments.ts";
import { CommandFailure, errorLines } from "./command_failure.ts";
import { isCommandString, splitCommandString } from "./command_chain.ts";
import { openConnection } from "./connection.ts";
import { layerConfigFile } from "../config/layered_config.ts";
import { Progress } from "./progress.ts";
import type { CliIo, Verb, VerbContext } from "./verb.ts";
import { verbOptions } from "./verb.ts";
import { loadAllVerbs, loadVerb } from "./verb_registry.ts";
import type { EvirtClient } from "../client/client.ts";
import {
  DEFAULT_URI,
  parsePositiveInteger,
  validateUri,
  XML_MAX_BYTES_DEFAULT,
} from "../config/config.ts";
import { isVirtError } from "../model/errors.ts";
import { VERSION } from "../model/version.ts";

/** Exit status for success, as virsh. */
const EXIT_OK = 0;
/** Exit status for any failure, as virsh. */
const EXIT_FAILURE = 1;

/**
 * Runs one CLI invocation. A single argument is a virsh command string: its `;`-separated
 * commands are all checked first, then run in order on one connection.
 *
 * @param words The command-line arguments after the program name.
 * @param io The process's streams, environment and signals (tests pass their own).
 * @returns The process exit code: 0 on success, 1 on any failure.
 *
 * @example
 * ```ts ignore
 * const code = await runCli(["-c", "test:///default", "list"]);
 * ```
 */
export async function runCli(words: string[], io: CliIo = processIo()): Promise<number> {
  let options: GlobalOptions;
  try {
    options = parseGlobalOptions(words);
  } catch (error) {
    return report(io, error);
  }
  if (options.version) {
    io.stdout(`${VERSION}\n`);
    return EXIT_OK;
  }
  // A single argument with `;` is a virsh command string: every command is checked first.
  let commands: string[][];
  try {
    commands = options.verb !== undefined && isCommandString([options.verb, ...options.verbWords])
      ? splitCommandString(options.verb)
      : [];
  } catch (error) {
    return report(io, error);
  }
  if (commands.length === 1) {
    options = { ...options, verb: commands[0][0], verbWords: commands[0].slice(1) };
  }
  if (commands.length <= 1) {
    if (options.help || options.verb === undefined || options.verb === "help") {
      return await help(io, options);
    }
    commands = [[options.verb, ...options.verbWords]];
  }
  const planned: PlannedCommand[] = [];
  let uri: string;
  let xmlMaxBytes: number;
  let env: Record<string, string | undefined>;
  try {
    for (const [name, ...verbWords] of commands) {
      const verb = await loadVerb(name);
      if (verb === undefined) throw new ArgumentError(`unknown command: '${name}'`, name);
      if (commands.length === 1 && verbWords.includes("--help")) {
        const { verbHelp } = await import("./help_text.ts");
        io.stdout(`${verbHelp(verb)}\n`);
        return EXIT_OK;
      }
      planned.push({ verb, args: parseVerbArguments(verb.name, verbOptions(verb), verbWords) });
    }
    // The configuration file's values under the variables: default URI, socket, XML limit.
    env = (await layerConfigFile(io.env, io.uid)).env;
    uri = options.connect === undefined ? defaultUri(env) : validateUri("-c", options.connect);
    xmlMaxBytes = parsePositiveInteger(env, "EVIRT_XML_MAX_BYTES", XML_MAX_BYTES_DEFAULT);
  } catch (error) {
    return report(io, error);
  }
  return await runCommands(io, options, planned, uri, xmlMaxBytes, env);
}

/** A command whose verb and arguments were checked before anything ran. */
interface PlannedCommand {
  verb: Verb;
  args: VerbArguments;
}

/**
 * Runs the commands in order on one connection (so `test:///default` keeps its state from one
 * to the next, as virsh's does) and returns the last one's exit code, as virsh.
 */
async function runCommands(
  io: CliIo,
  options: GlobalOptions,
  planned: PlannedCommand[],
  uri: string,
  xmlMaxBytes: number,
  env: Record<string, string | undefined>,
): Promise<number> {
  const connect = io.connect ?? openConnection;
  const needed = planned.some(({ verb }) => !verb.offline);
  const connection = !needed ? undefined : await connect({
    uri,
    readOnly: options.readonly,
    ...(options.token === undefined ? {} : { token: options.token }),
    env,
    uid: io.uid,
    xmlMaxBytes,
    warn: (message) => io.stderr(`warning: ${message}\n`),
  }).catch((error) => error as Error);
  let client = connection instanceof Error ? undefined : connection?.client;
  if (connection instanceof Error) {
    // virsh does not run a command, nor print its trailing empty line, without a connection.
    if (!planned.every(({ verb }) => verb.offline || verb.connectionOptional)) {
      return report(io, connection);
    }
    io.stderr(`warning: failed to connect to the hypervisor: ${connection.message}\n`);
    client = undefined;
  }
  const context = verbContext(io, options, uri, xmlMaxBytes, client);
  let code = EXIT_OK;
  try {
    for (const { verb, args } of planned) {
      try {
        code = (await verb.run(context, args))?.exitCode ?? EXIT_OK;
      } catch (error) {
        code = report(io, error);
      }
      // virsh ends every command it ran, failed or not, with an empty line (not with -q).
      if (!args.flag("json")) context.printExtra("\n");
    }
  } finally {
    if (!(connection instanceof Error)) await connection?.close();
  }
  return code;
}

function verbContext(
  io: CliIo,
  options: GlobalOptions,
  uri: string,
  xmlMaxBytes: number,
  client: EvirtClient | undefined,
): VerbContext {
  return {
    io,
    get client(): EvirtClient {
      if (client === undefined) throw new Error("An offline verb asked for the connection");
      return client;
    },
    hasConnection: client !== undefined,
    uri,
    quiet: options.quiet,
    xmlMaxBytes,
    progress: new Progress((text) => io.stderr(text), io.stderrIsTerminal),
    print: (text) => io.stdout(text),
    printExtra: (text) => {
      if (!options.quiet) io.stdout(text);
    },
    json: (value) => io.stdout(`${JSON.stringify(value, null, 2)}\n`),
    warn: (message) => io.stderr(`warning: ${message}\n`),
  };
}

async function help(io: CliIo, options: GlobalOptions): Promise<number> {
  const { generalHelp, verbHelp } = await import("./help_text.ts");
  const topic = options.verb === "help" ? options.verbWords[0] : undefined;
  if (topic === undefined) {
    io.stdout(generalHelp(await loadAllVerbs()));
    return EXIT_OK;
  }
  const verb = await loadVerb(topic);
  if (verb === undefined) {
    return report(
      io,
      new ArgumentError(`command or command group '${topic}' doesn't exist`, topic),
    );
  }
  io.stdout(`${verbHelp(verb)}\n`);
  return EXIT_OK;
}

function defaultUri(env: Record<string, string | undefined>): string {
  const text = env.EVIRT_DEFAULT_URI;
  return text === undefined || text === "" ? DEFAULT_URI : validateUri("EVIRT_DEFAULT_URI", text);
}

/** Prints an error as virsh does and returns the failure exit code. */
function report(io: CliIo, error: unknown): number {
  for (const line of errorLines(error)) io.stderr(`error: ${line}\n`);
  // Anything but a reported failure is a bug: its stack helps, on request.
  const expected = isVirtError(error) || error instanceof CommandFailure;
  if (!expected && error instanceof Error && io.env.EVIRT_DEBUG) io.stderr(`${error.stack}\n`);
  return EXIT_FAILURE;
}

/** The real process: Deno's streams, environment and SIGINT. */
function processIo(): CliIo {
  return {
    stdout: (text) => {
      try {
        writeAll(Deno.stdout, text);
      } catch (error) {
        // A reader that went away (`evirt event --loop | head -1`) ends the command, as SIGPIPE
        // ends virsh.
        if (error instanceof Deno.errors.BrokenPipe) Deno.exit(EXIT_FAILURE);
        throw error;
      }
    },
    stdoutBytes: (bytes) => writeAllBytes(Deno.stdout, bytes),
    stderr: (text) => writeAll(Deno.stderr, text),
    stderrIsTerminal: Deno.stderr.isTerminal(),
    env: Deno.env.toObject(),
    uid: Deno.uid() ?? -1,
    onInterrupt(listener) {
      Deno.addSignalListener("SIGINT", listener);
      return () => Deno.removeSignalListener("SIGINT", listener);
    },
  };
}

function writeAll(stream: { writeSync(bytes: Uint8Array): number }, text: string): void {
  writeAllBytes(stream, new TextEncoder().encode(text));
}

function writeAllBytes(stream: { writeSync(bytes: Uint8Array): number }, all: Uint8Array): void {
  let bytes = all;
  while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
}

if (import.meta.main) Deno.exit(await runCli(Deno.args));
