import vm from "node:vm";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  SERIES_META,
  SERIES_STARTER_SCRIPT,
  SERIES_WORKER_META,
} from "../../app/_features/charts/early-curves/series-starter.ts";
import { typedAnswer } from "../../app/_features/charts/early-curves/series-worker.ts";
import {
  lineArrays,
  rangePoints,
  xBoundsOf,
  yRangeOfLines,
} from "../../app/_features/charts/early-curves/fast-lines.ts";
import { type PlotDataset, yRangeIn } from "../../app/_features/charts/line-chart-config.ts";
import type { XY } from "../../app/_features/charts/smoothing.ts";
import { installPeerStamp, PEER_HEADER } from "../../server/auth/peer-stamp.ts";
import { isNearbyClient } from "../../server/http/nearby-client.ts";

/**
 * The early chart (app/_features/charts/early-curves/) lays Chart.js's axes out from a few points a
 * line and strokes the rest itself: those few points must set the same ranges as all of them would,
 * and a zoomed chart's y range must be the live chart's. And who gets the curves uncompressed.
 */

/** Lines as the answer holds them: sorted steps, values finite or a gap (null) or a non-finite text. */
const line = fc
  .array(
    fc.record({
      dx: fc.integer({ min: 1, max: 50 }),
      y: fc.oneof(
        { weight: 12, arbitrary: fc.double({ min: -50, max: 50, noNaN: true, noDefaultInfinity: true }) },
        { weight: 1, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom("NaN", "Infinity", "-Infinity") },
      ),
    }),
    { minLength: 1, maxLength: 60 },
  )
  .map((steps) => {
    let x = -100;
    return steps.map(({ dx, y }) => {
      x += dx;
      return { x, y };
    });
  });

const toArrays = (points: { x: number; y: number | null | string }[]) => ({
  xs: points.map((point) => point.x),
  ys: points.map((point) => point.y),
});
const toXY = (points: { x: number; y: number | null | string }[]): XY[] =>
  points.map((point) => ({ x: point.x, y: typeof point.y === "number" ? point.y : null }));

/** Extremes of the values a log-free axis would place, inside the x bounds. */
function valueRange(points: { x: number; y: number | null }[], bounds: { min?: number; max?: number }) {
  const inside = points.filter(
    (point) =>
      point.y !== null &&
      (bounds.min === undefined || point.x >= bounds.min) &&
      (bounds.max === undefined || point.x <= bounds.max),
  ) as XY[] & { y: number }[];
  return inside.length
    ? [Math.min(...inside.map((p) => p.y as number)), Math.max(...inside.map((p) => p.y as number))]
    : null;
}

describe("the early chart's axis points", () => {
  it("set the same x extent and, inside the shown window, the same value range as every point", () => {
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 6 }),
        fc.option(fc.tuple(fc.integer({ min: -120, max: 1500 }), fc.integer({ min: 1, max: 800 }))),
        (lines, window) => {
          const xWindow = window ? { min: window[0], max: window[0] + window[1] } : null;
          const bounds = xBoundsOf(xWindow, false);
          const chosen = lines.flatMap((points) => rangePoints(toArrays(points), bounds, { x: false, y: false }));
          const all = lines.flatMap(toXY);
          // Chart.js takes a sorted line's x extent from its first and last points.
          expect(Math.min(...chosen.map((point) => point.x))).toBe(Math.min(...lines.map((points) => points[0]!.x)));
          expect(Math.max(...chosen.map((point) => point.x))).toBe(
            Math.max(...lines.map((points) => points.at(-1)!.x)),
          );
          expect(valueRange(chosen, bounds)).toEqual(valueRange(all, bounds));
        },
      ),
    );
  });

  it("leave out what a log axis cannot place, as the live chart's datasets do", () => {
    const points = { xs: [0, 1, 10, 100], ys: [5, -1, 0.5, 2] };
    expect(rangePoints(points, {}, { x: true, y: true })).toEqual([
      { x: 0, y: null },
      { x: 10, y: 0.5 },
      { x: 100, y: 2 },
    ]);
    // On a log x axis a window's lower edge at or below zero is no bound (as the live chart's options make it).
    expect(xBoundsOf({ min: -5, max: 50 }, true)).toEqual({ max: 50 });
    expect(xBoundsOf({ min: -5, max: 50 }, false)).toEqual({ min: -5, max: 50 });
  });

  it("give a zoomed chart the live chart's y range, edges crossed by a segment included", () => {
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: -120, max: 1500 }),
        fc.integer({ min: 1, max: 400 }),
        fc.boolean(),
        (lines, from, width, logY) => {
          const window = { min: from, max: from + width };
          const datasets = lines.map(
            (points, index): PlotDataset => ({
              key: `l${index}`,
              role: "main",
              seriesId: `l${index}`,
              data: toXY(points),
            }),
          );
          expect(yRangeOfLines(lines.map(toArrays), window, logY)).toEqual(yRangeIn(datasets, window, logY));
        },
      ),
    );
  });

  it("reads a dataset's points as the arrays it strokes", () => {
    expect(
      lineArrays([
        { x: 1, y: 2 },
        { x: 3, y: null },
      ]),
    ).toEqual({ xs: [1, 3], ys: [2, null] });
  });
});

describe("who gets the curves uncompressed", () => {
  installPeerStamp();
  const secret = (globalThis as { [key: symbol]: string })[Symbol.for("scaleboard.peerStampSecret")];
  const from = (peer: string, forwardedFor?: string) =>
    new Headers({ [PEER_HEADER]: `${secret} ${peer}`, ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) });

  it("a client on this machine or a private network", () => {
    for (const peer of ["127.0.0.1", "::1", "10.1.2.3", "192.168.0.20", "172.20.0.5", "fd00::1", "::ffff:127.0.0.1"])
      expect(isNearbyClient(from(peer), []), peer).toBe(true);
  });

  it("not anyone else, nor a request whose peer is unknown", () => {
    for (const peer of ["8.8.8.8", "2001:db8::1", "172.32.0.1"])
      expect(isNearbyClient(from(peer), []), peer).toBe(false);
    expect(isNearbyClient(new Headers({ [PEER_HEADER]: `forged 127.0.0.1` }), [])).toBe(false);
  });

  it("behind a trusted reverse proxy, the client it forwarded for decides; a forged header alone does not", () => {
    expect(isNearbyClient(from("127.0.0.1", "203.0.113.9"), ["loopback"])).toBe(false);
    expect(isNearbyClient(from("127.0.0.1", "192.168.1.7"), ["loopback"])).toBe(true);
    // Not a trusted proxy: its X-Forwarded-For is not believed.
    expect(isNearbyClient(from("203.0.113.9", "127.0.0.1"), ["loopback"])).toBe(false);
  });
});

describe("the series starter (the compare page's inline script that fetches its points in a worker)", () => {
  type Posted = { url: string };
  /**
   * Runs the starter as the head would, on a page whose meta tags name `url` (none when null), with a
   * Worker that answers `reply` (or fails to start) and a fetch that records its calls.
   */
  function start(url: string | null, reply: ((posted: Posted) => object) | "fails") {
    const posted: Posted[] = [];
    const fetched: string[] = [];
    class FakeWorker {
      onmessage: ((event: { data: object }) => void) | null = null;
      onerror: (() => void) | null = null;
      terminated = false;
      constructor(readonly src: string) {}
      postMessage(message: Posted) {
        posted.push(message);
        queueMicrotask(() => (reply === "fails" ? this.onerror?.() : this.onmessage?.({ data: reply(message) })));
      }
      terminate() {
        this.terminated = true;
      }
    }
    const metas: Record<string, string> = url
      ? { [SERIES_META]: url, [SERIES_WORKER_META]: "/scaleboard/series-worker.js?v=0123456789abcdef" }
      : {};
    const document = {
      querySelector: (selector: string) => {
        const name = /^meta\[name="([^"]+)"\]$/.exec(selector)?.[1];
        return name && name in metas
          ? { getAttribute: (attribute: string) => (attribute === "content" ? metas[name] : null) }
          : null;
      },
    };
    const page: Record<string, unknown> = {
      document,
      Worker: FakeWorker,
      location: { href: "https://board.example/compare?runs=a,b" },
      URL,
      Map,
      Promise,
      Error,
      fetch: async (target: string) => {
        fetched.push(target);
        return { ok: true, json: async () => ({ series: [], from: "page" }) };
      },
    };
    page.self = page;
    vm.runInNewContext(SERIES_STARTER_SCRIPT, page);
    return { answers: page.scaleboardSeries as Map<string, Promise<unknown>> | undefined, posted, fetched };
  }

  const url = "/api/metrics/series?runs=a%2Cb&key=val%2Floss&x=step&points=1000";

  it("files the worker's answer under the page's URL for the early chart and the panel", async () => {
    const { answers, posted, fetched } = start(url, (message) => ({ url: message.url, answer: { series: [] } }));
    expect([...answers!.keys()]).toEqual([url]);
    expect(await answers!.get(url)).toEqual({ series: [] });
    expect(posted).toEqual([{ url: `https://board.example${url}` }]);
    expect(fetched).toEqual([]);
  });

  it("hands each line's values over as Float64Arrays and files them as the answer's own arrays", async () => {
    const value = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom("NaN", "Infinity", "-Infinity"),
    );
    const line = fc.array(fc.tuple(fc.integer({ min: 0, max: 1e6 }), value), { maxLength: 50 }).map((points) => ({
      runId: "r",
      key: "val/loss",
      xs: points.map(([x]) => x),
      ys: points.map(([, y]) => y),
      interpolated: [0],
      total: points.length,
      before: { x: -1, y: "NaN" },
    }));
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 5 }), async (series) => {
        const sent = { series };
        const { answer, transfer } = typedAnswer(structuredClone(sent));
        expect(transfer).toHaveLength(series.length * 2);
        for (const entry of (answer as typeof sent).series) expect(entry.xs).toBeInstanceOf(Float64Array);
        const { answers } = start(url, (message) => ({ url: message.url, answer }));
        expect(await answers!.get(url)).toEqual(sent);
      }),
    );
    // A line the worker cannot type (a null value, from no current server) travels as it came.
    const odd = { series: [{ xs: [1, 2], ys: [1, null] }] };
    expect(typedAnswer(odd).transfer).toEqual([]);
  });

  it("passes a refusal on with the server's message and forgets it, so the panel asks again", async () => {
    const { answers } = start(url, (message) => ({ url: message.url, error: "Run r1 not found" }));
    await expect(answers!.get(url)).rejects.toThrow("Run r1 not found");
    await Promise.resolve();
    expect(answers!.has(url)).toBe(false);
  });

  it("fetches on the page's own thread when the worker cannot start", async () => {
    const { answers, fetched } = start(url, "fails");
    expect(await answers!.get(url)).toEqual({ series: [], from: "page" });
    expect(fetched).toEqual([url]);
  });

  it("does nothing on a page that asks for no series", () => {
    const { answers, posted, fetched } = start(null, (message) => ({ url: message.url, answer: {} }));
    expect(answers).toBeUndefined();
    expect(posted).toEqual([]);
    expect(fetched).toEqual([]);
  });
});
