/**
 * Save images: `POST /v1/domains/:ref/save`, `POST /v1/domains/restore`, and the XML an image
 * carries (`GET`/`PUT /v1/save-images/xml`). The image is named by `?file=`, a path on the
 * service's host, which the service itself opens. As libvirt's, a read-only caller may read an
 * image's XML (without secrets) and nothing else.
 *
 * @module
 */

import { defineSaveImage, requireManagedSave, saveImageXml } from "../../../actors/save_images.ts";
import { abortHostJob, hostJobStats, jobTypeOf } from "../../../actors/domain_jobs.ts";
import { ErrorCode, VirtError } from "../../model/errors.ts";
import type { ApiRequestContext, RouteAdder, RouteContext } from "../api_context.ts";
import { readDefinition } from "../definition_reader.ts";
import { checkSecureAllowed } from "../domain_secrets.ts";
import { jsonResponse } from "../http_errors.ts";
import { definitionFromRequest, readBodyBytes } from "../request_body.ts";
import { summaryView } from "../views.ts";
import { booleanParam, commandOptions } from "./domain_routes.ts";

type Context = RouteContext & ApiRequestContext;

/** Longest image path accepted, in characters (Linux's PATH_MAX). */
const SAVE_PATH_MAX_CHARS = 4096;

/** The image's path from `?file=`: absolute, bounded. */
function fileParam(url: URL): string {
  const file = url.searchParams.get("file");
  if (file === null || file === "") {
    throw new VirtError(ErrorCode.INVALID_ARG, "file must be given", { where: "file" });
  }
  if (!file.startsWith("/") || file.length > SAVE_PATH_MAX_CHARS || file.includes("\0")) {
    throw new VirtError(
      ErrorCode.INVALID_ARG,
      `file must be an absolute path of at most ${SAVE_PATH_MAX_CHARS} characters`,
      { where: "file" },
    );
  }
  return file;
}

function flagsOf(url: URL): { running: boolean; paused: boolean; bypassCache: boolean } {
  return {
    running: booleanParam(url, "running") ?? false,
    paused: booleanParam(url, "paused") ?? false,
    bypassCache: booleanParam(url, "bypass_cache") ?? false,
  };
}

/** Registers the save-image routes. */
export function saveRoutes(add: RouteAdder): void {
  add("domain.save", async (_request, context: Context) => {
    const { host } = context.env;
    const summary = host.lookup(context.params.ref);
    await host.command(
      "save",
      summary.uuid,
      { path: fileParam(context.url), ...flagsOf(context.url) },
      commandOptions(context),
    );
    const after = host.list().find((domain) => domain.uuid === summary.uuid);
    return jsonResponse(
      after === undefined
        ? { uuid: summary.uuid, name: summary.name, exists: false }
        : { ...summaryView(after), exists: true },
    );
  });
  add("domain.restore", async (request, context: Context) => {
    const { host } = context.env;
    const file = fileParam(context.url);
    const body = await readBodyBytes(request, context.env.xmlMaxBytes);
    const definition = body.length === 0 ? undefined : await readDefinition(
      body,
      request.headers.get("content-type") ?? "",
      { maxBytes: context.env.xmlMaxBytes },
      context.env.definitionReader,
    );
    const { uuid } = await host.restore(file, {
      ...commandOptions(context),
      ...flagsOf(context.url),
      ...(definition === undefined ? {} : { definition }),
    });
    return jsonResponse(summaryView(host.lookup(uuid)), 201);
  });
  add("domain.save_image_xml", async (_request, context: Context) => {
    const secure = booleanParam(context.url, "secure") ?? false;
    checkSecureAllowed(context.role, secure, "virDomainSaveImageGetXMLDesc");
    const xml = await saveImageXml(
      fileParam(context.url),
      secure,
      context.env.host.ownSaveImageReader(),
    );
    return new Response(xml, { headers: { "content-type": "application/xml" } });
  });
  add("domain.managed_save", async (_request, context: Context) => {
    const { host } = context.env;
    const summary = host.lookup(context.params.ref);
    await host.command("managedsave", summary.uuid, flagsOf(context.url), commandOptions(context));
    return jsonResponse({ ...summaryView(host.lookup(summary.uuid)), exists: true });
  });
  add("domain.managed_save_xml", async (_request, context: Context) => {
    const secure = booleanParam(context.url, "secure") ?? false;
    checkSecureAllowed(context.role, secure, "virDomainManagedSaveGetXMLDesc");
    const { host } = context.env;
    const path = requireManagedSave(
      host.context(context.params.ref).managedSave,
      host.imagelessManagedSave("virDomainManagedSaveGetXMLDesc"),
    );
    const xml = await saveImageXml(path, secure, context.env.host.ownSaveImageReader());
    return new Response(xml, { headers: { "content-type": "application/xml" } });
  });
  add("domain.managed_save_define", async (request, context: Context) => {
    const { host } = context.env;
    const path = requireManagedSave(
      host.context(context.params.ref).managedSave,
      host.imagelessManagedSave("virDomainManagedSaveDefineXML"),
    );
    const definition = await definitionFromRequest(request, {
      maxBytes: context.env.xmlMaxBytes,
    });
    await defineSaveImage(
      path,
      definition,
      flagsOf(context.url),
      context.env.host.ownSaveImageReader(),
    );
    return new Response(null, { status: 204 });
  });
  add("domain.job_info", async (_request, context: Context) => {
    const stats = await hostJobStats(context.env.host, context.params.ref, {
      completed: booleanParam(context.url, "completed") ?? false,
      keepCompleted: booleanParam(context.url, "keep_completed") ?? false,
    });
    return jsonResponse({ type: jobTypeOf(stats), job: stats });
  });
  add("domain.abort_job", async (_request, context: Context) => {
    await abortHostJob(context.env.host, context.params.ref);
    return new Response(null, { status: 204 });
  });
  add("domain.managed_save_remove", async (_request, context: Context) => {
    const { host } = context.env;
    const summary = host.lookup(context.params.ref);
    await host.command("managedsave_remove", summary.uuid, {}, commandOptions(context));
    return new Response(null, { status: 204 });
  });
  add("domain.save_image_define", async (request, context: Context) => {
    const file = fileParam(context.url);
    const definition = await definitionFromRequest(request, {
      maxBytes: context.env.xmlMaxBytes,
    });
    await defineSaveImage(
      file,
      definition,
      flagsOf(context.url),
      context.env.host.ownSaveImageReader(),
    );
    return new Response(null, { status: 204 });
  });
}
