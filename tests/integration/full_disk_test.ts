/**
 * A full disk under the event log, for real: the state directory is a small tmpfs that the test
 * fills to the last byte, with the service's API on real sockets and the test hypervisor. While
 * full, what the hypervisor did shows in the API with its fact pending and the caller's error
 * names the cause; once space is freed the facts are appended by themselves, and a restart
 * finds the right reason. Every mount is removed in `finally`.
 */

import assert from "node:assert/strict";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { type ApiServer, serveApi } from "../../src/api/server.ts";
import type { DomainInfoView } from "../../src/api/views.ts";
import { EvirtClient, unixTransport } from "../../src/client/client.ts";
import type { EventStore } from "../../src/log/event_store.ts";
import { openSqliteStore } from "../../src/log/sqlite_store.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { createServiceCore, type ServiceCore } from "../../src/service/service.ts";
import { testDefinition } from "../support/domains.ts";
import { testIf } from "../support/environment.ts";
import { rejection } from "../support/rejection.ts";
import { type SmallTmpfs, TMPFS_SKIP_REASON, withSmallTmpfs } from "../support/small_tmpfs.ts";

/** Size of the state directory's file system, in KiB: room for the log of a few domains. */
const STATE_FS_KIB = 4096;

/** How long the facts may take to be written once space is freed, in ms. */
const WRITTEN_TIMEOUT_MS = 15_000;

interface Service {
  core: ServiceCore;
  store: EventStore;
  client: EvirtClient;
  stop(): Promise<void>;
}

async function openService(stateDir: string, socketDir: string): Promise<Service> {
  const store = await openSqliteStore(stateDir);
  const core = await createServiceCore({
    store,
    drivers: [new TestDriver()],
    xmlMaxBytes: 65536,
    log: () => {},
  });
  let server: ApiServer;
  try {
    server = await serveApi(core.api, {
      socketPath: `${socketDir}/evirt.sock`,
      readOnlySocketPath: `${socketDir}/evirt-ro.sock`,
    });
  } catch (error) {
    await core.close();
    throw error;
  }
  return {
    core,
    store,
    client: new EvirtClient(unixTransport(`${socketDir}/evirt.sock`)),
    async stop() {
      await server.shutdown();
      await core.close();
    },
  };
}

/** Runs `fn` with a service whose state directory is on a small tmpfs; cleans up everything. */
async function withFullableService(
  fn: (tmpfs: SmallTmpfs, dirs: { state: string; sockets: string }) => Promise<void>,
): Promise<void> {
  const sockets = await Deno.makeTempDir({ prefix: "evirt-full-disk-" });
  try {
    await withSmallTmpfs(
      STATE_FS_KIB,
      (tmpfs) => fn(tmpfs, { state: `${tmpfs.dir}/state`, sockets }),
    );
  } finally {
    await Deno.remove(sockets, { recursive: true });
  }
}

/** Polls the API until the domain holds no pending facts. */
async function untilWritten(client: EvirtClient, name: string): Promise<DomainInfoView> {
  const deadline = Date.now() + WRITTEN_TIMEOUT_MS;
  for (;;) {
    const info = await client.info(name);
    if (info.pendingFacts === null) return info;
    if (Date.now() > deadline) {
      throw new Error(`facts of ${name} still pending: ${JSON.stringify(info)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Asserts that `action` on `name` was refused because its intent could not be written: code 38
 * naming the cause, the domain still `state` with nothing pending, and the log still at `head`.
 */
async function assertIntentRefused(
  service: Service,
  name: string,
  action: Parameters<EvirtClient["action"]>[1],
  state: string,
  head: number,
): Promise<void> {
  const error = await rejection(service.client.action(name, action));
  assert.ok(isVirtError(error));
  assert.equal(error.code, ErrorCode.SYSTEM_ERROR);
  assert.match(error.message, /^cannot write the event log: no space left on device/);
  const info = await service.client.info(name);
  assert.equal(`${info.stateName} (${info.reasonName})`, state);
  assert.equal(info.pendingFacts, null);
  assert.equal(service.store.headPosition(), head);
}

async function lastFact(store: EventStore): Promise<{ type: string; body: unknown }> {
  const facts = await store.readAll({ afterPosition: Math.max(0, store.headPosition() - 1) });
  const { type, body } = facts[facts.length - 1];
  return { type, body };
}

testIf(
  "full state directory: destroy cannot record its intent, so it answers code 38 naming the cause and does nothing; once space is freed it destroys, also across a restart",
  TMPFS_SKIP_REASON,
  () =>
    withFullableService(async (tmpfs, dirs) => {
      let service = await openService(dirs.state, dirs.sockets);
      try {
        await service.client.define({ definition: testDefinition("vm") });
        await service.client.action("vm", "start");
        const head = service.store.headPosition();
        await tmpfs.fill();

        // Intent before action: the intent could not be recorded, so nothing was done.
        await assertIntentRefused(service, "vm", "destroy", "running (booted)", head);

        await tmpfs.free();
        await service.client.action("vm", "destroy");
        const after = await service.client.info("vm");
        assert.equal(`${after.stateName} (${after.reasonName})`, "shut off (destroyed)");
        assert.deepEqual(await lastFact(service.store), {
          type: "domain.stopped",
          body: { detail: "destroyed", reason: "destroyed" },
        });
      } finally {
        await service.stop();
      }
      service = await openService(dirs.state, dirs.sockets);
      try {
        const info = await service.client.info("vm");
        assert.equal(`${info.stateName} (${info.reasonName})`, "shut off (destroyed)");
        assert.equal(info.pendingFacts, null);
      } finally {
        await service.stop();
      }
    }),
);

testIf(
  "full state directory: suspend shows paused (user) with its fact pending, a start meanwhile is refused before it acts, and a restart after freeing space keeps paused (user)",
  TMPFS_SKIP_REASON,
  () =>
    withFullableService(async (tmpfs, dirs) => {
      let service = await openService(dirs.state, dirs.sockets);
      try {
        await service.client.define({ definition: testDefinition("vm") });
        await service.client.define({ definition: testDefinition("other") });
        await service.client.action("vm", "start");
        await tmpfs.fill();

        const error = await rejection(service.client.action("vm", "suspend"));
        assert.equal(
          error.message,
          "cannot write the event log: no space left on device; the domain was suspended and the fact is pending",
        );
        const info = await service.client.info("vm");
        assert.equal(`${info.stateName} (${info.reasonName})`, "paused (user)");
        assert.equal(info.pendingFacts?.facts, 1);

        const refused = await rejection(service.client.action("other", "start"));
        assert.ok(isVirtError(refused));
        assert.equal(refused.code, ErrorCode.SYSTEM_ERROR);
        assert.match(
          refused.message,
          /; start was not attempted while 1 fact .* wait to be written/,
        );
        const other = await service.client.info("other");
        assert.equal(`${other.stateName} (${other.reasonName})`, "shut off (unknown)");
        assert.equal(other.pendingFacts, null);

        await tmpfs.free();
        assert.equal((await untilWritten(service.client, "vm")).reasonName, "user");
        await service.client.action("other", "start");
      } finally {
        await service.stop();
      }
      service = await openService(dirs.state, dirs.sockets);
      try {
        const info = await service.client.info("vm");
        assert.equal(`${info.stateName} (${info.reasonName})`, "paused (user)");
      } finally {
        await service.stop();
      }
    }),
);

testIf(
  "full state directory: start cannot record its intent, so it answers code 38 and launches nothing; once space is freed it starts, also across a restart",
  TMPFS_SKIP_REASON,
  () =>
    withFullableService(async (tmpfs, dirs) => {
      let service = await openService(dirs.state, dirs.sockets);
      try {
        await service.client.define({ definition: testDefinition("vm") });
        const head = service.store.headPosition();
        await tmpfs.fill();
        await assertIntentRefused(service, "vm", "start", "shut off (unknown)", head);
        await tmpfs.free();
        await service.client.action("vm", "start");
        const facts = await service.store.readAll({ afterPosition: head });
        assert.deepEqual(facts.map((fact) => fact.type), [
          "domain.launching",
          "domain.launched",
          "domain.started",
        ]);
      } finally {
        await service.stop();
      }
      service = await openService(dirs.state, dirs.sockets);
      try {
        const info = await service.client.info("vm");
        assert.equal(`${info.stateName} (${info.reasonName})`, "running (booted)");
      } finally {
        await service.stop();
      }
    }),
);
