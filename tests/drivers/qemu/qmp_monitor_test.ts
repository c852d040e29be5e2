import assert from "node:assert/strict";
import {
  QmpAbortedError,
  QmpBusyError,
  QmpCommandError,
  QmpConnectError,
  QmpDisconnectedError,
  QmpProtocolError,
  QmpTimeoutError,
} from "../../../drivers/qemu/qmp_errors.ts";
import { QmpLog } from "../../../drivers/qemu/qmp_log.ts";
import {
  qmpCommandClass,
  type QmpConnectOptions,
  QmpMonitor,
} from "../../../drivers/qemu/qmp_monitor.ts";
import type { QmpEvent } from "../../../drivers/qemu/qmp_protocol.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { type FakeQmpScript, FakeQmpServer } from "./fake_qmp_server.ts";

/** Runs `body` against a fake server playing `script`, cleaning both up whatever happens. */
async function withServer(
  script: FakeQmpScript,
  body: (server: FakeQmpServer) => Promise<void>,
): Promise<void> {
  const server = FakeQmpServer.start(script);
  try {
    await body(server);
  } finally {
    await server.stop();
  }
  assert.deepEqual(server.scriptErrors, []);
}

/** Connects with short test bounds; the caller closes the monitor. */
function connect(server: FakeQmpServer, options: QmpConnectOptions = {}): Promise<QmpMonitor> {
  return QmpMonitor.connect(server.socketPath, { connectTimeoutMs: 2000, ...options });
}

/** Answers every command with `answer(execute)` until the client closes. */
function answering(answer: (execute: string) => unknown): FakeQmpScript {
  return async (peer) => {
    await peer.handshake();
    for (;;) {
      const command = await peer.receive();
      if (command === null) return;
      await peer.reply(command.id, answer(command.execute));
    }
  };
}

Deno.test("QmpMonitor.connect reads the greeting and negotiates capabilities", async () => {
  await withServer(answering(() => ({})), async (server) => {
    const monitor = await connect(server);
    assert.deepEqual(monitor.greeting.version.qemu, { major: 7, minor: 2, micro: 0 });
    assert.deepEqual(monitor.greeting.capabilities, ["oob"]);
    const [negotiation] = server.peers[0].received;
    assert.equal(negotiation.execute, "qmp_capabilities");
    assert.equal(negotiation.arguments, undefined);
    assert.equal(negotiation.id, 1);
    await monitor.close();
  });
});

Deno.test("QmpMonitor.execute returns the value of the reply with its id", async () => {
  await withServer(
    answering((execute) => execute === "query-status" ? { status: "running", running: true } : {}),
    async (server) => {
      const monitor = await connect(server);
      const status = await monitor.execute("query-status");
      assert.deepEqual(status, { status: "running", running: true });
      await monitor.execute("stop", { foo: 1 });
      const received = server.peers[0].received;
      assert.deepEqual(received.map((command) => command.id), [1, 2, 3]);
      assert.deepEqual(received[2], { execute: "stop", arguments: { foo: 1 }, id: 3 });
      await monitor.close();
    },
  );
});

Deno.test("QmpMonitor.execute rejects with QmpCommandError on an error reply", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    const command = await peer.expect("device_del");
    await peer.error(command.id, "DeviceNotFound", "Device 'nope' not found");
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    const error = await monitor.execute("device_del", { id: "nope" }).catch((e) => e);
    assert.ok(error instanceof QmpCommandError);
    assert.equal(error.class, "DeviceNotFound");
    assert.equal(error.desc, "Device 'nope' not found");
    assert.equal(error.code, ErrorCode.INTERNAL_ERROR);
    assert.equal(
      error.message,
      "unable to execute QEMU command 'device_del': Device 'nope' not found",
    );
    assert.equal(monitor.isClosed, false);
    await monitor.close();
  });
});

Deno.test("QmpMonitor reassembles a greeting and replies written one byte at a time", async () => {
  await withServer(async (peer) => {
    await peer.sendBytewise(
      `${
        JSON.stringify({
          QMP: {
            version: { qemu: { major: 7, minor: 2, micro: 0 }, package: "" },
            capabilities: [],
          },
        })
      }\r\n`,
    );
    const negotiation = await peer.expect("qmp_capabilities");
    await peer.sendBytewise(`{"return": {}, "id": ${negotiation.id}}\r\n`);
    const command = await peer.expect("query-name");
    await peer.sendBytewise(`{"return": {"name": "h\u00e9"}, "id": ${command.id}}\r\n`);
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    assert.deepEqual(await monitor.execute("query-name"), { name: "h\u00e9" });
    await monitor.close();
  });
});

Deno.test("QmpMonitor splits several messages arriving in one write", async () => {
  const events: string[] = [];
  await withServer(async (peer) => {
    await peer.handshake();
    const command = await peer.expect("query-status");
    const stamp = '"timestamp": {"seconds": 1, "microseconds": 2}';
    await peer.send(
      `{"event": "A", ${stamp}}\r\n{"return": {"status": "paused"}, "id": ${command.id}}\r\n` +
        `{"event": "B", "data": {"x": 1}, ${stamp}}\r\n`,
    );
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server, { onEvent: (event) => void events.push(event.event) });
    assert.deepEqual(await monitor.execute("query-status"), { status: "paused" });
    // B is still queued for the handler: closing delivers it before `closed` resolves.
    await monitor.close();
    await monitor.closed;
    assert.deepEqual(events, ["A", "B"]);
  });
});

Deno.test("QmpMonitor delivers events interleaved with replies in arrival order", async () => {
  const events: QmpEvent[] = [];
  let sawAllEvents: () => void;
  const allEvents = new Promise<void>((resolve) => sawAllEvents = resolve);
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.event("BEFORE");
    const stop = await peer.expect("stop");
    await peer.event("STOP");
    await peer.reply(stop.id);
    await peer.event("AFTER", { n: 1 });
    const cont = await peer.expect("cont");
    await peer.reply(cont.id);
    await peer.event("RESUME");
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server, {
      onEvent: async (event) => {
        // A slow handler must not hold up replies.
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(event);
        if (event.event === "RESUME") sawAllEvents();
      },
    });
    await monitor.execute("stop");
    await monitor.execute("cont");
    await allEvents;
    await monitor.close();
  });
  assert.deepEqual(events.map((event) => event.event), ["BEFORE", "STOP", "AFTER", "RESUME"]);
  assert.deepEqual(events[2].data, { n: 1 });
  assert.deepEqual(events[0].data, {});
  assert.equal(typeof events[0].timestamp.seconds, "number");
});

Deno.test("QmpMonitor.execute sends one command at a time", async () => {
  const overlaps: string[] = [];
  await withServer(async (peer) => {
    await peer.handshake();
    for (let index = 0; index < 3; index++) {
      const command = await peer.receive();
      assert.ok(command !== null);
      // Nothing else may arrive while this command is unanswered.
      if (!await peer.quietFor(30)) overlaps.push(command.execute);
      await peer.reply(command.id, command.execute);
    }
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    const results = await Promise.all([
      monitor.execute("query-a"),
      monitor.execute("query-b"),
      monitor.execute("query-c"),
    ]);
    assert.deepEqual(results, ["query-a", "query-b", "query-c"]);
    await monitor.close();
  });
  assert.deepEqual(overlaps, []);
});

Deno.test("QmpMonitor closes on a garbage line and fails every pending command with QmpProtocolError", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.expect("query-status");
    await peer.send("this is not json\r\n");
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    const first = monitor.execute("query-status").catch((e) => e);
    const queued = monitor.execute("query-version").catch((e) => e);
    const error = await first;
    assert.ok(error instanceof QmpProtocolError);
    assert.match(
      error.message,
      /^qemu monitor protocol error: line is not JSON: 'this is not json'$/,
    );
    assert.equal(await queued, error);
    const closed = await monitor.closed;
    assert.equal(closed.reason, "protocol");
    assert.equal(closed.error, error);
    assert.equal(monitor.isClosed, true);
    assert.equal(await monitor.execute("query-status").catch((e) => e), error);
  });
});

Deno.test("QmpMonitor closes on a JSON line that is not a QMP message", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.send('{"hello": "world"}\r\n');
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    const closed = await monitor.closed;
    assert.equal(closed.reason, "protocol");
    assert.match(closed.error.message, /unrecognised message/);
  });
});

Deno.test("QmpMonitor closes on a reply without an id", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.expect("query-status");
    await peer.sendJson({ error: { class: "GenericError", desc: "JSON parse error" } });
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    const error = await monitor.execute("query-status").catch((e) => e);
    assert.ok(error instanceof QmpProtocolError);
    assert.match(error.message, /reply without a command id/);
  });
});

Deno.test("QmpMonitor fails pending and queued commands when QEMU closes mid-reply", async () => {
  const dir = Deno.makeTempDirSync();
  const log = QmpLog.open(`${dir}/qmp.log`);
  try {
    await withServer(async (peer) => {
      await peer.handshake();
      await peer.expect("query-status");
      await peer.send('{"return": {"stat');
      peer.close();
    }, async (server) => {
      const monitor = await connect(server, { log });
      const first = monitor.execute("query-status").catch((e) => e);
      const queued = monitor.execute("query-version").catch((e) => e);
      const error = await first;
      assert.ok(error instanceof QmpDisconnectedError);
      assert.equal(error.reason, "eof");
      assert.equal(error.code, ErrorCode.OPERATION_FAILED);
      assert.equal(error.message, "end of file from qemu monitor");
      assert.equal(await queued, error);
      assert.deepEqual(await monitor.closed, { reason: "eof", error });
    });
  } finally {
    log.close();
  }
  const transcript = Deno.readTextFileSync(`${dir}/qmp.log`);
  Deno.removeSync(dir, { recursive: true });
  assert.match(
    transcript,
    /NOTE connection ended: end of file from qemu monitor \(17 bytes of an unfinished line discarded\)/,
  );
});

Deno.test("QmpMonitor.execute times out on an unanswered command and the next command gets its own reply", async () => {
  const dir = Deno.makeTempDirSync();
  const log = QmpLog.open(`${dir}/qmp.log`);
  try {
    await withServer(async (peer) => {
      await peer.handshake();
      const late = await peer.expect("query-status");
      const next = await peer.expect("query-version");
      // The late reply arrives first: it must not be taken for the second command's reply.
      await peer.reply(late.id, { status: "late" });
      await peer.reply(next.id, { version: "next" });
      await peer.waitForClientClose();
    }, async (server) => {
      const monitor = await connect(server, { log });
      const error = await monitor.execute("query-status", undefined, { timeoutMs: 50 })
        .catch((e) => e);
      assert.ok(error instanceof QmpTimeoutError);
      assert.equal(error.code, ErrorCode.OPERATION_TIMEOUT);
      assert.equal(error.timeoutMs, 50);
      assert.equal(
        error.message,
        "timed out waiting for qemu monitor reply to 'query-status' after 50 ms",
      );
      assert.equal(monitor.isClosed, false);
      assert.deepEqual(await monitor.execute("query-version"), { version: "next" });
      await monitor.close();
    });
  } finally {
    log.close();
  }
  const transcript = Deno.readTextFileSync(`${dir}/qmp.log`);
  Deno.removeSync(dir, { recursive: true });
  assert.match(transcript, /NOTE abandoned 'query-status' \(id 2\): timed out/);
  assert.match(
    transcript,
    /NOTE dropped late reply to abandoned 'query-status' \(id 2\): \{"return":\{"status":"late"\}/,
  );
});

Deno.test("QmpMonitor.execute times out every command of a server that never answers, and ping says false", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    for (const execute of ["query-status", "stop"]) {
      const error = await monitor.execute(execute, undefined, { timeoutMs: 30 }).catch((e) => e);
      assert.ok(error instanceof QmpTimeoutError, execute);
    }
    assert.equal(await monitor.ping({ timeoutMs: 30 }), false);
    assert.equal(monitor.isClosed, false);
    assert.equal(monitor.pendingCount, 0);
    await monitor.close();
  });
});

Deno.test("QmpMonitor.ping says true when QEMU answers query-version", async () => {
  await withServer(
    answering(() => ({ qemu: { major: 7, minor: 2, micro: 0 }, package: "" })),
    async (server) => {
      const monitor = await connect(server);
      assert.equal(await monitor.ping(), true);
      assert.equal(server.peers[0].received[1].execute, "query-version");
      await monitor.close();
      assert.equal(await monitor.ping(), false);
    },
  );
});

Deno.test("QmpMonitor closes with a protocol error on a line over the limit", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.expect("query-named-block-nodes");
    await peer.send(`{"return": "${"x".repeat(5000)}`);
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server, { lineMaxBytes: 1024 });
    const error = await monitor.execute("query-named-block-nodes").catch((e) => e);
    assert.ok(error instanceof QmpProtocolError);
    assert.equal(error.message, "qemu monitor protocol error: line longer than 1024 bytes");
    assert.equal((await monitor.closed).reason, "protocol");
  });
});

Deno.test("QmpMonitor.execute with an already aborted signal sends nothing", async () => {
  await withServer(answering(() => ({})), async (server) => {
    const monitor = await connect(server);
    const error = await monitor.execute("stop", undefined, { signal: AbortSignal.abort("no") })
      .catch((e) => e);
    assert.ok(error instanceof QmpAbortedError);
    assert.equal(error.code, ErrorCode.OPERATION_ABORTED);
    assert.equal(error.cause, "no");
    await monitor.execute("query-status");
    assert.deepEqual(server.peers[0].received.map((command) => command.execute), [
      "qmp_capabilities",
      "query-status",
    ]);
    await monitor.close();
  });
});

Deno.test("QmpMonitor.execute aborted in flight rejects and leaves the connection usable", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    const slow = await peer.expect("stop");
    const next = await peer.expect("query-status");
    await peer.reply(slow.id, { slow: true });
    await peer.reply(next.id, { status: "paused" });
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    const controller = new AbortController();
    const aborted = monitor.execute("stop", undefined, { signal: controller.signal })
      .catch((e) => e);
    const queued = monitor.execute("query-status");
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    assert.ok(await aborted instanceof QmpAbortedError);
    assert.deepEqual(await queued, { status: "paused" });
    await monitor.close();
  });
});

Deno.test("QmpMonitor.execute aborted while queued is never sent", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    const first = await peer.expect("query-a");
    await new Promise((resolve) => setTimeout(resolve, 30));
    await peer.reply(first.id, "a");
    const second = await peer.expect("query-c");
    await peer.reply(second.id, "c");
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    const controller = new AbortController();
    const first = monitor.execute("query-a");
    const skipped = monitor.execute("query-b", undefined, { signal: controller.signal })
      .catch((e) => e);
    const third = monitor.execute("query-c");
    controller.abort();
    assert.ok(await skipped instanceof QmpAbortedError);
    assert.equal(await first, "a");
    assert.equal(await third, "c");
    await monitor.close();
    assert.deepEqual(server.peers[0].received.map((command) => command.execute), [
      "qmp_capabilities",
      "query-a",
      "query-c",
    ]);
  });
});

Deno.test("QmpMonitor.execute refuses a command when the queue is full", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server, { commandQueueMax: 2 });
    const waiting = [1, 2, 3].map(() => monitor.execute("stop").catch((e) => e));
    const error = await monitor.execute("cont").catch((e) => e);
    assert.ok(error instanceof QmpBusyError);
    assert.equal(error.code, ErrorCode.RESOURCE_BUSY);
    assert.equal(monitor.pendingCount, 3);
    await monitor.close();
    for (const result of await Promise.all(waiting)) {
      assert.ok(result instanceof QmpDisconnectedError);
      assert.equal(result.reason, "closed");
    }
  });
});

Deno.test("QmpMonitor.execute rejects a malformed command name or timeout with INVALID_ARG", async () => {
  await withServer(answering(() => ({})), async (server) => {
    const monitor = await connect(server);
    for (
      const [name, args, options] of [
        ["", undefined, {}],
        ["query status", undefined, {}],
        ["x".repeat(200), undefined, {}],
        ["stop", [] as unknown as Record<string, unknown>, {}],
        ["stop", undefined, { timeoutMs: 0 }],
        ["stop", undefined, { timeoutMs: Number.NaN }],
      ] as const
    ) {
      const error = await monitor.execute(name, args, options).catch((e) => e);
      assert.ok(error instanceof VirtError, name);
      assert.equal(error.code, ErrorCode.INVALID_ARG);
    }
    assert.equal(server.peers[0].received.length, 1);
    await monitor.close();
  });
});

Deno.test("QmpMonitor drops a reply with an unknown id and keeps waiting for its own", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    const command = await peer.expect("query-status");
    await peer.reply(999, "stray");
    await peer.reply(command.id, "mine");
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    assert.equal(await monitor.execute("query-status"), "mine");
    await monitor.close();
  });
});

Deno.test("QmpMonitor.close fails pending commands with QmpDisconnectedError closed", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    const pending = monitor.execute("stop").catch((e) => e);
    await monitor.close();
    const error = await pending;
    assert.ok(error instanceof QmpDisconnectedError);
    assert.equal(error.reason, "closed");
    assert.equal(error.message, "qemu monitor is closed");
    assert.equal((await monitor.closed).reason, "closed");
    await monitor.close();
  });
});

Deno.test("QmpMonitor delivers every event received before end of file before closed resolves", async () => {
  const delivered: string[] = [];
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.event("POWERDOWN");
    await peer.event("SHUTDOWN", { guest: true, reason: "guest-shutdown" });
    peer.close();
  }, async (server) => {
    const monitor = await connect(server, {
      onEvent: async (event) => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        delivered.push(event.event);
      },
    });
    const closed = await monitor.closed;
    assert.equal(closed.reason, "eof");
    assert.deepEqual(delivered, ["POWERDOWN", "SHUTDOWN"]);
  });
});

Deno.test("QmpMonitor keeps delivering events after the handler throws", async () => {
  const delivered: string[] = [];
  const failures: string[] = [];
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.event("FIRST");
    await peer.event("SECOND");
    peer.close();
  }, async (server) => {
    const monitor = await connect(server, {
      onEvent: (event) => {
        if (event.event === "FIRST") throw new Error("handler broke");
        delivered.push(event.event);
      },
      onEventError: (error, event) => failures.push(`${event.event}: ${(error as Error).message}`),
    });
    await monitor.closed;
  });
  assert.deepEqual(delivered, ["SECOND"]);
  assert.deepEqual(failures, ["FIRST: handler broke"]);
});

Deno.test("QmpMonitor closes with a protocol error when the event queue overflows", async () => {
  let release!: () => void;
  const blocked = new Promise<void>((resolve) => release = resolve);
  await withServer(async (peer) => {
    await peer.handshake();
    for (let index = 0; index < 5; index++) await peer.event(`E${index}`);
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server, { eventQueueMax: 2, onEvent: () => blocked });
    const closedSoon = monitor.closed;
    // The handler is stuck on E0 while E1, E2 fill the queue and E3 overflows it.
    const timer = setTimeout(release, 200);
    const closed = await closedSoon;
    clearTimeout(timer);
    release();
    assert.equal(closed.reason, "protocol");
    assert.match(closed.error.message, /event queue overflow: 2 events waiting for the handler/);
  });
});

Deno.test("QmpMonitor.connect retries until the socket appears", async () => {
  const dir = Deno.makeTempDirSync();
  let server: FakeQmpServer | undefined;
  const timer = setTimeout(() => {
    server = FakeQmpServer.startAt(dir, answering(() => ({})));
  }, 100);
  try {
    const monitor = await QmpMonitor.connect(`${dir}/qmp.sock`, { connectTimeoutMs: 3000 });
    assert.equal(monitor.greeting.version.qemu.major, 7);
    await monitor.close();
  } finally {
    clearTimeout(timer);
    if (server === undefined) Deno.removeSync(dir, { recursive: true });
    else await server.stop();
  }
});

Deno.test("QmpMonitor.connect fails with QmpConnectError when the socket never appears", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const started = performance.now();
    const error = await QmpMonitor.connect(`${dir}/absent.sock`, { connectTimeoutMs: 100 })
      .catch((e) => e);
    assert.ok(error instanceof QmpConnectError);
    assert.equal(error.code, ErrorCode.OPERATION_FAILED);
    assert.match(error.message, /^failed to connect to monitor socket '.*absent\.sock': /);
    assert.ok(performance.now() - started < 1000);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("QmpMonitor.connect times out when no greeting comes", async () => {
  await withServer(async (peer) => {
    await peer.waitForClientClose();
  }, async (server) => {
    const error = await connect(server, { connectTimeoutMs: 100 }).catch((e) => e);
    assert.ok(error instanceof QmpTimeoutError);
    assert.equal(error.timeoutMs, 100);
  });
});

Deno.test("QmpMonitor.connect rejects a garbage greeting with QmpProtocolError", async () => {
  await withServer(async (peer) => {
    await peer.send("SSH-2.0-OpenSSH_9.2\r\n");
    await peer.waitForClientClose();
  }, async (server) => {
    const error = await connect(server).catch((e) => e);
    assert.ok(error instanceof QmpProtocolError);
    assert.match(error.message, /line is not JSON: 'SSH-2.0-OpenSSH_9.2'/);
  });
});

Deno.test("QmpMonitor.connect rejects when QEMU refuses qmp_capabilities", async () => {
  await withServer(async (peer) => {
    await peer.greet();
    const command = await peer.expect("qmp_capabilities");
    await peer.error(command.id, "CommandNotFound", "Capabilities negotiation is already complete");
    await peer.waitForClientClose();
  }, async (server) => {
    const error = await connect(server).catch((e) => e);
    assert.ok(error instanceof QmpProtocolError);
    assert.match(error.message, /qmp_capabilities refused/);
  });
});

Deno.test("QmpMonitor.connect stops when its signal fires", async () => {
  await withServer(async (peer) => {
    await peer.waitForClientClose();
  }, async (server) => {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 30);
    const error = await connect(server, { signal: controller.signal }).catch((e) => e);
    clearTimeout(timer);
    assert.ok(error instanceof QmpAbortedError);
  });
});

Deno.test("QmpMonitor.connect refuses a bad bound before connecting", async () => {
  await withServer(async () => {}, async (server) => {
    for (const name of ["eventQueueMax", "commandQueueMax", "lineMaxBytes"] as const) {
      const error = await connect(server, { [name]: 0 }).catch((e) => e);
      assert.ok(error instanceof VirtError, name);
      assert.equal(error.code, ErrorCode.INVALID_ARG);
      assert.equal(error.where, name);
    }
    assert.equal(server.peers.length, 0);
  });
});

Deno.test("QmpMonitor.connect refuses an over-long socket path with INVALID_ARG", async () => {
  const error = await QmpMonitor.connect(`/tmp/${"x".repeat(120)}`).catch((e) => e);
  assert.ok(error instanceof VirtError);
  assert.equal(error.code, ErrorCode.INVALID_ARG);
  assert.equal(error.where, "socketPath");
});

Deno.test("QmpMonitor writes commands, replies and events to its transcript, leaving out noisy queries", async () => {
  const dir = Deno.makeTempDirSync();
  const log = QmpLog.open(`${dir}/qmp.log`);
  try {
    await withServer(async (peer) => {
      await peer.handshake();
      const stop = await peer.expect("stop");
      await peer.event("STOP");
      await peer.reply(stop.id);
      const stats = await peer.expect("query-blockstats");
      await peer.reply(stats.id, []);
      await peer.waitForClientClose();
    }, async (server) => {
      const monitor = await connect(server, { log });
      await monitor.execute("stop");
      await monitor.execute("query-blockstats");
      await monitor.close();
    });
  } finally {
    log.close();
  }
  const lines = Deno.readTextFileSync(`${dir}/qmp.log`).trimEnd().split("\n");
  Deno.removeSync(dir, { recursive: true });
  const kinds = lines.map((line) => line.split(" ")[1]);
  assert.deepEqual(kinds, ["QUERY", "REPLY", "NOTE", "QUERY", "EVENT", "REPLY", "NOTE"]);
  assert.match(
    lines[3],
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z QUERY \{"execute":"stop","id":2\}$/,
  );
  assert.ok(!lines.some((line) => line.includes("query-blockstats")));
});

Deno.test("qmpCommandClass classes queries, actions and heavy commands", () => {
  assert.equal(qmpCommandClass("query-status"), "query");
  assert.equal(qmpCommandClass("qom-get"), "query");
  assert.equal(qmpCommandClass("stop"), "action");
  assert.equal(qmpCommandClass("blockdev-add"), "action");
  assert.equal(qmpCommandClass("device_del"), "action");
  assert.equal(qmpCommandClass("human-monitor-command"), "heavy");
  assert.equal(qmpCommandClass("migrate"), "heavy");
});

Deno.test("QmpMonitor.closeWhenAnswered waits for the reply to an abandoned command before closing", async () => {
  const order: string[] = [];
  await withServer(async (peer) => {
    await peer.handshake();
    const slow = await peer.expect("query-blockstats");
    await new Promise((resolve) => setTimeout(resolve, 60));
    order.push("answered");
    await peer.reply(slow.id, []);
    await peer.waitForClientClose();
    order.push("closed");
  }, async (server) => {
    const monitor = await connect(server);
    const controller = new AbortController();
    const aborted = monitor.execute("query-blockstats", undefined, { signal: controller.signal })
      .catch((e) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    assert.ok(await aborted instanceof QmpAbortedError);
    const closing = monitor.closeWhenAnswered(2000).then((answered) => {
      order.push("close returned");
      return answered;
    });
    assert.equal(await closing, true);
    assert.equal(monitor.isClosed, true);
  });
  assert.deepEqual(order, ["answered", "close returned", "closed"]);
});

Deno.test("QmpMonitor.closeWhenAnswered refuses new and queued commands at once", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    const first = await peer.expect("query-status");
    await peer.reply(first.id, { status: "running" });
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    const inFlight = monitor.execute("query-status");
    const queued = monitor.execute("stop").catch((e) => e);
    const closing = monitor.closeWhenAnswered(2000);
    const late = await monitor.execute("cont").catch((e) => e);
    assert.ok(late instanceof QmpDisconnectedError);
    assert.ok(await queued instanceof QmpDisconnectedError);
    assert.deepEqual(await inFlight, { status: "running" });
    assert.equal(await closing, true);
  });
});

Deno.test("QmpMonitor.closeWhenAnswered closes after its timeout when QEMU never answers", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.expect("query-status");
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    const pending = monitor.execute("query-status").catch((e) => e);
    assert.equal(await monitor.closeWhenAnswered(50), false);
    assert.ok(await pending instanceof QmpDisconnectedError);
    assert.equal(monitor.isClosed, true);
  });
});

Deno.test("QmpMonitor.closeWhenAnswered rejects a timeout that is not a positive integer", async () => {
  await withServer(async (peer) => {
    await peer.handshake();
    await peer.waitForClientClose();
  }, async (server) => {
    const monitor = await connect(server);
    await assert.rejects(
      () => monitor.closeWhenAnswered(0),
      (error) => error instanceof VirtError && error.code === ErrorCode.INVALID_ARG,
    );
    await monitor.close();
  });
});
