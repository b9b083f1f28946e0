import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { dataDir, env } from "../../env.ts";
import { AppError } from "../app-error.ts";

/**
 * A run's artifacts (checkpoints, plots, configs) are plain files under
 * <SCALEBOARD_ARTIFACT_DIR, default <data folder>/artifacts>/<team id>/<run id>/<path>. Paths are
 * checked before they reach the file system: relative, "/"-separated, no "." or ".." segment, no
 * backslash, NUL or other control character. Uploads are streamed to a temporary file and renamed
 * into place, so a reader never sees half a file and a refused upload leaves nothing behind.
 */

const GIB = 1024 ** 3;
export const MAX_ARTIFACT_FILE_BYTES = GIB;
export const MAX_TEAM_ARTIFACT_BYTES = 50 * GIB;
export const MAX_ARTIFACT_PATH = 1024;
const MAX_SEGMENT = 255;
/** At most this many entries are listed (and walked when a team's usage is added up). */
export const MAX_LISTED_ARTIFACTS = 10_000;
/** At most this many entries are walked to add up a team's usage before an upload. */
const MAX_WALKED_FOR_USAGE = 1_000_000;

export type ArtifactLimits = { fileBytes: number; teamBytes: number };
export const DEFAULT_ARTIFACT_LIMITS: ArtifactLimits = {
  fileBytes: MAX_ARTIFACT_FILE_BYTES,
  teamBytes: MAX_TEAM_ARTIFACT_BYTES,
};

export function artifactRoot(): string {
  const settings = env();
  return settings.SCALEBOARD_ARTIFACT_DIR
    ? path.resolve(settings.SCALEBOARD_ARTIFACT_DIR)
    : path.join(dataDir(settings), "artifacts");
}

/** "1 GB", "512 MB", "10 KB", "100 bytes": how a limit is named in the 413 that enforces it. */
export function formatLimit(bytes: number): string {
  for (const [unit, size] of [
    ["GB", GIB],
    ["MB", 1024 ** 2],
    ["KB", 1024],
  ] as const)
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  return `${bytes} bytes`;
}

/** The artifact path as stored ("a/b.txt"), or INVALID_INPUT naming what is wrong; "" is the run's folder. */
export function normaliseArtifactPath(raw: string | readonly string[], allowRoot = false): string {
  const joined = typeof raw === "string" ? raw : raw.join("/");
  const refuse = (why: string) =>
    new AppError("INVALID_INPUT", `Invalid artifact path ${JSON.stringify(joined)}: ${why}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(joined)) throw refuse("control characters (NUL included) are not allowed");
  if (joined.includes("\\")) throw refuse("use / to separate folders; backslashes are not allowed");
  if (joined.startsWith("/") || /^[A-Za-z]:/.test(joined)) throw refuse("absolute paths are not allowed");
  if (joined.length > MAX_ARTIFACT_PATH) throw refuse(`at most ${MAX_ARTIFACT_PATH} characters`);
  const segments = joined.split("/");
  // A trailing slash names a folder: "plots/" is "plots".
  if (segments.length > 1 && segments.at(-1) === "") segments.pop();
  if (segments.length === 1 && segments[0] === "") {
    if (allowRoot) return "";
    throw refuse("name a file");
  }
  for (const segment of segments) {
    if (segment === "") throw refuse("empty folder names (//) are not allowed");
    if (segment === "." || segment === "..") throw refuse("'.' and '..' are not allowed");
    if (segment.length > MAX_SEGMENT) throw refuse(`each name is at most ${MAX_SEGMENT} characters`);
  }
  return segments.join("/");
}

function runFolder(root: string, teamId: string, runId: string): string {
  // Ids are cuids; refusing anything else keeps a forged id from naming another folder.
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(teamId) || !/^[A-Za-z0-9_-]{1,64}$/.test(runId))
    throw new AppError("NOT_FOUND", "Run not found");
  return path.join(root, teamId, runId);
}

function resolveInside(folder: string, artifactPath: string): string {
  const full = path.resolve(folder, artifactPath);
  if (full !== folder && !full.startsWith(folder + path.sep))
    throw new AppError("INVALID_INPUT", `Invalid artifact path ${JSON.stringify(artifactPath)}: outside the run`);
  return full;
}

async function folderBytes(folder: string, budget = { entries: 0 }): Promise<number> {
  let total = 0;
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (++budget.entries > MAX_WALKED_FOR_USAGE) break;
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) total += await folderBytes(full, budget);
    else if (entry.isFile()) total += (await stat(full).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** Bytes each team's uploads in flight may still write; counted against its limit with what is stored. */
const reservedBytes = new Map<string, number>();

export type StoredArtifact = { path: string; size: number };

/**
 * Streams `body` into the run's `artifactPath`, replacing a file there. Refused with TOO_LARGE
 * (naming the limit) when the declared or received size passes the per-file limit or the team's
 * remaining space; nothing is kept of a refused upload.
 */
export async function saveArtifact(input: {
  root: string;
  teamId: string;
  runId: string;
  artifactPath: string;
  body: ReadableStream<Uint8Array> | null;
  declaredBytes?: number;
  limits?: ArtifactLimits;
}): Promise<StoredArtifact> {
  const limits = input.limits ?? DEFAULT_ARTIFACT_LIMITS;
  const fileTooLarge = () =>
    new AppError("TOO_LARGE", `Artifact too large: one artifact file is at most ${formatLimit(limits.fileBytes)}`);
  if (input.declaredBytes !== undefined && input.declaredBytes > limits.fileBytes) throw fileTooLarge();
  const folder = runFolder(input.root, input.teamId, input.runId);
  const target = resolveInside(folder, input.artifactPath);
  const teamFolder = path.dirname(folder);
  const used = (await folderBytes(teamFolder)) + (reservedBytes.get(input.teamId) ?? 0);
  const teamTooLarge = () =>
    new AppError(
      "TOO_LARGE",
      `Team artifact storage full: a team stores at most ${formatLimit(limits.teamBytes)} of artifacts (${formatLimit(used)} used); delete runs' artifacts or ask an admin`,
    );
  const room = Math.min(limits.fileBytes, limits.teamBytes - used);
  if (input.declaredBytes !== undefined && input.declaredBytes > limits.teamBytes - used) throw teamTooLarge();
  if (room < 0) throw teamTooLarge();
  const reservation = Math.max(0, Math.min(input.declaredBytes ?? room, room));
  reservedBytes.set(input.teamId, (reservedBytes.get(input.teamId) ?? 0) + reservation);
  const incoming = path.join(input.root, ".incoming");
  const temporary = path.join(incoming, randomUUID());
  let written = 0;
  try {
    await mkdir(incoming, { recursive: true });
    const file = createWriteStream(temporary, { flags: "wx" });
    const closed = new Promise<void>((resolve, reject) => {
      file.on("close", resolve);
      file.on("error", reject);
    });
    try {
      const reader = input.body?.getReader();
      while (reader) {
        const { done, value } = await reader.read();
        if (done) break;
        written += value.byteLength;
        if (written > room) {
          await reader.cancel().catch(() => undefined);
          throw written > limits.fileBytes ? fileTooLarge() : teamTooLarge();
        }
        if (!file.write(value)) await new Promise<void>((resolve) => file.once("drain", () => resolve()));
      }
    } finally {
      file.end();
      await closed;
    }
    await mkdir(path.dirname(target), { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      throw inTheWay(error, input.artifactPath);
    });
    const existing = await lstat(target).catch(() => null);
    if (existing?.isDirectory())
      throw new AppError("CONFLICT", `${input.artifactPath} is a folder of artifacts; upload to a path inside it`);
    await rename(temporary, target).catch((error: NodeJS.ErrnoException) => {
      throw inTheWay(error, input.artifactPath);
    });
    return { path: input.artifactPath, size: written };
  } finally {
    reservedBytes.set(input.teamId, (reservedBytes.get(input.teamId) ?? 0) - reservation);
    await rm(temporary, { force: true }).catch(() => undefined);
  }
}

function inTheWay(error: NodeJS.ErrnoException, artifactPath: string): Error {
  if (error.code === "ENOTDIR" || error.code === "EEXIST" || error.code === "EISDIR")
    return new AppError("CONFLICT", `${artifactPath}: a file stands where a folder of that path would go`);
  return error;
}

export type ArtifactEntry = { path: string; isDir: boolean; size?: number; modifiedAt?: string };

/**
 * What is at `artifactPath`: a file (to download), a folder (its entries, `recursive` or only
 * direct children, paths relative to the run's folder, at most MAX_LISTED_ARTIFACTS), or nothing.
 */
export async function findArtifact(input: {
  root: string;
  teamId: string;
  runId: string;
  artifactPath: string;
  recursive?: boolean;
}): Promise<
  | { kind: "file"; size: number; open: () => ReadableStream<Uint8Array> }
  | { kind: "folder"; entries: ArtifactEntry[]; truncated: boolean }
  | { kind: "missing" }
> {
  const folder = runFolder(input.root, input.teamId, input.runId);
  const full = resolveInside(folder, input.artifactPath);
  const found = await lstat(full).catch(() => null);
  if (!found)
    return input.artifactPath === "" ? { kind: "folder", entries: [], truncated: false } : { kind: "missing" };
  if (found.isFile())
    return {
      kind: "file",
      size: found.size,
      open: () => Readable.toWeb(createReadStream(full)) as ReadableStream<Uint8Array>,
    };
  if (!found.isDirectory()) return { kind: "missing" };
  const entries: ArtifactEntry[] = [];
  let truncated = false;
  const walk = async (dir: string): Promise<void> => {
    const children = await readdir(dir, { withFileTypes: true }).catch(() => []);
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) {
      if (entries.length >= MAX_LISTED_ARTIFACTS) {
        truncated = true;
        return;
      }
      const childPath = path.join(dir, child.name);
      const relative = path.relative(folder, childPath).split(path.sep).join("/");
      if (child.isDirectory()) {
        entries.push({ path: relative, isDir: true });
        if (input.recursive) await walk(childPath);
      } else if (child.isFile()) {
        const info = await stat(childPath).catch(() => null);
        if (info) entries.push({ path: relative, isDir: false, size: info.size, modifiedAt: info.mtime.toISOString() });
      }
    }
  };
  await walk(full);
  return { kind: "folder", entries, truncated };
}

/** A file download that no browser renders: an attachment, octet-stream, nosniff, sandboxed. */
export function artifactDownload(artifactPath: string, size: number, body: ReadableStream<Uint8Array>): Response {
  const name = artifactPath.split("/").at(-1) ?? "artifact";
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "application/octet-stream",
      "content-length": String(size),
      "content-disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`,
      "x-content-type-options": "nosniff",
      "content-security-policy": "default-src 'none'; sandbox",
      "cache-control": "private, no-store",
    },
  });
}
