/**
 * Where libvirt's drivers disagree on a command's validity or its message, per driver (reference
 * §3, "Command validity per driver"). The domain machine decides what evirt can do in each state;
 * this table only says how each driver answers where libvirt's QEMU driver and its test driver
 * differ, so a script sees the error code and text it would get from libvirt.
 *
 * Facts from libvirt 9.0 (`virsh -c test:///default`, the QEMU driver):
 *
 * | command  | state            | QEMU driver                             | test driver                                |
 * | -------- | ---------------- | --------------------------------------- | ------------------------------------------ |
 * | suspend  | paused           | succeeds, nothing changes               | code 1 `domain 'NAME' not running`         |
 * | suspend  | shut off         | code 55 `domain is not running`         | code 1 `domain 'NAME' not running`         |
 * | resume   | running          | code 55 `domain is already running`     | code 1 `domain 'NAME' not paused`          |
 * | resume   | shut off         | code 55 `domain is not running`         | code 1 `domain 'NAME' not paused`          |
 * | shutdown | paused           | code 55 `domain is not running`         | succeeds: `on_poweroff` applies            |
 * | shutdown | shut off         | code 55 `domain is not running`         | code 1 `domain 'NAME' not running`         |
 * | undefine | transient        | code 55 `cannot undefine transient …`   | succeeds, nothing changes                  |
 * | autostart| transient        | code 55 `cannot set autostart for …`    | succeeds: the flag is set                  |
 *
 * destroy, reboot and reset of an inactive domain answer code 55 `domain is not running` in both.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../src/model/errors.ts";
import type { DomainCommandName } from "./domain_machine.ts";

/** The driver families whose answers differ. */
export type RulesFamily = "qemu" | "test";

/** A driver's answer to a command in a state, where it differs from the machine's default. */
export type CommandRuling =
  /** Run the command (the machine's state allows what follows). */
  | { kind: "run" }
  /** Succeed without doing anything. */
  | { kind: "nothing" }
  /** Refuse with this error. */
  | { kind: "refuse"; error: VirtError };

/** The state paths the rules speak of (see `statePath` in `domain_machine.ts`). */
type StatePath = string;

const RUN: CommandRuling = { kind: "run" };
const NOTHING: CommandRuling = { kind: "nothing" };

function internal(message: string): CommandRuling {
  const error = new VirtError(ErrorCode.INTERNAL_ERROR, message, { stateConflict: true });
  return { kind: "refuse", error };
}

function invalid(message: string): CommandRuling {
  return { kind: "refuse", error: new VirtError(ErrorCode.OPERATION_INVALID, message) };
}

function inactive(path: StatePath): boolean {
  return path === "shutoff" || path === "nonexistent";
}

/** What the rules need to know of the domain. */
export interface RulesDomain {
  /** Its name, which the test driver's messages quote. */
  name: string;
  /** Whether it has a persistent definition. */
  persistent: boolean;
}

/** libvirt's test driver: lifecycle checks by name, as `internal error`s. */
function testRuling(command: DomainCommandName, path: StatePath, domain: RulesDomain) {
  const name = domain.name;
  switch (command) {
    case "undefine":
      return domain.persistent ? undefined : NOTHING;
    case "autostart":
      return domain.persistent ? undefined : RUN;
    case "suspend":
      if (path === "active.paused" || inactive(path)) {
        return internal(`domain '${name}' not running`);
      }
      return undefined;
    case "resume":
      return path === "active.paused" ? RUN : internal(`domain '${name}' not paused`);
    case "shutdown":
      if (inactive(path)) return internal(`domain '${name}' not running`);
      return path === "active.paused" ? RUN : undefined;
    default:
      return undefined;
  }
}

/** libvirt's QEMU driver. */
function qemuRuling(command: DomainCommandName, path: StatePath) {
  switch (command) {
    case "suspend":
      return path === "active.paused" ? NOTHING : undefined;
    case "resume":
      if (path === "active.running") return invalid("domain is already running");
      if (path === "active.pmsuspended") return invalid("domain is pmsuspended");
      return undefined;
    default:
      return undefined;
  }
}

/**
 * How the driver family answers `command` in the state at `path`, where its answer is its own.
 *
 * @param family Which libvirt driver's answers apply.
 * @param command The command asked for.
 * @param path The domain's state path (`active.running`, `shutoff`, …).
 * @param domain The domain's name and persistence.
 * @returns The ruling, or undefined when the machine's validity and message apply.
 *
 * @example
 * ```ts
 * import { commandRuling } from "./command_rules.ts";
 * const ruling = commandRuling("test", "resume", "active.running", {
 *   name: "test",
 *   persistent: true,
 * });
 * console.log(ruling?.kind === "refuse" && [ruling.error.code, ruling.error.message]);
 * // [1, "domain 'test' not paused"]
 * ```
 */
export function commandRuling(
  family: RulesFamily,
  command: DomainCommandName,
  path: StatePath,
  domain: RulesDomain,
): CommandRuling | undefined {
  return family === "test" ? testRuling(command, path, domain) : qemuRuling(command, path);
}

/**
 * The rules family of a driver: the test hypervisor answers as libvirt's test driver, every other
 * driver as libvirt's QEMU driver.
 *
 * @example
 * ```ts
 * import { rulesFamily } from "./command_rules.ts";
 * console.log(rulesFamily("test"), rulesFamily("qemu")); // "test" "qemu"
 * ```
 */
export function rulesFamily(driverName: string): RulesFamily {
  return driverName === "test" ? "test" : "qemu";
}
