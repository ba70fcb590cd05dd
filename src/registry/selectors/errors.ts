/** A label or field selector that cannot be parsed or applied; the API server answers 400 BadRequest. */
export class SelectorError extends Error {
  override name = 'SelectorError';
}
