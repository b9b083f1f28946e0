import { describe, expect, it } from "vitest";
import { EnvError, maskDatabaseUrl, parseEnv } from "../../server/env.ts";

describe("parseEnv", () => {
  it("fills defaults for an empty environment", () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBeUndefined();
    expect(env.SCALEBOARD_DATA_DIR).toBe(".scaleboard");
    expect(env.SCALEBOARD_WORKERS).toBe(1);
    expect(env.SCALEBOARD_AUTH).toBeUndefined();
  });

  it("treats an empty DATABASE_URL as unset", () => {
    expect(parseEnv({ DATABASE_URL: "" }).DATABASE_URL).toBeUndefined();
  });

  it("names the variable and the value in one line when a value is bad", () => {
    expect(() => parseEnv({ PORT: "abc" })).toThrowError(EnvError);
    try {
      parseEnv({ PORT: "abc" });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(/^Invalid environment variable PORT: .*"abc"/);
      expect(message).not.toContain("\n");
    }
    expect(() => parseEnv({ PORT: "70000" })).toThrowError(/PORT: expected a port from 1 to 65535/);
    expect(() => parseEnv({ SCALEBOARD_AUTH: "maybe" })).toThrowError(/SCALEBOARD_AUTH/);
    expect(() => parseEnv({ SCALEBOARD_WORKERS: "-1" })).toThrowError(/SCALEBOARD_WORKERS/);
  });

  it("rejects a database URL that is not postgres, without printing its password", () => {
    let message = "";
    try {
      parseEnv({ DATABASE_URL: "mysql://root:hunter2@db/x" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("DATABASE_URL");
    expect(message).toContain("postgres");
    expect(message).not.toContain("hunter2");
  });

  it("accepts postgres and postgresql URLs", () => {
    expect(parseEnv({ DATABASE_URL: "postgres://u:p@h:5432/d" }).DATABASE_URL).toBe("postgres://u:p@h:5432/d");
    expect(parseEnv({ DATABASE_URL: "postgresql://h/d" }).DATABASE_URL).toBe("postgresql://h/d");
  });
});

describe("maskDatabaseUrl", () => {
  it("hides the password and keeps the rest", () => {
    const masked = maskDatabaseUrl("postgresql://alice:s3cr%40t@db.example.com:6543/prod?sslmode=require");
    expect(masked).toBe("postgresql://alice:****@db.example.com:6543/prod?sslmode=require");
  });
  it("leaves URLs without a password alone", () => {
    expect(maskDatabaseUrl("postgres://alice@db/x")).toBe("postgres://alice@db/x");
  });
});
