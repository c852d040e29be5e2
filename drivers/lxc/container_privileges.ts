/**
 * What a container's init may do, as libvirt 9.0's LXC driver sets it just before it execs
 * the init: the capabilities it drops (`<features><capabilities>`) and the user and groups it
 * runs as (`<inituser>`, `<initgroup>`, names looked up in the container's own
 * `/etc/passwd` and `/etc/group`, read through the definition's mounts); and whether the
 * kernel gives the service user namespaces (`<idmap>`). The setup applies the result with
 * util-linux `setpriv`.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import type { ContainerSpec } from "./container_spec.ts";
import { PROCESS_CAPABILITIES } from "./lxc_definition_rules.ts";

/**
 * The capabilities libvirt's default policy drops unless the definition turns them `on`:
 * no module loading, no clock setting, no device nodes, no audit control, no LSM changes.
 * (`sys_boot` is also dropped by default where the kernel cannot reboot a pid namespace on its
 * own; every kernel since 3.4 can, so it is kept.)
 */
export const DEFAULT_DROPPED_CAPABILITIES: readonly string[] = [
  "sys_module",
  "sys_time",
  "mknod",
  "audit_control",
  "mac_admin",
];

/** How the init's capability bounding set is cut. */
export interface CapabilityCut {
  /** Everything goes first (policy `deny`); then only `keep` stays. */
  clearAll: boolean;
  /** With `clearAll`: the capabilities turned `on`. */
  keep: string[];
  /** Without `clearAll`: the capabilities dropped. */
  drop: string[];
}

/**
 * The cut for a policy and its toggles, as libvirt computes it.
 *
 * - `default`: the {@linkcode DEFAULT_DROPPED_CAPABILITIES} unless `on`, and every other
 *   capability turned `off` (except `sys_boot`: a kernel that reboots pid namespaces keeps it
 *   whatever its toggle says, as libvirt does);
 * - `allow`: only the capabilities turned `off`;
 * - `deny`: all of them (the bounding set included), then those turned `on` again.
 */
export function capabilityCut(
  policy: string | undefined,
  toggles: Record<string, string> | undefined,
): CapabilityCut {
  const state = (name: string) => toggles?.[name];
  const known = PROCESS_CAPABILITIES;
  if (policy === "deny") {
    return { clearAll: true, keep: known.filter((name) => state(name) === "on"), drop: [] };
  }
  if (policy === "allow") {
    return { clearAll: false, keep: [], drop: known.filter((name) => state(name) === "off") };
  }
  const drop = known.filter((name) => {
    if (name === "sys_boot") return false;
    if (DEFAULT_DROPPED_CAPABILITIES.includes(name)) return state(name) !== "on";
    return state(name) === "off";
  });
  return { clearAll: false, keep: [], drop };
}

/** `setpriv` options that apply a cut (none when nothing is dropped). */
export function capabilityArgs(cut: CapabilityCut): string[] {
  if (cut.clearAll) {
    const set = ["-all", ...cut.keep.map((name) => `+${name}`)].join(",");
    return [`--bounding-set=${set}`, `--inh-caps=${set}`];
  }
  if (cut.drop.length === 0) return [];
  return [`--bounding-set=${cut.drop.map((name) => `-${name}`).join(",")}`];
}

/** The ids the init runs with; an absent field stays as it is (root's). */
export interface InitIdentity {
  uid?: number;
  gid?: number;
  /** The supplementary groups (set whenever a user or a group is given). */
  groups?: number[];
}

/** Largest id the kernel takes (`(uid_t)-1` is no id). */
const ID_MAX = 0xfffffffe;

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parseId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= ID_MAX ? value : undefined;
}

/** The entries of an `/etc/passwd` text (malformed lines are skipped, as getpwnam does). */
export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length < 4 || fields[0] === "") continue;
    const uid = parseId(fields[2]);
    const gid = parseId(fields[3]);
    if (uid !== undefined && gid !== undefined) entries.push({ name: fields[0], uid, gid });
  }
  return entries;
}

/** The entries of an `/etc/group` text. */
export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length < 3 || fields[0] === "") continue;
    const gid = parseId(fields[2]);
    if (gid === undefined) continue;
    const members = (fields[3] ?? "").split(",").map((name) => name.trim()).filter((name) =>
      name !== ""
    );
    entries.push({ name: fields[0], gid, members });
  }
  return entries;
}

/**
 * A user or group as libvirt reads it: a name first, else a number; `+N` is a number only.
 */
function lookUp<T extends { name: string }>(
  value: string,
  entries: T[],
  idOf: (entry: T) => number,
): number | undefined {
  if (value.startsWith("+")) return parseId(value.slice(1));
  const entry = entries.find((candidate) => candidate.name === value);
  return entry === undefined ? parseId(value) : idOf(entry);
}

/**
 * The identity of an init with `<inituser>` and `<initgroup>`, looked up in the container's
 * files as libvirt's setup does after it entered the container's root:
 * - the user's uid (`setuid`), the group's gid (`setgid`; without `<initgroup>` the gid stays
 *   root's, as libvirt leaves it);
 * - the supplementary groups: with a user, the user's groups (`getgrouplist` of its name with
 *   the group given, else its own primary group); with a group alone, that group.
 *
 * @throws {VirtError} INVALID_ARG (8) `Failed to parse user '…'` / `group '…'` for a name that
 *   is neither in the files nor a number; INTERNAL_ERROR (1) for a user id with no
 *   `/etc/passwd` entry (its groups cannot be listed).
 */
export function initIdentity(
  user: string | undefined,
  group: string | undefined,
  passwdText: string,
  groupText: string,
): InitIdentity {
  if (user === undefined && group === undefined) return {};
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);
  const identity: InitIdentity = {};
  if (group !== undefined) {
    const gid = lookUp(group, groups, (entry) => entry.gid);
    if (gid === undefined) {
      throw new VirtError(ErrorCode.INVALID_ARG, `Failed to parse group '${group}'`, {
        where: "/domain/os/initgroup",
      });
    }
    identity.gid = gid;
  }
  if (user === undefined) {
    identity.groups = [identity.gid!];
    return identity;
  }
  const uid = lookUp(user, passwd, (entry) => entry.uid);
  if (uid === undefined) {
    throw new VirtError(ErrorCode.INVALID_ARG, `Failed to parse user '${user}'`, {
      where: "/domain/os/inituser",
    });
  }
  identity.uid = uid;
  const entry = passwd.find((candidate) => candidate.uid === uid);
  if (entry === undefined) {
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `Failed to find user record for uid '${uid}'`,
      { where: "/domain/os/inituser" },
    );
  }
  const base = identity.gid ?? entry.gid;
  const list = [base];
  for (const candidate of groups) {
    if (candidate.members.includes(entry.name) && !list.includes(candidate.gid)) {
      list.push(candidate.gid);
    }
  }
  identity.groups = list;
  return identity;
}

/** `setpriv` options that give the init its identity (none for root as it is). */
export function identityArgs(identity: InitIdentity): string[] {
  const args: string[] = [];
  if (identity.gid !== undefined) args.push(`--regid=${identity.gid}`);
  if (identity.groups !== undefined) args.push(`--groups=${identity.groups.join(",")}`);
  if (identity.uid !== undefined) args.push(`--reuid=${identity.uid}`);
  return args;
}

/** Largest `/etc/passwd` or `/etc/group` read from a container, in bytes. */
const ACCOUNT_FILE_MAX_BYTES = 1 << 20;

/** Where a path of the container is on the host: through the last mount that covers it. */
function hostPathOf(spec: ContainerSpec, path: string): string | undefined {
  let found: { prefix: string; host: string | undefined } = { prefix: "/", host: spec.rootDir };
  for (const mount of spec.mounts) {
    const prefix = mount.target === "/" ? "/" : `${mount.target}/`;
    if (path.startsWith(prefix) && prefix.length >= found.prefix.length) {
      found = { prefix, host: mount.kind === "bind" ? mount.source : undefined };
    }
  }
  if (found.host === undefined) return undefined;
  return `${found.host.replace(/\/$/, "")}/${path.slice(found.prefix.length)}`;
}

/** A small file of the container as its init will see it; empty when it has none. */
function containerFileText(spec: ContainerSpec, path: string): string {
  const host = hostPathOf(spec, path);
  if (host === undefined) return "";
  try {
    const file = Deno.openSync(host, { read: true });
    try {
      const buffer = new Uint8Array(ACCOUNT_FILE_MAX_BYTES);
      let length = 0;
      while (length < buffer.length) {
        const count = file.readSync(buffer.subarray(length));
        if (count === null) break;
        length += count;
      }
      return new TextDecoder().decode(buffer.subarray(0, length));
    } finally {
      file.close();
    }
  } catch {
    return "";
  }
}

/**
 * The identity of a container's init, looked up in the container's `/etc/passwd` and
 * `/etc/group` (through the definition's mounts), and the `setpriv` options that give it that
 * identity and its capability cut.
 *
 * @throws {VirtError} as {@linkcode initIdentity}.
 */
export function initPrivileges(spec: ContainerSpec): { args: string[]; identity: InitIdentity } {
  const named = spec.initUser !== undefined || spec.initGroup !== undefined;
  const identity = named
    ? initIdentity(
      spec.initUser,
      spec.initGroup,
      containerFileText(spec, "/etc/passwd"),
      containerFileText(spec, "/etc/group"),
    )
    : {};
  return { args: [...capabilityArgs(spec.capabilities), ...identityArgs(identity)], identity };
}

/** How long the user namespace probe may take, in ms. */
const USERNS_PROBE_TIMEOUT_MS = 5_000;

/**
 * Whether this kernel lets the service make a user namespace: a real try (`unshare --user`),
 * as libvirt tries a clone with CLONE_NEWUSER.
 *
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) `Kernel doesn't support user namespace`,
 *   libvirt's refusal, when it does not.
 */
export async function checkUserNamespaces(): Promise<void> {
  let success = false;
  try {
    const output = await new Deno.Command("unshare", {
      args: ["--user", "true"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      signal: AbortSignal.timeout(USERNS_PROBE_TIMEOUT_MS),
    }).output();
    success = output.success;
  } catch {
    success = false;
  }
  if (!success) {
    throw new VirtError(ErrorCode.CONFIG_UNSUPPORTED, "Kernel doesn't support user namespace", {
      where: "/domain/idmap",
    });
  }
}
