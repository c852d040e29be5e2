/**
 * Network namespaces of a test's own, so that bridges, firewall rules and dnsmasq never touch
 * the host's network: made with `ip netns add evirt-t-<random>`, and removed in `finally` with
 * every process still running in them.
 *
 * @module
 */

import { missing } from "./environment.ts";

/** Longest one `ip`/`nft`/`ss` command of a test may take (ms). */
const COMMAND_TIMEOUT_MS = 15_000;

/** Runs a command, returning its exit code and output. */
export async function runCommand(
  program: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Runs a command that must succeed; returns its stdout. */
export async function mustRun(program: string, args: string[]): Promise<string> {
  const result = await runCommand(program, args);
  if (result.code !== 0) {
    throw new Error(`${program} ${args.join(" ")}: exit ${result.code}: ${result.stderr}`);
  }
  return result.stdout;
}

/** Why namespace tests cannot run here, or undefined. */
export function netnsSkipReason(): string | undefined {
  const absent = missing("ip", "nft", "ss", "/usr/sbin/dnsmasq");
  if (absent !== undefined) return absent;
  const probe = `evirt-t-probe-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const added = new Deno.Command("ip", { args: ["netns", "add", probe], stderr: "piped" })
      .outputSync();
    if (!added.success) {
      return `cannot make a network namespace: ${new TextDecoder().decode(added.stderr).trim()}`;
    }
    new Deno.Command("ip", { args: ["netns", "del", probe], stderr: "null" }).outputSync();
    return undefined;
  } catch (error) {
    return `cannot make a network namespace: ${String(error)}`;
  }
}

/** A test's namespace: its name and views of what is in it. */
export interface TestNamespace {
  name: string;
  /** Runs `args` inside the namespace (`ip netns exec`). */
  exec(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The names of its links, sorted. */
  links(): Promise<string[]>;
  /** Its nftables tables (`nft list tables`), one a line, sorted. */
  tables(): Promise<string[]>;
}

/**
 * Runs `fn` with a namespace of its own (loopback up), then kills whatever still runs in it
 * and deletes it.
 */
export async function withNetns<T>(fn: (ns: TestNamespace) => Promise<T>): Promise<T> {
  const name = `evirt-t-${crypto.randomUUID().slice(0, 8)}`;
  await mustRun("ip", ["netns", "add", name]);
  try {
    await mustRun("ip", ["-n", name, "link", "set", "lo", "up"]);
    const exec = (args: string[]) => runCommand("ip", ["netns", "exec", name, ...args]);
    return await fn({
      name,
      exec,
      links: async () => {
        const links = JSON.parse(await mustRun("ip", ["-n", name, "-j", "link"])) as {
          ifname: string;
        }[];
        return links.map((link) => link.ifname).sort();
      },
      tables: async () => {
        const listed = await exec(["nft", "list", "tables"]);
        if (listed.code !== 0) throw new Error(`nft list tables: ${listed.stderr}`);
        return listed.stdout.split("\n").filter((line) => line.trim() !== "").sort();
      },
    });
  } finally {
    const pids = await runCommand("ip", ["netns", "pids", name]);
    for (const pid of pids.stdout.split("\n").map(Number).filter((pid) => pid > 0)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    await runCommand("ip", ["netns", "del", name]);
  }
}
