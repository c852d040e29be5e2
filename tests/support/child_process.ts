/**
 * Runs a command in a child process with no input, bounded by a timeout, and returns what it
 * printed: the one runner behind the CLI, virsh and parity tests.
 *
 * @module
 */

/** What a child printed and how it ended. */
export interface ChildRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command ARGS` with exactly `env` on top of the test's environment, stdin closed; the
 * child is killed with SIGTERM after `timeoutMs`, and its run then ends with code 143.
 */
export async function runChild(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ChildRun> {
  const output = await new Deno.Command(command, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Whether process `pid` runs (exists and is neither a zombie nor dead), from `/proc`. */
export function processRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}
