import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { BUILT_DIR, BUILT_PATH } from "./early-curves.ts";

const known = new Map<string, string | null>();

/**
 * A script scripts/build-early-curves.ts built (early-curves.js, series-worker.js), as its URL with its
 * content hash (served for a year: a new build is a new URL), or null where the build made none.
 */
function builtScript(file: string): string | null {
  if (known.has(file)) return known.get(file)!;
  let src: string | null = null;
  try {
    const code = readFileSync(path.join(/*turbopackIgnore: true*/ process.cwd(), BUILT_DIR, file));
    src = `${BUILT_PATH}/${file}?v=${createHash("sha256").update(code).digest("hex").slice(0, 16)}`;
  } catch {
    src = null;
  }
  known.set(file, src);
  return src;
}

/** The early chart's script, or null: the panel then draws alone. */
export function earlyCurvesScript(): string | null {
  return builtScript("early-curves.js");
}

/** The series worker's script (series-worker.ts), or null: the page then preloads the answer itself. */
export function seriesWorkerScript(): string | null {
  return builtScript("series-worker.js");
}

/** A string as a JavaScript literal that is safe inside an HTML <script> element. */
function scriptLiteral(text: string): string {
  return JSON.stringify(text).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The inline script that starts fetching the page's first series answer (`url`, as seriesUrl makes it)
 * in a worker (series-worker.ts) as soon as the parser reaches it, and files the answer's promise in
 * the page's shared answers (series-request.ts), where the early chart and the curves panel take it.
 * A refused request rejects it (the panel then asks again and shows the server's message); a worker
 * that cannot start leaves the fetch to the page's own thread.
 */
export function seriesStarter(url: string, worker: string): string {
  return `(function(u,w){var m=self.scaleboardSeries=self.scaleboardSeries||new Map();if(m.has(u)||typeof Worker!=="function")return;var p=new Promise(function(ok,no){function here(){ok(fetch(u,{credentials:"same-origin"}).then(function(r){if(!r.ok)throw new Error("The server answered "+r.status);return r.json()}))}try{var k=new Worker(w);k.onmessage=function(e){k.terminate();if(e.data.error!==undefined)no(new Error(e.data.error));else ok(e.data.answer)};k.onerror=function(){k.terminate();here()};k.postMessage({url:new URL(u,location.href).href})}catch(e){here()}});m.set(u,p);p.catch(function(){m.delete(u)})})(${scriptLiteral(url)},${scriptLiteral(worker)})`;
}
