/**
 * Failed sign-ins slow an attacker down without locking the owner out:
 * - per (account, address): a few failures, then that address waits (the common case: one guesser);
 * - per account across addresses: a slower limit against guessing from many addresses, which does
 *   not apply to addresses that signed in to the account successfully before (the owner's);
 * - per address across accounts: against spraying one password over many accounts.
 * An admin can lift an account's limits (team.unlockSignIn). Kept in the web process's memory.
 */
export type ThrottleRule = { maxFailures: number; windowMs: number };

export type ThrottleRules = { perAccountAndAddress: ThrottleRule; perAccount: ThrottleRule; perAddress: ThrottleRule };

export const DEFAULT_THROTTLE_RULES: ThrottleRules = {
  perAccountAndAddress: { maxFailures: 5, windowMs: 15 * 60_000 },
  perAccount: { maxFailures: 50, windowMs: 60 * 60_000 },
  perAddress: { maxFailures: 30, windowMs: 15 * 60_000 },
};

/** How long an address that signed in successfully stays exempt from the per-account limit. */
const KNOWN_ADDRESS_MS = 30 * 86_400_000;
/** Bounds the memory an attacker can make us spend on counters (accounts x addresses). */
const MAX_ENTRIES = 100_000;
/** Requests whose address is unknown share one bucket. */
const UNKNOWN_ADDRESS = "unknown";

type AccountEntry = { failures: number[]; byAddress: Map<string, number[]>; knownAddresses: Map<string, number> };

export class SignInThrottle {
  private readonly accounts = new Map<string, AccountEntry>();
  private readonly addresses = new Map<string, number[]>();

  constructor(private readonly rules: ThrottleRules = DEFAULT_THROTTLE_RULES) {}

  /** Seconds to wait before another attempt, or 0 when one is allowed. */
  retryAfterSeconds(email: string, address: string | null, now = Date.now()): number {
    const account = this.accounts.get(accountKey(email));
    const where = address ?? UNKNOWN_ADDRESS;
    const waits = [waitFor(this.addresses.get(where), this.rules.perAddress, now)];
    if (account) {
      waits.push(waitFor(account.byAddress.get(where), this.rules.perAccountAndAddress, now));
      if (!isKnown(account, where, now)) waits.push(waitFor(account.failures, this.rules.perAccount, now));
    }
    return Math.max(...waits);
  }

  recordFailure(email: string, address: string | null, now = Date.now()): void {
    if (this.accounts.size + this.addresses.size >= MAX_ENTRIES) this.prune(now);
    const account = this.account(accountKey(email));
    const where = address ?? UNKNOWN_ADDRESS;
    account.failures = remember(account.failures, now, this.rules.perAccount);
    account.byAddress.set(where, remember(account.byAddress.get(where), now, this.rules.perAccountAndAddress));
    this.addresses.set(where, remember(this.addresses.get(where), now, this.rules.perAddress));
  }

  /** The owner got in from this address: its own count starts over and it is exempt from the per-account limit. */
  recordSuccess(email: string, address: string | null, now = Date.now()): void {
    const account = this.account(accountKey(email));
    const where = address ?? UNKNOWN_ADDRESS;
    account.byAddress.delete(where);
    if (address) account.knownAddresses.set(address, now);
  }

  /** An admin lifts every limit on the account (addresses that sprayed other accounts stay limited). */
  unlock(email: string): boolean {
    const account = this.accounts.get(accountKey(email));
    if (!account) return false;
    const wasLimited = account.failures.length > 0 || account.byAddress.size > 0;
    account.failures = [];
    account.byAddress.clear();
    return wasLimited;
  }

  /** Whether some address is being made to wait for this account (shown to admins on the Team page). */
  isLimited(email: string, now = Date.now()): boolean {
    const account = this.accounts.get(accountKey(email));
    if (!account) return false;
    if (waitFor(account.failures, this.rules.perAccount, now) > 0) return true;
    return [...account.byAddress.values()].some(
      (failures) => waitFor(failures, this.rules.perAccountAndAddress, now) > 0,
    );
  }

  private account(key: string): AccountEntry {
    let account = this.accounts.get(key);
    if (!account) {
      account = { failures: [], byAddress: new Map(), knownAddresses: new Map() };
      this.accounts.set(key, account);
    }
    return account;
  }

  private prune(now: number): void {
    const longest = Math.max(
      this.rules.perAccount.windowMs,
      this.rules.perAccountAndAddress.windowMs,
      this.rules.perAddress.windowMs,
    );
    for (const [key, failures] of this.addresses)
      if (!failures.some((at) => now - at < longest)) this.addresses.delete(key);
    for (const [key, account] of this.accounts) {
      for (const [address, failures] of account.byAddress)
        if (!failures.some((at) => now - at < longest)) account.byAddress.delete(address);
      for (const [address, at] of account.knownAddresses)
        if (now - at >= KNOWN_ADDRESS_MS) account.knownAddresses.delete(address);
      if (!account.byAddress.size && !account.knownAddresses.size && !account.failures.some((at) => now - at < longest))
        this.accounts.delete(key);
    }
    // Still full (a flood of fresh entries): the oldest go first; Maps iterate in insertion order.
    for (const map of [this.addresses, this.accounts] as Map<string, unknown>[]) {
      for (const key of map.keys()) {
        if (this.accounts.size + this.addresses.size < MAX_ENTRIES * 0.9) break;
        map.delete(key);
      }
    }
  }
}

function accountKey(email: string): string {
  return email.trim().toLowerCase();
}

function isKnown(account: AccountEntry, address: string, now: number): boolean {
  const at = account.knownAddresses.get(address);
  return at !== undefined && now - at < KNOWN_ADDRESS_MS;
}

/** Only the last maxFailures timestamps matter for a sliding window. */
function remember(failures: number[] | undefined, now: number, rule: ThrottleRule): number[] {
  return [...(failures ?? []).filter((at) => now - at < rule.windowMs), now].slice(-rule.maxFailures);
}

function waitFor(failures: number[] | undefined, rule: ThrottleRule, now: number): number {
  const recent = (failures ?? []).filter((at) => now - at < rule.windowMs);
  if (recent.length < rule.maxFailures) return 0;
  const oldestCounted = recent[recent.length - rule.maxFailures]!;
  return Math.max(1, Math.ceil((oldestCounted + rule.windowMs - now) / 1000));
}

const THROTTLE = Symbol.for("scaleboard.signInThrottle");

/** The web process's one throttle, shared by the sign-in route and the admin's unlock (separate bundles in Next). */
export function signInThrottle(): SignInThrottle {
  const global = globalThis as { [THROTTLE]?: SignInThrottle };
  global[THROTTLE] ??= new SignInThrottle();
  return global[THROTTLE];
}
