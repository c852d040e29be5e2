import assert from "node:assert/strict";
import { goneLauncher, watchLaunchChain } from "../../../src/service/launch_chain.ts";

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
