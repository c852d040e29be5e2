/**
 * Restart safety (reference §3, design principle 3): QEMU outlives the service. A host process
 * is SIGKILLed while a guest runs; another host on the same state directory finds the same QEMU
 * process running, reconnects to its monitor, keeps its state and reason, and records that a
 * guest which died while no service ran is shut off (crashed). Every QEMU started is killed by
 * pid in `finally`.
 */

import assert from "node:assert/strict";
import { isProcessGone } from "../../src/host/process_state.ts";
import { DomainState } from "../../src/model/lifecycle.ts";
import { missing, repoDir, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { guestDefinition, killAll } from "./_qemu_guest.ts";

/** Bound on one request to the host process, in milliseconds. */
const REQUEST_TIMEOUT_MS = 30_000;

/** Largest reply line read from the host process, in bytes. */
const REPLY_MAX_BYTES = 1024 * 1024;

interface Lookup {
  state: number;
  reason: number;
  pid: number | null;
  startTimeTicks: number | null;
}

/** A host process and a way to send it requests. */
class HostProcess {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<string>;
  #nextId = 1;
  #buffered = "";

  constructor(dirs: { state: string; run: string; log: string }) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${repoDir}/tests/integration/_host_process.ts`,
        dirs.state,
        dirs.run,
        dirs.log,
      ],
      cwd: repoDir,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reader = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  }

  get pid(): number {
    return this.#child.pid;
  }

  async request<T>(op: string, fields: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    await this.#writer.write(
      new TextEncoder().encode(`${JSON.stringify({ id, op, ...fields })}\n`),
    );
    const deadline = performance.now() + REQUEST_TIMEOUT_MS;
    // Bounded by the deadline: each pass reads one chunk.
    while (performance.now() < deadline) {
      const newline = this.#buffered.indexOf("\n");
      if (newline >= 0) {
        const line = this.#buffered.slice(0, newline);
        this.#buffered = this.#buffered.slice(newline + 1);
        const reply = JSON.parse(line);
        assert.equal(reply.id, id);
        if (!reply.ok) throw new Error(`${op}: ${reply.error}`);
        return reply.result as T;
      }
      const { done, value } = await this.#reader.read();
      if (done) throw new Error(`host process ended during ${op}`);
      this.#buffered += value;
      assert.ok(this.#buffered.length < REPLY_MAX_BYTES);
    }
    throw new Error(`${op} took more than ${REQUEST_TIMEOUT_MS} ms`);
  }

  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await this.#reader.cancel().catch(() => {});
    await this.#writer.close().catch(() => {});
    await this.#child.status;
  }

  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), REQUEST_TIMEOUT_MS);
    await this.#reader.cancel().catch(() => {});
    await this.#child.status;
    clearTimeout(timer);
  }
}

testIf(
  "QemuDriver keeps a guest running across a SIGKILLed service and reconnects to it",
  guestSkipReason() ?? missing("qemu-system-x86_64"),
  async () => {
    const base = Deno.makeTempDirSync({ prefix: "evirt-restart-" });
    Deno.chmodSync(base, 0o711); // Searchable by the unprivileged QEMU user.
    const dirs = { state: `${base}/state`, run: `${base}/run`, log: `${base}/log` };
    Deno.mkdirSync(dirs.state);
    const qemus: { pid: number; startTimeTicks: number }[] = [];
    let first: HostProcess | undefined = new HostProcess(dirs);
    let second: HostProcess | undefined;
    try {
      // The serial logs exist already, with an owner of their own: the files given to QEMU
      // (as root; an unprivileged service runs QEMU as itself and gives nothing).
      const confined = Deno.uid() === 0;
      for (const name of confined ? ["kept", "lost"] : []) {
        Deno.writeFileSync(`${base}/${name}.serial`, new Uint8Array());
        Deno.chownSync(`${base}/${name}.serial`, 1234, 2345);
        Deno.chmodSync(`${base}/${name}.serial`, 0o640);
      }
      for (const name of ["kept", "lost"]) {
        await first.request("define", {
          definition: guestDefinition(name, { serial: { file: `${base}/${name}.serial` } }),
        });
        await first.request("start", { name });
      }
      const kept = await first.request<Lookup>("lookup", { name: "kept" });
      const lost = await first.request<Lookup>("lookup", { name: "lost" });
      for (const each of [kept, lost]) {
        qemus.push({ pid: each.pid!, startTimeTicks: each.startTimeTicks! });
      }
      assert.equal(kept.state, DomainState.RUNNING);
      const qemuUid = Deno.statSync(`/proc/${lost.pid}`).uid;
      if (confined) {
        assert.notEqual(qemuUid, 0, "QEMU does not run as root");
        assert.equal(Deno.statSync(`${base}/lost.serial`).uid, qemuUid, "given to QEMU's user");
      }
      const eventsBefore = await first.request<string[]>("events");

      await first.kill();
      first = undefined;
      assert.equal(
        isProcessGone(kept.pid!, kept.startTimeTicks!),
        false,
        "QEMU outlives the service",
      );
      // While no service runs, one guest's QEMU dies.
      Deno.kill(lost.pid!, "SIGKILL");

      second = new HostProcess(dirs);
      const keptAfter = await second.request<Lookup>("lookup", { name: "kept" });
      assert.deepEqual(keptAfter, kept, "same process, same state and reason");
      const lostAfter = await second.request<Lookup>("lookup", { name: "lost" });
      assert.deepEqual([lostAfter.state, lostAfter.pid], [DomainState.SHUTOFF, null]);
      if (confined) {
        // Recovery gave the dead guest's files back; the living guest keeps its own.
        const lostSerial = Deno.statSync(`${base}/lost.serial`);
        assert.deepEqual(
          [lostSerial.uid, lostSerial.gid, lostSerial.mode! & 0o777],
          [1234, 2345, 0o640],
        );
        assert.equal(Deno.statSync(`${base}/kept.serial`).uid, qemuUid);
      }
      const eventsAfter = await second.request<string[]>("events");
      assert.deepEqual(eventsAfter.slice(0, eventsBefore.length), eventsBefore);
      assert.deepEqual(eventsAfter.slice(eventsBefore.length), ["Stopped Failed"]);

      // Reconnected: commands reach the same QEMU, and its events are observed again.
      await second.request("suspend", { name: "kept" });
      assert.equal(
        (await second.request<Lookup>("lookup", { name: "kept" })).state,
        DomainState.PAUSED,
      );
      await second.request("resume", { name: "kept" });
      Deno.kill(kept.pid!, "SIGKILL");
      await second.request("wait", { name: "kept", state: DomainState.SHUTOFF, timeoutMs: 10_000 });
      assert.deepEqual((await second.request<string[]>("events")).slice(-3), [
        "Suspended Paused",
        "Resumed Unpaused",
        "Stopped Failed",
      ]);
      await second.close();
      second = undefined;
    } finally {
      await first?.kill();
      await second?.kill();
      await killAll(qemus);
      Deno.removeSync(base, { recursive: true });
    }
  },
);
