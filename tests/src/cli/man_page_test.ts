import assert from "node:assert/strict";
import { manPage, roffText } from "../../../src/cli/man_page.ts";
import { GLOBAL_OPTIONS, verbSynopsis } from "../../../src/cli/help_text.ts";
import { loadAllVerbs } from "../../../src/cli/verb_registry.ts";
import { VERSION } from "../../../src/model/version.ts";
import { missing, testIf } from "../../support/environment.ts";

const verbs = await loadAllVerbs();
const page = manPage(verbs, VERSION);

Deno.test("roffText escapes backslashes, hyphens and a leading request character", () => {
  assert.equal(roffText("a\\b --x"), "a\\eb \\-\\-x");
  assert.equal(roffText(".not a request"), "\\&.not a request");
  assert.equal(roffText("'quoted"), "\\&'quoted");
});

Deno.test("the man page has roff's sections and one subsection per verb", () => {
  assert.match(page, /^\.TH EVIRT 1 "" "evirt [0-9.]+" "User Commands"\n\.SH NAME\n/);
  for (const section of ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "SEE ALSO"]) {
    assert.ok(page.includes(`\n.SH ${section}\n`), section);
  }
  for (const verb of verbs) {
    assert.ok(page.includes(`\n.SS ${roffText(verb.name)}\n`), verb.name);
    assert.ok(page.includes(`\n.B evirt ${roffText(verbSynopsis(verb))}\n`), verb.name);
  }
  for (const option of GLOBAL_OPTIONS) assert.ok(page.includes(roffText(option.help)));
  // No line may start a request by accident: every text line is escaped.
  for (const line of page.split("\n")) {
    if (line.startsWith("'")) assert.fail(`unescaped line: ${line}`);
  }
});

testIf("man -l renders the page with groff and no warnings", missing("man", "groff"), async () => {
  const dir = await Deno.makeTempDir({ prefix: "evirt-man-" });
  try {
    await Deno.writeTextFile(`${dir}/evirt.1`, page);
    const warnings = await new Deno.Command("groff", {
      args: ["-man", "-Tutf8", "-ww", "-z", `${dir}/evirt.1`],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    assert.equal(warnings.code, 0);
    assert.equal(new TextDecoder().decode(warnings.stderr), "");
    const rendered = await new Deno.Command("man", {
      args: ["-l", `${dir}/evirt.1`],
      env: { MANWIDTH: "100", MAN_KEEP_FORMATTING: "", MANPAGER: "cat", PAGER: "cat" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    assert.equal(rendered.code, 0, new TextDecoder().decode(rendered.stderr));
    // Overstrike (bold as `X BACKSPACE X`) is dropped: what remains is the text a reader sees.
    const text = new TextDecoder().decode(rendered.stdout).replace(
      new RegExp(`.${String.fromCharCode(8)}`, "g"),
      "",
    );
    assert.match(text, /^EVIRT\(1\) +User Commands +EVIRT\(1\)/);
    assert.match(text, /\n {3}shutdown\n {7}gracefully shutdown a domain\n/);
    assert.match(text, /--wait\[=<number>\]/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
