import { randomBytes, randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

/**
 * `n` bytes from the CSPRNG, for nonces and unique names: drawn from a pool that is refilled 4 KiB at a
 * time, since a call per value costs far more than its bytes. Each byte is handed out once and then wiped
 * from the pool. Keys come from randomBytes directly.
 */
export function randomPooled(n: number): Buffer {
  if (n > 64) return randomBytes(n);
  if (used + n > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
    used = 0;
  }
  const out = Buffer.from(pool.subarray(used, used + n));
  pool.fill(0, used, used + n);
  used += n;
  return out;
}
