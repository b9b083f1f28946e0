import { describe, expect, it } from "vitest";
import { addressKey, plainAddress, resolveClientAddress, trustedProxies } from "../../server/auth/client-address.ts";
import { SignInThrottle } from "../../server/domain/auth/sign-in-throttle.ts";

const MINUTE = 60_000;

describe("sign-in throttle", () => {
  it("makes one address wait after 5 failures on an account, while the owner signs in from another address", () => {
    const throttle = new SignInThrottle();
    const now = 1_000_000;
    for (let index = 0; index < 5; index++) {
      expect(throttle.retryAfterSeconds("Ada@example.com", "203.0.113.9", now)).toBe(0);
      throttle.recordFailure("ada@example.com", "203.0.113.9", now);
    }
    expect(throttle.retryAfterSeconds("ada@example.com", "203.0.113.9", now)).toBe(15 * 60);
    expect(throttle.retryAfterSeconds("ada@example.com", "198.51.100.7", now)).toBe(0);
    expect(throttle.isLimited("ada@example.com", now)).toBe(true);
    // The window slides: 15 minutes after the failures the address may try again.
    expect(throttle.retryAfterSeconds("ada@example.com", "203.0.113.9", now + 15 * MINUTE)).toBe(0);
  });

  it("limits an account across addresses, except for addresses its owner signed in from before", () => {
    const throttle = new SignInThrottle();
    const now = 1_000_000;
    throttle.recordSuccess("ada@example.com", "198.51.100.7", now - 86_400_000);
    for (let index = 0; index < 50; index++) throttle.recordFailure("ada@example.com", `203.0.113.${index}`, now);
    expect(throttle.retryAfterSeconds("ada@example.com", "192.0.2.1", now)).toBe(60 * 60);
    expect(throttle.retryAfterSeconds("ada@example.com", "198.51.100.7", now)).toBe(0);
  });

  it("limits one address spraying many accounts", () => {
    const throttle = new SignInThrottle();
    for (let index = 0; index < 30; index++) throttle.recordFailure(`user${index}@example.com`, "203.0.113.9", 0);
    expect(throttle.retryAfterSeconds("someone-else@example.com", "203.0.113.9", 0)).toBeGreaterThan(0);
    expect(throttle.retryAfterSeconds("someone-else@example.com", "198.51.100.7", 0)).toBe(0);
  });

  it("lifts an account's limits when an admin unlocks it", () => {
    const throttle = new SignInThrottle();
    for (let index = 0; index < 50; index++) throttle.recordFailure("ada@example.com", `203.0.113.${index % 10}`, 0);
    expect(throttle.retryAfterSeconds("ada@example.com", "203.0.113.1", 0)).toBeGreaterThan(0);
    expect(throttle.unlock("ADA@example.com")).toBe(true);
    expect(throttle.retryAfterSeconds("ada@example.com", "192.0.2.1", 0)).toBe(0);
    expect(throttle.isLimited("ada@example.com", 0)).toBe(false);
    expect(throttle.unlock("nobody@example.com")).toBe(false);
  });

  it("counts requests of unknown address in one bucket", () => {
    const throttle = new SignInThrottle();
    for (let index = 0; index < 5; index++) throttle.recordFailure("ada@example.com", null, 0);
    expect(throttle.retryAfterSeconds("ada@example.com", null, 0)).toBeGreaterThan(0);
  });
});

describe("client address", () => {
  const none = trustedProxies([]);
  const loopback = trustedProxies(["loopback"]);

  it("is the socket's peer when the peer is not a trusted proxy, whatever X-Forwarded-For says", () => {
    expect(resolveClientAddress("127.0.0.1", "203.0.113.9", none)).toBe("127.0.0.1");
    expect(resolveClientAddress("::ffff:198.51.100.7", "203.0.113.9, 10.0.0.1", loopback)).toBe("198.51.100.7");
  });

  it("walks X-Forwarded-For from the right past trusted proxies only", () => {
    const proxies = trustedProxies(["loopback", "10.1.0.0/16"]);
    expect(resolveClientAddress("127.0.0.1", "203.0.113.9", proxies)).toBe("203.0.113.9");
    // The client wrote the left-most entry itself; the proxies appended the rest.
    expect(resolveClientAddress("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3", proxies)).toBe("203.0.113.9");
    expect(resolveClientAddress("::1", "10.1.0.5", proxies)).toBe("10.1.0.5");
  });

  it("stops at the proxy that passed on a malformed entry, and knows nothing without a peer", () => {
    expect(resolveClientAddress("127.0.0.1", "not-an-ip", loopback)).toBe("127.0.0.1");
    expect(resolveClientAddress(null, "203.0.113.9", loopback)).toBeNull();
  });

  it("accepts private ranges, CIDRs and IPv6 and refuses a malformed list entry", () => {
    const proxies = trustedProxies(["private", "2001:db8::/32"]);
    expect(proxies.check("192.168.1.20")).toBe(true);
    expect(proxies.check("172.31.255.1")).toBe(true);
    expect(proxies.check("172.32.0.1")).toBe(false);
    expect(proxies.check("2001:db8::5")).toBe(true);
    expect(proxies.check("8.8.8.8")).toBe(false);
    expect(() => trustedProxies(["10.0.0.0/33"])).toThrow(/prefix/);
  });

  it("reads addresses with ports or brackets, and counts an IPv6 client by its /64", () => {
    expect(plainAddress("203.0.113.9:51234")).toBe("203.0.113.9");
    expect(plainAddress("[2001:db8::1]:443")).toBe("2001:db8::1");
    expect(plainAddress("unknown")).toBeNull();
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe(addressKey("2001:db8:1:2:bbbb:cccc:dddd:eeee"));
    expect(addressKey("2001:db8:1:2::1")).not.toBe(addressKey("2001:db8:1:3::1"));
    expect(addressKey("203.0.113.9")).toBe("203.0.113.9");
  });
});
