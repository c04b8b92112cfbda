/**
 * Native structs use snake_case field names; custody's JS API uses camelCase.
 *
 * @module
 */

/** `live_count` becomes `liveCount`, at the type level. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** `live_count` becomes `liveCount`. */
export function camelCase<S extends string>(name: S): CamelCase<S> {
  return name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()) as CamelCase<S>;
}
