/**
 * The routes of block jobs: `blockcommit`, `blockpull`, `blockcopy` start a job in the domain's
 * queue (`actors/block_job_commands.ts`); `blockjob` reads a disk's job, ends it (abort or
 * pivot, waiting for the end unless `async`) or sets its speed. Flags are libvirt's, given as
 * query flags; sizes and bandwidths are decimal strings (they may exceed 2^53).
 *
 * @module
 */

import { blockJobInfo } from "../../../actors/block_job_commands.ts";
import {
  BLOCK_JOB_BANDWIDTH_BYTES,
  BlockCommitFlag,
  BlockCopyFlag,
  BlockJobAbortFlag,
  BlockRebaseFlag,
} from "../../model/block_jobs.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import type { RouteAdder } from "../api_context.ts";
import { jsonResponse } from "../http_errors.ts";
import { booleanParam, numberParam } from "./domain_routes.ts";
import { flagsOf, queueOptions } from "./resource_routes.ts";

function requiredText(url: URL, name: string): string {
  const value = url.searchParams.get(name) ?? "";
  if (value === "") {
    throw new VirtError(ErrorCode.INVALID_ARG, `${name} must be given`, { where: name });
  }
  return value;
}

function optionalText(url: URL, name: string): string | undefined {
  const value = url.searchParams.get(name);
  return value === null || value === "" ? undefined : value;
}

/** An unsigned 64-bit decimal (absent: 0). */
function unsignedParam(url: URL, name: string, required = false): bigint {
  const text = url.searchParams.get(name);
  if (text === null && !required) return 0n;
  if (text === null || !/^[0-9]{1,20}$/.test(text) || BigInt(text) >= 1n << 64n) {
    throw new VirtError(ErrorCode.INVALID_ARG, `${name} must be a decimal integer, got '${text}'`, {
      where: name,
    });
  }
  return BigInt(text);
}

/** Registers the routes. */
export function blockJobRoutes(add: RouteAdder): void {
  add("domain.block_commit", async (_request, context) => {
    const { host } = context.env;
    const url = context.url;
    const base = optionalText(url, "base");
    const top = optionalText(url, "top");
    const { uuid } = host.lookup(context.params.ref);
    await host.command("blockjob", uuid, {
      action: "commit",
      disk: requiredText(url, "disk"),
      ...(base === undefined ? {} : { base }),
      ...(top === undefined ? {} : { top }),
      bandwidth: unsignedParam(url, "bandwidth"),
      flags: flagsOf(url, {
        shallow: BlockCommitFlag.SHALLOW,
        delete: BlockCommitFlag.DELETE,
        active: BlockCommitFlag.ACTIVE,
        relative: BlockCommitFlag.RELATIVE,
        bytes: BlockCommitFlag.BANDWIDTH_BYTES,
      }),
    }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.block_pull", async (_request, context) => {
    const { host } = context.env;
    const url = context.url;
    const base = optionalText(url, "base");
    const { uuid } = host.lookup(context.params.ref);
    await host.command("blockjob", uuid, {
      action: "pull",
      // The call virsh makes for the same request, whose name a refusal carries.
      api: base === undefined ? "virDomainBlockPull" : "virDomainBlockRebase",
      disk: requiredText(url, "disk"),
      ...(base === undefined ? {} : { base }),
      bandwidth: unsignedParam(url, "bandwidth"),
      flags: flagsOf(url, {
        relative: BlockRebaseFlag.RELATIVE,
        bytes: BlockRebaseFlag.BANDWIDTH_BYTES,
      }),
    }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.block_copy", async (_request, context) => {
    const { host } = context.env;
    const url = context.url;
    const format = optionalText(url, "format");
    const granularity = numberParam(url, "granularity", 0, 0xffffffff);
    const bufferText = optionalText(url, "buf_size");
    const bytes = booleanParam(url, "bytes") === true;
    const bandwidth = unsignedParam(url, "bandwidth");
    const flags = flagsOf(url, {
      shallow: BlockCopyFlag.SHALLOW,
      reuse_external: BlockCopyFlag.REUSE_EXT,
      transient_job: BlockCopyFlag.TRANSIENT_JOB,
      synchronous_writes: BlockCopyFlag.SYNCHRONOUS_WRITES,
    });
    // virsh asks virDomainBlockRebase unless the request needs virDomainBlockCopy's own
    // parameters; a refusal names the call.
    const ownParameters = granularity !== undefined || bufferText !== undefined ||
      (flags & (BlockCopyFlag.TRANSIENT_JOB | BlockCopyFlag.SYNCHRONOUS_WRITES)) !== 0;
    const { uuid } = host.lookup(context.params.ref);
    await host.command("blockjob", uuid, {
      action: "copy",
      api: ownParameters ? "virDomainBlockCopy" : "virDomainBlockRebase",
      disk: requiredText(url, "disk"),
      destination: {
        path: requiredText(url, "dest"),
        ...(format === undefined ? {} : { format }),
        type: booleanParam(url, "blockdev") === true ? "block" : "file",
      },
      bandwidthBytes: bytes ? bandwidth : bandwidth << 20n,
      flags,
      ...(granularity === undefined ? {} : { granularityBytes: granularity }),
      ...(bufferText === undefined ? {} : { bufferBytes: unsignedParam(url, "buf_size") }),
    }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.block_job_info", async (_request, context) => {
    const { host } = context.env;
    const flags = flagsOf(context.url, { bytes: BLOCK_JOB_BANDWIDTH_BYTES });
    const info = await blockJobInfo(
      host.inspect(context.params.ref),
      host.context(context.params.ref),
      requiredText(context.url, "disk"),
      flags,
      context.signal,
    );
    return jsonResponse({
      found: info.found,
      type: info.type,
      bandwidth: info.bandwidth.toString(),
      cur: info.cur.toString(),
      end: info.end.toString(),
    });
  });
  add("domain.block_job_abort", async (_request, context) => {
    const { host } = context.env;
    const flags = flagsOf(context.url, {
      async: BlockJobAbortFlag.ASYNC,
      pivot: BlockJobAbortFlag.PIVOT,
    });
    await host.endBlockJob(
      context.params.ref,
      { disk: requiredText(context.url, "disk"), flags },
      queueOptions(context),
    );
    return new Response(null, { status: 204 });
  });
  add("domain.block_job_set_speed", async (_request, context) => {
    const { host } = context.env;
    const { uuid } = host.lookup(context.params.ref);
    await host.command("blockjob", uuid, {
      action: "speed",
      disk: requiredText(context.url, "disk"),
      bandwidth: unsignedParam(context.url, "bandwidth", true),
      flags: flagsOf(context.url, { bytes: BLOCK_JOB_BANDWIDTH_BYTES }),
    }, queueOptions(context));
    return new Response(null, { status: 204 });
  });
}
