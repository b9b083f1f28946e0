import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildSync } from "esbuild";

const ENTRIES = [
  { entry: "app/_features/charts/early-curves/paint.ts", file: "early-curves.js" },
  { entry: "app/_features/charts/early-curves/series-worker.ts", file: "series-worker.js" },
];

/**
 * Bundles the compare page's early chart (app/_features/charts/early-curves/paint.ts, with the parts
 * of Chart.js it registers) into one minified script under public/scaleboard/, served as a static
 * file. Next.js cannot emit a script that runs before its own runtime, so next.config.ts calls this
 * at each build. Each file is written whole
 * and renamed into place: a build's parallel config loads may race.
 */
export function buildEarlyCurves(root: string): { file: string; bytes: number }[] {
  const dir = path.join(root, "public/scaleboard");
  mkdirSync(dir, { recursive: true });
  return ENTRIES.map(({ entry, file }) => {
    const result = buildSync({
      absWorkingDir: root,
      entryPoints: [entry],
      bundle: true,
      minify: true,
      format: "iife",
      target: "es2022",
      platform: "browser",
      write: false,
      legalComments: "none",
      define: { "process.env.NODE_ENV": '"production"' },
      logLevel: "silent",
    });
    const code = result.outputFiles[0]!.contents;
    const target = path.join(dir, file);
    const partial = `${target}.${process.pid}.tmp`;
    writeFileSync(partial, code);
    renameSync(partial, target);
    return { file: target, bytes: code.byteLength };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const { file, bytes } of buildEarlyCurves(path.resolve(import.meta.dirname, "..")))
    console.log(`wrote ${path.relative(process.cwd(), file)} (${(bytes / 1024).toFixed(1)} KiB)`);
}
