/**
 * Which QEMU accelerator a domain type means, and whether KVM is usable on this host.
 *
 * `<domain type='qemu'>` runs under TCG; `type='kvm'` under KVM. KVM counts as usable only when
 * the CPU advertises hardware virtualization (`vmx` or `svm` in `/proc/cpuinfo`) and `/dev/kvm`
 * exists: some machines expose `/dev/kvm` through a nested, paravirtual module that is far too
 * slow to boot a guest, and they show no `vmx`/`svm` flag (reference §6).
 *
 * @module
 */

import { ErrorCode, VirtError } from "../../src/model/errors.ts";

/** The QEMU accelerators evirt uses. */
export type Accelerator = "tcg" | "kvm";

/** What decides KVM usability: the text of `/proc/cpuinfo` and whether `/dev/kvm` exists. */
export interface KvmEvidence {
  /** The content of `/proc/cpuinfo` ("" when unreadable). */
  cpuinfo: string;
  /** Whether `/dev/kvm` exists. */
  devKvmExists: boolean;
}

/** Largest part of `/proc/cpuinfo` read, in bytes (a few KiB per CPU). */
export const CPUINFO_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Whether KVM is usable, from the evidence (pure).
 *
 * @param evidence `/proc/cpuinfo` text and `/dev/kvm` presence.
 * @returns True when some CPU's `flags` line lists `vmx` or `svm` and `/dev/kvm` exists.
 *
 * @example
 * ```ts
 * import { isKvmUsable } from "./accelerator.ts";
 * console.log(isKvmUsable({ cpuinfo: "flags\t: fpu vme vmx sse", devKvmExists: true })); // true
 * console.log(isKvmUsable({ cpuinfo: "flags\t: fpu vme sse", devKvmExists: true })); // false
 * ```
 */
export function isKvmUsable(evidence: KvmEvidence): boolean {
  if (!evidence.devKvmExists) return false;
  for (const line of evidence.cpuinfo.split("\n")) {
    if (!/^flags\s*:/.test(line)) continue;
    const flags = line.slice(line.indexOf(":") + 1).trim().split(/\s+/);
    if (flags.includes("vmx") || flags.includes("svm")) return true;
  }
  return false;
}

/**
 * Reads this host's evidence for {@linkcode isKvmUsable}.
 *
 * @returns `/proc/cpuinfo` (at most {@linkcode CPUINFO_MAX_BYTES}; "" when unreadable) and
 *   whether `/dev/kvm` exists.
 *
 * @example
 * ```ts
 * import { isKvmUsable, readKvmEvidence } from "./accelerator.ts";
 * console.log(typeof isKvmUsable(readKvmEvidence())); // "boolean"
 * ```
 */
export function readKvmEvidence(): KvmEvidence {
  let cpuinfo = "";
  try {
    cpuinfo = Deno.readTextFileSync("/proc/cpuinfo").slice(0, CPUINFO_MAX_BYTES);
  } catch {
    // Not Linux or no /proc: no evidence of hardware virtualization.
  }
  let devKvmExists = false;
  try {
    devKvmExists = Deno.statSync("/dev/kvm").isCharDevice === true;
  } catch {
    devKvmExists = false;
  }
  return { cpuinfo, devKvmExists };
}

/**
 * The accelerator for a domain type.
 *
 * @param domainType `<domain type>`: `qemu` or `kvm`.
 * @param kvmUsable Whether KVM is usable here ({@linkcode isKvmUsable}).
 * @returns `tcg` for `qemu`, `kvm` for `kvm`.
 * @throws {VirtError} CONFIG_UNSUPPORTED (67) for `kvm` where KVM is not usable, or another type.
 *
 * @example
 * ```ts
 * import { acceleratorFor } from "./accelerator.ts";
 * console.log(acceleratorFor("qemu", false)); // "tcg"
 * ```
 */
export function acceleratorFor(domainType: string, kvmUsable: boolean): Accelerator {
  if (domainType === "qemu") return "tcg";
  if (domainType === "kvm") {
    if (kvmUsable) return "kvm";
    throw new VirtError(
      ErrorCode.CONFIG_UNSUPPORTED,
      "domain type 'kvm' is not usable on this host: the CPU has no 'vmx' or 'svm' flag, or /dev/kvm is missing",
      { where: "/domain/@type" },
    );
  }
  throw new VirtError(
    ErrorCode.CONFIG_UNSUPPORTED,
    `domain type '${domainType}' is not supported by the qemu driver`,
    { where: "/domain/@type" },
  );
}
