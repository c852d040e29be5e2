/**
 * Streams and events of another host's domain, through the real `virsh` on host west's socket,
 * with a real counting QEMU guest host east owns (two services on one NATS server the test
 * starts): `virsh console` on west reads the guest's `EVIRT-COUNT N` lines (the stream carried
 * from east, `src/service/fleet_streams.ts`) under east's rules (one writer; read-only refused);
 * closing it frees east's console; `virsh event --domain` on west sees east's suspend and
 * resume (the fleet event stream, `src/rpc/fleet_event_feed.ts`). Then east is SIGKILLed: the
 * open console on west ends with an error within the stream's silence bound, and a new one is
 * refused with code 38. Every QEMU is killed by pid in `finally`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { missing, testIf } from "../support/environment.ts";
import { guestSkipReason } from "../support/guest.ts";
import { eventually, withFleet } from "../support/fleet_services.ts";
import { followVirsh, runVirsh, socketUri, VIRSH_TIMEOUT_MS } from "../support/virsh.ts";
import { killQemus, serviceQemuPids } from "../support/service_qemus.ts";
import type { ServiceProcess } from "../support/service_process.ts";
import { guestDefinition } from "./_qemu_guest.ts";
import { runChild } from "../support/child_process.ts";
import { pythonLibvirtSkipReason, SYSTEM_PYTHON } from "../support/python_libvirt.ts";
import { CLI_PATH } from "../support/cli_process.ts";
import { searchableTempDirSync } from "../support/temp_dir.ts";
import { tcpPortOf } from "../support/web_browser.ts";
import { formatDomainXml } from "../../src/xml/mod.ts";
import { STREAM_PING_MS, STREAM_SILENCE_MS } from "../../src/service/fleet_stream_link.ts";

/** Longest wait for the guest's counting, in ms. */
const COUNT_TIMEOUT_MS = 60_000;
/** Console output kept, in characters. */
const SCREEN_MAX_CHARS = 256 * 1024;

function uriOf(service: ServiceProcess): string {
  return socketUri(`${service.runtimeDir}/libvirt-sock`);
}

/** `virsh console` in a pty (`script`), its screen collected as it comes. */
class VirshConsole {
  screen = "";
  readonly #child: Deno.ChildProcess;
  readonly #reading: Promise<void>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;

  /** `virsh console`, or with `command` that command line, in a pty. */
  constructor(
    uri: string,
    name: string,
    extra = "",
    command?: string,
    env?: Record<string, string>,
  ) {
    const child = new Deno.Command("script", {
      args: ["-qefc", command ?? `virsh ${extra} -c '${uri}' console ${name}`, "/dev/null"],
      ...(env === undefined ? {} : { env }),
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(COUNT_TIMEOUT_MS + 2 * VIRSH_TIMEOUT_MS),
    }).spawn();
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#reading = (async () => {
      for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
        this.screen = (this.screen + chunk).slice(-SCREEN_MAX_CHARS);
      }
    })();
  }

  /** The counts the screen shows, in order. */
  counts(): number[] {
    return [...this.screen.matchAll(/EVIRT-COUNT (\d+)/g)].map((match) => Number(match[1]));
  }

  async waitFor(what: string, probe: () => boolean, ms: number): Promise<void> {
    await eventually(what, () => Promise.resolve(probe()), ms).catch((error) => {
      throw new Error(`${error.message}; screen: ${this.screen.slice(-400)}`);
    });
  }

  /** Ctrl-], virsh console's escape. */
  async escape(): Promise<void> {
    await this.#writer.write(new Uint8Array([0x1d])).catch(() => {});
  }

  /** Waits for virsh to end (closing its input); its exit code. */
  async ended(): Promise<number> {
    await this.#writer.close().catch(() => {});
    const status = await this.#child.status;
    await this.#reading;
    return status.code;
  }
}

/** Looks counter up with python3-libvirt: prints the error's code and message. */
const PYTHON_LOOKUP = `
import sys, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
try:
    libvirt.open(sys.argv[1]).lookupByName("counter")
    print("found")
except libvirt.libvirtError as error:
    print(error.get_error_code(), error.get_error_message())
`;

const READ_WRITE_TOKEN = "rw-fleet-streams-0123456789abcdef";
const READ_ONLY_TOKEN = "ro-fleet-streams-0123456789abcdef";

/** The web console's socket of counter on `port`, its text collected and how it closed. */
function webConsole(port: number, token: string, query = "") {
  const socket = new WebSocket(
    `ws://127.0.0.1:${port}/v1/domains/counter/console/socket${query}`,
    { headers: { authorization: `Bearer ${token}` } } as unknown as string[],
  );
  socket.binaryType = "arraybuffer";
  const state = { text: "" };
  const decoder = new TextDecoder();
  socket.onmessage = (message) => {
    state.text = (state.text + decoder.decode(new Uint8Array(message.data))).slice(
      -SCREEN_MAX_CHARS,
    );
  };
  const opened = new Promise<void>((resolve) => socket.onopen = () => resolve());
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.onclose = (event) => resolve({ code: event.code, reason: event.reason })
  );
  return {
    state,
    opened,
    closed,
    counts: () => [...state.text.matchAll(/EVIRT-COUNT (\d+)/g)].map((match) => Number(match[1])),
    send: (text: string) => socket.send(new TextEncoder().encode(text)),
    close: () => socket.close(),
  };
}

/** Waits for `promise`, at most `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `virsh console` of counter on `uri` is refused with `why`; it ends, and attached nothing. */
async function refusedConsole(uri: string, extra: string, why: RegExp): Promise<void> {
  const console = new VirshConsole(uri, "counter", extra);
  await console.waitFor(
    "virsh console refused",
    () => /error:/.test(console.screen),
    VIRSH_TIMEOUT_MS,
  );
  const code = await console.ended();
  assert.notEqual(code, 0);
  assert.match(console.screen, why);
  assert.doesNotMatch(console.screen, /EVIRT-COUNT/);
}

/** `virsh event --loop` for one domain's lifecycle events, its lines collected. */
function watchEvents(uri: string, name: string) {
  return followVirsh(
    uri,
    ["event", "--domain", name, "--event", "lifecycle", "--loop"],
    2 * COUNT_TIMEOUT_MS,
  );
}

testIf(
  "fleet streams: virsh console and virsh event on west follow a counting guest east owns; east's death ends them with code 38",
  guestSkipReason() ?? missing("qemu-system-x86_64", "virsh", "script", "nats-server"),
  async () => {
    let pids: number[] = [];
    const dir = searchableTempDirSync("evirt-fleet-streams-");
    const tokens = `${dir}/tokens`;
    Deno.writeTextFileSync(
      tokens,
      `read-write ${READ_WRITE_TOKEN}\nread-only ${READ_ONLY_TOKEN}\n`,
    );
    Deno.chmodSync(tokens, 0o600);
    const listen = { EVIRT_LISTEN: "127.0.0.1:0", EVIRT_TOKENS_FILE: tokens };
    await withFleet(["east", "west"], async ([east, west]) => {
      try {
        const definition = guestDefinition("counter", { serial: "pty" });
        definition.os.cmdline = `${definition.os.cmdline} evirt.count=1`;
        await east.client.define({ xml: formatDomainXml(definition) });
        await eventually(
          "west sees counter on east",
          async () =>
            (await west.client.fleetDomains()).domains.some((domain) => domain.name === "counter"),
        );
        // Registered before anything happens to the domain: west has no such domain of its own.
        const events = watchEvents(uriOf(west), "counter");
        try {
          await eventually(
            "virsh event has registered on west",
            async () => (await west.client.hostSummary()).subscribers.rpc >= 1,
          );
          const started = await runVirsh(uriOf(west), ["start", "counter"]);
          assert.equal(started.code, 0, started.stderr);
          pids = serviceQemuPids(east.runtimeDir);

          const console = new VirshConsole(uriOf(west), "counter");
          await console.waitFor(
            "west's console shows east's guest counting",
            () => console.counts().length >= 3,
            COUNT_TIMEOUT_MS,
          );
          assert.match(console.screen, /Connected to domain 'counter'/);
          const seen = console.counts();
          for (let index = 1; index < seen.length; index++) {
            assert.equal(seen[index], seen[index - 1] + 1, `in order: ${seen.join(" ")}`);
          }
          // The owner's rules: one writer at a time (west's session holds east's console)…
          await refusedConsole(uriOf(east), "", /Active console session exists for this domain/);
          // …and a read-only connection does not open a console.
          await refusedConsole(uriOf(west), "-r", /read only access prevents virDomainOpenConsole/);

          // Suspend and resume on east: west's callback for east's domain sees both.
          assert.equal((await runVirsh(uriOf(east), ["suspend", "counter"])).code, 0);
          assert.equal((await runVirsh(uriOf(east), ["resume", "counter"])).code, 0);
          await eventually(
            "west's virsh event sees east's suspend and resume",
            () => Promise.resolve(/Resumed Unpaused/.test(events.seen.text)),
            VIRSH_TIMEOUT_MS,
          );
          assert.match(
            events.seen.text,
            /event 'lifecycle' for domain 'counter': Started Booted\n/,
          );
          assert.match(
            events.seen.text,
            /event 'lifecycle' for domain 'counter': Suspended Paused\n/,
          );
          assert.match(
            events.seen.text,
            /event 'lifecycle' for domain 'counter': Resumed Unpaused\n/,
          );
          // The guest counts on after the resume, seen through west.
          const before = console.counts().at(-1)!;
          await console.waitFor(
            "the count goes on after the resume",
            () => (console.counts().at(-1) ?? 0) >= before + 2,
            COUNT_TIMEOUT_MS,
          );

          // Closing west's side closes east's: its console takes a writer again.
          await console.escape();
          assert.equal(await console.ended(), 0, console.screen.slice(-400));
          await eventually("east's console is free", async () => {
            const onEast = new VirshConsole(uriOf(east), "counter");
            await onEast.waitFor(
              "east's own console attached or refused",
              () => /Escape character|error:/.test(onEast.screen),
              VIRSH_TIMEOUT_MS,
            );
            const attached = /Escape character/.test(onEast.screen);
            await onEast.escape();
            await onEast.ended();
            return attached;
          });

          // evirt console on west: east's console, through west's console socket.
          const cli = new VirshConsole(
            "",
            "",
            "",
            `'${Deno.execPath()}' run --allow-all '${CLI_PATH}' console counter`,
            { ...west.env, EVIRT_DEFAULT_URI: "evirt:///system" },
          );
          await cli.waitFor(
            "evirt console on west shows east's guest counting",
            () => cli.counts().length >= 2,
            COUNT_TIMEOUT_MS,
          );
          assert.match(cli.screen, /Connected to domain 'counter'/);
          // It holds east's console as its writer, as virsh's session did.
          await refusedConsole(uriOf(east), "", /Active console session exists for this domain/);
          await cli.escape();
          assert.equal(await cli.ended(), 0, cli.screen.slice(-400));

          // The web console's socket on west: east's console, carried, east's rules.
          const port = await tcpPortOf(west);
          const writer = webConsole(port, READ_WRITE_TOKEN);
          const viewer = webConsole(port, READ_ONLY_TOKEN);
          try {
            await within(writer.opened, VIRSH_TIMEOUT_MS, "the socket opens");
            await eventually(
              "west's web console shows east's guest counting",
              () => Promise.resolve(writer.counts().length >= 2 && viewer.counts().length >= 2),
              COUNT_TIMEOUT_MS,
            );
            writer.send("\r");
            // A second writer is refused as on east (9); a read-only caller that writes, 29.
            const second = webConsole(port, READ_WRITE_TOKEN);
            const refused = await within(second.closed, VIRSH_TIMEOUT_MS, "second writer");
            assert.equal(refused.code, 4009, refused.reason);
            assert.match(refused.reason, /Active console session exists for this domain/);
            viewer.send("x");
            const denied = await within(viewer.closed, VIRSH_TIMEOUT_MS, "viewer that wrote");
            assert.equal(denied.code, 4029, denied.reason);
            const before = writer.counts().at(-1)!;
            await eventually(
              "the writer's socket goes on",
              () => Promise.resolve((writer.counts().at(-1) ?? 0) >= before + 2),
              COUNT_TIMEOUT_MS,
            );
          } finally {
            writer.close();
            viewer.close();
            await within(writer.closed, VIRSH_TIMEOUT_MS, "the writer's socket closes");
          }
        } finally {
          await events.stop();
        }

        // The owner dies while west's console is open: the console ends with code 38, bounded.
        const open = new VirshConsole(uriOf(west), "counter");
        await open.waitFor(
          "west's console attached again",
          () => /Escape character/.test(open.screen),
          VIRSH_TIMEOUT_MS,
        );
        await east.stop("SIGKILL");
        const killedAt = Date.now();
        await open.waitFor(
          "west's console ended",
          () => /error:/.test(open.screen),
          STREAM_SILENCE_MS + 4 * STREAM_PING_MS,
        );
        assert.ok(Date.now() - killedAt <= STREAM_SILENCE_MS + 4 * STREAM_PING_MS);
        assert.match(open.screen, /east', which owns this domain, stopped answering/);
        await open.ended();
        // virsh reports only "failed to get domain" of a failed lookup: libvirt's own client
        // library tells the error, code 38 (VIR_ERR_SYSTEM_ERROR), at once.
        await refusedConsole(uriOf(west), "", /failed to get domain 'counter'/);
        if (pythonLibvirtSkipReason() === undefined) {
          const asked = await runChild(
            SYSTEM_PYTHON,
            ["-c", PYTHON_LOOKUP, uriOf(west)],
            {},
            VIRSH_TIMEOUT_MS,
          );
          assert.match(asked.stdout, /^38 .*east', which owns this domain, did not answer/);
        }
      } finally {
        await killQemus(pids);
      }
    }, (index) => index === 1 ? listen : {}).finally(() =>
      Deno.removeSync(dir, { recursive: true })
    );
  },
);
