/**
 * `edit`: edits a domain's persistent XML in `$VISUAL` or `$EDITOR` (default `vi`) and defines
 * the result, as virsh does: an unchanged file defines nothing ("not changed", no new fact); a
 * file the service refuses is reported and, on a terminal, the user is asked "Failed. Try again?
 * [y,n,i,f,?]" (y: edit again, f: define the same file again, n: give up; i is taken as y:
 * evirt always validates). Without a terminal the refusal ends the command.
 *
 * @module
 */

import type { VerbArguments } from "../arguments.ts";
import { CommandFailure, domainCommand, errorLines } from "../command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/** Longest an editor may run, in ms (a day: a person edits; the wait still has a bound). */
export const EDITOR_TIMEOUT_MS = 24 * 3600_000;

/** Most re-edits one `edit` allows. */
export const REEDITS_MAX = 100;

/**
 * The `edit` verb.
 *
 * @example
 * ```sh
 * EDITOR=nano evirt edit web   # Domain 'web' XML configuration edited.
 * ```
 */
export const editVerb: Verb = {
  name: "edit",
  summary: "edit XML configuration for a domain",
  options: [DOMAIN_OPTION],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const original = await domainCommand(
      reference,
      undefined,
      () => context.client.xml(reference, { inactive: true, secure: true }),
    );
    const name = await context.client.info(reference).then((info) => info.name, () => reference);
    await editDocument(context, {
      name,
      original,
      define: async (xml) => (await context.client.define({ xml })).name,
      notChanged: (name) => `Domain '${name}' XML configuration not changed.\n`,
      edited: (name) => `Domain '${name}' XML configuration edited.\n`,
    });
  },
};

/** What {@linkcode editDocument} edits and how it says so. */
export interface EditedDocument {
  /** The object's name (for the file name and the messages). */
  name: string;
  /** The document as the service gave it. */
  original: string;
  /** Defines the edited document; the defined object's name. */
  define(xml: string): Promise<string>;
  /** The line for an unchanged document. */
  notChanged(name: string): string;
  /** The line for an edited one. */
  edited(name: string): string;
}

/**
 * virsh's edit loop: the document in a temporary file, the editor, then a define of the
 * result; unchanged defines nothing; a refusal asks again on a terminal.
 *
 * @throws {CommandFailure} `Failed.` with the refusal, or the editor's failure.
 */
export async function editDocument(context: VerbContext, document: EditedDocument): Promise<void> {
  const { name, original } = document;
  const file = await Deno.makeTempFile({ prefix: `evirt-${safe(name)}-`, suffix: ".xml" });
  try {
    await Deno.writeTextFile(file, original);
    let edit = true;
    for (let round = 0; round < REEDITS_MAX; round++) {
      if (edit) await runEditor(context, file);
      const edited = await Deno.readTextFile(file);
      if (edited === original) {
        context.printExtra(document.notChanged(name));
        return;
      }
      try {
        context.printExtra(document.edited(await document.define(edited)));
        return;
      } catch (error) {
        const answer = await askReedit(context, error);
        if (answer === "n") throw new CommandFailure("Failed.", error);
        edit = answer === "y";
      }
    }
    throw new CommandFailure(`Failed: more than ${REEDITS_MAX} attempts`);
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 32);
}

/** Runs `$VISUAL`, `$EDITOR` or `vi` on `file` through the shell, as virsh does. */
async function runEditor(context: VerbContext, file: string): Promise<void> {
  const editor = context.io.env.VISUAL || context.io.env.EDITOR || "vi";
  const quoted = `'${file.replaceAll("'", "'\\''")}'`;
  const child = new Deno.Command("sh", {
    args: ["-c", `${editor} ${quoted}`],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
    signal: AbortSignal.timeout(EDITOR_TIMEOUT_MS),
  }).spawn();
  const status = await child.status;
  if (!status.success) {
    throw new CommandFailure(`${editor}: command exited with status ${status.code}`);
  }
}

/**
 * Shows why the definition was refused and asks what to do; "n" without a terminal.
 */
async function askReedit(context: VerbContext, error: unknown): Promise<"y" | "n" | "f"> {
  if (!Deno.stdin.isTerminal()) return "n";
  for (const line of errorLines(error)) context.io.stderr(`error: ${line}\n`);
  for (let asked = 0; asked < REEDITS_MAX; asked++) {
    context.io.stderr("Failed. Try again? [y,n,i,f,?]: ");
    const answer = (await readLine()).trim().toLowerCase();
    if (answer === "y" || answer === "i") return "y";
    if (answer === "f") return "f";
    if (answer === "n" || answer === "") return "n";
    context.io.stderr(
      "y - yes, start editor again\n" +
        "n - no, throw away my changes\n" +
        "i - turn off validation and try to redefine again (evirt always validates: as y)\n" +
        "f - force, try to redefine again\n" +
        "? - print this help\n",
    );
  }
  return "n";
}

/** One line of standard input (at most 1 KiB); empty at end of input. */
async function readLine(): Promise<string> {
  const buffer = new Uint8Array(1024);
  const count = await Deno.stdin.read(buffer);
  return count === null ? "" : new TextDecoder().decode(buffer.subarray(0, count)).split("\n")[0];
}
