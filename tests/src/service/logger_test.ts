import assert from "node:assert/strict";
import { createLogger, logSettings } from "../../../src/service/logger.ts";

function capture(format: "text" | "json", level: "debug" | "info" | "warn" | "error" = "info") {
  const lines: string[] = [];
  const logger = createLogger({ format, level, sink: (line) => lines.push(line), now: () => 0 });
  return { logger, lines };
}

Deno.test("text lines have time, level and component, and no ANSI codes", () => {
  const { logger, lines } = capture("text");
  logger.component("host")("domain web: autostarted");
  logger.component("service")("error: the state directory is locked");
  assert.deepEqual(lines, [
    "1970-01-01T00:00:00.000Z info  host: domain web: autostarted\n",
    "1970-01-01T00:00:00.000Z error service: the state directory is locked\n",
  ]);
  assert.ok(lines.every((line) => !line.includes("\x1b")));
});

Deno.test("JSON lines move the domain or pool into a field", () => {
  const { logger, lines } = capture("json");
  logger.component("qemu")("domain web: reconnected to its monitor");
  logger.component("storage")("pool 'default': finishing build interrupted by a restart");
  logger.component("qemu")("warning: KVM not usable");
  assert.deepEqual(lines.map((line) => JSON.parse(line)), [
    {
      time: "1970-01-01T00:00:00.000Z",
      level: "info",
      component: "qemu",
      domain: "web",
      message: "reconnected to its monitor",
    },
    {
      time: "1970-01-01T00:00:00.000Z",
      level: "info",
      component: "storage",
      pool: "default",
      message: "finishing build interrupted by a restart",
    },
    {
      time: "1970-01-01T00:00:00.000Z",
      level: "warn",
      component: "qemu",
      message: "KVM not usable",
    },
  ]);
});

Deno.test("an API call's fields follow the message, quoted in text when needed", () => {
  const { logger, lines } = capture("text", "debug");
  logger.write("debug", "api", "call", {
    method: "GET",
    route: "/v1/domains/:ref",
    role: "read-only",
    status: 404,
    durationMs: 1.5,
    requestId: "ab-1",
  });
  logger.write("debug", "api", "call", { note: "two words" });
  assert.deepEqual(lines, [
    "1970-01-01T00:00:00.000Z debug api: call method=GET route=/v1/domains/:ref role=read-only " +
    "status=404 durationMs=1.5 requestId=ab-1\n",
    '1970-01-01T00:00:00.000Z debug api: call note="two words"\n',
  ]);
});

Deno.test("lines under the level are dropped", () => {
  const { logger, lines } = capture("json", "warn");
  logger.write("info", "service", "ready");
  logger.write("debug", "api", "call");
  logger.write("error", "service", "failed");
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]).level, "error");
});

Deno.test("logSettings defaults to text at info and refuses other values, naming the variable", () => {
  assert.deepEqual(logSettings({}), { format: "text", level: "info" });
  assert.deepEqual(logSettings({ EVIRT_LOG_FORMAT: "json", EVIRT_LOG_LEVEL: "debug" }), {
    format: "json",
    level: "debug",
  });
  assert.throws(
    () => logSettings({ EVIRT_LOG_LEVEL: "loud" }),
    /EVIRT_LOG_LEVEL must be one of debug, info, warn, error, got 'loud'/,
  );
});
