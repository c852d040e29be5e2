/**
 * The lifecycle verbs (`start`, `shutdown`, `destroy`, `reboot`, `reset`, `suspend`, `resume`)
 * are one API call each with virsh's success line and failure lines; this builds such a verb from
 * its words.
 *
 * @module
 */

import type { ActionResult, EvirtClient } from "../client/client.ts";
import { ErrorCode, isVirtError } from "../model/errors.ts";
import type { OptionSpec, VerbArguments } from "./arguments.ts";
import { CommandFailure } from "./command_failure.ts";
import { DOMAIN_OPTION, type Verb, type VerbContext } from "./verb.ts";

/** The lifecycle actions of the API. */
export type DomainAction = Parameters<EvirtClient["action"]>[1];

/** Options the API takes with an action. */
export type DomainActionOptions = NonNullable<Parameters<EvirtClient["action"]>[2]>;

/** What makes one lifecycle verb. */
export interface DomainActionSpec {
  /** virsh's verb. */
  name: string;
  /** The API's action. */
  action: DomainAction;
  /** One line for `help`. */
  summary: string;
  /** Options besides `<domain>`. */
  options?: readonly OptionSpec[];
  /** The API options the verb's flags ask for. */
  actionOptions?: (args: VerbArguments) => DomainActionOptions;
  /** What the progress line says while waiting, e.g. `starting domain`. */
  progress: string;
  /** virsh's success line for the domain's name, e.g. `Domain 'x' started`. */
  done: (name: string, args: VerbArguments) => string;
  /** virsh's failure line for the domain's name, e.g. `Failed to start domain 'x'`. */
  failed: (name: string) => string;
  /**
   * virsh's only line when it finds the domain already in the state the verb leads to (it checks
   * before calling, e.g. `start`'s "Domain is already active"); used when the API refuses the
   * action as invalid (code 55) and the domain is active.
   */
  alreadyInState?: string;
}

/**
 * Builds a lifecycle verb.
 *
 * @example
 * ```ts ignore
 * export const suspendVerb = domainActionVerb({ name: "suspend", action: "suspend",
 *   summary: "suspend a domain", progress: "suspending domain",
 *   done: (name) => `Domain '${name}' suspended`, failed: (name) => `Failed to suspend domain '${name}'` });
 * ```
 */
export function domainActionVerb(spec: DomainActionSpec): Verb {
  return {
    name: spec.name,
    summary: spec.summary,
    options: [DOMAIN_OPTION, ...(spec.options ?? [])],
    async run(context: VerbContext, args: VerbArguments) {
      const reference = args.required("domain");
      let result: ActionResult;
      try {
        result = await context.progress.during(
          `${spec.progress} '${reference}'`,
          context.client.action(reference, spec.action, spec.actionOptions?.(args) ?? {}),
        );
      } catch (error) {
        throw await failure(context, reference, spec, error);
      }
      context.printExtra(`${spec.done(result.name, args)}\n`);
    },
  };
}

/** virsh names the domain by its name in failure lines, so look it up when given an id or uuid. */
async function failure(
  context: VerbContext,
  reference: string,
  spec: DomainActionSpec,
  error: unknown,
): Promise<unknown> {
  if (isVirtError(error, ErrorCode.NO_DOMAIN)) {
    return new CommandFailure(`failed to get domain '${reference}'`);
  }
  if (isVirtError(error, ErrorCode.NO_CONNECT)) return error;
  const info = await context.client.info(reference).catch(() => undefined);
  // Only a domain that is active: another refusal (a guest's network not running) is the API's.
  if (
    spec.alreadyInState !== undefined && isVirtError(error, ErrorCode.OPERATION_INVALID) &&
    info?.active === true
  ) {
    return new CommandFailure(spec.alreadyInState);
  }
  return new CommandFailure(spec.failed(info?.name ?? reference), error);
}
