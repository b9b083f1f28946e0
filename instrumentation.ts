/** Runs once when the web server starts (Next.js instrumentation hook). */
export async function register() {
  // The Node.js server only: the stamp patches node:http (server/auth/peer-stamp.ts says why).
  if (process.env.NEXT_RUNTIME === "nodejs") {
    const { installPeerStamp } = await import("./server/auth/peer-stamp.ts");
    installPeerStamp();
  }
}
