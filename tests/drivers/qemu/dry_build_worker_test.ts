import assert from "node:assert/strict";
import { answerDryBuild, dryBuildShared } from "../../../drivers/qemu/dry_build_worker.ts";
import { completeQemuDefinition } from "../../../drivers/qemu/definition_completion.ts";
import { parseMachineHelp } from "../../../drivers/qemu/machine_type.ts";
import type { CommandLineContext } from "../../../drivers/qemu/command_line.ts";
import { valueOfCompactJson } from "../../../src/log/compact_json.ts";
import { compactDefinition, compactPartsOf } from "../../../src/model/compact_definition.ts";
import { qemuDefinition } from "./_qemu_definitions.ts";

const MACHINES = parseMachineHelp(
  "Supported machines are:\npc   Standard PC (alias of pc-i440fx-7.2)\npc-i440fx-7.2  Standard PC (default)\n",
);
const CPU_NAMES = { models: new Set(["qemu64", "Haswell"]), flags: new Set(["avx2", "vmx"]) };
const CONTEXT: Omit<CommandLineContext, "cpuNames"> = {
  emulator: "/usr/bin/qemu-system-x86_64",
  accelerator: "tcg",
  monitorSocketPath: "/run/check/monitor.sock",
  pidFilePath: "/run/check/qemu.pid",
  sandbox: false,
  nowMs: 0,
  atDefine: true,
};

Deno.test("dryBuildShared makes one text per machine types and CPU names, read back on the thread", () => {
  const text = dryBuildShared(MACHINES, CPU_NAMES);
  assert.equal(dryBuildShared(MACHINES, CPU_NAMES), text, "made once");
  assert.notEqual(dryBuildShared(MACHINES, undefined), text);
  assert.equal(dryBuildShared(undefined, undefined), undefined);
  const parsed = JSON.parse(text!);
  assert.deepEqual(parsed.machines, MACHINES);
  assert.deepEqual(parsed.cpuNames, { models: ["qemu64", "Haswell"], flags: ["avx2", "vmx"] });
});

Deno.test("answerDryBuild completes with the shared machine types as the driver does in place", () => {
  const definition = qemuDefinition();
  const reply = answerDryBuild({
    definition: { json: JSON.stringify(definition) },
    context: CONTEXT,
    shared: dryBuildShared(MACHINES, CPU_NAMES),
    complete: { emulator: CONTEXT.emulator },
  });
  assert.ok(reply.ok && reply.completedJson !== undefined, JSON.stringify(reply));
  assert.deepEqual(
    valueOfCompactJson(reply.completedJson),
    completeQemuDefinition(definition, MACHINES, CONTEXT.emulator),
  );
});

Deno.test("answerDryBuild checks CPU models against the shared names, and needs machine types to complete", () => {
  const cpu = { mode: "custom", model: "no-such-cpu", features: [] } as never;
  const refused = answerDryBuild({
    definition: qemuDefinition({ cpu }),
    context: CONTEXT,
    shared: dryBuildShared(MACHINES, CPU_NAMES),
    complete: { emulator: CONTEXT.emulator },
  });
  assert.ok(!refused.ok);
  assert.equal(refused.code, 67);
  assert.equal(refused.message, "CPU model 'no-such-cpu' is not supported by this QEMU binary");
  // A known model passes (the names came through the text).
  const known = { mode: "custom", model: "Haswell", features: [] } as never;
  const accepted = answerDryBuild({
    definition: qemuDefinition({ cpu: known }),
    context: CONTEXT,
    shared: dryBuildShared(undefined, CPU_NAMES),
  });
  assert.deepEqual(accepted, { ok: true });
  const withoutMachines = answerDryBuild({
    definition: qemuDefinition(),
    context: CONTEXT,
    complete: { emulator: CONTEXT.emulator },
  });
  assert.ok(!withoutMachines.ok);
  assert.match(withoutMachines.message, /machine types/);
});

Deno.test("answerDryBuild completes a compact definition sent as its parts", () => {
  const definition = qemuDefinition({ description: "d".repeat(200_000) });
  const form = compactPartsOf(compactDefinition(definition))!;
  const reply = answerDryBuild({
    definition: { parts: structuredClone(form) },
    context: CONTEXT,
    shared: dryBuildShared(MACHINES, CPU_NAMES),
    complete: { emulator: CONTEXT.emulator },
  });
  assert.ok(reply.ok && reply.completedJson !== undefined, JSON.stringify(reply).slice(0, 200));
  assert.deepEqual(
    valueOfCompactJson(reply.completedJson),
    completeQemuDefinition(definition, MACHINES, CONTEXT.emulator),
  );
});
