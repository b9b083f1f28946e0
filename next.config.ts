import type { NextConfig } from "next";
import { PHASE_DEVELOPMENT_SERVER, PHASE_PRODUCTION_BUILD } from "next/constants";
import { buildEarlyCurves } from "./scripts/build-early-curves.ts";
import { parseEnv } from "./server/env.ts";

const env = parseEnv();
const development = env.NODE_ENV === "development";

/**
 * Every response (pages, API routes, share pages) carries these. Next's own inline scripts (the
 * flight data, the theme script in app/layout.tsx) need 'unsafe-inline' for scripts; Tailwind,
 * chart.js and CodeMirror set inline styles. Report images may come from any https host (they
 * are loaded without a referrer). The dev server's fast refresh needs eval and its websocket.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${development ? " 'unsafe-eval'" : ""}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: https:",
  "font-src 'self' data:",
  `connect-src 'self'${development ? " ws: wss:" : ""}`,
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = [
  { key: "Content-Security-Policy", value: CONTENT_SECURITY_POLICY },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=()" },
];

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  turbopack: { root: import.meta.dirname },
  // Development aid: parallel builds of one checkout each use their own folder (default .next).
  ...(env.SCALEBOARD_NEXT_DIST_DIR ? { distDir: env.SCALEBOARD_NEXT_DIST_DIR } : {}),
  // Development aid only; `npm test` and CI always type-check.
  typescript: { ignoreBuildErrors: env.SCALEBOARD_SKIP_TYPECHECK },
  async headers() {
    return [
      { source: "/:path*", headers: SECURITY_HEADERS },
      // A share page's URL is its credential: no Referer at all leaves it (the last match wins).
      { source: "/r/:path*", headers: [{ key: "Referrer-Policy", value: "no-referrer" }] },
      // The early chart's script: pages ask for it with its content hash (?v=), so a build changes the URL.
      {
        source: "/scaleboard/:path*",
        headers: [{ key: "Cache-Control", value: "public, max-age=31536000, immutable" }],
      },
    ];
  },
};

/**
 * Each build (and the dev server) first bundles the compare page's early chart into public/
 * (scripts/build-early-curves.ts): a script that runs before Next's own, which Next cannot emit.
 */
export default function config(phase: string): NextConfig {
  if (phase === PHASE_PRODUCTION_BUILD || phase === PHASE_DEVELOPMENT_SERVER) buildEarlyCurves(import.meta.dirname);
  return nextConfig;
}
