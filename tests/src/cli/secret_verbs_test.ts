import assert from "node:assert/strict";
import { decodeBase64Leniently, formatSecretList } from "../../../src/cli/secret_verbs.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("base64 is decoded as GLib decodes it: junk skipped, partial group dropped", () => {
  assert.equal(text(decodeBase64Leniently("aGk=")), "hi");
  assert.equal(text(decodeBase64Leniently("aG\nk=*!")), "hi");
  assert.equal(text(decodeBase64Leniently("aGk=QQ")), "hi");
  assert.equal(text(decodeBase64Leniently("QQ==")), "A");
  assert.equal(text(decodeBase64Leniently("YWJj")), "abc");
  assert.deepEqual(decodeBase64Leniently(""), new Uint8Array(0));
  assert.deepEqual(decodeBase64Leniently("/w=="), new Uint8Array([255]));
});

Deno.test("secret-list sorts by uuid whatever the case and says Unused for no usage", () => {
  const list = formatSecretList([
    { uuid: "b0000000-0000-4000-8000-000000000000", ephemeral: false, private: false },
    {
      uuid: "A0000000-0000-4000-8000-000000000000",
      ephemeral: false,
      private: true,
      usage: { type: "ceph", id: "admin key" },
    },
  ], false);
  assert.equal(
    list,
    " UUID                                   Usage\n" +
      "--------------------------------------------------------\n" +
      " A0000000-0000-4000-8000-000000000000   ceph admin key\n" +
      " b0000000-0000-4000-8000-000000000000   Unused\n",
  );
  assert.doesNotMatch(formatSecretList([], true), /UUID/);
});
