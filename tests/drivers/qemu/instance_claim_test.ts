import assert from "node:assert/strict";
import {
  CLAIM_CONFLICT_EXIT_CODE,
  claimConflict,
  claimedCommand,
  claimPathFor,
  holdsClaim,
  isClaimHeld,
} from "../../../drivers/qemu/instance_claim.ts";
import { findClaimedQemu } from "../../../drivers/qemu/instance_adoption.ts";
import { ErrorCode, VirtError } from "../../../src/model/errors.ts";
import { missing, testIf } from "../../support/environment.ts";

/** Longest a holder process lives if a test forgets it, in seconds. */
const HOLDER_LIFETIME_SECONDS = 30;

/** A process that holds `claimPath` the way QEMU does (flock --no-fork, then exec). */
function holder(claimPath: string): Deno.ChildProcess {
  const [command, ...args] = claimedCommand(claimPath, ["sleep", String(HOLDER_LIFETIME_SECONDS)]);
  return new Deno.Command(command, { args, stdin: "null", stdout: "null", stderr: "null" })
    .spawn();
}

async function end(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // Already gone.
  }
  await child.status;
}

/** Waits (bounded) until `claimPath` is held, since the holder locks after it was spawned. */
async function untilHeld(claimPath: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await isClaimHeld(claimPath)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${claimPath} never got held`);
}

const NEEDS_FLOCK = missing("flock", "sleep");

Deno.test("claimPathFor names one claim file per domain uuid under claims/", () => {
  assert.equal(
    claimPathFor("/run/evirt/qemu", "C0FFEE00-0000-4000-8000-000000000001"),
    "/run/evirt/qemu/claims/c0ffee00-0000-4000-8000-000000000001.lock",
  );
});

Deno.test("claimPathFor refuses a uuid that could leave the claims folder", () => {
  assert.throws(
    () => claimPathFor("/run/evirt/qemu", "../../etc/passwd"),
    (error) => error instanceof VirtError && error.code === ErrorCode.INVALID_ARG,
  );
});

Deno.test("claimedCommand takes the lock without waiting and execs the command with it", () => {
  assert.deepEqual(claimedCommand("/run/c.lock", ["qemu", "-S"]), [
    "flock",
    "--exclusive",
    "--nonblock",
    "--conflict-exit-code",
    String(CLAIM_CONFLICT_EXIT_CODE),
    "--no-fork",
    "/run/c.lock",
    "qemu",
    "-S",
  ]);
});

Deno.test("claimConflict is libvirt's OPERATION_FAILED naming the domain and the holder", () => {
  const error = claimConflict("web", "/run/c.lock", 42);
  assert.equal(error.code, ErrorCode.OPERATION_FAILED);
  assert.equal(
    error.message,
    "domain 'web' is already running in qemu process 42 (it holds '/run/c.lock')",
  );
});

testIf("isClaimHeld says false for a missing or free claim file", NEEDS_FLOCK, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-claim-" });
  try {
    assert.equal(await isClaimHeld(`${dir}/missing.lock`), false);
    Deno.writeTextFileSync(`${dir}/free.lock`, "");
    assert.equal(await isClaimHeld(`${dir}/free.lock`), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

testIf("a held claim refuses a second holder until the first is gone", NEEDS_FLOCK, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-claim-" });
  const claim = `${dir}/vm.lock`;
  const first = holder(claim);
  try {
    await untilHeld(claim);
    assert.equal(holdsClaim(first.pid, claim), true);
    assert.equal(holdsClaim(Deno.pid, claim), false);
    const second = await new Deno.Command("flock", {
      args: claimedCommand(claim, ["true"]).slice(1),
    }).output();
    assert.equal(second.code, CLAIM_CONFLICT_EXIT_CODE);
    await end(first);
    assert.equal(await isClaimHeld(claim), false);
  } finally {
    await end(first);
    Deno.removeSync(dir, { recursive: true });
  }
});

testIf(
  "findClaimedQemu finds the process named by the pid file that holds the claim",
  NEEDS_FLOCK,
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "evirt-claim-" });
    const claimPath = `${dir}/vm.lock`;
    const pidFile = `${dir}/qemu.pid`;
    const child = holder(claimPath);
    try {
      await untilHeld(claimPath);
      Deno.writeTextFileSync(pidFile, `${child.pid}\n`);
      const found = await findClaimedQemu({ claimPath, pidFile }, AbortSignal.timeout(5_000));
      assert.equal(found?.pid, child.pid);
    } finally {
      await end(child);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

testIf("findClaimedQemu gives undefined when nothing holds the claim", NEEDS_FLOCK, async () => {
  const dir = Deno.makeTempDirSync({ prefix: "evirt-claim-" });
  try {
    Deno.writeTextFileSync(`${dir}/vm.lock`, "");
    Deno.writeTextFileSync(`${dir}/qemu.pid`, `${Deno.pid}\n`);
    const planned = { claimPath: `${dir}/vm.lock`, pidFile: `${dir}/qemu.pid` };
    assert.equal(await findClaimedQemu(planned, AbortSignal.timeout(5_000)), undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

testIf(
  "findClaimedQemu does not adopt a process that does not hold the claim",
  NEEDS_FLOCK,
  async () => {
    const dir = Deno.makeTempDirSync({ prefix: "evirt-claim-" });
    const claimPath = `${dir}/vm.lock`;
    const pidFile = `${dir}/qemu.pid`;
    const child = holder(claimPath);
    try {
      await untilHeld(claimPath);
      // The pid file names a live process that is not the holder: refused, with a clear error.
      Deno.writeTextFileSync(pidFile, `${Deno.pid}\n`);
      await assert.rejects(
        () => findClaimedQemu({ claimPath, pidFile }, AbortSignal.timeout(5_000), 200),
        (error) => error instanceof VirtError && error.code === ErrorCode.OPERATION_FAILED,
      );
    } finally {
      await end(child);
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
