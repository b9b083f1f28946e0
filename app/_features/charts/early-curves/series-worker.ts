/**
 * The compare page's first series answer, fetched and parsed off the page's main thread. While the
 * page loads, that thread parses HTML, lays it out and runs scripts; a fetch made there takes in its
 * body between those tasks, and 2 MB of points arrive hundreds of ms after the server sent them.
 * A dedicated worker reads and parses the body on its own thread and posts the answer once.
 * Started by the page's inline starter (series-starter.ts); bundled by scripts/build-early-curves.ts.
 */
export type SeriesWorkerReply = { url: string; answer: unknown } | { url: string; error: string };

const scope = self as unknown as {
  onmessage: ((event: MessageEvent<{ url: string }>) => void) | null;
  postMessage(message: SeriesWorkerReply): void;
};

scope.onmessage = async (event) => {
  const { url } = event.data;
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    scope.postMessage(
      response.ok
        ? { url, answer: body }
        : { url, error: body?.error?.message ?? `The server answered ${response.status}` },
    );
  } catch (error) {
    scope.postMessage({ url, error: error instanceof Error ? error.message : String(error) });
  }
};
