/**
 * `evirt edit` on a terminal (`script` gives it one): a refused file is reported and the user is
 * asked "Failed. Try again? [y,n,i,f,?]"; `y` runs the editor again and the fixed file is
 * defined, `n` gives up with nothing changed.
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { withTempDir } from "../support/temp_dir.ts";
import { CLI_PATH } from "../support/cli_process.ts";

/** How long one edit session may take, in ms. */
const SESSION_TIMEOUT_MS = 60_000;

/** An editor that breaks the file on its first run and fixes it (3 vCPUs) on the next. */
function editorScript(counter: string): string {
  return `#!/bin/sh
n=$(cat '${counter}' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '${counter}'
if [ $n -eq 1 ]; then
  sed -i 's/<memory/<memoryX/; s/<\\/memory>/<\\/memoryX>/' "$1"
else
  sed -i 's/<memoryX/<memory/; s/<\\/memoryX>/<\\/memory>/; s/>2<\\/vcpu>/>3<\\/vcpu>/' "$1"
fi
`;
}

async function session(dir: string, answer: string): Promise<{ code: number; output: string }> {
  const editor = `${dir}/editor.sh`;
  await Deno.writeTextFile(editor, editorScript(`${dir}/count`));
  await Deno.chmod(editor, 0o755);
  const command = `'${Deno.execPath()}' run --allow-all '${CLI_PATH}' -c test:///default ` +
    `'edit test; dumpxml test --inactive --xpath //vcpu/text()'`;
  const child = new Deno.Command("script", {
    args: ["-qec", command, "/dev/null"],
    env: { EDITOR: editor, VISUAL: "", NO_COLOR: "1", EVIRT_DEFAULT_URI: "" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(SESSION_TIMEOUT_MS),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`${answer}\n`));
  await writer.close();
  const { code, stdout } = await child.output();
  return { code, output: new TextDecoder().decode(stdout).replaceAll("\r", "") };
}

testIf(
  "edit asks to try again on a terminal and defines the file fixed in the second edit",
  missing("script"),
  async () => {
    await withTempDir("evirt-edit-tty-", async (dir) => {
      const { code, output } = await session(dir, "y");
      assert.equal(code, 0, output);
      assert.match(output, /error: XML error: .*\n/);
      assert.match(output, /Failed\. Try again\? \[y,n,i,f,\?\]: /);
      assert.match(output, /Domain 'test' XML configuration edited\.\n/);
      assert.match(output, /\n3\n/);
      assert.equal(await Deno.readTextFile(`${dir}/count`), "2\n");
    });
  },
);

testIf(
  "edit gives up on n and changes nothing",
  missing("script"),
  async () => {
    await withTempDir("evirt-edit-tty-", async (dir) => {
      const { output } = await session(dir, "n");
      assert.match(output, /Failed\. Try again\? \[y,n,i,f,\?\]: /);
      assert.doesNotMatch(output, /configuration edited/);
      assert.match(output, /\n2\n/);
      assert.equal(await Deno.readTextFile(`${dir}/count`), "1\n");
    });
  },
);
