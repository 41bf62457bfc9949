/** One-line warnings about identity sources, each printed at most once per process (on stderr). */
const warned = new Set<string>();

export function warnOnce(line: string, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): void {
  if (warned.has(line)) return;
  warned.add(line);
  write(line);
}
