/**
 * libvirt's check of the typed parameters a setter is given (`virTypedParamsValidate`): it
 * walks them sorted by name, so the first (by name) unknown, repeated or wrongly typed one is
 * the error, with libvirt's codes and messages. The setters of `schedinfo`, `perf` and the test
 * driver's `schedinfo` check their parameters with it before their own range checks.
 *
 * @module
 */

import { ErrorCode, VirtError } from "./errors.ts";

/** A parameter as a caller sends it: its name and, when given, libvirt's type name. */
export interface TypedParamName {
  /** libvirt's field name (`cpu_shares`, `cpu_clock`, …). */
  name: string;
  /** libvirt's type name as sent (`ullong`, `boolean`, …); absent: the expected one. */
  type?: string;
}

/**
 * Checks `params` against `expected` (each accepted name with its type).
 *
 * @throws {VirtError} ARGUMENT_UNSUPPORTED (74) `parameter '…' not supported`; INVALID_ARG (8)
 *   for a name given twice or a type other than the expected one.
 *
 * @example
 * ```ts
 * import { validateTypedParams } from "./typed_params.ts";
 * const expected = new Map([["weight", "uint"]]);
 * validateTypedParams([{ name: "weight", type: "uint" }], expected); // no error
 * try {
 *   validateTypedParams([{ name: "weight" }, { name: "weight" }], expected);
 * } catch (error) {
 *   console.log((error as Error).message); // parameter 'weight' occurs multiple times
 * }
 * ```
 */
export function validateTypedParams(
  params: readonly TypedParamName[],
  expected: ReadonlyMap<string, string>,
): void {
  const sorted = [...params].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  sorted.forEach((param, index) => {
    const type = expected.get(param.name);
    if (type === undefined) {
      throw new VirtError(
        ErrorCode.ARGUMENT_UNSUPPORTED,
        `parameter '${param.name}' not supported`,
        { where: param.name },
      );
    }
    if (index > 0 && sorted[index - 1].name === param.name) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `parameter '${param.name}' occurs multiple times`,
        { where: param.name },
      );
    }
    if (param.type !== undefined && param.type !== type) {
      throw new VirtError(
        ErrorCode.INVALID_ARG,
        `invalid type '${param.type}' for parameter '${param.name}', expected '${type}'`,
        { where: param.name },
      );
    }
  });
}
