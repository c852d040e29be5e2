import assert from "node:assert/strict";
import { type CommandOptions, DomainCommandMethods } from "../../actors/domain_command_methods.ts";
import type { DomainCommandArguments, DomainJobName } from "../../actors/domain_dispatch.ts";

/** Records what each shorthand hands to `command`. */
class Recorder extends DomainCommandMethods {
  calls: [string, string, unknown, CommandOptions | undefined][] = [];

  override command<Name extends DomainJobName>(
    name: Name,
    reference: string,
    args: DomainCommandArguments[Name],
    options?: CommandOptions,
  ): Promise<void> {
    this.calls.push([name, reference, args, options]);
    return Promise.resolve();
  }
}

Deno.test("DomainCommandMethods hand each command's arguments and options to command()", async () => {
  const recorder = new Recorder();
  const signal = new AbortController().signal;
  await recorder.start("web", { paused: true, signal });
  await recorder.shutdown("web", { timeoutMs: 5 });
  await recorder.destroy("web", { graceful: true, queueTimeoutMs: 7 });
  await recorder.reboot("web");
  await recorder.reset("web");
  await recorder.suspend("web");
  await recorder.resume("web");
  await recorder.undefine("web");
  await recorder.setAutostart("web", true);
  await recorder.setMetadata("web", { kind: "title", value: "t" }, { config: true });
  assert.deepEqual(recorder.calls.map(([name, , args]) => [name, args]), [
    ["start", { paused: true }],
    ["shutdown", { timeoutMs: 5 }],
    ["destroy", { graceful: true }],
    ["reboot", {}],
    ["reset", {}],
    ["suspend", {}],
    ["resume", {}],
    ["undefine", {}],
    ["autostart", { autostart: true }],
    ["metadata", { change: { kind: "title", value: "t" }, scope: { config: true } }],
  ]);
  assert.equal(recorder.calls[0][3]?.signal, signal);
  assert.equal(recorder.calls[2][3]?.queueTimeoutMs, 7);
  assert.ok(recorder.calls.every(([, reference]) => reference === "web"));
});
