/** The deadline of calls that answer at once (add, search, stats, rm, demo) unless --timeout says otherwise. */
export const UNARY_TIMEOUT_MS = 30_000;
