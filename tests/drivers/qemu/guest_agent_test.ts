import assert from "node:assert/strict";
import type { LiveFacts } from "../../../src/model/live_facts.ts";
import { agentSocketPath, runAgentCommand } from "../../../drivers/qemu/guest_agent.ts";
import { isVirtError } from "../../../src/model/errors.ts";
import { emptyDevices } from "../../../src/model/domain.ts";
import { withTempDir } from "../../support/temp_dir.ts";

/**
 * A stand-in for qemu-ga on a Unix socket (the real agent needs a guest that runs it, which the
 * test guest does not): it answers `guest-sync-delimited` after a stale reply, as an agent with
 * a leftover answer does, then answers each command with `reply`, or stays silent.
 */
function fakeAgent(
  path: string,
  reply: (command: Record<string, unknown>) => unknown | undefined,
): { seen: string[]; close(): Promise<void> } {
  const listener = Deno.listen({ transport: "unix", path });
  const seen: string[] = [];
  const served = (async () => {
    for await (const connection of listener) {
      (async () => {
        const decoder = new TextDecoder("latin1");
        let buffer = "";
        const chunk = new Uint8Array(4096);
        for (;;) {
          const count = await connection.read(chunk).catch(() => null);
          if (count === null) break;
          buffer += decoder.decode(chunk.subarray(0, count)).replace(/\xff/g, "");
          let newline: number;
          while ((newline = buffer.indexOf("\n")) !== -1) {
            const line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            const command = JSON.parse(line) as Record<string, unknown>;
            seen.push(command.execute as string);
            let answer: unknown;
            if (command.execute === "guest-sync-delimited") {
              const id = (command.arguments as { id: number }).id;
              answer = `{"return": {"stale": true}}\n\xff{"return": ${id}}`;
            } else {
              const value = reply(command);
              answer = value === undefined ? undefined : JSON.stringify(value);
            }
            if (answer !== undefined) {
              await connection.write(new TextEncoder().encode(`${answer}\n`)).catch(() => {});
            }
          }
        }
        connection.close();
      })();
    }
  })();
  return {
    seen,
    async close() {
      listener.close();
      await served.catch(() => {});
    },
  };
}

Deno.test("runAgentCommand synchronises, skips stale replies and answers the command's reply", async () => {
  await withTempDir("evirt-agent-", async (dir) => {
    const path = `${dir}/agent.sock`;
    const agent = fakeAgent(
      path,
      (command) =>
        command.execute === "guest-ping"
          ? { return: {} }
          : { error: { class: "CommandNotFound", desc: "no" } },
    );
    try {
      const controller = new AbortController();
      assert.equal(
        await runAgentCommand(path, '{"execute":"guest-ping"}', 2000, controller.signal),
        '{"return":{}}',
      );
      assert.equal(
        await runAgentCommand(path, '{"execute":"guest-nothing"}', 2000, controller.signal),
        '{"error":{"class":"CommandNotFound","desc":"no"}}',
      );
      assert.deepEqual(agent.seen, [
        "guest-sync-delimited",
        "guest-ping",
        "guest-sync-delimited",
        "guest-nothing",
      ]);
    } finally {
      await agent.close();
    }
  });
});

Deno.test("runAgentCommand answers code 86 when the agent is silent or absent", async () => {
  await withTempDir("evirt-agent-", async (dir) => {
    const path = `${dir}/agent.sock`;
    await assert.rejects(
      runAgentCommand(path, '{"execute":"guest-ping"}', 100, new AbortController().signal),
      (error: unknown) => isVirtError(error, 86) && /not connected/.test((error as Error).message),
    );
    const agent = fakeAgent(path, () => undefined);
    try {
      await assert.rejects(
        runAgentCommand(path, '{"execute":"guest-ping"}', 100, new AbortController().signal),
        (error: unknown) =>
          isVirtError(error, 86) && /did not answer in time/.test((error as Error).message),
      );
      // guest-shutdown answers nothing when it works: taken by the agent, it succeeds.
      assert.equal(
        await runAgentCommand(
          path,
          '{"execute":"guest-shutdown"}',
          100,
          new AbortController().signal,
        ),
        "",
      );
    } finally {
      await agent.close();
    }
  });
});

Deno.test("runAgentCommand refuses a command that is not JSON with execute (code 8)", async () => {
  await assert.rejects(
    runAgentCommand("/nonexistent", "ping", 100, new AbortController().signal),
    (error: unknown) => isVirtError(error, 8),
  );
});

Deno.test("agentSocketPath finds the agent channel's socket, named or as the start named it", () => {
  const devices = emptyDevices();
  const definition = {
    type: "qemu",
    name: "a",
    memoryKiB: 1,
    vcpus: 1,
    os: { type: "hvm", boot: [] },
    devices,
  };
  assert.equal(agentSocketPath(definition, { runtimeDir: "/run/x" }), undefined);
  devices.channels.push({ type: "pty", sources: [], target: { type: "virtio", name: "other" } });
  devices.channels.push({
    type: "unix",
    sources: [],
    target: { type: "virtio", name: "org.qemu.guest_agent.0" },
  });
  assert.equal(agentSocketPath(definition, { runtimeDir: "/run/x" }), undefined);
  const live: LiveFacts = {
    chardevs: [{ list: "channels", index: 1, path: "/run/x/channel/ga", pty: false }],
  };
  assert.equal(agentSocketPath(definition, { runtimeDir: "/run/x", live }), "/run/x/channel/ga");
  devices.channels[1].sources.push({ mode: "bind", path: "/var/lib/ga.sock" });
  assert.equal(agentSocketPath(definition, { runtimeDir: "/run/x" }), "/var/lib/ga.sock");
});
