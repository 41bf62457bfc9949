/** What kind of failure a GitSealError is, for code that handles one kind (messages are for people only). */
export type GitSealErrorCode = 'rsa-key-too-small';

/** An expected failure: printed as one line (`git-seal: <message>`), never with a stack unless --debug. */
export class GitSealError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
    readonly code?: GitSealErrorCode,
  ) {
    super(message);
    this.name = 'GitSealError';
  }

  /** The one-line form shown to users: what went wrong, then what to do next. */
  get oneLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}
