import assert from "node:assert/strict";
import {
  DEFINITION_INLINE_MAX_BYTES,
  DefinitionReaderPool,
  readDefinition,
} from "../../../src/api/definition_reader.ts";
import { answerDefinitionRequest } from "../../../src/api/definition_worker.ts";
import { bodyText, definitionFromText } from "../../../src/api/definition_text.ts";
import { VirtError } from "../../../src/model/errors.ts";
import { isCompactDefinition, isCompactPart } from "../../../src/model/compact_definition.ts";
import { knownJsonText } from "../../../src/log/json_text.ts";
import { jsonTextString } from "../../../src/log/json_pieces.ts";

const XML = "<domain type='test'><name>t</name><uuid>0d3c1c54-7b0e-4f5e-9f3a-3a6c2f0b9e11</uuid>" +
  "<memory>1024</memory><os><type>hvm</type></os><devices><serial type='pty'/></devices></domain>";

function request(text: string) {
  return { body: text, contentType: "application/xml", maxBytes: 65536, live: false };
}

Deno.test("DefinitionReaderPool reads on a thread what definitionFromText reads in place", async () => {
  const pool = new DefinitionReaderPool();
  try {
    const read = await pool.read(request(XML));
    assert.deepEqual(read, definitionFromText(XML, "application/xml", { maxBytes: 65536 }));
    // The thread stays for the next body.
    assert.equal(pool.threads, 1);
    await pool.read(request(XML));
    assert.equal(pool.threads, 1);
  } finally {
    pool.close();
  }
  assert.equal(pool.threads, 0);
});

Deno.test("DefinitionReaderPool passes a definition's error on with its code and where", async () => {
  const pool = new DefinitionReaderPool();
  const error = await pool.read(request(XML.replace("<name>t</name>", "<name>a/b</name>")))
    .catch((caught) => caught)
    .finally(() => pool.close());
  assert.ok(error instanceof VirtError, String(error));
  assert.deepEqual([error.code, error.message, error.where], [
    27,
    "name a/b cannot contain '/'",
    "/domain/name",
  ]);
});

Deno.test("DefinitionReaderPool refuses with code 87 once its queue is full", async () => {
  const pool = new DefinitionReaderPool({ readersMax: 1, queueMax: 1 });
  try {
    const first = pool.read(request(XML)); // taken by the thread as it starts
    const second = pool.read(request(XML)); // waits
    const third = await pool.read(request(XML)).catch((caught) => caught);
    assert.ok(third instanceof VirtError && third.code === 87, String(third));
    await Promise.all([first, second]);
  } finally {
    pool.close();
  }
});

Deno.test("DefinitionReaderPool refuses waiting and running bodies with code 78 when closed", async () => {
  const pool = new DefinitionReaderPool({ readersMax: 1 });
  const running = pool.read(request(XML)).catch((caught) => caught);
  const waiting = pool.read(request(XML)).catch((caught) => caught);
  pool.close();
  for (const error of await Promise.all([running, waiting])) {
    assert.ok(error instanceof VirtError && error.code === 78, String(error));
  }
  const after = await pool.read(request(XML)).catch((caught) => caught);
  assert.ok(after instanceof VirtError && after.code === 78, String(after));
});

Deno.test("DefinitionReaderPool ends a thread that overruns its time and answers code 68", async () => {
  // No thread starts within 1 ms, so the first body always overruns.
  const pool = new DefinitionReaderPool({ timeoutMs: 1 });
  try {
    const error = await pool.read(request(XML)).catch((caught) => caught);
    assert.ok(error instanceof VirtError && error.code === 68, String(error));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(pool.threads, 0);
  } finally {
    pool.close();
  }
});

Deno.test("a body's bytes move to the thread, which answers the definition's JSON text too", async () => {
  const bytes = new TextEncoder().encode(XML);
  const reply = answerDefinitionRequest({
    body: bytes,
    contentType: "application/xml",
    maxBytes: 65536,
    live: false,
  });
  assert.ok(reply.ok && "compact" in reply, JSON.stringify(reply));
  const inPlace = definitionFromText(XML, "application/xml", { maxBytes: 65536 });
  const { json } = reply.compact;
  assert.equal(json.text, JSON.stringify(inPlace));
  assert.equal(json.bytes, new TextEncoder().encode(jsonTextString(json.text)).length);
  // A small definition has nothing to keep deflated.
  assert.equal(reply.compact.parts, undefined);
  const pool = new DefinitionReaderPool();
  try {
    const read = await pool.read({ ...request(XML), body: bytes });
    assert.equal(bytes.byteLength, 0, "the buffer was transferred, not copied");
    assert.deepEqual(read, inPlace);
  } finally {
    pool.close();
  }
});

Deno.test("a body that is not UTF-8 is refused with code 8 on the thread as in place", async () => {
  const pool = new DefinitionReaderPool();
  try {
    const error = await pool.read({ ...request(XML), body: new Uint8Array([0x3c, 0xff, 0xfe]) })
      .catch((caught) => caught);
    assert.ok(error instanceof VirtError, String(error));
    assert.deepEqual([error.code, error.message, error.where], [
      8,
      "request body is not valid UTF-8",
      "body",
    ]);
  } finally {
    pool.close();
  }
});

Deno.test("readDefinition refuses to move a large body that shares its buffer", () => {
  const pool = new DefinitionReaderPool();
  try {
    const shared = new Uint8Array(DEFINITION_INLINE_MAX_BYTES * 2).subarray(1);
    assert.throws(
      () => readDefinition(shared, "application/xml", { maxBytes: 1 << 20 }, pool),
      RangeError,
    );
  } finally {
    pool.close();
  }
});

Deno.test("a large definition comes back from its thread compact: its large parts are never parsed here", async () => {
  const disks = Array.from(
    { length: 500 },
    (_, index) =>
      `<disk type='file' device='disk'><source file='/var/lib/libvirt/images/guest-data-disk-${index}.qcow2'/>` +
      `<target dev='vd${index}' bus='virtio'/></disk>`,
  ).join("");
  const xml = "<domain type='test'><name>big</name>" +
    "<uuid>0d3c1c54-7b0e-4f5e-9f3a-3a6c2f0b9e12</uuid><memory>1024</memory>" +
    `<description>${"d".repeat(200_000)}</description>` +
    `<os><type>hvm</type></os><devices><emulator>/usr/bin/true</emulator>${disks}</devices></domain>`;
  const inPlace = definitionFromText(xml, "application/xml", { maxBytes: 1 << 20 });
  const pool = new DefinitionReaderPool();
  try {
    const read = await pool.read({ ...request(xml), maxBytes: 1 << 20 });
    assert.ok(isCompactDefinition(read));
    assert.ok(isCompactPart(read, "description") && isCompactPart(read, "devices"));
    // The log's append finds the text the thread made.
    assert.equal(jsonTextString(knownJsonText(read)!.text), JSON.stringify(inPlace));
    // Small parts, and the small children of the split devices, are plain.
    assert.equal(read.name, "big");
    assert.equal(read.devices.emulator, "/usr/bin/true");
    assert.ok(isCompactPart(read.devices as never, "disks"));
    assert.deepEqual(read, inPlace);
  } finally {
    pool.close();
  }
});

Deno.test("bodyText reads what a fatal TextDecoder reads, and refuses what it refuses with code 8", () => {
  const cases = [
    [0xef, 0xbb, 0xbf, 0x3c, 0x61, 0x2f, 0x3e], // a byte order mark, dropped
    [0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf, 0x41], // only the first one
    [...new TextEncoder().encode("<a>é€😀</a>")],
    [0x3c, 0xff], // not UTF-8
    [0xed, 0xa0, 0x80], // an encoded surrogate (CESU-8)
    [0xc0, 0xaf], // an overlong form
    [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
    [0xe2, 0x82], // cut short
    [0x00],
    [],
  ];
  for (const bytes of cases) {
    const expected = (() => {
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
      } catch {
        return undefined;
      }
    })();
    const actual = (() => {
      try {
        return bodyText(new Uint8Array(bytes));
      } catch (error) {
        assert.ok(error instanceof VirtError && error.code === 8 && error.where === "body");
        return undefined;
      }
    })();
    assert.equal(actual, expected, JSON.stringify(bytes));
  }
  // A view into a larger buffer reads its own bytes only.
  const buffer = new TextEncoder().encode("xx<a/>yy");
  assert.equal(bodyText(buffer.subarray(2, 6)), "<a/>");
});
