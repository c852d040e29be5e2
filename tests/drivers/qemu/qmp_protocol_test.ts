import assert from "node:assert/strict";
import { QmpDisconnectedError, QmpProtocolError } from "../../../drivers/qemu/qmp_errors.ts";
import {
  encodeQmpCommand,
  parseQmpMessage,
  type QmpEvent,
  QmpLineSplitter,
  type QmpOutcome,
  QmpProtocol,
  type QmpTransport,
} from "../../../drivers/qemu/qmp_protocol.ts";

const encoder = new TextEncoder();

Deno.test("QmpLineSplitter reassembles lines pushed one byte at a time", () => {
  const splitter = new QmpLineSplitter(1024);
  const lines: string[] = [];
  for (const byte of encoder.encode('{"a": 1}\r\n{"b": "\u00e9"}\n')) {
    lines.push(...splitter.push(new Uint8Array([byte])));
  }
  assert.deepEqual(lines, ['{"a": 1}', '{"b": "\u00e9"}']);
  assert.equal(splitter.pendingBytes, 0);
});

Deno.test("QmpLineSplitter returns every line of a chunk and keeps the unfinished rest", () => {
  const splitter = new QmpLineSplitter(1024);
  assert.deepEqual(splitter.push(encoder.encode("one\r\n\r\n  \ntwo\nthr")), ["one", "two"]);
  assert.equal(splitter.pendingBytes, 3);
  assert.deepEqual(splitter.push(encoder.encode("ee\n")), ["three"]);
});

Deno.test("QmpLineSplitter accepts a line of exactly the limit and refuses one byte more", () => {
  const exact = new QmpLineSplitter(8);
  assert.deepEqual(exact.push(encoder.encode("12345678\r\n")), ["12345678"]);
  const over = new QmpLineSplitter(8);
  assert.throws(() => over.push(encoder.encode("123456789\n")), QmpProtocolError);
  const unfinished = new QmpLineSplitter(8);
  assert.throws(() => unfinished.push(encoder.encode("1234567890")), /line longer than 8 bytes/);
});

Deno.test("QmpLineSplitter refuses a line that is not UTF-8", () => {
  const splitter = new QmpLineSplitter(64);
  assert.throws(
    () => splitter.push(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a])),
    /line is not valid UTF-8/,
  );
});

Deno.test("QmpLineSplitter refuses a limit that is not a positive integer", () => {
  assert.throws(() => new QmpLineSplitter(0), RangeError);
  assert.throws(() => new QmpLineSplitter(1.5), RangeError);
});

Deno.test("parseQmpMessage classifies the greeting, events, returns and errors", () => {
  const greeting = parseQmpMessage(
    '{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}}',
  );
  assert.deepEqual(greeting, {
    kind: "greeting",
    greeting: {
      version: { qemu: { major: 7, minor: 2, micro: 22 }, package: "Debian" },
      capabilities: ["oob"],
    },
  });
  assert.deepEqual(
    parseQmpMessage('{"timestamp": {"seconds": 5, "microseconds": 6}, "event": "STOP"}'),
    {
      kind: "event",
      event: { event: "STOP", data: {}, timestamp: { seconds: 5, microseconds: 6 } },
    },
  );
  assert.deepEqual(parseQmpMessage('{"return": {}, "id": 4}'), {
    kind: "return",
    id: 4,
    value: {},
  });
  assert.deepEqual(
    parseQmpMessage('{"id": 5, "error": {"class": "GenericError", "desc": "no"}}'),
    { kind: "error", id: 5, errorClass: "GenericError", desc: "no" },
  );
});

Deno.test("parseQmpMessage refuses lines that are not QMP messages", () => {
  for (
    const [line, problem] of [
      ["garbage", /line is not JSON: 'garbage'/],
      ["[1, 2]", /line is not a JSON object/],
      ["null", /line is not a JSON object/],
      ['{"foo": 1}', /unrecognised message/],
      ['{"error": "oops", "id": 1}', /error reply without class and desc/],
      ['{"event": "STOP"}', /event without a timestamp/],
      ['{"event": "X", "data": 3, "timestamp": {"seconds": 1, "microseconds": 1}}', /event data/],
      ['{"QMP": {"version": {}, "capabilities": []}}', /malformed version/],
      ['{"QMP": {}}', /malformed greeting/],
    ] as const
  ) {
    assert.throws(() => parseQmpMessage(line), problem, line);
    assert.throws(() => parseQmpMessage(line), QmpProtocolError, line);
  }
});

Deno.test("parseQmpMessage quotes at most 80 characters of a bad line", () => {
  const error = (() => {
    try {
      parseQmpMessage("x".repeat(500));
    } catch (error) {
      return error as Error;
    }
    throw new Error("no error");
  })();
  assert.ok(error.message.length < 140);
  assert.ok(error.message.endsWith("…'"));
});

Deno.test("encodeQmpCommand writes one line with arguments only when given", () => {
  assert.equal(encodeQmpCommand(1, "qmp_capabilities"), '{"execute":"qmp_capabilities","id":1}\n');
  assert.equal(
    encodeQmpCommand(2, "balloon", { value: 1024 }),
    '{"execute":"balloon","arguments":{"value":1024},"id":2}\n',
  );
  assert.ok(!encodeQmpCommand(3, "x", { text: "a\nb" }).slice(0, -1).includes("\n"));
});

/** An in-memory transport: the test feeds what QEMU "sends" and reads what the client wrote. */
class MemoryTransport implements QmpTransport {
  readonly written: string[] = [];
  #incoming: Array<Uint8Array | null> = [];
  #waiting: ((chunk: Uint8Array | null) => void) | undefined;
  closed = false;

  feed(text: string | null): void {
    const chunk = text === null ? null : encoder.encode(text);
    if (this.#waiting !== undefined) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting(chunk);
    } else {
      this.#incoming.push(chunk);
    }
  }

  read(buffer: Uint8Array): Promise<number | null> {
    const deliver = (chunk: Uint8Array | null) => {
      if (chunk === null) return null;
      buffer.set(chunk);
      return chunk.length;
    };
    if (this.#incoming.length > 0) return Promise.resolve(deliver(this.#incoming.shift()!));
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiting = (chunk) => resolve(deliver(chunk)));
  }

  write(data: Uint8Array): Promise<number> {
    this.written.push(new TextDecoder().decode(data));
    return Promise.resolve(data.length);
  }

  close(): void {
    this.closed = true;
    this.feed(null);
  }
}

const GREETING_LINE =
  '{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\r\n';

function recorder() {
  const events: QmpEvent[] = [];
  const replies: Array<[unknown, string | undefined]> = [];
  const ends: Array<[Error, number]> = [];
  return {
    events,
    replies,
    ends,
    hooks: {
      onEvent: (event: QmpEvent) => void events.push(event),
      onSend: () => {},
      onReply: (id: unknown, _line: string, execute: string | undefined) =>
        void replies.push([id, execute]),
      onEnd: (error: Error, unfinished: number) => void ends.push([error, unfinished]),
    },
  };
}

async function negotiated(transport: MemoryTransport, hooks: ReturnType<typeof recorder>["hooks"]) {
  const protocol = new QmpProtocol(transport, hooks);
  const negotiation = protocol.negotiate();
  transport.feed(GREETING_LINE);
  await new Promise((resolve) => setTimeout(resolve, 0));
  transport.feed('{"return": {}, "id": 1}\r\n');
  await negotiation;
  return protocol;
}

Deno.test("QmpProtocol.negotiate sends qmp_capabilities after the greeting", async () => {
  const transport = new MemoryTransport();
  const { hooks, replies } = recorder();
  const protocol = await negotiated(transport, hooks);
  assert.deepEqual(transport.written, ['{"execute":"qmp_capabilities","id":1}\n']);
  assert.deepEqual(replies, [[1, "qmp_capabilities"]]);
  protocol.close();
  await protocol.done;
});

Deno.test("QmpProtocol.send matches out-of-order replies by id", async () => {
  const transport = new MemoryTransport();
  const { hooks } = recorder();
  const protocol = await negotiated(transport, hooks);
  const outcomes: Array<[string, QmpOutcome]> = [];
  protocol.send("a", undefined, (outcome) => outcomes.push(["a", outcome]));
  protocol.send("b", undefined, (outcome) => outcomes.push(["b", outcome]));
  assert.equal(protocol.pendingCount, 2);
  transport.feed('{"return": "B", "id": 3}\n{"error": {"class": "C", "desc": "D"}, "id": 2}\n');
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(outcomes, [
    ["b", { kind: "return", value: "B" }],
    ["a", { kind: "error", errorClass: "C", desc: "D" }],
  ]);
  protocol.close();
  await protocol.done;
});

Deno.test("QmpProtocol.abandon makes the late reply unmatched", async () => {
  const transport = new MemoryTransport();
  const { hooks, replies } = recorder();
  const protocol = await negotiated(transport, hooks);
  let settled = false;
  const { id } = protocol.send("slow", undefined, () => settled = true);
  assert.equal(protocol.abandon(id), true);
  assert.equal(protocol.abandon(id), false);
  transport.feed(`{"return": {}, "id": ${id}}\n`);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(settled, false);
  assert.deepEqual(replies.at(-1), [id, undefined]);
  assert.equal(protocol.endError, undefined);
  protocol.close();
  await protocol.done;
});

Deno.test("QmpProtocol ends every pending command at end of file and reports the unfinished line", async () => {
  const transport = new MemoryTransport();
  const { hooks, ends } = recorder();
  const protocol = await negotiated(transport, hooks);
  const outcomes: QmpOutcome[] = [];
  protocol.send("a", undefined, (outcome) => outcomes.push(outcome));
  protocol.send("b", undefined, (outcome) => outcomes.push(outcome));
  transport.feed('{"return"');
  transport.feed(null);
  await protocol.done;
  assert.equal(outcomes.length, 2);
  for (const outcome of outcomes) {
    assert.equal(outcome.kind, "ended");
    assert.ok(outcome.kind === "ended" && outcome.error instanceof QmpDisconnectedError);
  }
  assert.equal(ends.length, 1);
  assert.equal(ends[0][1], 9);
  let late: QmpOutcome | undefined;
  protocol.send("c", undefined, (outcome) => late = outcome);
  assert.equal(late?.kind, "ended");
});

Deno.test("QmpProtocol ends with a protocol error on a message before the greeting", async () => {
  const transport = new MemoryTransport();
  const { hooks, ends } = recorder();
  const protocol = new QmpProtocol(transport, hooks);
  const negotiation = protocol.negotiate().catch((error) => error);
  transport.feed('{"return": {}, "id": 1}\n');
  assert.ok(await negotiation instanceof QmpProtocolError);
  await protocol.done;
  assert.match(ends[0][0].message, /message before the greeting/);
  assert.equal(transport.closed, true);
});

Deno.test("QmpProtocol ends with a protocol error on a second greeting", async () => {
  const transport = new MemoryTransport();
  const { hooks, ends } = recorder();
  const protocol = await negotiated(transport, hooks);
  transport.feed(GREETING_LINE);
  await protocol.done;
  assert.match(ends[0][0].message, /second greeting/);
});

Deno.test("QmpProtocol hands events to its hook in order", async () => {
  const transport = new MemoryTransport();
  const { hooks, events } = recorder();
  const protocol = await negotiated(transport, hooks);
  const stamp = '"timestamp": {"seconds": 1, "microseconds": 0}';
  transport.feed(
    `{"event": "RESET", "data": {"guest": false}, ${stamp}}\n{"event": "RESET", "data": {"guest": true}, ${stamp}}\n`,
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(events.map((event) => event.data.guest), [false, true]);
  protocol.close();
  await protocol.done;
});
