import assert from "node:assert/strict";
import {
  CHAIN_COMMANDS_MAX,
  isCommandString,
  splitCommandString,
} from "../../../src/cli/command_chain.ts";
import { ArgumentError } from "../../../src/cli/arguments.ts";

Deno.test("a command string splits at ';' and blanks, skipping empty commands", () => {
  assert.deepEqual(splitCommandString("suspend test;;  domstate --reason test ;"), [
    ["suspend", "test"],
    ["domstate", "--reason", "test"],
  ]);
});

Deno.test("quotes keep blanks and ';', a backslash escapes one character", () => {
  assert.deepEqual(splitCommandString(`desc test 'a; b' "c d" e\\;f`), [
    ["desc", "test", "a; b", "c d", "e;f"],
  ]);
  assert.deepEqual(splitCommandString(`desc test ''`), [["desc", "test", ""]]);
});

Deno.test("an unterminated quote or escape is refused", () => {
  assert.throws(() => splitCommandString("desc 'x"), ArgumentError);
  assert.throws(() => splitCommandString("desc x\\"), ArgumentError);
});

Deno.test("a string with too many commands is refused", () => {
  assert.throws(() => splitCommandString("list;".repeat(CHAIN_COMMANDS_MAX + 1)), ArgumentError);
  assert.equal(splitCommandString("list;".repeat(CHAIN_COMMANDS_MAX)).length, CHAIN_COMMANDS_MAX);
});

Deno.test("only a single argument with blanks, quotes or ';' is a command string", () => {
  assert.equal(isCommandString(["list; list"]), true);
  assert.equal(isCommandString(["dominfo test"]), true);
  assert.equal(isCommandString(["list"]), false);
  assert.equal(isCommandString(["list", "--all"]), false);
});
