/**
 * `<bandwidth>` as tc commands, as libvirt 9.0 sets it on a device (virNetDevBandwidthSet):
 * the egress side an HTB root qdisc (class 1:1, and under a hierarchical class 1:2 for all
 * traffic without a guaranteed floor) with an SFQ leaf and a catch-all fw filter; the ingress
 * side an ingress qdisc whose u32 filter polices and drops what exceeds the rate. Rates are
 * KiB/s (tc's `kbps`), bursts KiB (tc's `kb`), as in the XML.
 *
 * @module
 */

import { ErrorCode, VirtError } from "../model/errors.ts";
import type { Bandwidth, BandwidthRate } from "../model/network.ts";

/** How the device sits between host and guests. */
export interface BandwidthPlacement {
  /**
   * A class tree whose 1:2 takes the traffic without a floor (a network's bridge); otherwise
   * one class 1:1 (a guest's device).
   */
  hierarchical: boolean;
  /**
   * `inbound` is shaped on the device's egress and `outbound` policed on its ingress (a
   * bridge or tap, where the guests' receive is the device's transmit).
   */
  swapped: boolean;
}

/** The largest burst tc stores, in KiB (its burst is a 32-bit count of bytes). */
const BURST_MAX_KIB = Math.floor(0xffff_ffff / 1024);

/** The HTB quantum libvirt gives a class: its rate in bytes per MTU-sized packet, at least 1. */
function quantumOf(rate: BandwidthRate): string {
  return String(Math.max(1, Math.floor(((rate.average ?? 0) * 1024) / 8 / 1500)));
}

/**
 * The tc argument lists (without `tc`) that set `bandwidth` on `device`, in the order they run;
 * empty when nothing is to be shaped. The device's root and ingress qdiscs are expected empty
 * (a new device, or one cleared first).
 *
 * @example
 * ```ts
 * import { bandwidthTcCommands } from "./tc_bandwidth.ts";
 * const commands = bandwidthTcCommands("virbr1", { inbound: { average: 1000 } }, {
 *   hierarchical: true,
 *   swapped: true,
 * });
 * console.log(commands[0].join(" ")); // "qdisc add dev virbr1 root handle 1: htb default 2"
 * ```
 */
export function bandwidthTcCommands(
  device: string,
  bandwidth: Bandwidth | undefined,
  placement: BandwidthPlacement,
): string[][] {
  if (bandwidth === undefined) return [];
  const tx = placement.swapped ? bandwidth.inbound : bandwidth.outbound;
  const rx = placement.swapped ? bandwidth.outbound : bandwidth.inbound;
  const commands: string[][] = [];
  if (tx?.average !== undefined && tx.average > 0) {
    const average = `${tx.average}kbps`;
    const peak = tx.peak === undefined ? undefined : `${tx.peak}kbps`;
    const burst = tx.burst === undefined ? undefined : `${tx.burst}kb`;
    const hierarchical = placement.hierarchical;
    commands.push([
      ..."qdisc add dev".split(" "),
      device,
      ..."root handle 1: htb default".split(" "),
      hierarchical ? "2" : "1",
    ]);
    if (hierarchical) {
      commands.push([
        ..."class add dev".split(" "),
        device,
        ..."parent 1: classid 1:1 htb rate".split(" "),
        average,
        "ceil",
        peak ?? average,
        "quantum",
        quantumOf(tx),
      ]);
    }
    commands.push([
      ..."class add dev".split(" "),
      device,
      "parent",
      hierarchical ? "1:1" : "1:",
      "classid",
      hierarchical ? "1:2" : "1:1",
      "htb",
      "rate",
      average,
      ...(peak === undefined ? [] : ["ceil", peak]),
      ...(burst === undefined ? [] : ["burst", burst]),
      "quantum",
      quantumOf(tx),
    ]);
    commands.push([
      ..."qdisc add dev".split(" "),
      device,
      "parent",
      hierarchical ? "1:2" : "1:1",
      ..."handle 2: sfq perturb 10".split(" "),
    ]);
    commands.push([
      ..."filter add dev".split(" "),
      device,
      ..."parent 1:0 protocol all prio 1 handle 1 fw flowid 1".split(" "),
    ]);
  }
  if (rx !== undefined) {
    const average = rx.average ?? 0;
    const burst = rx.burst ?? Math.min(average, BURST_MAX_KIB);
    commands.push(["qdisc", "add", "dev", device, "ingress"]);
    commands.push([
      ..."filter add dev".split(" "),
      device,
      ..."parent ffff: protocol all u32 match u32 0 0 police rate".split(" "),
      `${average}kbps`,
      "burst",
      `${burst}kb`,
      ..."mtu 64kb drop flowid :1".split(" "),
    ]);
  }
  return commands;
}

/** Longest one `tc` command may take (ms). */
export const TC_TIMEOUT_MS = 10_000;

/** Runs `tc` with `args`; its exit code and standard error. */
async function tc(args: string[]): Promise<{ code: number; stderr: string }> {
  const output = await new Deno.Command("tc", {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(TC_TIMEOUT_MS),
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr).trim() };
}

/**
 * Removes the root and ingress qdiscs of `device` (what {@linkcode setBandwidth} adds), as
 * libvirt's virNetDevBandwidthClear: a device without them is no error.
 */
export async function clearBandwidth(device: string): Promise<void> {
  await tc(["qdisc", "del", "dev", device, "root"]);
  await tc(["qdisc", "del", "dev", device, "ingress"]);
}

/**
 * Sets `bandwidth` on `device` as libvirt's virNetDevBandwidthSet does: what it had is
 * cleared, then {@linkcode bandwidthTcCommands} run in order. A command that fails clears the
 * device again and is reported with libvirt's words for a failed child process.
 *
 * @throws {VirtError} Code 1 `Child process (tc …) unexpected exit status N: <tc's error>`.
 *
 * @example
 * ```ts ignore
 * await setBandwidth("vnet7n0", { inbound: { average: 1000 } }, { hierarchical: false, swapped: true });
 * ```
 */
export async function setBandwidth(
  device: string,
  bandwidth: Bandwidth | undefined,
  placement: BandwidthPlacement,
): Promise<void> {
  await clearBandwidth(device);
  for (const args of bandwidthTcCommands(device, bandwidth, placement)) {
    const result = await tc(args);
    if (result.code === 0) continue;
    await clearBandwidth(device);
    throw new VirtError(
      ErrorCode.INTERNAL_ERROR,
      `Child process (tc ${args.join(" ")}) unexpected exit status ${result.code}${
        result.stderr === "" ? "" : `: ${result.stderr}`
      }`,
    );
  }
}
