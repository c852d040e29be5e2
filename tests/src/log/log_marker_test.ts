import assert from "node:assert/strict";
import { LogMarkerWriter, MARKER_SLOT_BYTES, readLogMarker } from "../../../src/log/log_marker.ts";

async function withMarker(fn: (path: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "evirt-marker-" });
  try {
    await fn(`${dir}/events.mark`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readLogMarker() reads the head written last", async () => {
  await withMarker((path) => {
    const writer = LogMarkerWriter.open(path, "log-a");
    writer.write(1, true);
    writer.write(2);
    writer.write(3);
    writer.close();
    assert.deepEqual(readLogMarker(path), {
      kind: "present",
      marker: { logId: "log-a", headPosition: 3 },
    });
    assert.equal(Deno.statSync(path).size, 2 * MARKER_SLOT_BYTES);
  });
});

Deno.test("readLogMarker() falls back to the other slot when the last write was torn", async () => {
  await withMarker((path) => {
    const writer = LogMarkerWriter.open(path, "log-a");
    writer.write(7, true);
    writer.write(8);
    writer.close();
    // The write of head 8 went to slot 0 (sequence 2); tear it.
    const bytes = Deno.readFileSync(path);
    bytes.fill(0, 40, 120);
    Deno.writeFileSync(path, bytes);
    assert.deepEqual(readLogMarker(path), {
      kind: "present",
      marker: { logId: "log-a", headPosition: 7 },
    });
  });
});

Deno.test("readLogMarker() says damaged when no slot is valid, and absent without a file", async () => {
  await withMarker((path) => {
    assert.deepEqual(readLogMarker(path), { kind: "absent" });
    Deno.writeTextFileSync(path, "not a marker");
    assert.equal(readLogMarker(path).kind, "damaged");
  });
});

Deno.test("LogMarkerWriter.write() at a new open overwrites both slots", async () => {
  await withMarker((path) => {
    const first = LogMarkerWriter.open(path, "log-a");
    for (let head = 1; head <= 5; head++) first.write(head);
    first.close();
    const second = LogMarkerWriter.open(path, "log-b");
    second.write(0, true);
    second.close();
    assert.deepEqual(readLogMarker(path), {
      kind: "present",
      marker: { logId: "log-b", headPosition: 0 },
    });
  });
});
