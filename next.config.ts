import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  turbopack: { root: import.meta.dirname },
  // Development aid: parallel builds of one checkout each use their own folder (default .next).
  ...(process.env.SCALEBOARD_NEXT_DIST_DIR ? { distDir: process.env.SCALEBOARD_NEXT_DIST_DIR } : {}),
  // Development aid only; `npm test` and CI always type-check.
  typescript: { ignoreBuildErrors: process.env.SCALEBOARD_SKIP_TYPECHECK === "1" },
};

export default nextConfig;
