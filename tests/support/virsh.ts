/**
 * Runs the real `virsh` against evirt's libvirt-protocol socket, bounded by a timeout, and
 * compares its output with evirt's own CLI line by line (counters that grow between two runs
 * compared by layout only).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type ChildRun, runChild } from "./child_process.ts";

/** Longest a virsh run may take, in ms. */
export const VIRSH_TIMEOUT_MS = 30_000;

/** What a virsh run printed. */
export type VirshRun = ChildRun;

/** The URI of the socket at `path`, as a libvirt user writes it. */
export function socketUri(path: string, driver = "qemu", name = "system"): string {
  return `${driver}+unix:///${name}?socket=${path}`;
}

/** Runs virsh with `args` on `uri`. */
export function runVirsh(uri: string, args: string[]): Promise<VirshRun> {
  return runChild(
    "virsh",
    ["-c", uri, ...args],
    { LIBVIRT_DEFAULT_URI: "", VIRSH_DEFAULT_CONNECT_URI: "" },
    VIRSH_TIMEOUT_MS,
  );
}

/** Lines whose figures grow with time (CPU time, I/O counters, resident memory). */
const COUNTER_LINE =
  /^(CPU time:|Allocation:)|cpu\.(time|user|system)=|balloon\.rss=|\.(rx|tx)\.|\.(rd|wr|fl)\.|\.allocation=|\s(rx|tx)_|^rss |vcpu\.\d+\.(time|wait)=|perf\.[a-z_]+=/;

/**
 * Asserts two outputs are the same line by line; lines of counters must have the same layout
 * (every number masked).
 */
export function assertSameOutput(actual: string, expected: string, what: string): void {
  const left = actual.split("\n");
  const right = expected.split("\n");
  assert.equal(
    left.length,
    right.length,
    `${what}: line counts differ\n${actual}\n---\n${expected}`,
  );
  left.forEach((line, index) => {
    const other = right[index];
    if (COUNTER_LINE.test(line.trim()) || COUNTER_LINE.test(line)) {
      const mask = (text: string) => text.replace(/\d+(\.\d+)?/g, "#");
      assert.equal(mask(line), mask(other), `${what}: line ${index + 1}`);
    } else {
      assert.equal(line, other, `${what}: line ${index + 1}`);
    }
  });
}

/**
 * A long-running virsh (`event --loop`) on `uri`, its output collected as it comes; `stop`
 * ends it (SIGTERM) and waits for it. It is killed after `timeoutMs` in any case.
 */
export function followVirsh(uri: string, args: string[], timeoutMs: number) {
  const child = new Deno.Command("virsh", {
    args: ["-c", uri, ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).spawn();
  const seen = { text: "" };
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      seen.text += chunk;
    }
  })();
  return {
    seen,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already ended.
      }
      await child.status;
      await reading;
      await child.stderr.cancel().catch(() => {});
    },
  };
}
