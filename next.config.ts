import type { NextConfig } from "next";
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
    ];
  },
};

export default nextConfig;
