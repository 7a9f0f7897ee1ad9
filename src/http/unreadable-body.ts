/**
 * A request body the tracking endpoints could not read (malformed JSON, an unknown content type).
 * Instead of a framework error that never reaches the postback log, the route registers the
 * attempt as rejected `invalid_body`, with the text it received, so the operator sees it.
 */
export class UnreadableBody {
  constructor(
    readonly contentType: string,
    readonly text: string,
    readonly problem: string,
  ) {}
}

/** Longest part of an unreadable body kept in the log. */
export const UNREADABLE_BODY_KEPT = 2000;
