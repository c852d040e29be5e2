/**
 * Hand-built QEMU domain definitions and helpers for the command-line tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { type DomainDefinition, emptyDevices } from "../../../src/model/domain.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import {
  buildCommandLine,
  type CommandLine,
  type CommandLineContext,
} from "../../../drivers/qemu/command_line.ts";

/** A small valid definition of type qemu; `overrides` replace top-level fields. */
export function qemuDefinition(overrides: Partial<DomainDefinition> = {}): DomainDefinition {
  return {
    type: "qemu",
    name: "vm",
    uuid: "c7a5fdbd-edaf-9455-926a-d65c16db1809",
    memoryKiB: 219100,
    vcpus: 1,
    os: { type: "hvm", arch: "x86_64", machine: "pc", boot: [] },
    devices: emptyDevices(),
    ...overrides,
  };
}

/** The context tests build with. */
export const TEST_CONTEXT: CommandLineContext = {
  emulator: "/usr/bin/qemu-system-x86_64",
  accelerator: "tcg",
  monitorSocketPath: "/run/evirt/qemu/domain-1-vm/monitor.sock",
  pidFilePath: "/run/evirt/qemu/domain-1-vm/qemu.pid",
  sandbox: true,
  nowMs: Date.UTC(2024, 0, 2, 3, 4, 5),
};

/** Builds with {@linkcode TEST_CONTEXT} (and `context` overrides). */
export function build(
  definition: DomainDefinition,
  context: Partial<CommandLineContext> = {},
): CommandLine {
  return buildCommandLine(definition, { ...TEST_CONTEXT, ...context });
}

/** The values given to `option` (e.g. every `-device`), in order. */
export function valuesOf(args: string[], option: string): string[] {
  const values: string[] = [];
  args.forEach((arg, index) => {
    if (arg === option && index + 1 < args.length) values.push(args[index + 1]);
  });
  return values;
}

/** Asserts that building refuses with code 67 naming `where` (and, if given, matching `message`). */
export function assertRefused(
  definition: DomainDefinition,
  where: string,
  message?: RegExp,
  context: Partial<CommandLineContext> = {},
): void {
  assert.throws(() => build(definition, context), (error: unknown) => {
    assert.ok(error instanceof VirtError, String(error));
    assert.equal(error.code, ErrorCode.CONFIG_UNSUPPORTED, error.message);
    assert.equal(error.where, where, error.message);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

/** A definition with `devices` changed by `edit`. */
export function withDevices(
  edit: (devices: DomainDefinition["devices"]) => void,
  overrides: Partial<DomainDefinition> = {},
): DomainDefinition {
  const definition = qemuDefinition(overrides);
  edit(definition.devices);
  return definition;
}
