import assert from "node:assert/strict";
import { Secrets } from "../../actors/secrets.ts";
import { createMemoryStore } from "../../src/log/memory_store.ts";
import { ErrorCode, isVirtError } from "../../src/model/errors.ts";
import { SECRET_FACT_TYPES, secretStream } from "../../src/model/secret_facts.ts";
import { SECRETS_KEY_FILE } from "../../src/host/secret_values.ts";

const UUID_A = "e78d4b51-a2af-485f-b0f5-afca709a80f4";
const UUID_B = "149ab04b-36c4-4ee5-891c-679c84ffc537";
const VALUE = new TextEncoder().encode("a clear passphrase");

function volumeSecret(uuid: string, path: string, flags = ""): string {
  return `<secret${flags}><uuid>${uuid}</uuid><usage type='volume'><volume>${path}</volume>` +
    `</usage></secret>`;
}

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return new TextDecoder("latin1").decode(haystack).includes(
    new TextDecoder("latin1").decode(needle),
  );
}

/** A memory log and a values folder, removed by the returned function. */
function rig() {
  const store = createMemoryStore({ factTypes: SECRET_FACT_TYPES });
  const valuesDir = Deno.makeTempDirSync({ prefix: "evirt-secrets-" });
  return { store, valuesDir, remove: () => Deno.removeSync(valuesDir, { recursive: true }) };
}

Deno.test("Secrets defines, looks up by uuid and usage, and undefines", async () => {
  const { store, valuesDir, remove } = rig();
  try {
    const secrets = await Secrets.open({ store, valuesDir });
    await secrets.define(volumeSecret(UUID_A, "/a.img"));
    assert.equal(secrets.byUsage("volume", "/a.img").uuid, UUID_A);
    assert.equal(secrets.byUuid(UUID_A).usage?.id, "/a.img");
    assert.throws(() => secrets.byUsage("ceph", "/a.img"), (e) => isVirtError(e, 66));
    await secrets.undefine(UUID_A);
    assert.throws(() => secrets.byUuid(UUID_A), (e) => isVirtError(e, ErrorCode.NO_SECRET));
    assert.deepEqual(secrets.list(), []);
  } finally {
    remove();
  }
});

Deno.test("a usage is one secret's, a usage never changes, a private secret stays private", async () => {
  const { store, valuesDir, remove } = rig();
  try {
    const secrets = await Secrets.open({ store, valuesDir });
    await secrets.define(volumeSecret(UUID_A, "/a.img", " private='yes'"));
    const refused = async (xml: string, message: string) =>
      await assert.rejects(secrets.define(xml), (error) => {
        assert.ok(isVirtError(error, ErrorCode.INTERNAL_ERROR));
        assert.equal(error.message, message);
        return true;
      });
    await refused(
      volumeSecret(UUID_B, "/a.img"),
      `a secret with UUID ${UUID_A} already defined for use with /a.img`,
    );
    await refused(
      volumeSecret(UUID_A, "/b.img", " private='yes'"),
      `a secret with UUID ${UUID_A} is already defined for use with /a.img`,
    );
    await refused(volumeSecret(UUID_A, "/a.img"), "cannot change private flag on existing secret");
    assert.equal(secrets.list().length, 1);
  } finally {
    remove();
  }
});

Deno.test("a value is kept encrypted beside the log, never in it, and survives a restart", async () => {
  const { store, valuesDir, remove } = rig();
  try {
    const secrets = await Secrets.open({ store, valuesDir });
    await secrets.define(volumeSecret(UUID_A, "/a.img"));
    await secrets.setValue(UUID_A, VALUE);
    assert.deepEqual(secrets.value(UUID_A), VALUE);
    const facts = await store.readStream(secretStream(UUID_A));
    assert.deepEqual(facts.map((fact) => fact.type), ["secret.defined", "secret.value_set"]);
    assert.ok(!JSON.stringify(facts).includes("clear passphrase"));
    const file = Deno.readFileSync(`${valuesDir}/${UUID_A}.value`);
    assert.ok(!contains(file, VALUE), "the value file holds the value in clear");
    assert.equal((Deno.statSync(`${valuesDir}/${UUID_A}.value`).mode ?? 0) & 0o777, 0o600);
    assert.equal((Deno.statSync(`${valuesDir}/${SECRETS_KEY_FILE}`).mode ?? 0) & 0o777, 0o600);
    const reopened = await Secrets.open({ store, valuesDir });
    assert.deepEqual(reopened.value(UUID_A), VALUE);
  } finally {
    remove();
  }
});

Deno.test("a private secret's value is refused to callers and given to the host", async () => {
  const { store, valuesDir, remove } = rig();
  try {
    const secrets = await Secrets.open({ store, valuesDir });
    await secrets.define(volumeSecret(UUID_A, "/a.img", " private='yes'"));
    await secrets.setValue(UUID_A, VALUE);
    assert.throws(() => secrets.value(UUID_A), (error) => {
      assert.ok(isVirtError(error, ErrorCode.INVALID_SECRET));
      assert.equal(error.fullMessage, "Invalid secret: secret is private");
      return true;
    });
    assert.deepEqual(secrets.internalValue({ uuid: UUID_A }), VALUE);
    assert.deepEqual(secrets.internalValue({ usage: "/a.img" }), VALUE);
  } finally {
    remove();
  }
});

Deno.test("an ephemeral secret's value lives in memory only", async () => {
  const { store, valuesDir, remove } = rig();
  try {
    const secrets = await Secrets.open({ store, valuesDir });
    await secrets.define(volumeSecret(UUID_A, "/a.img", " ephemeral='yes'"));
    assert.throws(() => secrets.value(UUID_A), (error) => {
      assert.ok(isVirtError(error, ErrorCode.NO_SECRET));
      assert.equal(error.message, `secret '${UUID_A}' does not have a value`);
      return true;
    });
    await secrets.setValue(UUID_A, VALUE);
    assert.deepEqual(secrets.value(UUID_A), VALUE);
    assert.throws(() => Deno.statSync(`${valuesDir}/${UUID_A}.value`), Deno.errors.NotFound);
    const reopened = await Secrets.open({ store, valuesDir });
    assert.equal(reopened.hasValue(UUID_A), false);
  } finally {
    remove();
  }
});

Deno.test("at open, reality wins: an unwritten value is none, an orphan file is removed", async () => {
  const { store, valuesDir, remove } = rig();
  try {
    const secrets = await Secrets.open({ store, valuesDir });
    await secrets.define(volumeSecret(UUID_A, "/a.img"));
    await secrets.setValue(UUID_A, VALUE);
    // A crash after the intent, before the write: the file is not there.
    Deno.removeSync(`${valuesDir}/${UUID_A}.value`);
    // A crash after `secret.undefined`, before the file's removal.
    await secrets.define(volumeSecret(UUID_B, "/b.img"));
    await secrets.setValue(UUID_B, VALUE);
    const file = Deno.readFileSync(`${valuesDir}/${UUID_B}.value`);
    await secrets.undefine(UUID_B);
    Deno.writeFileSync(`${valuesDir}/${UUID_B}.value`, file);
    const notes: string[] = [];
    const reopened = await Secrets.open({ store, valuesDir, log: (note) => notes.push(note) });
    assert.equal(reopened.hasValue(UUID_A), false);
    assert.throws(() => Deno.statSync(`${valuesDir}/${UUID_B}.value`), Deno.errors.NotFound);
    assert.equal(notes.length, 2, notes.join("\n"));
  } finally {
    remove();
  }
});

Deno.test("a value file copied under another secret does not decrypt", async () => {
  const { store, valuesDir, remove } = rig();
  try {
    const secrets = await Secrets.open({ store, valuesDir });
    await secrets.define(volumeSecret(UUID_A, "/a.img"));
    await secrets.define(volumeSecret(UUID_B, "/b.img"));
    await secrets.setValue(UUID_A, VALUE);
    Deno.copyFileSync(`${valuesDir}/${UUID_A}.value`, `${valuesDir}/${UUID_B}.value`);
    const notes: string[] = [];
    const reopened = await Secrets.open({ store, valuesDir, log: (note) => notes.push(note) });
    assert.equal(reopened.hasValue(UUID_B), false);
    assert.match(notes.join("\n"), /damaged/);
  } finally {
    remove();
  }
});

Deno.test("a value file left for a secret made ephemeral (a crash before its removal) goes at open", async () => {
  const { store, valuesDir, remove } = rig();
  try {
    let secrets = await Secrets.open({ store, valuesDir });
    await secrets.define(volumeSecret(UUID_A, "/a.img"));
    await secrets.setValue(UUID_A, VALUE);
    const file = [...Deno.readDirSync(valuesDir)].find((entry) => entry.name.endsWith(".value"));
    assert.ok(file !== undefined);
    const kept = Deno.readFileSync(`${valuesDir}/${file.name}`);
    await secrets.define(volumeSecret(UUID_A, "/a.img", " ephemeral='yes'"));
    // As if the service died between `secret.defined` and the file's removal.
    Deno.writeFileSync(`${valuesDir}/${file.name}`, kept, { mode: 0o600 });
    secrets = await Secrets.open({ store, valuesDir, log: () => {} });
    assert.ok(!Deno.readDirSync(valuesDir).some((entry) => entry.name === file.name));
    assert.equal(secrets.byUuid(UUID_A).ephemeral, true);
  } finally {
    remove();
  }
});
