/**
 * Child process of api_bench.ts: opens COUNT Server-Sent Events subscriptions to the service on
 * SOCKET, reads every event after SINCE up to TARGET, and writes when each subscriber received
 * each position (ms on the shared clock, `performance.timeOrigin + performance.now()`) to OUT as
 * little-endian float64s, subscriber after subscriber.
 *
 * Usage: _sse_subscribers.ts SOCKET COUNT SINCE TARGET OUT
 *
 * It prints `ready` once every subscription is open.
 *
 * @module
 */

const [socketPath, countText, sinceText, targetText, outPath] = Deno.args;
const count = Number(countText);
const since = Number(sinceText);
const target = Number(targetText);
const span = target - since;
const received = new Float64Array(count * span);
const client = Deno.createHttpClient({ proxy: { transport: "unix", path: socketPath } });
let open = 0;

async function subscribe(index: number): Promise<void> {
  const response = await fetch(`http://evirt/v1/events?since=${since}`, { client });
  open++;
  if (open === count) console.log("ready");
  const decoder = new TextDecoder();
  let buffer = "";
  let last = since;
  for await (const chunk of response.body!) {
    const now = performance.timeOrigin + performance.now();
    buffer += decoder.decode(chunk, { stream: true });
    let start = 0;
    for (;;) {
      // Every message follows a blank line, so its id line starts after a newline.
      const idAt = buffer.indexOf("\nid: ", start);
      if (idAt === -1) break;
      const end = buffer.indexOf("\n", idAt + 1);
      if (end === -1) break;
      const position = Number(buffer.slice(idAt + 5, end));
      if (position !== last + 1) throw new Error(`subscriber ${index}: ${position} after ${last}`);
      received[index * span + (position - since - 1)] = now;
      last = position;
      start = end;
    }
    buffer = buffer.slice(start);
    if (last >= target) break;
  }
}

await Promise.all(Array.from({ length: count }, (_, index) => subscribe(index)));
await Deno.writeFile(outPath, new Uint8Array(received.buffer));
client.close();
