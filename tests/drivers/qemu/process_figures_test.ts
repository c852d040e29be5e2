import assert from "node:assert/strict";
import {
  parseCpusAllowed,
  parseProcessFigures,
  parseSchedstat,
  readProcText,
} from "../../../drivers/qemu/process_figures.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";

/** A stat line with utime, stime, rss and processor set, everything else 0. */
function statLine(name: string, user: number, system: number, rss: number, cpu: number): string {
  const fields = Array.from({ length: 50 }, () => "0");
  fields[0] = "S";
  fields[11] = String(user);
  fields[12] = String(system);
  fields[21] = String(rss);
  fields[36] = String(cpu);
  return `4242 (${name}) ${fields.join(" ")}\n`;
}

Deno.test("parseProcessFigures reads CPU times, resident memory and the last CPU", () => {
  assert.deepEqual(parseProcessFigures(statLine("qemu-system-x86", 250, 50, 2048, 1), "stat"), {
    userNs: 2_500_000_000,
    systemNs: 500_000_000,
    rssKiB: 8192,
    processor: 1,
  });
});

Deno.test("parseProcessFigures finds the fields after a name with spaces and parentheses", () => {
  const figures = parseProcessFigures(statLine("CPU 0/TCG (x)", 3, 4, 5, 0), "stat");
  assert.equal(figures.userNs, 30_000_000);
  assert.equal(figures.rssKiB, 20);
});

Deno.test("parseProcessFigures refuses a truncated or non-numeric line naming the file", () => {
  for (
    const text of [
      "4242 (qemu) S 1 2 3",
      "garbage",
      statLine("q", 1, 2, 3, 4).replace(" 1 ", " x "),
    ]
  ) {
    assert.throws(
      () => parseProcessFigures(text, "/proc/4242/stat"),
      (error) =>
        error instanceof VirtError && error.code === ErrorCode.INTERNAL_ERROR &&
        error.where === "/proc/4242/stat",
    );
  }
});

Deno.test("parseSchedstat reads run and wait time and refuses other text", () => {
  assert.deepEqual(parseSchedstat("1200 300 7\n", "schedstat"), { runNs: 1200, waitNs: 300 });
  assert.throws(() => parseSchedstat("1200\n", "schedstat"), VirtError);
});

Deno.test("parseCpusAllowed expands ranges and lists in order", () => {
  const status = "Name:\tqemu\nCpus_allowed:\t2f\nCpus_allowed_list:\t5,0-2\nVoluntary: 1\n";
  assert.deepEqual(parseCpusAllowed(status, "status"), [0, 1, 2, 5]);
});

Deno.test("parseCpusAllowed refuses a missing line, a reversed range and a CPU beyond the limit", () => {
  for (
    const text of ["Name:\tqemu\n", "Cpus_allowed_list:\t3-1\n", "Cpus_allowed_list:\t0-99999\n"]
  ) {
    assert.throws(() => parseCpusAllowed(text, "status"), VirtError);
  }
});

Deno.test("readProcText reads this process's stat and answers undefined for a missing one", () => {
  const own = readProcText(`/proc/${Deno.pid}/stat`);
  assert.ok(own !== undefined && own.startsWith(`${Deno.pid} (`));
  assert.ok(parseProcessFigures(own, "own stat").rssKiB > 0);
  assert.equal(readProcText("/proc/4194303/stat"), undefined);
});
