/**
 * Resolving the QEMU user and group of the service's confinement settings into ids, through
 * the system's account database (`getent`), and creating evirt's own system user where the
 * host has no `libvirt-qemu` (Debian's libvirt-daemon-system creates that one).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { QemuConfinementConfig } from "../../src/config/qemu_confinement.ts";
import type { DacSettings } from "./dac_policy.ts";
import { type OwnerIds, parseNumericOwner } from "./dac_ownership.ts";

/** libvirt's QEMU user on Debian. */
export const LIBVIRT_QEMU_USER = "libvirt-qemu";

/** The system user evirt creates where `libvirt-qemu` does not exist. */
export const EVIRT_QEMU_USER = "evirt-qemu";

/** The group that may open `/dev/kvm`: the created user joins it where it exists. */
const KVM_GROUP = "kvm";

/** Bound on one `getent` or `useradd` run, in ms. */
export const ACCOUNT_COMMAND_TIMEOUT_MS = 10_000;

/** A user account. */
export interface UserAccount {
  name: string;
  uid: number;
  /** Its primary group. */
  gid: number;
}

function getent(database: "passwd" | "group", key: string): string[] | undefined {
  let output: Deno.CommandOutput;
  try {
    output = new Deno.Command("getent", {
      args: [database, key],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).outputSync();
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot run getent: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!output.success) return undefined;
  const line = new TextDecoder().decode(output.stdout).split("\n")[0] ?? "";
  return line === "" ? undefined : line.split(":");
}

/**
 * The account named `name` (or `+UID`), or undefined when there is none.
 *
 * @example
 * ```ts ignore
 * lookupUser("libvirt-qemu"); // { name: "libvirt-qemu", uid: 64055, gid: 107 }
 * ```
 */
export function lookupUser(name: string): UserAccount | undefined {
  const fields = getent("passwd", name.startsWith("+") ? name.slice(1) : name);
  if (fields === undefined || fields.length < 4) return undefined;
  return { name: fields[0], uid: Number(fields[2]), gid: Number(fields[3]) };
}

/**
 * The id of the group named `name`, or undefined when there is none.
 *
 * @example
 * ```ts ignore
 * lookupGroup("kvm"); // 107
 * ```
 */
export function lookupGroup(name: string): number | undefined {
  const fields = getent("group", name);
  if (fields === undefined || fields.length < 3) return undefined;
  return Number(fields[2]);
}

/**
 * A DAC label as ids: `+UID:+GID` as is, names looked up (libvirt's `virParseOwnershipIds`).
 *
 * @throws {VirtError} INVALID_ARG (8) for a label without `:` or an unknown user or group.
 *
 * @example
 * ```ts ignore
 * resolveOwner("libvirt-qemu:kvm"); // { uid: 64055, gid: 107 }
 * ```
 */
export function resolveOwner(label: string): OwnerIds {
  const numeric = parseNumericOwner(label);
  if (numeric !== undefined) return numeric;
  const separator = label.indexOf(":");
  if (separator < 0) {
    throw new VirtError(ErrorCode.INVALID_ARG, `Missing separator ':' in DAC label "${label}"`);
  }
  const userText = label.slice(0, separator);
  const groupText = label.slice(separator + 1);
  const uid = /^\+[0-9]+$/.test(userText) ? Number(userText.slice(1)) : lookupUser(userText)?.uid;
  if (uid === undefined) {
    throw new VirtError(ErrorCode.INVALID_ARG, `Failed to parse user '${userText}'`);
  }
  const gid = /^\+[0-9]+$/.test(groupText) ? Number(groupText.slice(1)) : lookupGroup(groupText);
  if (gid === undefined) {
    throw new VirtError(ErrorCode.INVALID_ARG, `Failed to parse group '${groupText}'`);
  }
  return { uid, gid };
}

/**
 * The service's confinement settings with the user and group resolved. An unprivileged service
 * (`serviceUid` not 0) runs QEMU as itself. With the default user, `libvirt-qemu` is taken
 * where it exists, else `evirt-qemu` is created with `useradd --system` (and said in `log`).
 *
 * @throws {VirtError} INVALID_ARG (8) when a configured user or group does not exist;
 *   SYSTEM_ERROR (38) when the default user cannot be created.
 *
 * @example
 * ```ts ignore
 * const settings = await resolveDacSettings(loadQemuConfinement(Deno.env.toObject()), 0, console.log);
 * ```
 */
export async function resolveDacSettings(
  config: QemuConfinementConfig,
  serviceUid: number,
  log: (message: string) => void,
): Promise<DacSettings> {
  if (serviceUid !== 0) return { user: undefined, dynamicOwnership: false };
  let account: UserAccount | undefined;
  if (config.user !== null) {
    account = /^\+[0-9]+$/.test(config.user)
      ? lookupUser(config.user) ?? numericAccount(config.user)
      : lookupUser(config.user);
    if (account === undefined) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `Failed to parse user '${config.user}'`,
        { where: "EVIRT_QEMU_USER" },
      );
    }
  } else {
    account = lookupUser(LIBVIRT_QEMU_USER) ?? lookupUser(EVIRT_QEMU_USER) ??
      await createSystemUser(log);
  }
  let gid: number | undefined;
  if (config.group !== null) {
    gid = /^\+[0-9]+$/.test(config.group)
      ? Number(config.group.slice(1))
      : lookupGroup(config.group);
    if (gid === undefined) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `Failed to parse group '${config.group}'`,
        { where: "EVIRT_QEMU_GROUP" },
      );
    }
  } else {
    // As Debian's qemu.conf: the group named as the user (libvirt-qemu:libvirt-qemu).
    gid = lookupGroup(account.name) ?? account.gid;
  }
  return { user: { uid: account.uid, gid }, dynamicOwnership: config.dynamicOwnership };
}

function numericAccount(text: string): UserAccount {
  const uid = Number(text.slice(1));
  return { name: text, uid, gid: uid };
}

async function createSystemUser(log: (message: string) => void): Promise<UserAccount> {
  const groups = lookupGroup(KVM_GROUP) === undefined ? [] : ["--groups", KVM_GROUP];
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("useradd", {
      args: [
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        "--comment",
        "evirt QEMU",
        ...groups,
        EVIRT_QEMU_USER,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(ACCOUNT_COMMAND_TIMEOUT_MS),
    }).output();
  } catch (error) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot run useradd: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const account = lookupUser(EVIRT_QEMU_USER);
  if (account === undefined) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `cannot create the system user '${EVIRT_QEMU_USER}': ${
        new TextDecoder().decode(output.stderr).trim() || `exit status ${output.code}`
      }`,
    );
  }
  log(`created the system user '${EVIRT_QEMU_USER}' (uid ${account.uid}) for QEMU`);
  return account;
}
