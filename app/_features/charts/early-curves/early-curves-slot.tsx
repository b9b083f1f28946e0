"use client";

import { useEffect, useRef } from "react";
import { EARLY_CURVES_ATTRIBUTE, type EarlyCurves, type EarlySlot } from "./early-curves.ts";

// React leaves an element's inner HTML alone when it sets it itself: the early chart's canvas survives hydration.
const EMPTY = { __html: "" };

/**
 * The empty slot the early chart draws into (early-curves.ts), over the panel's placeholder, and its
 * script (async; React hoists it into <head>, once per page). The panel unmounts the slot once its
 * own chart has drawn, which ends the early chart too.
 */
export function EarlyCurvesSlot({ view, script }: { view: EarlyCurves; script: string }) {
  const slot = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element: EarlySlot | null = slot.current;
    return () => element?.scaleboardChart?.destroy();
  }, []);
  return (
    <>
      {/* High priority: an async script is otherwise among the last requests the browser makes. */}
      <script async src={script} fetchPriority="high" />
      {/* Next.js starts once the early chart is on screen (app/layout.tsx), at most this many ms after navigation:
          on a loaded 2-core machine the chart took 1.3-1.8 s, and a hydration started under it doubled that. */}
      <meta name="scaleboard-hold-hydration" content="2500" />
      <div
        ref={slot}
        {...{ [EARLY_CURVES_ATTRIBUTE]: JSON.stringify(view) }}
        aria-hidden="true"
        // Inline: the early chart may measure the slot before the stylesheet has loaded.
        style={{ position: "absolute", inset: 0, pointerEvents: "none" }}
        suppressHydrationWarning
        // biome-ignore lint/security/noDangerouslySetInnerHtml: a constant empty string; the early script fills the slot.
        dangerouslySetInnerHTML={EMPTY}
      />
    </>
  );
}
