/**
 * Container networking on the LXC driver, inside a network namespace this test makes: the
 * scenarios of `_lxc_network_in_netns.ts` run in a `deno test` under `unshare --net`, so the
 * bridge, the veth pairs and the addresses never touch the host's namespace (it ends with the
 * child, and everything in it). The child kills its containers by pid.
 */

import assert from "node:assert/strict";
import { missing, repoDir, testIf } from "../support/environment.ts";
import { containerSkipReason } from "./_lxc_rig.ts";

/** Longest run of the scenarios, in ms. */
const RUN_TIMEOUT_MS = 120_000;

testIf(
  "container networking (veth on a bridge, addresses, routes, ping, domifstat, cleanup) in a network namespace",
  containerSkipReason() ?? missing("ip", "nsenter"),
  async () => {
    const output = await new Deno.Command("unshare", {
      args: [
        "--net",
        "--",
        Deno.execPath(),
        "test",
        "--allow-all",
        "--no-check",
        `${repoDir}/tests/integration/_lxc_network_in_netns.ts`,
      ],
      cwd: repoDir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(RUN_TIMEOUT_MS),
    }).output();
    const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
    assert.ok(output.success, text);
    assert.match(text, /ok \| 2 passed \| 0 failed/, text);
  },
);
