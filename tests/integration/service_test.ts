/**
 * The real service end to end: `src/service/main.ts` as a child process on temporary directories,
 * driven over its unix sockets; SIGKILLed and restarted on the same directories; stopped with
 * SIGTERM.
 *
 * @module
 */

import assert from "node:assert/strict";
import { isVirtError } from "../../src/model/errors.ts";
import { removeServiceDirs, serviceDirs, startServiceProcess } from "../support/service_process.ts";

const XML = (name: string) =>
  `<domain type='test'><name>${name}</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>` +
  `<os><type>hvm</type></os><devices/></domain>`;

Deno.test("service runs the lifecycle, survives SIGKILL, and stops cleanly on SIGTERM", async () => {
  const dirs = await serviceDirs();
  try {
    let service = await startServiceProcess(dirs);
    try {
      const { client } = service;
      await client.define({ xml: XML("web") });
      await client.define({ xml: XML("db") });
      await client.action("web", "start");
      await client.action("db", "start");
      await client.action("db", "suspend");
      const idOfWeb = (await client.info("web")).id;
      await assert.rejects(
        () => service.readOnly.action("web", "destroy"),
        (error) => isVirtError(error, 29),
      );
      // SIGKILL leaves the sockets behind and interrupts nothing acknowledged.
      await service.stop("SIGKILL");
      service = await startServiceProcess(dirs);
      const restarted = service.client;
      assert.deepEqual(await restarted.state("web"), {
        state: 1,
        stateName: "running",
        reason: 1,
        reasonName: "booted",
      });
      assert.equal((await restarted.state("db")).reasonName, "user");
      assert.equal((await restarted.info("web")).id, idOfWeb);
      await restarted.action("db", "resume");
      const shut = await restarted.action("web", "shutdown", { waitSeconds: 10 });
      assert.equal(shut.exists && shut.stateName, "shut off");
      await restarted.undefine("web");
      assert.deepEqual((await restarted.listDomains()).map((domain) => domain.name), ["db"]);
      const status = await service.stop("SIGTERM");
      assert.equal(status.code, 0, service.log());
      assert.match(service.log(), /SIGTERM: stopping \(running VMs keep running\)/);
      // A clean stop removes its sockets.
      await assert.rejects(() => Deno.lstat(`${dirs.runtimeDir}/evirt.sock`), Deno.errors.NotFound);
    } finally {
      await service.stop("SIGKILL");
    }
  } finally {
    await removeServiceDirs(dirs);
  }
});

Deno.test("service refuses to start on a state directory another service holds", async () => {
  const dirs = await serviceDirs();
  const other = await serviceDirs();
  try {
    const first = await startServiceProcess(dirs);
    try {
      const second = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../../src/service/main.ts", import.meta.url).pathname],
        env: { EVIRT_STATE_DIR: dirs.stateDir, EVIRT_RUNTIME_DIR: other.runtimeDir },
        stdout: "null",
        stderr: "piped",
      });
      const output = await second.output();
      assert.equal(output.code, 1);
      assert.match(new TextDecoder().decode(output.stderr), /is locked: another evirt service/);
    } finally {
      await first.stop("SIGTERM");
    }
  } finally {
    await removeServiceDirs(dirs);
    await removeServiceDirs(other);
  }
});

Deno.test("service stops on SIGTERM while an event subscriber is connected", async () => {
  const dirs = await serviceDirs();
  try {
    const service = await startServiceProcess(dirs);
    const controller = new AbortController();
    const { promise: firstSeen, resolve: sawFirst } = Promise.withResolvers<void>();
    const following = (async () => {
      const seen: number[] = [];
      for await (
        const event of service.readOnly.events({
          since: 0,
          signal: controller.signal,
          reconnect: false,
        })
      ) {
        seen.push(event.position);
        sawFirst();
      }
      return seen;
    })();
    await service.client.define({ xml: XML("web") });
    // Connected and delivered before the stop (on a busy machine the subscriber can take longer
    // to connect than the service takes to stop, and then finds no socket).
    const timeout = AbortSignal.timeout(10_000);
    await Promise.race([
      firstSeen,
      following,
      new Promise((_, reject) =>
        timeout.addEventListener("abort", () => reject(new Error("no event in 10 s")))
      ),
    ]);
    const status = await service.stop("SIGTERM");
    assert.equal(status.code, 0, service.log());
    controller.abort();
    assert.deepEqual(await following, [1]);
  } finally {
    await removeServiceDirs(dirs);
  }
});

Deno.test("client follows events across a service SIGKILL, reconnecting and resuming without loss or repeat", async () => {
  const dirs = await serviceDirs();
  let service = await startServiceProcess(dirs);
  const controller = new AbortController();
  try {
    await service.client.define({ xml: XML("a") });
    const reconnects: string[] = [];
    const seen: string[] = [];
    const follower = service.readOnly;
    const following = (async () => {
      for await (
        const event of follower.events({
          since: 0,
          signal: controller.signal,
          onReconnect: (_attempt, _delayMs, reason) => reconnects.push(reason),
        })
      ) {
        seen.push(`${event.position} ${event.domain.name} ${event.fact}`);
        if (seen.length === 4) controller.abort();
      }
    })();
    await service.client.define({ xml: XML("b") });
    while (seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    await service.stop("SIGKILL");
    service = await startServiceProcess(dirs);
    await service.client.define({ xml: XML("c") });
    await service.client.define({ xml: XML("d") });
    await following;
    assert.deepEqual(seen, [
      "1 a domain.defined",
      "2 b domain.defined",
      "3 c domain.defined",
      "4 d domain.defined",
    ]);
    assert.ok(reconnects.length >= 1, "the client never had to reconnect");
  } finally {
    controller.abort();
    await service.stop("SIGTERM");
    await removeServiceDirs(dirs);
  }
});
