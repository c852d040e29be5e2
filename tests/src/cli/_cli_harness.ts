/**
 * Runs the CLI in process (`runCli`) with captured output. `CliHarness.open()` shares one
 * in-process `test:///default` host across runs, so a test can define, then start, then list;
 * `runFresh` gives each run its own host, exactly as the real `test:///default` does.
 */

import { EvirtClient } from "../../../src/client/client.ts";
import { runCli } from "../../../src/cli/main.ts";
import { type Connection, inProcessTransport } from "../../../src/cli/connection.ts";
import { openTestHypervisor } from "../../../src/service/test_hypervisor.ts";
import type { CliIo } from "../../../src/cli/verb.ts";
import type { ServiceCore } from "../../../src/service/service.ts";

/** What one run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const XML_MAX_BYTES = 64 * 1024;

function captureIo(
  env: Record<string, string | undefined>,
  listeners: Set<() => void>,
  connect?: CliIo["connect"],
  onStdout?: (text: string) => void,
): { io: CliIo; result: () => Omit<CliResult, "code"> } {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
      onStdout?.(text);
    },
    stderr: (text) => stderr += text,
    stderrIsTerminal: false,
    env: { EVIRT_DEFAULT_URI: "test:///default", ...env },
    uid: 1000,
    onInterrupt(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    ...(connect === undefined ? {} : { connect }),
  };
  return { io, result: () => ({ stdout, stderr }) };
}

/** Runs one CLI invocation with its own fresh `test:///default` host. */
export async function runFresh(
  words: string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  const { io, result } = captureIo(env, new Set());
  const code = await runCli(words, io);
  return { code, ...result() };
}

/** CLI runs against one shared in-process test host. */
export class CliHarness {
  readonly core: ServiceCore;
  readonly #interruptListeners = new Set<() => void>();
  /** Everything the runs printed on stdout so far, as they print it. */
  liveStdout = "";

  private constructor(core: ServiceCore) {
    this.core = core;
  }

  /** Opens a test host with libvirt's default domain. */
  static async open(): Promise<CliHarness> {
    return new CliHarness(await openTestHypervisor({ xmlMaxBytes: XML_MAX_BYTES, log: () => {} }));
  }

  /** Runs one CLI invocation against the shared host. */
  async run(...words: string[]): Promise<CliResult> {
    return await this.runWithEnv({}, ...words);
  }

  /** Runs one CLI invocation against the shared host with extra environment variables. */
  async runWithEnv(
    env: Record<string, string | undefined>,
    ...words: string[]
  ): Promise<CliResult> {
    const connect = (options: { uri: string; readOnly: boolean }): Promise<Connection> => {
      const role = options.readOnly ? "read-only" : "read-write";
      const client = new EvirtClient(inProcessTransport(this.core.api, role));
      return Promise.resolve({ uri: options.uri, client, close: () => Promise.resolve() });
    };
    const { io, result } = captureIo(
      { EVIRT_XML_MAX_BYTES: String(XML_MAX_BYTES), ...env },
      this.#interruptListeners,
      connect,
      (text) => this.liveStdout += text,
    );
    const code = await runCli(words, io);
    return { code, ...result() };
  }

  /** Delivers a SIGINT to the runs listening for one. */
  interrupt(): void {
    for (const listener of [...this.#interruptListeners]) listener();
  }

  /** Whether a run is listening for SIGINT (an `event` wait has begun). */
  get listening(): boolean {
    return this.#interruptListeners.size > 0;
  }

  /**
   * Waits until `ready()` holds, checking every few ms, for at most `timeoutMs`.
   *
   * @throws {Error} When it does not hold in time, naming `what`.
   */
  async until(what: string, ready: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async close(): Promise<void> {
    await this.core.close();
  }
}

/** Runs `fn` with a harness and always closes it. */
export async function withHarness(fn: (harness: CliHarness) => Promise<void>): Promise<void> {
  const harness = await CliHarness.open();
  try {
    await fn(harness);
  } finally {
    await harness.close();
  }
}

/** A domain XML of the test hypervisor. */
export function testDomainXml(name: string, uuid?: string): string {
  return `<domain type='test'>
  <name>${name}</name>${uuid === undefined ? "" : `\n  <uuid>${uuid}</uuid>`}
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type></os>
</domain>
`;
}

/** Writes `text` to a temporary file, runs `fn` with its path, and removes it. */
export async function withTempFile(
  text: string,
  fn: (path: string) => Promise<void>,
  suffix = ".xml",
): Promise<void> {
  const path = await Deno.makeTempFile({ prefix: "evirt-cli-", suffix });
  try {
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}
