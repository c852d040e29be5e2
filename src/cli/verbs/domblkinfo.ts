/**
 * `domblkinfo`: capacity, allocation and physical size of one disk, or with `--all` of every
 * disk in a table.
 *
 * @module
 */

import type { BlockInfo } from "../../storage/block_info.ts";
import { ErrorCode, isVirtError } from "../../model/errors.ts";
import type { BlockListRow } from "../../projections/block_list.ts";
import { ArgumentError, type VerbArguments } from "../arguments.ts";
import { domainCommand } from "../command_failure.ts";
import { formatBlockInfo, formatBlockInfoTable } from "../stats_layouts.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "../verb.ts";

/**
 * The `domblkinfo` verb.
 *
 * @example
 * ```sh
 * evirt domblkinfo web vda --human
 * evirt domblkinfo web --all
 * ```
 */
export const domblkinfoVerb: Verb = {
  name: "domblkinfo",
  summary: "domain block device size information",
  json: true,
  options: [
    DOMAIN_OPTION,
    { name: "device", kind: "string", positional: true, help: "block device" },
    { name: "human", kind: "bool", help: "Human readable output" },
    { name: "all", kind: "bool", help: "display all block devices info" },
  ],
  async run(context: VerbContext, args: VerbArguments) {
    const reference = args.required("domain");
    const device = args.text("device");
    const all = args.flag("all");
    if (all && device !== undefined) {
      throw new ArgumentError("Options --all and --device are mutually exclusive", "--all");
    }
    if (!all && device === undefined) {
      throw new ArgumentError("command 'domblkinfo' requires <device> option", "--device");
    }
    const human = args.flag("human");
    if (device !== undefined) {
      const info = await domainCommand(
        reference,
        undefined,
        () => context.client.blockInfo(reference, device),
      );
      if (args.flag("json")) context.json(info);
      else context.print(formatBlockInfo(info, human));
      return;
    }
    const rows = await domainCommand(reference, undefined, async () => {
      const { disks } = await context.client.blockList(reference);
      const result: { target: string; info: BlockInfo | undefined }[] = [];
      // One disk after another, as virsh asks: a hung storage then holds up one disk at a time.
      for (const disk of disks) {
        result.push({ target: disk.target, info: await diskInfo(context, reference, disk) });
      }
      return result;
    });
    if (args.flag("json")) context.json(rows);
    else context.print(formatBlockInfoTable(rows, human, context.quiet));
  },
};

/**
 * A disk's info for the `--all` table: none for a disk without a source, and, as virsh, none for
 * a network disk whose storage cannot be read.
 */
async function diskInfo(
  context: VerbContext,
  reference: string,
  disk: BlockListRow,
): Promise<BlockInfo | undefined> {
  if (disk.source === null) return undefined;
  try {
    return await context.client.blockInfo(reference, disk.target);
  } catch (error) {
    if (disk.type === "network" && isVirtError(error, ErrorCode.OPERATION_UNSUPPORTED)) {
      return undefined;
    }
    throw error;
  }
}
