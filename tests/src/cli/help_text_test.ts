import assert from "node:assert/strict";
import { generalHelp, verbHelp } from "../../../src/cli/help_text.ts";
import { loadAllVerbs } from "../../../src/cli/verb_registry.ts";

const VERBS = await loadAllVerbs();
const findVerb = (name: string) => VERBS.find((verb) => verb.name === name);

Deno.test("generalHelp lists every verb with its summary", () => {
  const text = generalHelp(VERBS);
  for (const verb of VERBS) {
    assert.match(text, new RegExp(`\\n    ${verb.name} +${verb.summary.replace(/[()]/g, ".")}\\n`));
  }
  assert.match(text, /test:\/\/\/default/);
  assert.match(text, /EVIRT_TOKEN/);
});

Deno.test("verbHelp shows the synopsis with data options and --json", () => {
  const text = verbHelp(findVerb("domstate")!);
  assert.match(text, /\n {4}domstate \[--domain\] <string> \[--reason\] \[--json\]\n/);
  assert.match(text, /\n {4}--reason +also print reason for the state\n/);
});

Deno.test("verbHelp marks optional valued options", () => {
  const text = verbHelp(findVerb("event")!);
  assert.match(text, /\[--timeout <number>\]/);
  assert.match(text, /\[\[--domain\] <string>\]/);
});

Deno.test("VERBS has one verb per name, each with a summary", () => {
  const names = VERBS.map((verb) => verb.name);
  assert.equal(new Set(names).size, names.length);
  for (const verb of VERBS) assert.ok(verb.summary.length > 0, verb.name);
});

Deno.test("verbHelp of daemon describes the service: environment and signals", async () => {
  const { daemonVerb } = await import("../../../src/cli/verbs/daemon.ts");
  const text = verbHelp(daemonVerb);
  assert.match(text, /^ {2}NAME\n {4}daemon - run the evirt service/);
  assert.match(text, /\n {2}DESCRIPTION\n {4}usage: evirt daemon/);
  assert.match(text, /SIGTERM, SIGINT {5}stop/);
});
