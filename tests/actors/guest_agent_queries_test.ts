import assert from "node:assert/strict";
import type { DomainInspection } from "../../actors/domain_inspection.ts";
import type { Driver } from "../../actors/driver_protocol.ts";
import { guestHostname, guestTime } from "../../actors/guest_commands.ts";
import { isVirtError } from "../../src/model/errors.ts";

/** A running domain whose driver's agent answers `reply` to every command, noting each one. */
function inspectionAnswering(reply: string, seen: string[]): DomainInspection {
  const driver = {
    agentCommand: (_handle: unknown, command: string) => {
      seen.push(command);
      return Promise.resolve(reply);
    },
  } as unknown as Driver;
  return {
    driver,
    handle: { uuid: "u", id: 1 },
  } as unknown as DomainInspection;
}

Deno.test("guestTime splits the agent's nanoseconds into seconds and nanoseconds", async () => {
  const seen: string[] = [];
  const time = await guestTime(
    inspectionAnswering('{"return":1700000000123456789}', seen),
    AbortSignal.timeout(1000),
  );
  // 1700000000123456789 is beyond 2^53: read exactly, not through a double.
  assert.deepEqual(time, { seconds: 1700000000, nseconds: 123456789 });
  assert.deepEqual(seen, ['{"execute":"guest-get-time"}']);
});

Deno.test("guestHostname answers the agent's host-name", async () => {
  const seen: string[] = [];
  const name = await guestHostname(
    inspectionAnswering('{"return":{"host-name":"guest1"}}', seen),
    AbortSignal.timeout(1000),
  );
  assert.equal(name, "guest1");
  assert.deepEqual(seen, ['{"execute":"guest-get-host-name"}']);
});

Deno.test("an agent error or a malformed reply is libvirt's code 1, naming the command", async () => {
  const failing = inspectionAnswering(
    '{"error":{"class":"CommandNotFound","desc":"The command guest-get-time has not been found"}}',
    [],
  );
  await assert.rejects(
    () => guestTime(failing, AbortSignal.timeout(1000)),
    (error: unknown) =>
      isVirtError(error, 1) &&
      /unable to execute QEMU agent command 'guest-get-time': The command/.test(
        (error as Error).message,
      ),
  );
  await assert.rejects(
    () => guestHostname(inspectionAnswering('{"return":{}}', []), AbortSignal.timeout(1000)),
    (error: unknown) => isVirtError(error, 1),
  );
  await assert.rejects(
    () => guestTime(inspectionAnswering("not json", []), AbortSignal.timeout(1000)),
    (error: unknown) => isVirtError(error, 1),
  );
});

Deno.test("a domain that is not running is refused before any agent is asked", async () => {
  await assert.rejects(
    () =>
      guestTime(
        {
          driver: { agentCommand: () => Promise.reject(new Error("asked")) },
        } as unknown as DomainInspection,
        AbortSignal.timeout(1000),
      ),
    (error: unknown) => isVirtError(error, 55),
  );
});
