/** Where encrypt and decrypt write: --output, the input file (--in-place) or stdout. */
import { GitSealError } from '../errors.js';
import { withFileLock, writeFileAtomic } from '../git/atomic-write.js';

export interface OutputTarget {
  inPlace?: boolean;
  output?: string;
  /** The input file, for --in-place. */
  file?: string;
  /** Mode for newly created files (plaintext output uses 0600). */
  mode?: number;
  /** With --in-place: the bytes read; the write is refused if the file changed since. */
  expected?: Buffer;
}

/** Run a command's read and write under the input file's lock when it rewrites that file (--in-place). */
export function rewriting<T>(target: { inPlace?: boolean; file?: string }, fn: () => Promise<T>): Promise<T> {
  return target.inPlace && target.file !== undefined && target.file !== '-' ? withFileLock(target.file, fn) : fn();
}

/** Write to --output, over the input file (--in-place), or to stdout. Files are written atomically. */
export function writeOutput(text: string, target: OutputTarget): void {
  if (target.inPlace && target.output) throw new GitSealError('--in-place and --output cannot be used together', 'pick one');
  const path = target.inPlace ? target.file : target.output;
  if (target.inPlace && (target.file === undefined || target.file === '-')) throw new GitSealError('--in-place needs a FILE argument', 'name the file to rewrite');
  if (path === undefined || path === '-') {
    process.stdout.write(text);
    return;
  }
  writeFileAtomic(path, text, target.mode, target.inPlace ? { expected: target.expected } : {});
}
