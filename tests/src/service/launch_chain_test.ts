import assert from "node:assert/strict";
import {
  goneLauncher,
  parseProcessStat,
  watchLaunchChain,
} from "../../../src/service/launch_chain.ts";

Deno.test("parseProcessStat reads the fields after a command name holding spaces and parentheses", () => {
  const stat = parseProcessStat(
    "4242 (a (b) c) S 41 40 39 34816 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 1 1",
  );
  assert.deepEqual(stat, {
    pid: 4242,
    command: "a (b) c",
    state: "S",
    parentPid: 41,
    processGroup: 40,
    terminal: 34816,
    startTicks: 777,
  });
});

Deno.test("parseProcessStat refuses a line without a command name", () => {
  assert.throws(() => parseProcessStat("garbage"), /Cannot parse process stat/);
});

/**
 * Runs a probe under `sh -c 'deno eval PROBE & sleep N'` in a new session: sh leads the process
 * group, the probe is in it, and sh exits after N seconds while the probe still runs.
 */
async function probeUnderShell(shellSeconds: number): Promise<string[]> {
  const module = new URL("../../../src/service/launch_chain.ts", import.meta.url).href;
  const probe = `
    import { launchChain, watchLaunchChain } from ${JSON.stringify(module)};
    const chain = launchChain();
    console.log(JSON.stringify(chain.map((each) => each.command)));
    const timer = setTimeout(() => { console.log("not told"); Deno.exit(2); }, 30000);
    watchLaunchChain(chain, (gone) => { console.log("gone " + gone.command); clearTimeout(timer); });
  `;
  const output = await new Deno.Command("sh", {
    args: ["-c", `"$0" eval "$1" & sleep ${shellSeconds}`, Deno.execPath(), probe],
    stdout: "piped",
    stderr: "inherit",
    // A new session (only `spawn` honours `detached`; `output` alone does not).
    detached: true,
  }).spawn().output();
  // The output ends when the probe, which outlives sh, has closed its stdout.
  return new TextDecoder().decode(output.stdout).trim().split("\n");
}

Deno.test("watchLaunchChain tells when a launcher in the process group exits", {
  ignore: Deno.build.os !== "linux",
}, async () => {
  assert.deepEqual(await probeUnderShell(3), ['["sh"]', "gone sh"]);
});

Deno.test("watchLaunchChain of an empty chain watches nothing", () => {
  const stop = watchLaunchChain([], () => assert.fail("told of nothing"));
  stop();
  assert.equal(goneLauncher([]), undefined);
});
