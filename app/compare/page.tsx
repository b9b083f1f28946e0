import { redirect } from "next/navigation";
import { earlyCurvesScript, seriesWorkerScript } from "../_features/charts/early-curves/early-curves-script.ts";
import { SERIES_META, SERIES_WORKER_META } from "../_features/charts/early-curves/series-starter.ts";
import { compareSeriesRequest, defaultCurvesMetric, seriesUrl } from "../_features/charts/series-request.ts";
import { readList } from "../_features/charts/url-read.ts";
import { getViewer } from "../_lib/viewer.ts";
import { getQueryClient, HydrateClient, trpc } from "../_trpc/server.tsx";
import { CompareView } from "./compare-view.tsx";

export const dynamic = "force-dynamic";
export const metadata = { title: "Compare runs" };

export default async function ComparePage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const viewer = await getViewer();
  if (!viewer.user) redirect(viewer.needsFirstAccount ? "/sign-up" : "/sign-in");
  // The curves' points load while the page's JavaScript does: the head asks for the URL the curves
  // panel will fetch first (series-request.ts), and the browser hands that answer to its fetch.
  const query = await searchParams;
  const params = { get: (key: string) => [query[key]].flat()[0] ?? null };
  const runIds = [...new Set(readList(params, "runs"))].slice(0, 500);
  // The runs' rows and metric names come with the page, so names are there when the curves draw. Awaited
  // (two quick queries): a prefetch still pending at render hydrates as "loading" on the client while the
  // server's HTML may already show the rows, a hydration mismatch.
  let defaultMetric: string | undefined;
  if (runIds.length > 0) {
    const queryClient = getQueryClient();
    const table = trpc.runsTable.list.queryOptions({ filter: { runIds }, limit: 500 });
    const keys = trpc.metrics.keys.queryOptions({ runIds: runIds.slice(0, 200) });
    await Promise.all([queryClient.prefetchQuery(table), queryClient.prefetchQuery(keys)]);
    // The curves ask first for the runs' own metric (a spec's or project's, e.g. val_loss) where logged, as
    // the curves panel does with these keys.
    const logged = queryClient.getQueryData(keys.queryKey)?.keys.map((entry) => entry.key) ?? null;
    defaultMetric = defaultCurvesMetric(queryClient.getQueryData(table.queryKey)?.metric.name, logged) ?? undefined;
  }
  const request = compareSeriesRequest(params, defaultMetric);
  // The answer loads in a worker the head starts as it is parsed (series-starter.ts; React hoists these
  // tags into the head), else by a preload <link> (not react-dom's preload(): Next drops a server
  // component's late preload hints). With it, the early chart (early-curves/) draws those points while
  // the page hydrates.
  const worker = seriesWorkerScript();
  return (
    <HydrateClient>
      {request && worker ? (
        <>
          <meta name={SERIES_META} content={seriesUrl(request)} />
          <meta name={SERIES_WORKER_META} content={worker} />
        </>
      ) : request ? (
        <link rel="preload" as="fetch" href={seriesUrl(request)} crossOrigin="anonymous" />
      ) : null}
      <CompareView earlyScript={request ? earlyCurvesScript() : null} />
    </HydrateClient>
  );
}
