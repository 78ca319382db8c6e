/**
 * A mistake of the user's (a bad option, a missing file, a folder that holds something else), as
 * opposed to a bug in PromptGrad. The CLI prints its message as one line and exits 2; anything else
 * that escapes is a bug and is reported with its stack.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
