import assert from "node:assert/strict";
import {
  ArgumentError,
  type OptionSpec,
  parseGlobalOptions,
  parseVerbArguments,
} from "../../../src/cli/arguments.ts";

const DOMAIN: OptionSpec = {
  name: "domain",
  kind: "string",
  help: "",
  positional: true,
  required: true,
};
const SPECS: OptionSpec[] = [
  DOMAIN,
  { name: "file", kind: "string", help: "", positional: true },
  { name: "reason", kind: "bool", help: "" },
  { name: "timeout", kind: "integer", help: "", min: 1, max: 100 },
  { name: "key", kind: "string", help: "" },
];

function refusal(words: string[], specs: OptionSpec[] = SPECS): ArgumentError {
  try {
    parseVerbArguments("verb", specs, words);
  } catch (error) {
    assert.ok(error instanceof ArgumentError, `expected an ArgumentError, got ${error}`);
    return error;
  }
  assert.fail(`${JSON.stringify(words)} was accepted`);
}

Deno.test("parseVerbArguments fills data options from plain words in order", () => {
  const parsed = parseVerbArguments("verb", SPECS, ["test", "a.xml", "--reason"]);
  assert.equal(parsed.text("domain"), "test");
  assert.equal(parsed.text("file"), "a.xml");
  assert.equal(parsed.flag("reason"), true);
});

Deno.test("parseVerbArguments takes the --name form and --name=value", () => {
  const parsed = parseVerbArguments("verb", SPECS, ["--file=b.xml", "--domain", "web"]);
  assert.equal(parsed.text("domain"), "web");
  assert.equal(parsed.text("file"), "b.xml");
  assert.equal(parsed.flag("reason"), false);
  assert.equal(parsed.has("key"), false);
});

Deno.test("parseVerbArguments skips data options already given by name", () => {
  const parsed = parseVerbArguments("verb", SPECS, ["--domain", "web", "c.xml"]);
  assert.equal(parsed.text("file"), "c.xml");
});

Deno.test("parseVerbArguments treats every word after -- as data", () => {
  const parsed = parseVerbArguments("verb", SPECS, ["--", "--weird-name"]);
  assert.equal(parsed.text("domain"), "--weird-name");
});

Deno.test("parseVerbArguments parses integers within their bounds", () => {
  assert.equal(parseVerbArguments("verb", SPECS, ["x", "--timeout", "5"]).integer("timeout"), 5);
  for (const text of ["0", "101", "-1", "1.5", "five", ""]) {
    assert.equal(
      refusal(["x", "--timeout", text]).message,
      `Numeric value '${text}' for <timeout> option is malformed or out of range`,
    );
  }
});

Deno.test("parseVerbArguments collects the remaining words into a rest option", () => {
  const specs: OptionSpec[] = [DOMAIN, { name: "new-desc", kind: "string", help: "", rest: true }];
  const parsed = parseVerbArguments("desc", specs, ["web", "a", "new", "--", "--text"]);
  assert.equal(parsed.text("new-desc"), "a new --text");
});

Deno.test("VerbArguments.list keeps a rest option's words apart", () => {
  const specs: OptionSpec[] = [{ name: "domain", kind: "string", help: "", rest: true }];
  const parsed = parseVerbArguments("domstats", specs, ["web", "my vm", "db"]);
  assert.deepEqual(parsed.list("domain"), ["web", "my vm", "db"]);
  assert.deepEqual(parseVerbArguments("domstats", specs, []).list("domain"), []);
});

Deno.test("parseVerbArguments refuses an unknown option with virsh's message", () => {
  const error = refusal(["x", "--bogus"]);
  assert.equal(error.message, "command 'verb' doesn't support option --bogus");
  assert.equal(error.where, "--bogus");
});

Deno.test("parseVerbArguments refuses a missing required option", () => {
  assert.equal(refusal([]).message, "command 'verb' requires <domain> option");
  const named: OptionSpec[] = [{ name: "uri", kind: "string", help: "", required: true }];
  assert.equal(refusal([], named).message, "command 'verb' requires --uri option");
});

Deno.test("parseVerbArguments refuses an extra word", () => {
  assert.equal(refusal(["x", "y", "z"]).message, "unexpected data 'z'");
});

Deno.test("parseVerbArguments refuses an option given twice", () => {
  assert.equal(refusal(["x", "--reason", "--reason"]).message, "option --reason already seen");
  assert.equal(refusal(["x", "--domain", "y"]).message, "option --domain already seen");
});

Deno.test("parseVerbArguments refuses a missing value and a value for a flag", () => {
  assert.equal(refusal(["x", "--key"]).message, "expected syntax: --key <string>");
  assert.equal(refusal(["x", "--timeout"]).message, "expected syntax: --timeout <number>");
  assert.equal(refusal(["x", "--reason=yes"]).message, "option --reason does not take a value");
});

Deno.test("VerbArguments.required refuses an option the specs do not require", () => {
  const parsed = parseVerbArguments("verb", SPECS, ["x"]);
  assert.throws(() => parsed.required("key"), /Option --key is not a given string option/);
});

Deno.test("parseGlobalOptions reads options up to the verb", () => {
  const options = parseGlobalOptions(["-c", "test:///default", "-r", "-q", "list", "-c", "x"]);
  assert.equal(options.connect, "test:///default");
  assert.equal(options.readonly, true);
  assert.equal(options.quiet, true);
  assert.equal(options.verb, "list");
  assert.deepEqual(options.verbWords, ["-c", "x"]);
});

Deno.test("parseGlobalOptions takes --connect=URI, -cURI and --token", () => {
  assert.equal(parseGlobalOptions(["--connect=evirt:///system"]).connect, "evirt:///system");
  assert.equal(parseGlobalOptions(["-ctest:///default"]).connect, "test:///default");
  assert.equal(parseGlobalOptions(["--token", "s3cret", "list"]).token, "s3cret");
  const none = parseGlobalOptions([]);
  assert.equal(none.verb, undefined);
  assert.equal(none.help, false);
});

Deno.test("parseGlobalOptions reads --help and --version", () => {
  assert.equal(parseGlobalOptions(["-h"]).help, true);
  assert.equal(parseGlobalOptions(["--version"]).version, true);
});

Deno.test("parseGlobalOptions refuses an unknown option and a missing URI", () => {
  assert.throws(
    () => parseGlobalOptions(["--bogus", "list"]),
    (error: Error) =>
      error instanceof ArgumentError &&
      error.message === "unsupported option '--bogus'. See --help.",
  );
  assert.throws(
    () => parseGlobalOptions(["-c"]),
    (error: Error) =>
      error instanceof ArgumentError && error.message === "option '-c' requires an argument",
  );
});
