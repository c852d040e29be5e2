/**
 * Child process of bench/define_load_bench.ts: a second caller that defines one body in a loop
 * over the service's unix socket until its stdin closes, so the load's own work (building and
 * sending a 4 MiB request) never runs on the measured service's loop.
 *
 * Arguments: socket path, body file, expected HTTP status. Prints `ready` once its first
 * define was answered, then, when stdin closes, one JSON line: each define's ms.
 *
 * @module
 */

import { unixTransport } from "../src/client/client.ts";

const [socketPath, bodyPath, expected] = Deno.args;
const body = await Deno.readTextFile(bodyPath);
const transport = unixTransport(socketPath);
let stopped = false;
const stdinClosed = (async () => {
  for await (const _ of Deno.stdin.readable) {
    // Any input, then the close, ends the loop.
  }
  stopped = true;
})();
const msEach: number[] = [];
let announced = false;
while (!stopped) {
  const started = performance.now();
  const response = await transport.direct({
    method: "POST",
    target: "/v1/domains",
    headers: { "content-type": "application/xml" },
    body,
  });
  const text = await response.text();
  if (String(response.status) !== expected) {
    console.error(`define answered ${response.status}: ${text.slice(0, 300)}`);
    Deno.exit(1);
  }
  msEach.push(performance.now() - started);
  if (!announced) {
    console.log("ready");
    announced = true;
  }
}
await stdinClosed;
console.log(JSON.stringify(msEach));
