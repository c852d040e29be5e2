/**
 * The secret routes over the in-process API, through the secret client: define, list, XML,
 * value set and read, undefine, with libvirt's codes (a private secret's value, a missing
 * secret, a read-only caller).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Secrets } from "../../../../actors/secrets.ts";
import { EvirtClient } from "../../../../src/client/client.ts";
import { SecretClient } from "../../../../src/client/secret_client.ts";
import { createMemoryStore } from "../../../../src/log/memory_store.ts";
import { ErrorCode, isVirtError } from "../../../../src/model/errors.ts";
import { SECRET_FACT_TYPES } from "../../../../src/model/secret_facts.ts";
import { createServiceCore } from "../../../../src/service/service.ts";
import { TestDriver } from "../../../../drivers/test/test_driver.ts";

const UUID = "e78d4b51-a2af-485f-b0f5-afca709a80f4";

Deno.test("secret routes define, list, read and remove secrets with libvirt's codes", async () => {
  const service = await createServiceCore({
    store: createMemoryStore(),
    checkAnswers: true,
    drivers: [new TestDriver()],
    xmlMaxBytes: 64 * 1024,
    events: { heartbeatMs: 60_000 },
    hostname: () => "node1",
    log: () => {},
  });
  const valuesDir = await Deno.makeTempDir({ prefix: "evirt-secret-routes-" });
  try {
    const secrets = await Secrets.open({
      store: createMemoryStore({ factTypes: SECRET_FACT_TYPES }),
      valuesDir,
    });
    service.attachSecrets(secrets);
    const client = new SecretClient(
      new EvirtClient((request) => service.api.handle(request, "read-write")),
    );
    const readOnly = new SecretClient(
      new EvirtClient((request) => service.api.handle(request, "read-only")),
    );
    const refusedWith = (code: number, call: () => Promise<unknown>) =>
      assert.rejects(call, (error) => isVirtError(error, code));

    const defined = await client.define(
      `<secret><uuid>${UUID}</uuid><usage type='ceph'><name>admin</name></usage></secret>`,
    );
    assert.deepEqual(defined, {
      uuid: UUID,
      ephemeral: false,
      private: false,
      usage: { type: "ceph", id: "admin" },
    });
    assert.deepEqual(await readOnly.list(), [defined]);
    assert.match(await readOnly.xml(UUID), /<name>admin<\/name>/);
    await client.setValue(UUID, new Uint8Array([0, 1, 254, 255]));
    assert.deepEqual(await client.value(UUID), new Uint8Array([0, 1, 254, 255]));
    await refusedWith(ErrorCode.OPERATION_DENIED, () => readOnly.value(UUID));
    await refusedWith(ErrorCode.OPERATION_DENIED, () => readOnly.setValue(UUID, new Uint8Array(1)));
    await client.define(
      `<secret private='yes'><uuid>${UUID}</uuid><usage type='ceph'><name>admin</name></usage>` +
        `</secret>`,
    );
    await refusedWith(ErrorCode.INVALID_SECRET, () => client.value(UUID));
    await client.undefine(UUID);
    await refusedWith(ErrorCode.NO_SECRET, () => client.xml(UUID));
    await refusedWith(ErrorCode.NO_SECRET, () => client.undefine("not-a-uuid"));
    assert.deepEqual(await client.list(), []);
  } finally {
    await service.close();
    await Deno.remove(valuesDir, { recursive: true });
  }
});
