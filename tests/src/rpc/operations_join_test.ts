import assert from "node:assert/strict";
import { OPERATIONS } from "../../../src/model/operations.ts";
import { procedureIndex } from "../../../src/rpc/procedures.ts";

// The operations table names each operation's libvirt calls, the remote procedure each travels
// as, and who may run it; the RPC dispatch table serves procedures by number. Joined on the
// procedure number (what travels on the wire), the two must agree, so the HTTP door and
// libvirt's protocol cannot drift apart.

const byNumber = procedureIndex();
const calls = OPERATIONS.flatMap((row) =>
  row.libvirt.flatMap((call) =>
    call.procedure === null ? [] : [{ operation: row.name, access: row.access, ...call }]
  )
);

Deno.test("every remote procedure the operations table names is served over RPC", () => {
  const missing = calls.filter((call) => !byNumber.has(call.procedure as number))
    .map((call) => `${call.operation}: ${call.api} (${call.procedure})`);
  assert.deepEqual(missing, []);
});

Deno.test("the RPC table and the operations table agree on who may call each procedure", () => {
  const differing = calls.flatMap((call) => {
    const served = byNumber.get(call.procedure as number);
    if (served === undefined) return [];
    const rpcAccess = served.procedure.readOnly ? "read-only" : "read-write";
    return rpcAccess === call.access
      ? []
      : [`${call.api} (${call.procedure}): table ${call.access}, rpc ${rpcAccess}`];
  });
  assert.deepEqual(differing, []);
});

Deno.test("the join is not empty", () => {
  assert.ok(calls.length >= 30, `${calls.length} calls`);
});
