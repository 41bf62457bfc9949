/**
 * Deterministic interruption points for the crash and concurrency tests: with GITSEAL_TEST_STOP_AT=<name>,
 * the process stops itself (SIGSTOP) when it reaches that point, so a test can act on exactly that state
 * and then kill or continue it. Without the variable this does nothing.
 */
export function stopPoint(name: string): void {
  if (process.env.GITSEAL_TEST_STOP_AT === name) process.kill(process.pid, 'SIGSTOP');
}
