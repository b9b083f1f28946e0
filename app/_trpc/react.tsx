"use client";

import { QueryClientProvider, type QueryClient } from "@tanstack/react-query";
import { createTRPCClient, httpBatchStreamLink, httpSubscriptionLink, loggerLink, splitLink } from "@trpc/client";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import { useState, type ReactNode } from "react";
import superjson from "superjson";
import "../_lib/zod-jitless.ts";
import type { AppRouter } from "../../server/api/root.ts";
import { makeQueryClient } from "./query-client.ts";

export const { TRPCProvider, useTRPC } = createTRPCContext<AppRouter>();

let browserQueryClient: QueryClient | undefined;
function getQueryClient(): QueryClient {
  if (typeof window === "undefined") return makeQueryClient();
  browserQueryClient ??= makeQueryClient();
  return browserQueryClient;
}

/** `logErrors`: log failed calls in the browser console (the layout turns it on under `next dev`). */
export function TRPCReactProvider({ children, logErrors = false }: { children: ReactNode; logErrors?: boolean }) {
  const queryClient = getQueryClient();
  const [trpcClient] = useState(() =>
    createTRPCClient<AppRouter>({
      links: [
        loggerLink({
          enabled: (op) => logErrors && op.direction === "down" && op.result instanceof Error,
        }),
        splitLink({
          // Live run events arrive over server-sent events on the same endpoint.
          condition: (op) => op.type === "subscription",
          true: httpSubscriptionLink({ transformer: superjson, url: "/api/trpc" }),
          // Queries go as POST so a spec being validated never overflows a URL.
          false: httpBatchStreamLink({ transformer: superjson, url: "/api/trpc", methodOverride: "POST" }),
        }),
      ],
    }),
  );
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </TRPCProvider>
    </QueryClientProvider>
  );
}
