/**
 * When accepting fails for want of descriptors (something other than connections used them up),
 * the service reports it, pauses its accept loop and recovers once descriptors are free: never an
 * uncaught error, never a dead listener.
 */

import assert from "node:assert/strict";
import { EvirtClient, unixTransport } from "../../src/client/client.ts";
import { missing, testIf } from "../support/environment.ts";

/** The worker's descriptor limit: far below its pools' configured sizes. */
const WORKER_DESCRIPTORS_MAX = 200;
const FLOOD_CONNECTIONS = 600;
const WAIT_MAX_MS = 30_000;

testIf(
  "service survives running out of descriptors while accepting, and serves again once they are free",
  Deno.build.os === "linux" ? missing("prlimit") : "needs Linux",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "evirt-accept-" });
    const worker = new Deno.Command("prlimit", {
      args: [
        `--nofile=${WORKER_DESCRIPTORS_MAX}:${WORKER_DESCRIPTORS_MAX}`,
        Deno.execPath(),
        "run",
        "-A",
        new URL("./_accept_exhaustion_worker.ts", import.meta.url).pathname,
        dir,
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let stderr = "";
    const reading = (async () => {
      for await (const chunk of worker.stderr.pipeThrough(new TextDecoderStream())) {
        stderr += chunk;
      }
    })();
    const stdout = worker.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const held: Deno.Conn[] = [];
    try {
      const first = await stdout.read();
      assert.match(first.value ?? "", /ready/, `the worker did not start:\n${stderr}`);
      for (let index = 0; index < FLOOD_CONNECTIONS; index++) {
        held.push(await Deno.connect({ transport: "unix", path: `${dir}/evirt-ro.sock` }));
      }
      const deadline = Date.now() + WAIT_MAX_MS;
      while (!/accept failed/.test(stderr) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.match(stderr, /evirt-ro\.sock: accept failed \d+ time\(s\): Too many open files/);
      for (const conn of held.splice(0)) conn.close();
      // Descriptors are free again: the read-write socket answers, within the accept loop's
      // back-off and the header timeout that frees the idle ones.
      const client = new EvirtClient(unixTransport(`${dir}/evirt.sock`));
      let answered = false;
      while (!answered && Date.now() < deadline) {
        try {
          await client.listDomains();
          answered = true;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
      assert.ok(answered, `the service never answered again:\n${stderr}`);
      // The listener that failed accepts again too.
      const readOnly = new EvirtClient(unixTransport(`${dir}/evirt-ro.sock`));
      assert.deepEqual(await readOnly.listDomains(), []);
      assert.doesNotMatch(stderr, /Uncaught/);
    } finally {
      for (const conn of held) conn.close();
      worker.kill("SIGTERM");
      const status = await worker.status;
      await stdout.cancel();
      await reading;
      await Deno.remove(dir, { recursive: true });
      assert.equal(status.code, 0, `the worker did not stop cleanly:\n${stderr}`);
    }
  },
);
