/**
 * Run by `lxc_privileges_test.ts` inside a user namespace whose `max_user_namespaces` is 0:
 * starts a container with `<idmap>` on a rig and prints, as one JSON line, the error the
 * start failed with and what it left in the runtime folder.
 *
 * @module
 */

import { isVirtError } from "../../src/model/errors.ts";
import { containerDefinition, openLxcRig } from "./_lxc_rig.ts";

const rig = await openLxcRig();
try {
  const definition = containerDefinition("ct-no-userns", { console: false });
  definition.idmap = {
    uids: [{ start: 0, target: 100_000, count: 65536 }],
    gids: [{ start: 0, target: 100_000, count: 65536 }],
  };
  await rig.host.define(definition);
  let error: unknown;
  try {
    await rig.host.start("ct-no-userns");
  } catch (caught) {
    error = caught;
  }
  let left: string[] = [];
  try {
    left = [...Deno.readDirSync(`${rig.dir}/run/lxc`)].map((entry) => entry.name);
  } catch {
    // Never made.
  }
  console.log(JSON.stringify({
    code: isVirtError(error) ? error.code : undefined,
    message: error instanceof Error ? error.message : String(error),
    state: rig.stateText("ct-no-userns"),
    left,
  }));
} finally {
  await rig.close();
}
