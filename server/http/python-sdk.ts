import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";

/**
 * GET /api/v1/sdk/python/scaleboard-<version>.tar.gz: the Python package (clients/python) as a source
 * distribution built in memory, so `pip install http://HOST:3000/api/v1/sdk/python/scaleboard-<version>.tar.gz`
 * works where no package index can be reached (its build backend is in the archive: nothing to download).
 * Public on purpose: it is the client, and holds no data. Rebuilt only when a source file changes.
 */

export const SDK_PATH = "/api/v1/sdk/python";
/** The package is a few dozen KB; anything near these bounds means the folder is not what it should be. */
const MAX_FILES = 200;
const MAX_TOTAL_BYTES = 4 * 1024 * 1024;
/** Top-level files of the sdist besides the package's own modules. */
const TOP_FILES = ["pyproject.toml", "README.md", "_build/scaleboard_build.py"];
const PACKAGE = "scaleboard";

export type PythonSdist = { version: string; fileName: string; bytes: Uint8Array<ArrayBuffer>; sha256: string };

/**
 * clients/python, from the source tree (dev, tests) or the folder `npm start` runs in. The
 * turbopackIgnore comments keep Next's file tracing from copying the whole project into the build:
 * these files are read at run time from the checkout, as the worker reads examples/.
 */
export function pythonPackageDir(): string {
  const roots = [process.cwd()];
  // Inside Next's bundle import.meta.dirname is a build folder: the first root holding the package wins.
  if (typeof import.meta.dirname === "string") roots.unshift(path.resolve(import.meta.dirname, "../.."));
  const dirs = roots.map((root) => path.join(/*turbopackIgnore: true*/ root, "clients", "python"));
  return (
    dirs.find((dir) => existsSync(path.join(/*turbopackIgnore: true*/ dir, "pyproject.toml"))) ?? dirs[dirs.length - 1]!
  );
}

async function packageFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relative: string) => {
    const entries = await readdir(path.join(/*turbopackIgnore: true*/ root, relative), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const child = path.posix.join(relative, entry.name);
      if (entry.isDirectory() && entry.name !== "__pycache__") await walk(child);
      else if (entry.isFile() && entry.name.endsWith(".py")) found.push(child);
      if (found.length > MAX_FILES) throw new Error(`${root}/${PACKAGE} has over ${MAX_FILES} modules`);
    }
  };
  await walk(PACKAGE);
  const top: string[] = [];
  for (const file of TOP_FILES)
    if (await stat(path.join(/*turbopackIgnore: true*/ root, file)).catch(() => null)) top.push(file);
  return [...top, ...found];
}

/** Version as the package states it (scaleboard/_version.py), the one source of truth. */
function versionOf(source: string): string {
  const match = /__version__\s*=\s*"([0-9A-Za-z.+-]+)"/.exec(source);
  if (!match?.[1]) throw new Error("clients/python/scaleboard/_version.py has no __version__");
  return match[1];
}

/** PKG-INFO, as the package's own build backend writes it (_build/scaleboard_build.py _metadata). */
function pkgInfo(version: string, readme: string): string {
  return [
    "Metadata-Version: 2.1",
    `Name: ${PACKAGE}`,
    `Version: ${version}`,
    "Summary: Log training runs to Scaleboard (standard library only; a wandb-compatible subset)",
    "Requires-Python: >=3.9",
    "Description-Content-Type: text/markdown",
    "",
    readme,
  ].join("\n");
}

/** One ustar header block (POSIX.1-1988): name, octal fields, checksum. */
function tarHeader(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`${name}: path longer than 100 bytes`);
  const header = Buffer.alloc(512);
  const put = (text: string, offset: number, length: number) => header.write(text, offset, length, "utf8");
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, "0");
  put(name, 0, 100);
  put(octal(0o644, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(size, 12), 124, 12);
  put(octal(0, 12), 136, 12);
  header.fill(" ", 148, 156);
  put("0", 156, 1);
  put("ustar\u000000", 257, 8);
  let checksum = 0;
  for (const byte of header) checksum += byte;
  put(`${octal(checksum, 7)}\u0000 `, 148, 8);
  return header;
}

function tarGz(files: { name: string; data: Buffer }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const file of files) {
    blocks.push(tarHeader(file.name, file.data.length), file.data);
    const padding = (512 - (file.data.length % 512)) % 512;
    if (padding) blocks.push(Buffer.alloc(padding));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks), { level: 9 });
}

let cached: { signature: string; sdist: PythonSdist } | null = null;

/** The sdist of clients/python; built on the first request and again only after a file changed. */
export async function buildPythonSdist(root = pythonPackageDir()): Promise<PythonSdist> {
  const files = await packageFiles(root);
  const stats = await Promise.all(files.map((file) => stat(path.join(/*turbopackIgnore: true*/ root, file))));
  const signature = files.map((file, index) => `${file}:${stats[index]!.size}:${stats[index]!.mtimeMs}`).join("|");
  if (cached?.signature === signature) return cached.sdist;
  const total = stats.reduce((sum, entry) => sum + entry.size, 0);
  if (total > MAX_TOTAL_BYTES) throw new Error(`${root} holds ${total} bytes of sources; at most ${MAX_TOTAL_BYTES}`);
  const contents = await Promise.all(files.map((file) => readFile(path.join(/*turbopackIgnore: true*/ root, file))));
  const version = versionOf(await readFile(path.join(/*turbopackIgnore: true*/ root, PACKAGE, "_version.py"), "utf8"));
  const readme = files.includes("README.md") ? contents[files.indexOf("README.md")]!.toString("utf8") : "";
  const prefix = `${PACKAGE}-${version}`;
  const bytes = tarGz([
    { name: `${prefix}/PKG-INFO`, data: Buffer.from(pkgInfo(version, readme)) },
    ...files.map((file, index) => ({ name: `${prefix}/${file}`, data: contents[index]! })),
  ]);
  const sdist = {
    version,
    fileName: `${prefix}.tar.gz`,
    bytes: Uint8Array.from(bytes),
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
  cached = { signature, sdist };
  return sdist;
}

function notFound(message: string): Response {
  return Response.json({ error: { message } }, { status: 404, headers: { "cache-control": "no-store" } });
}

/** GET /api/v1/sdk/python: a redirect to the current version's archive. */
export async function redirectToPythonSdist(request: Request): Promise<Response> {
  const { fileName } = await buildPythonSdist();
  return new Response(null, {
    status: 302,
    headers: { location: new URL(`${SDK_PATH}/${fileName}`, request.url).pathname, "cache-control": "no-store" },
  });
}

/** GET /api/v1/sdk/python/<file>: the archive when <file> names the current version, else a 404 naming it. */
export async function servePythonSdist(request: Request, file: string): Promise<Response> {
  const sdist = await buildPythonSdist();
  if (file !== sdist.fileName)
    return notFound(`No such file: this server has ${sdist.fileName} (GET ${SDK_PATH} redirects to it)`);
  const etag = `"${sdist.sha256}"`;
  const headers = {
    "content-type": "application/gzip",
    "content-disposition": `attachment; filename="${sdist.fileName}"`,
    "x-content-type-options": "nosniff",
    "cache-control": "public, max-age=300",
    etag,
  };
  if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
  return new Response(sdist.bytes, {
    status: 200,
    headers: { ...headers, "content-length": String(sdist.bytes.length) },
  });
}
