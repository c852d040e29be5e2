import assert from "node:assert/strict";
import { CommandFailure } from "../../../src/cli/command_failure.ts";
import { readDomainDocument } from "../../../src/cli/document_file.ts";
import { withTempFile } from "./_cli_harness.ts";

Deno.test("readDomainDocument reads XML as XML", async () => {
  await withTempFile("<domain type='test'/>\n", async (path) => {
    assert.deepEqual(await readDomainDocument(path, 1024), { xml: "<domain type='test'/>\n" });
  });
});

Deno.test("readDomainDocument reads a document starting with { as the JSON model", async () => {
  await withTempFile(' {"name":"web"}', async (path) => {
    assert.deepEqual(await readDomainDocument(path, 1024), { definition: { name: "web" } });
  }, ".json");
});

Deno.test("readDomainDocument refuses malformed JSON", async () => {
  await withTempFile("{name:", async (path) => {
    await assert.rejects(readDomainDocument(path, 1024), (error: Error) => {
      assert.ok(error instanceof CommandFailure);
      assert.equal(error.message, `Failed to read file '${path}'`);
      assert.match((error.cause as Error).message, /^malformed JSON: /);
      return true;
    });
  });
});

Deno.test("readDomainDocument refuses a missing file and a directory as virsh", async () => {
  await assert.rejects(
    readDomainDocument("/nonexistent/x.xml", 1024),
    (error: Error) =>
      error.message === "Failed to open file '/nonexistent/x.xml': No such file or directory",
  );
  const directory = await Deno.makeTempDir();
  try {
    await assert.rejects(
      readDomainDocument(directory, 1024),
      (error: Error) =>
        error instanceof CommandFailure &&
        error.message.startsWith(`Failed to read file '${directory}'`),
    );
  } finally {
    await Deno.remove(directory);
  }
});

Deno.test("readDomainDocument refuses a file beyond the limit", async () => {
  await withTempFile("x".repeat(1025), async (path) => {
    await assert.rejects(
      readDomainDocument(path, 1024),
      (error: Error) =>
        error.message ===
          `Failed to read file '${path}': larger than the limit of 1024 bytes (EVIRT_XML_MAX_BYTES)`,
    );
  });
});

Deno.test("readDomainDocument refuses bytes that are not UTF-8", async () => {
  const path = await Deno.makeTempFile({ suffix: ".xml" });
  try {
    await Deno.writeFile(path, new Uint8Array([0x3c, 0xff, 0xfe, 0x3e]));
    await assert.rejects(
      readDomainDocument(path, 1024),
      (error: Error) => error.message === `Failed to read file '${path}': not valid UTF-8 text`,
    );
  } finally {
    await Deno.remove(path);
  }
});
