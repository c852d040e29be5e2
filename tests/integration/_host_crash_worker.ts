/**
 * Child process of host_crash_test.ts: hosts the log and the actors on a state directory and
 * drives random commands at several domains concurrently (one command at a time per domain).
 * Before each command it prints `{"begin": …}`; once the command is acknowledged it prints
 * `{"ack": …}` with the domain's state, reason and id as the caller was told them.
 *
 * Usage: _host_crash_worker.ts STATE_DIR SEED
 *
 * @module
 */

import { Host } from "../../actors/host.ts";
import { TestDriver } from "../../drivers/test/test_driver.ts";
import { openSqliteStore } from "../../src/log/sqlite_store.ts";
import { seededRandom } from "../support/seeded_random.ts";
import { CRASH_DOMAIN_COUNT, crashDomainDefinition } from "./_host_crash_plan.ts";

const [dir, seedText] = Deno.args;
const random = seededRandom(Number(seedText));
const store = await openSqliteStore(dir);
const host = await Host.open({
  store,
  drivers: [new TestDriver()],
  snapshotEveryFacts: 40,
  log: () => {},
});
const encoder = new TextEncoder();
const print = (value: unknown) =>
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(value) + "\n"));

for (let index = 0; index < CRASH_DOMAIN_COUNT; index++) {
  const definition = crashDomainDefinition(index);
  if (host.uuidOfName(definition.name) === undefined) {
    print({ begin: { name: definition.name, command: "define" } });
    await host.define(definition);
    ack(definition.name);
  }
}
print({ ready: true });

function ack(name: string): void {
  const summary = host.lookup(name);
  print({ ack: { name, state: summary.state, reason: summary.reason, id: summary.id } });
}

async function drive(name: string): Promise<never> {
  for (;;) {
    const summary = host.lookup(name);
    const choices = summary.active
      ? ["destroy", "suspend", "resume", "define"]
      : ["start", "start", "define"];
    const command = choices[Math.floor(random() * choices.length)];
    print({ begin: { name, command } });
    try {
      if (command === "start") await host.start(name);
      else if (command === "destroy") await host.destroy(name);
      else if (command === "suspend") await host.suspend(name);
      else if (command === "resume") await host.resume(name);
      else await host.define(crashDomainDefinition(Number(name.slice(2))));
    } catch (error) {
      print({ refused: { name, command, message: (error as Error).message } });
    }
    ack(name);
  }
}

await Promise.all(
  Array.from(
    { length: CRASH_DOMAIN_COUNT },
    (_, index) => drive(crashDomainDefinition(index).name),
  ),
);
