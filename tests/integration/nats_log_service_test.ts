/**
 * The real service with its event log on NATS JetStream (`EVIRT_LOG=nats://…`): the lifecycle
 * works, a SIGKILL and restart recover every acknowledged fact from the server, the storage and
 * network logs live beside the domain log, and a second service that writes the same host's log
 * supersedes the first, which then refuses changes instead of forking the history.
 *
 * @module
 */

import assert from "node:assert/strict";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { missing, testIf } from "../support/environment.ts";
import { startNatsServer } from "../support/nats_server.ts";
import { runEvirt } from "../support/cli_process.ts";
import { unixHttpRequest } from "../../src/client/unix_http.ts";
import type { EvirtClient } from "../../src/client/client.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";

const XML = (name: string) =>
  `<domain type='test'><name>${name}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>` +
  `<os><type>hvm</type></os><devices/></domain>`;

testIf(
  "service on a JetStream log survives SIGKILL with every acknowledged fact",
  missing("nats-server"),
  async () => {
    const server = await startNatsServer();
    const dirs = await serviceDirs();
    const env = { EVIRT_LOG: server.url, EVIRT_HOST: "nodeA" };
    try {
      let service = await startServiceProcess(dirs, env);
      try {
        await service.client.define({ xml: XML("web") });
        await service.client.action("web", "start");
        await service.client.action("web", "suspend");
        await service.stop("SIGKILL");
        // The state directory holds no SQLite log: everything comes back from JetStream.
        await assert.rejects(
          () => Deno.lstat(`${dirs.stateDir}/events.sqlite`),
          Deno.errors.NotFound,
        );
        service = await startServiceProcess(dirs, env);
        assert.deepEqual(await service.client.state("web"), {
          state: 3,
          stateName: "paused",
          reason: 1,
          reasonName: "user",
        });
        await service.client.action("web", "resume");
        assert.equal((await service.client.state("web")).stateName, "running");
      } finally {
        await service.stop("SIGKILL");
      }
      const connection = await connect({ servers: server.url });
      try {
        const streams = [];
        for await (const info of (await jetstreamManager(connection)).streams.list()) {
          streams.push(info.config.name);
        }
        assert.deepEqual(streams.sort(), [
          "EVIRT_FLEET",
          "EVIRT_LOG_nodeA",
          "EVIRT_LOG_nodeA-network",
          "EVIRT_LOG_nodeA-secret",
          "EVIRT_LOG_nodeA-storage",
          "KV_evirt_hosts",
          "KV_evirt_hosts_alive",
          "KV_evirt_leases",
        ]);
      } finally {
        await connection.close();
      }
    } finally {
      await removeServiceDirs(dirs);
      await server.stop();
    }
  },
);

testIf(
  "a second service writing the same host's JetStream log supersedes the first",
  missing("nats-server"),
  async () => {
    const server = await startNatsServer();
    const first = await serviceDirs();
    const second = await serviceDirs();
    const env = { EVIRT_LOG: server.url, EVIRT_HOST: "twin" };
    try {
      const older = await startServiceProcess(first, env);
      try {
        const newer = await startServiceProcess(second, env);
        try {
          await newer.client.define({ xml: XML("a") });
          const refused = await older.client.define({ xml: XML("b") }).catch((error) => error);
          assert.match(String(refused?.message), /superseded|another writer/);
          // The newer service's history is the log's: the refused define is nowhere.
          assert.deepEqual((await newer.client.listDomains()).map((domain) => domain.name), ["a"]);
        } finally {
          await newer.stop("SIGKILL");
        }
      } finally {
        await older.stop("SIGKILL");
      }
    } finally {
      await removeServiceDirs(first);
      await removeServiceDirs(second);
      await server.stop();
    }
  },
);

testIf(
  "evirt host list: two services on one NATS server, one SIGKILLed is lost, then alive again",
  missing("nats-server"),
  async () => {
    const server = await startNatsServer();
    const dirsA = await serviceDirs();
    const dirsB = await serviceDirs();
    const common = { EVIRT_LOG: server.url, EVIRT_HOST_TTL_MS: "1500" };
    try {
      const a = await startServiceProcess(dirsA, { ...common, EVIRT_HOST: "alpha" });
      let b = await startServiceProcess(dirsB, { ...common, EVIRT_HOST: "beta" });
      try {
        const states = async () => {
          const run = await runEvirt(["host", "list", "--json"], a.env);
          assert.equal(run.code, 0, run.stderr);
          return (JSON.parse(run.stdout) as { name: string; state: string }[])
            .map((host) => `${host.name}:${host.state}`);
        };
        assert.deepEqual(await states(), ["alpha:alive", "beta:alive"]);
        const table = await runEvirt(["host", "list"], a.env);
        assert.match(
          table.stdout,
          /^ Name +State +Drivers +CPUs +Memory +Last heartbeat +Since\n-+\n/,
        );
        assert.match(table.stdout, /\n alpha +alive +test/);
        await b.stop("SIGKILL");
        const deadline = Date.now() + 10_000;
        // The listing shows beta lost as soon as its heartbeat is stale; alpha records it (and
        // logs it) at its next beat.
        while (
          (await states()).join() !== "alpha:alive,beta:lost" ||
          !/host beta is lost: its heartbeat stopped/.test(a.log())
        ) {
          assert.ok(Date.now() < deadline, `beta was never seen lost:\n${a.log()}`);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        b = await startServiceProcess(dirsB, { ...common, EVIRT_HOST: "beta" });
        assert.deepEqual(await states(), ["alpha:alive", "beta:alive"]);
      } finally {
        await a.stop("SIGKILL");
        await b.stop("SIGKILL");
      }
    } finally {
      await removeServiceDirs(dirsA);
      await removeServiceDirs(dirsB);
      await server.stop();
    }
  },
);

/** Reads SSE data messages of `path` over the service's socket until `count` arrived. */
/** Waits until the host summary counts `count` fleet subscribers (5 s at most). */
async function fleetSubscribersBecome(client: EvirtClient, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { subscribers } = await client.hostSummary();
    if (subscribers.fleet === count) return;
    assert.ok(Date.now() < deadline, `fleet subscribers ${subscribers.fleet}, expected ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function readEvents(
  runtimeDir: string,
  path: string,
  count: number,
): Promise<{ id: string; data: Record<string, unknown> }[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), 15_000);
  let text = "";
  try {
    const response = await unixHttpRequest(`${runtimeDir}/evirt.sock`, {
      method: "GET",
      target: path,
      signal: controller.signal,
    });
    if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
    const messages: { id: string; data: Record<string, unknown> }[] = [];
    text = "";
    for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      let end;
      while ((end = text.indexOf("\n\n")) !== -1) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id !== undefined && data !== undefined) messages.push({ id, data: JSON.parse(data) });
      }
      if (messages.length >= count) break;
    }
    controller.abort();
    return messages;
  } catch (error) {
    throw new Error(`${error}; read so far: ${JSON.stringify(text)}`);
  } finally {
    clearTimeout(timer);
  }
}

testIf(
  "the fleet event stream: both hosts' facts in one order from either host, resumable by SEQ:INDEX",
  missing("nats-server"),
  async () => {
    const server = await startNatsServer();
    const dirsA = await serviceDirs();
    const dirsB = await serviceDirs();
    try {
      const a = await startServiceProcess(dirsA, { EVIRT_LOG: server.url, EVIRT_HOST: "east" });
      const b = await startServiceProcess(dirsB, { EVIRT_LOG: server.url, EVIRT_HOST: "west" });
      try {
        await a.client.define({ xml: XML("one") });
        await b.client.define({ xml: XML("two") });
        await a.client.action("one", "start");
        const fromA = await readEvents(a.runtimeDir, "/v1/events?scope=fleet&since=0", 3);
        const fromB = await readEvents(b.runtimeDir, "/v1/events?scope=fleet&since=0", 3);
        const summary = (messages: typeof fromA) =>
          messages.map(({ data }) =>
            `${data.host} ${(data.domain as { name: string }).name} ${data.fact}`
          );
        assert.deepEqual(summary(fromA), [
          "east one domain.defined",
          "west two domain.defined",
          "east one domain.launching",
        ]);
        assert.deepEqual(fromB.map((message) => message.id), fromA.map((message) => message.id));
        // Resuming after the first message from the other host gives the rest.
        const resumed = await readEvents(
          b.runtimeDir,
          `/v1/events?scope=fleet&since=${fromA[0].id}`,
          2,
        );
        assert.deepEqual(resumed.map((message) => message.id), fromA.slice(1).map((m) => m.id));
        const refused = await readEvents(a.runtimeDir, "/v1/events?scope=fleet&since=x", 1)
          .catch((error) => error);
        assert.match(String(refused), /SEQ:INDEX/);
        // The host summary counts a fleet subscriber while it follows.
        const following = new AbortController();
        const fleet = a.client.fleetEvents({ since: "0", signal: following.signal });
        const first = await fleet.next();
        assert.equal(first.done, false);
        await fleetSubscribersBecome(a.client, 1);
        following.abort();
        await fleet.return(undefined);
        await fleetSubscribersBecome(a.client, 0);
      } finally {
        await a.stop("SIGKILL");
        await b.stop("SIGKILL");
      }
    } finally {
      await removeServiceDirs(dirsA);
      await removeServiceDirs(dirsB);
      await server.stop();
    }
  },
);

testIf(
  "evirt host list on a local (SQLite) log answers code 3",
  undefined,
  async () => {
    const dirs = await serviceDirs();
    try {
      const service = await startServiceProcess(dirs);
      try {
        const run = await runEvirt(["host", "list"], service.env);
        assert.equal(run.code, 1);
        assert.match(run.stderr, /not supported.*belongs to no fleet/);
      } finally {
        await service.stop("SIGKILL");
      }
    } finally {
      await removeServiceDirs(dirs);
    }
  },
);

testIf(
  "a malformed EVIRT_LOG stops the service at start with the variable named",
  undefined,
  async () => {
    const dirs = await serviceDirs();
    try {
      const failure = await startServiceProcess(dirs, { EVIRT_LOG: "http://x" }).catch((e) => e);
      assert.match(String(failure?.message), /EVIRT_LOG must be 'sqlite' or nats:\/\//);
    } finally {
      await removeServiceDirs(dirs);
    }
  },
);
