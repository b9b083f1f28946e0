/**
 * Failed sign-ins are limited per account and per client address, so neither one account
 * nor one address can be used to guess passwords quickly. Kept in the web process's memory.
 */
export type ThrottleRule = { maxFailures: number; windowMs: number };

export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly perAccount: ThrottleRule = { maxFailures: 5, windowMs: 15 * 60_000 },
    private readonly perAddress: ThrottleRule = { maxFailures: 20, windowMs: 15 * 60_000 },
  ) {}

  private recent(key: string, rule: ThrottleRule, now: number): number[] {
    const kept = (this.failures.get(key) ?? []).filter((at) => now - at < rule.windowMs);
    if (kept.length) this.failures.set(key, kept);
    else this.failures.delete(key);
    return kept;
  }

  /** Seconds to wait before another attempt, or 0 when one is allowed. */
  retryAfterSeconds(email: string, address: string | null, now = Date.now()): number {
    const checks: [string, ThrottleRule][] = [[`account:${email.toLowerCase()}`, this.perAccount]];
    if (address) checks.push([`address:${address}`, this.perAddress]);
    let wait = 0;
    for (const [key, rule] of checks) {
      const recent = this.recent(key, rule, now);
      if (recent.length >= rule.maxFailures) wait = Math.max(wait, Math.ceil((recent[0]! + rule.windowMs - now) / 1000));
    }
    return wait;
  }

  recordFailure(email: string, address: string | null, now = Date.now()): void {
    for (const key of [`account:${email.toLowerCase()}`, ...(address ? [`address:${address}`] : [])]) {
      this.failures.set(key, [...(this.failures.get(key) ?? []), now]);
    }
  }

  recordSuccess(email: string): void {
    this.failures.delete(`account:${email.toLowerCase()}`);
  }
}
