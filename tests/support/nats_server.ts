/**
 * A NATS server with JetStream for tests: started on a free loopback port with its own store
 * directory, stopped by PID and its directory removed by {@linkcode NatsServer.stop}.
 *
 * @module
 */

import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";

/** A running test server. */
export interface NatsServer {
  /** `nats://127.0.0.1:PORT`. */
  url: string;
  /** The server's process id. */
  pid: number;
  /** Kills the server (SIGKILL when `hard`) and removes its store. */
  stop(hard?: boolean): Promise<void>;
}

/** Longest wait for a new cluster to elect its JetStream leader. */
const CLUSTER_READY_TIMEOUT_MS = 30_000;

/** Longest wait for the server to accept connections. */
const READY_TIMEOUT_MS = 10_000;

/**
 * Starts `nats-server -js` on a free loopback port (or `options.port`); rejects when it does not
 * answer in time.
 */
export async function startNatsServer(
  options: { port?: number; extraArgs?: string[] } = {},
): Promise<NatsServer> {
  const port = options.port ?? freePorts(1)[0];
  const storeDir = await Deno.makeTempDir({ prefix: "evirt-nats-" });
  const child = new Deno.Command("nats-server", {
    args: [
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-js",
      "-sd",
      storeDir,
      ...(options.extraArgs ?? []),
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let stopped = false;
  const stop = async (hard = false) => {
    if (!stopped) {
      stopped = true;
      try {
        child.kill(hard ? "SIGKILL" : "SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    }
    await Deno.remove(storeDir, { recursive: true }).catch(() => {});
  };
  for (;;) {
    try {
      const connection = await Deno.connect({ hostname: "127.0.0.1", port });
      connection.close();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await stop(true);
        throw new Error(`nats-server did not answer on port ${port}: ${error}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { url: `nats://127.0.0.1:${port}`, pid: child.pid, stop };
}

/** A running test cluster of JetStream servers on loopback ports. */
export interface NatsCluster {
  /** Every node's client URL, comma-separated (what `EVIRT_LOG` takes). */
  urls: string;
  /** Each node. */
  nodes: NatsServer[];
  /** Stops every node and removes their stores. */
  stop(): Promise<void>;
}

/** Starts a `size`-node JetStream cluster (`-cluster`/`-routes`) on free loopback ports. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const clientPorts = freePorts(size);
  const routePorts = freePorts(size);
  const routes = routePorts.map((port) => `nats-route://127.0.0.1:${port}`).join(",");
  const nodes: NatsServer[] = [];
  try {
    for (let index = 0; index < size; index++) {
      nodes.push(
        await startNatsServer({
          port: clientPorts[index],
          extraArgs: [
            "-n",
            `n${index + 1}`,
            "--cluster_name",
            "evirt-test",
            "--cluster",
            `nats://127.0.0.1:${routePorts[index]}`,
            "--routes",
            routes,
          ],
        }),
      );
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop(true)));
    throw error;
  }
  return {
    urls: nodes.map((node) => node.url).join(","),
    nodes,
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}

/** `count` distinct free loopback ports (each found by binding port 0). */
function freePorts(count: number): number[] {
  const listeners = Array.from(
    { length: count },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((listener) => (listener.addr as Deno.NetAddr).port);
  for (const listener of listeners) listener.close();
  return ports;
}

/** Waits until JetStream answers on `servers` (a new cluster has elected its meta leader). */
export async function jetStreamReady(servers: string): Promise<void> {
  const deadline = Date.now() + CLUSTER_READY_TIMEOUT_MS;
  const connection = await connect({ servers: servers.split(",") });
  try {
    for (;;) {
      try {
        await (await jetstreamManager(connection)).getAccountInfo();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } finally {
    await connection.close();
  }
}
