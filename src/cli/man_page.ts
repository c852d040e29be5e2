/**
 * The `evirt.1` man page, generated from the same tables as `evirt help` and `evirt help VERB`:
 * the global options, the connection URIs, and every verb's summary, synopsis, options and
 * description.
 *
 * @module
 */

import {
  CONNECTION_URIS,
  GLOBAL_OPTIONS,
  globalOptionLabel,
  JSON_NOTE,
  optionLabel,
  verbSynopsis,
} from "./help_text.ts";
import { type Verb, verbOptions } from "./verb.ts";

/**
 * Escapes text for roff: backslashes, hyphens (as minus signs, so options copy and paste), and a
 * leading `.` or `'` that roff would read as a request.
 */
export function roffText(text: string): string {
  const escaped = text.replaceAll("\\", "\\e").replaceAll("-", "\\-");
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

/** A block of preformatted lines (`.nf` … `.fi`), each escaped. */
function preformatted(text: string): string {
  const lines = text.trimEnd().split("\n").map((line) => line === "" ? ".sp" : roffText(line));
  return `.nf\n${lines.join("\n")}\n.fi\n`;
}

/**
 * The man page, in roff (`man -l evirt.1` renders it).
 *
 * @param verbs Every verb (`loadAllVerbs()`).
 * @param version The version for the page's footer.
 *
 * @example
 * ```ts ignore
 * await Deno.writeTextFile("evirt.1", manPage(await loadAllVerbs(), VERSION));
 * ```
 */
export function manPage(verbs: readonly Verb[], version: string): string {
  const options = GLOBAL_OPTIONS.map((option) =>
    `.TP\n.B ${roffText(globalOptionLabel(option))}\n${roffText(option.help)}\n`
  ).join("");
  const uris = CONNECTION_URIS.map(([uri, help]) => `.TP\n.B ${roffText(uri)}\n${roffText(help)}\n`)
    .join("");
  const commands = verbs.map((verb) => {
    const verbOptionLines = verbOptions(verb).map((option) =>
      `.TP\n.B ${roffText(optionLabel(option))}\n${roffText(option.help)}\n`
    ).join("");
    const description = verb.description === undefined
      ? ""
      : `.PP\n${preformatted(verb.description)}`;
    return `.SS ${roffText(verb.name)}\n${roffText(verb.summary)}\n.PP\n.B evirt ${
      roffText(verbSynopsis(verb))
    }\n${verbOptionLines === "" ? "" : `.RS\n${verbOptionLines}.RE\n`}${description}`;
  }).join("");
  return `.TH EVIRT 1 "" "evirt ${roffText(version)}" "User Commands"
.SH NAME
evirt \\- manage virtual machines through the evirt service, with virsh's verbs
.SH SYNOPSIS
.B evirt
[\\fIOPTION\\fR]... \\fIcommand\\fR [\\fIARG\\fR]...
.SH DESCRIPTION
evirt speaks libvirt's vocabulary: domain XML, states and reasons, lifecycle events, virsh's
verbs, output layouts and exit codes. A single argument holding \\fB;\\fR is a virsh command
string: every command is checked first, then they run in order on one connection.
${roffText(JSON_NOTE)}
.SH OPTIONS
${options}.SH CONNECTION URIS
${uris}.SH COMMANDS
${commands}.SH EXIT STATUS
0 on success, 1 on failure, as virsh; \\fBevent\\fR exits 1 when no event came.
.SH SEE ALSO
.BR virsh (1)
`;
}
