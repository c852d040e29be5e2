import assert from "node:assert/strict";
import { bashCompletion, zshCompletion } from "../../../src/cli/completion.ts";
import { loadAllVerbs } from "../../../src/cli/verb_registry.ts";
import { verbOptions } from "../../../src/cli/verb.ts";
import { missing, testIf } from "../../support/environment.ts";

const verbs = await loadAllVerbs();

/** Runs bash's completion function on `words` (the last is the word being completed). */
async function bashComplete(script: string, words: string[]): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-completion-" });
  try {
    await Deno.writeTextFile(`${dir}/evirt.bash`, script);
    const program = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _evirt; ` +
      `printf '%s\\n' "\${COMPREPLY[@]}"`;
    const output = await new Deno.Command("bash", {
      args: ["--norc", "-c", program, "bash", `${dir}/evirt.bash`, ...words],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    assert.equal(new TextDecoder().decode(output.stderr), "");
    return new TextDecoder().decode(output.stdout).split("\n").filter((line) => line !== "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

testIf("the bash script registers _evirt for evirt (complete -p)", missing("bash"), async () => {
  const output = await new Deno.Command("bash", {
    args: [
      "--norc",
      "-c",
      'source /dev/stdin <<< "$1"; complete -p evirt',
      "bash",
      bashCompletion(verbs),
    ],
    stdout: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(output.stdout), "complete -F _evirt evirt\n");
});

testIf("bash completes every verb of the table from its prefix", missing("bash"), async () => {
  const script = bashCompletion(verbs);
  assert.deepEqual(await bashComplete(script, ["evirt", "shut"]), ["shutdown"]);
  const all = await bashComplete(script, ["evirt", ""]);
  assert.deepEqual(all, [...verbs.map((verb) => verb.name), "help"]);
});

testIf("bash completes a verb's own options after global options", missing("bash"), async () => {
  const script = bashCompletion(verbs);
  assert.deepEqual(
    await bashComplete(script, ["evirt", "-c", "test:///default", "shutdown", "web", "--w"]),
    ["--wait"],
  );
  const shutdown = verbs.find((verb) => verb.name === "shutdown")!;
  assert.deepEqual(
    await bashComplete(script, ["evirt", "shutdown", "--"]),
    [...verbOptions(shutdown).map((option) => `--${option.name}`), "--help"],
  );
  assert.deepEqual(await bashComplete(script, ["evirt", "--read"]), ["--readonly"]);
  assert.deepEqual(await bashComplete(script, ["evirt", "-c", "te"]), ["test:///default"]);
});

testIf("the zsh script is valid zsh and names every verb and option", missing("zsh"), async () => {
  const script = zshCompletion(verbs);
  const output = await new Deno.Command("zsh", {
    args: ["-n", "-c", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  assert.ok(script.startsWith("#compdef evirt\n"));
  for (const verb of verbs) {
    assert.ok(script.includes(`\n    '${verb.name}:`), verb.name);
    for (const option of verbOptions(verb)) {
      assert.ok(script.includes(`'--${option.name}:`), `${verb.name} --${option.name}`);
    }
  }
});
