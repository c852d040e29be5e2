/**
 * What a running virtual network is on the host, made and removed: the Linux bridge with its
 * addresses, the network's dnsmasq, its nftables chains and IP forwarding — for the forward
 * modes evirt runs (isolated, `nat`, `route`, `open`; `bridge` uses a host bridge that must
 * exist and makes nothing).
 *
 * Every step can be run again: {@linkcode NetworkRuntime.start} refuses a bridge name already
 * in use before it makes anything, and undoes what it made when a later step fails;
 * {@linkcode NetworkRuntime.stop} removes whatever of the network exists (dnsmasq found by its
 * pid file and command line, or by the pid and start time recorded at start), so recovery can
 * finish a half-done stop or undo a half-done start. IP forwarding, once switched on for a
 * `nat` or `route` network, stays on (as libvirt leaves it).
 *
 * The commands are the host's `ip`, `nft` and dnsmasq, acting on the network namespace the
 * service runs in.
 *
 * @module
 */

import { LEASE_SCRIPT, leaseDatabase, type NetworkLease } from "../../src/model/network_leases.ts";
import { linkExists } from "../../src/host/net_links.ts";
import { ErrorCode, VirtError } from "../../src/model/errors.ts";
import { effectivePrefix, parseIp } from "../../src/model/ip_address.ts";
import { bridgeNameOf, hasManagedBridge, type NetworkDefinition } from "../../src/model/network.ts";
import { readProcessStat } from "../../src/host/process_state.ts";
import { dnsmasqCommand, dnsmasqConfiguration, needsDnsmasq } from "./dnsmasq_config.ts";
import { NFT_TABLE, nftablesRemoval, nftablesRuleset } from "./nftables_ruleset.ts";
import { bandwidthTcCommands } from "../../src/host/tc_bandwidth.ts";

/** The dnsmasq binary libvirt runs. */
export const DNSMASQ_PATH = "/usr/sbin/dnsmasq";

/** Longest one `ip`/`nft` command, or dnsmasq's start up to its daemonizing, may take (ms). */
export const COMMAND_TIMEOUT_MS = 10_000;

/** Longest wait for dnsmasq to exit after SIGTERM before SIGKILL (ms). */
export const DNSMASQ_STOP_TIMEOUT_MS = 5_000;

/** Pause between two looks at `/proc` while waiting for dnsmasq to exit (ms). */
const EXIT_POLL_MS = 10;

/** Most bytes read of a pid file, `/proc/PID/stat` or `/proc/PID/cmdline`. */
const PROC_READ_MAX = 64 * 1024;

/** A process by its identity: pid and start time (`/proc/PID/stat` field 22, clock ticks). */
export interface ProcessIdentity {
  pid: number;
  startTimeTicks: number;
}

/** What a started network runs: its dnsmasq, where it has one. */
export interface NetworkRuntimeState {
  dnsmasq?: ProcessIdentity;
}

/** How a running network looks now, for re-adoption after a service restart. */
export interface NetworkRuntimeCheck {
  /** True when everything the network had at start is still there. */
  intact: boolean;
  /** What is missing, in words (empty when intact). */
  problems: string[];
}

/** One command's outcome. */
interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program (no shell), with `input` on stdin, within {@linkcode COMMAND_TIMEOUT_MS}. */
async function run(
  program: string,
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<CommandResult> {
  const command = new Deno.Command(program, {
    args,
    env: options.env,
    stdin: options.input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  });
  const child = command.spawn();
  if (options.input !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.input));
    await writer.close();
  }
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr).trim(),
  };
}

/** Runs a command that must succeed; its failure is a system error naming what it did. */
async function must(
  what: string,
  program: string,
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const result = await run(program, args, options);
  if (result.code !== 0) {
    throw new VirtError(
      ErrorCode.SYSTEM_ERROR,
      `${what}: ${result.stderr || `${program} exited with code ${result.code}`}`,
    );
  }
  return result.stdout;
}

/** Reads at most {@linkcode PROC_READ_MAX} bytes of a file; undefined when it is absent. */
function readSmall(path: string): string | undefined {
  try {
    const file = Deno.openSync(path);
    try {
      const buffer = new Uint8Array(PROC_READ_MAX);
      let length = 0;
      while (length < buffer.length) {
        const count = file.readSync(buffer.subarray(length));
        if (count === null || count === 0) break;
        length += count;
      }
      return new TextDecoder().decode(buffer.subarray(0, length));
    } finally {
      file.close();
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * A live process's start time (field 22 of `/proc/PID/stat`); undefined when no such process
 * runs (gone, or a zombie).
 */
export function processStartTime(pid: number): number | undefined {
  const stat = readProcessStat(pid);
  if (stat === undefined || stat.state === "Z" || stat.state === "X") return undefined;
  return stat.startTimeTicks;
}

export { linkExists };

/** dnsmasq's lease-change script, one for every network, in the state folder. */
const LEASE_SCRIPT_NAME = "lease-script";

/** The file names of one network's dnsmasq under the state folder. */
function dnsmasqPaths(stateDir: string, name: string) {
  return {
    config: `${stateDir}/${name}.conf`,
    pid: `${stateDir}/${name}.pid`,
    hosts: `${stateDir}/${name}.hostsfile`,
    addnHosts: `${stateDir}/${name}.addnhosts`,
    leaseEvents: `${stateDir}/${name}.lease-events`,
    leaseDatabase: `${stateDir}/${name}.leases`,
  };
}

/**
 * Makes and removes networks on the host.
 *
 * @example
 * ```ts ignore
 * const runtime = new NetworkRuntime("/run/evirt/network");
 * const state = await runtime.start(definition);
 * await runtime.stop(definition, state);
 * ```
 */
export class NetworkRuntime {
  /**
   * Where a running network's dnsmasq reports its lease changes (one line per event, see
   * `src/model/network_leases.ts`).
   */
  leaseEventsPath(name: string): string {
    return dnsmasqPaths(this.#stateDir, name).leaseEvents;
  }

  readonly #stateDir: string;
  /** Serialises nft scripts: the shared table is removed only when no network's chain is left. */
  #nftJob: Promise<unknown> = Promise.resolve();

  /** @param stateDir Where dnsmasq's configuration, hosts and pid files are kept. */
  constructor(stateDir: string) {
    this.#stateDir = stateDir;
  }

  /**
   * Makes a network run: bridge, addresses, dnsmasq, firewall chains, forwarding.
   *
   * @param definition A completed definition of a mode evirt runs.
   * @returns What it started (dnsmasq's identity), to record.
   * @throws {VirtError} Code 38 when a step fails (after undoing every step made), e.g. the
   *   bridge name is taken; code 1 for a `bridge` network whose host bridge does not exist.
   */
  async start(definition: NetworkDefinition): Promise<NetworkRuntimeState> {
    if (!hasManagedBridge(definition)) {
      const bridge = definition.bridge.name;
      if (bridge === undefined || !linkExists(`${bridge}/bridge`)) {
        throw new VirtError(
          ErrorCode.INTERNAL_ERROR,
          `cannot start network '${definition.name}': host bridge '${bridge ?? ""}' does not exist`,
          { where: "/network/bridge/@name" },
        );
      }
      return {};
    }
    const bridge = bridgeNameOf(definition);
    if (linkExists(bridge)) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `error creating bridge interface ${bridge}: File exists`,
      );
    }
    await must(`error creating bridge interface ${bridge}`, "ip", [
      "link",
      "add",
      bridge,
      "type",
      "bridge",
      "forward_delay",
      String(definition.bridge.delay * 100),
    ]);
    // From here on the bridge is this network's: a failure undoes everything.
    try {
      await this.#setUpBridge(definition, bridge);
      const dnsmasq = needsDnsmasq(definition) ? await this.#startDnsmasq(definition) : undefined;
      const rules = nftablesRuleset(definition);
      if (rules !== "") {
        await this.#nft(() =>
          must(`cannot add firewall rules of ${bridge}`, "nft", ["-f", "-"], { input: rules })
        );
      }
      await this.#enableForwarding(definition);
      return dnsmasq === undefined ? {} : { dnsmasq };
    } catch (error) {
      await this.stop(definition, {}).catch(() => {});
      throw error;
    }
  }

  async #setUpBridge(definition: NetworkDefinition, bridge: string): Promise<void> {
    const what = `error setting up bridge interface ${bridge}`;
    if (definition.bridge.stp) {
      await must(what, "ip", ["link", "set", bridge, "type", "bridge", "stp_state", "1"]);
    }
    if (definition.mac !== undefined) {
      await must(what, "ip", ["link", "set", bridge, "address", definition.mac]);
    }
    if (definition.mtu !== undefined) {
      await must(what, "ip", ["link", "set", bridge, "mtu", String(definition.mtu)]);
    }
    for (const ip of definition.ips) {
      const address = parseIp(ip.address);
      if (address === undefined) continue;
      const netmask = ip.netmask === undefined ? undefined : parseIp(ip.netmask);
      const prefix = effectivePrefix(address, netmask, ip.prefix) ??
        (address.family === "ipv4" ? 24 : 64);
      const args = ["addr", "add", `${ip.address}/${prefix}`, "dev", bridge];
      // IPv6: no duplicate address detection, so dnsmasq can bind the address at once.
      if (address.family === "ipv6") args.push("nodad");
      await must(`cannot set address ${ip.address}/${prefix} on ${bridge}`, "ip", args);
    }
    await must(`cannot bring up ${bridge}`, "ip", ["link", "set", bridge, "up"]);
    // The network's <bandwidth> on its bridge, as libvirt sets it: a class tree whose 1:2
    // carries the guests' traffic; it goes with the bridge.
    const tc = bandwidthTcCommands(bridge, definition.bandwidth, {
      hierarchical: true,
      swapped: true,
    });
    for (const args of tc) {
      await must(`cannot set bandwidth limits on ${bridge}`, "tc", args);
    }
  }

  async #startDnsmasq(
    definition: NetworkDefinition,
    leases: readonly NetworkLease[] = [],
  ): Promise<ProcessIdentity> {
    const bridge = definition.bridge.name ?? "";
    const paths = dnsmasqPaths(this.#stateDir, definition.name);
    await Deno.mkdir(this.#stateDir, { recursive: true, mode: 0o755 });
    const files = dnsmasqConfiguration(definition, {
      stateDir: this.#stateDir,
      pidFile: paths.pid,
    });
    await Deno.writeTextFile(files.hostsFilePath, files.hostsFile, { mode: 0o644 });
    await Deno.writeTextFile(files.addnHostsPath, files.addnHosts, { mode: 0o644 });
    await Deno.writeTextFile(paths.config, files.config, { mode: 0o644 });
    await Deno.remove(paths.pid).catch(() => {});
    // As libvirt: dnsmasq keeps no lease file (--leasefile-ro) and reports every lease change
    // to a script, whose lines the service records (network_leases.ts); a new dnsmasq starts
    // a new file. It asks the script for the lease database at start: the leases the log
    // holds, so one that replaces another keeps its clients' addresses.
    await Deno.writeTextFile(
      paths.leaseDatabase,
      leaseDatabase(leases, Math.floor(Date.now() / 1000)),
      { mode: 0o644 },
    );
    const leaseScript = `${this.#stateDir}/${LEASE_SCRIPT_NAME}`;
    await Deno.writeTextFile(leaseScript, LEASE_SCRIPT, { mode: 0o755 });
    await Deno.chmod(leaseScript, 0o755);
    await Deno.writeTextFile(paths.leaseEvents, "", { mode: 0o644 });
    const command = dnsmasqCommand({
      configPath: paths.config,
      leaseScriptPath: leaseScript,
      bridge,
    });
    await must(`cannot start dnsmasq for ${bridge}`, DNSMASQ_PATH, command.args, {
      env: {
        ...command.env,
        EVIRT_LEASE_EVENTS: paths.leaseEvents,
        EVIRT_LEASE_DATABASE: paths.leaseDatabase,
      },
    });
    // dnsmasq has daemonized; its pid file is written before the parent exits.
    const pid = Number(readSmall(paths.pid)?.trim());
    const startTimeTicks = Number.isSafeInteger(pid) && pid > 0 ? processStartTime(pid) : undefined;
    if (startTimeTicks === undefined) {
      throw new VirtError(
        ErrorCode.SYSTEM_ERROR,
        `dnsmasq for ${bridge} did not stay running (pid file ${paths.pid})`,
      );
    }
    return { pid, startTimeTicks };
  }

  async #enableForwarding(definition: NetworkDefinition): Promise<void> {
    const mode = definition.forward?.mode;
    if (mode !== "nat" && mode !== "route") return;
    const families = new Set(definition.ips.map((ip) => parseIp(ip.address)?.family));
    if (families.has("ipv4")) await Deno.writeTextFile("/proc/sys/net/ipv4/ip_forward", "1\n");
    if (families.has("ipv6")) {
      await Deno.writeTextFile("/proc/sys/net/ipv6/conf/all/forwarding", "1\n");
    }
  }

  /**
   * Makes a running network's dnsmasq and firewall rules follow its updated definition
   * (`net-update`, as libvirt's networkRefreshDhcpDaemon and networkRestartDhcpDaemon): with
   * `refresh`, its DHCP and DNS hosts files are rewritten and it is sent SIGHUP (it rereads
   * them); with `restart`, or where the recorded dnsmasq no longer runs, it is replaced by one
   * started with the new configuration. The firewall chains are replaced in one nft
   * transaction when the ruleset changed.
   *
   * @param previous The definition the network ran with until now (undefined when unknown,
   *   as after a crash: the rules are then replaced whatever they were).
   * @param definition The updated definition.
   * @param state What the start (or last reload) recorded.
   * @param mode How dnsmasq takes the update.
   * @param leases The network's leases (from the log), handed to a dnsmasq that replaces
   *   the old one.
   * @returns What runs now (a replaced dnsmasq's identity).
   * @throws {VirtError} Code 38 when a step fails.
   */
  async reload(
    previous: NetworkDefinition | undefined,
    definition: NetworkDefinition,
    state: NetworkRuntimeState,
    mode: "refresh" | "restart",
    leases: readonly NetworkLease[] = [],
  ): Promise<NetworkRuntimeState> {
    if (!hasManagedBridge(definition)) return state;
    const bridge = bridgeNameOf(definition);
    const rules = nftablesRuleset(definition);
    // The forward mode cannot be updated, so both rulesets are empty or neither is.
    if (rules !== "" && (previous === undefined || rules !== nftablesRuleset(previous))) {
      await this.#nft(() =>
        must(`cannot replace firewall rules of ${bridge}`, "nft", ["-f", "-"], {
          input: nftablesRemoval(bridge) + rules,
        })
      );
    }
    const paths = dnsmasqPaths(this.#stateDir, definition.name);
    const running = this.#dnsmasqOf(paths, state.dnsmasq);
    if (mode === "refresh" && running !== undefined && needsDnsmasq(definition)) {
      const files = dnsmasqConfiguration(definition, {
        stateDir: this.#stateDir,
        pidFile: paths.pid,
      });
      await Deno.writeTextFile(files.hostsFilePath, files.hostsFile, { mode: 0o644 });
      await Deno.writeTextFile(files.addnHostsPath, files.addnHosts, { mode: 0o644 });
      Deno.kill(running, "SIGHUP");
      return state;
    }
    await this.#stopDnsmasq(paths, state.dnsmasq);
    if (!needsDnsmasq(definition)) return {};
    return { dnsmasq: await this.#startDnsmasq(definition, leases) };
  }

  /**
   * Removes whatever of the network exists: dnsmasq (the recorded one, or the one its pid
   * file names while its command line is this network's), its files, its firewall chains (and
   * evirt's table once empty), the bridge. A `bridge` network removes nothing.
   *
   * @param definition The definition the network started with.
   * @param state What the start recorded (may be empty: then the pid file is looked at).
   * @throws {VirtError} Code 38 when a removal fails.
   */
  async stop(definition: NetworkDefinition, state: NetworkRuntimeState): Promise<void> {
    const bridge = definition.bridge.name;
    if (!hasManagedBridge(definition) || bridge === undefined) return;
    const paths = dnsmasqPaths(this.#stateDir, definition.name);
    await this.#stopDnsmasq(paths, state.dnsmasq);
    const files = [
      paths.config,
      paths.pid,
      paths.hosts,
      paths.addnHosts,
      paths.leaseEvents,
      paths.leaseDatabase,
    ];
    for (const path of files) {
      await Deno.remove(path).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    }
    await this.#nft(async () => {
      await must(`cannot remove firewall rules of ${bridge}`, "nft", ["-f", "-"], {
        input: nftablesRemoval(bridge),
      });
      const table = await must("cannot list firewall rules", "nft", [
        "list",
        "table",
        "inet",
        NFT_TABLE,
      ]);
      if (!/^\s*chain /m.test(table)) {
        await must("cannot remove evirt's firewall table", "nft", [
          "delete",
          "table",
          "inet",
          NFT_TABLE,
        ]);
      }
    });
    if (linkExists(bridge)) {
      await must(`cannot delete bridge ${bridge}`, "ip", ["link", "del", bridge]);
    }
  }

  /** The dnsmasq to stop: the recorded one while it still runs, else the pid file's. */
  #dnsmasqOf(
    paths: ReturnType<typeof dnsmasqPaths>,
    recorded: ProcessIdentity | undefined,
  ): number | undefined {
    if (recorded !== undefined) {
      return processStartTime(recorded.pid) === recorded.startTimeTicks ? recorded.pid : undefined;
    }
    const pid = Number(readSmall(paths.pid)?.trim());
    if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
    const commandLine = readSmall(`/proc/${pid}/cmdline`)?.split("\0") ?? [];
    return commandLine.includes(`--conf-file=${paths.config}`) ? pid : undefined;
  }

  async #stopDnsmasq(
    paths: ReturnType<typeof dnsmasqPaths>,
    recorded: ProcessIdentity | undefined,
  ): Promise<void> {
    const pid = this.#dnsmasqOf(paths, recorded);
    if (pid === undefined) return;
    const startTime = processStartTime(pid);
    if (startTime === undefined) return;
    const gone = () => processStartTime(pid) !== startTime;
    for (const signal of ["SIGTERM", "SIGKILL"] as const) {
      try {
        Deno.kill(pid, signal);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return;
        throw error;
      }
      const deadline = Date.now() + DNSMASQ_STOP_TIMEOUT_MS;
      while (!gone() && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, EXIT_POLL_MS));
      }
      if (gone()) return;
    }
    throw new VirtError(ErrorCode.SYSTEM_ERROR, `dnsmasq (pid ${pid}) did not exit`);
  }

  /**
   * Whether a network recorded as running still is: its bridge exists (up) and its dnsmasq
   * runs with the recorded start time.
   */
  check(definition: NetworkDefinition, state: NetworkRuntimeState): NetworkRuntimeCheck {
    const problems: string[] = [];
    const bridge = definition.bridge.name ?? "";
    if (!hasManagedBridge(definition)) {
      if (!linkExists(`${bridge}/bridge`)) problems.push(`host bridge '${bridge}' is gone`);
    } else if (!linkExists(bridge)) {
      problems.push(`bridge '${bridge}' is gone`);
    }
    if (
      state.dnsmasq !== undefined &&
      processStartTime(state.dnsmasq.pid) !== state.dnsmasq.startTimeTicks
    ) {
      problems.push(`dnsmasq (pid ${state.dnsmasq.pid}) is no longer running`);
    }
    return { intact: problems.length === 0, problems };
  }

  #nft<T>(work: () => Promise<T>): Promise<T> {
    const job = this.#nftJob.then(work, work);
    this.#nftJob = job.catch(() => {});
    return job;
  }
}
