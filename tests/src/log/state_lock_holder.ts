/**
 * A child process for the lock tests: opens the event log in the directory given as the first
 * argument, optionally starts a long-lived grandchild (as the service starts QEMU), prints
 * `locked <grandchild pid or 0>` and waits to be killed.
 *
 * Usage: `deno run -A state_lock_holder.ts <stateDir> [--spawn-child]`
 *
 * @module
 */

import { openSqliteStore } from "../../../src/log/sqlite_store.ts";

/** How long the holder waits before giving up on being killed, in ms. */
const HOLD_MAX_MS = 60_000;

const [stateDir, flag] = Deno.args;
const store = await openSqliteStore(stateDir);
let grandchildPid = 0;
if (flag === "--spawn-child") {
  const child = new Deno.Command("sleep", { args: ["60"], stdin: "null", stdout: "null" }).spawn();
  grandchildPid = child.pid;
}
console.log(`locked ${grandchildPid}`);
await new Promise((resolve) => setTimeout(resolve, HOLD_MAX_MS));
await store.close();
