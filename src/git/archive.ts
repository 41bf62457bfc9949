import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Telling `git archive` apart from a checkout, for smudge: an archive must carry the sealed form.
 *
 * git sends the same metadata for both (archive.c and entry.c fill the same checkout_metadata:
 * `treeish`, `blob`, and `ref` when there is one), so metadata alone cannot tell them apart. What
 * differs: every checkout that sends a `treeish` (branch switch, reset --hard, clone, worktree add,
 * merge, checkout TREE -- PATH) holds the work tree's index lock while it writes files, and archive
 * never takes it. Where the process table can be read (Linux), the parent git command's name is
 * checked too, so an archive stays sealed even while another command holds the lock.
 */
export function isArchiveSmudge(meta: Readonly<Record<string, string>>, indexFile: () => string | null): boolean {
  if (meta.treeish === undefined) return false; // checkout -- PATH, restore, stash, checkout-index
  if (parentIsArchive()) return true;
  const index = indexFile();
  return index === null || !existsSync(`${index}.lock`);
}

/** Options of `git` itself that take their value as the next argument. */
const GIT_OPTIONS_WITH_VALUE = new Set(['-c', '-C', '--git-dir', '--work-tree', '--namespace', '--super-prefix', '--config-env', '--exec-path', '--list-cmds']);
const ARCHIVE_COMMANDS = new Set(['archive', 'upload-archive', 'upload-archive--writer']);

let parentCache: boolean | undefined;

/** The command line and parent of a process, from /proc (Linux); null elsewhere. */
function processInfo(pid: number): { argv: string[]; ppid: number } | null {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { argv, ppid };
  } catch {
    return null;
  }
}

/** The git subcommand an argv runs (`git -c a=b archive …` → archive), or null when it is not git. */
function gitCommand(argv: string[]): string | null {
  const name = basename(argv[0] ?? '');
  const dashed = /^git-(.+)$/.exec(name);
  if (dashed) return dashed[1];
  if (name !== 'git') return null;
  for (let i = 1; i < argv.length; i++) {
    if (GIT_OPTIONS_WITH_VALUE.has(argv[i])) i++;
    else if (!argv[i].startsWith('-')) return argv[i];
  }
  return null;
}

/**
 * Whether the git command that started this process (through the shell git may put in between) is
 * `git archive`, or the server side of `git archive --remote`.
 */
function parentIsArchive(): boolean {
  if (parentCache !== undefined) return parentCache;
  parentCache = false;
  let pid = process.ppid;
  for (let depth = 0; depth < 3 && pid > 1; depth++) {
    const info = processInfo(pid);
    if (!info) break; // no /proc here: the index lock decides
    const command = gitCommand(info.argv);
    if (command !== null) {
      parentCache = ARCHIVE_COMMANDS.has(command);
      break;
    }
    pid = info.ppid;
  }
  return parentCache;
}
