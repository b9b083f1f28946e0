"use client";

import { useEffect, useRef, useState, type PointerEvent, type RefObject } from "react";
import { formatMetric } from "../charts/format.ts";
import { chartTheme } from "../charts/chart-theme.ts";
import { useDarkMode } from "../charts/dark-mode.ts";
import { type Axis, type Brush, type SweepPoint, valueOn } from "./axes.ts";

/**
 * Parallel coordinates drawn as SVG: an axis per swept parameter and one for the metric, one polyline
 * per run coloured from the best metric value (blue) to the worst (orange). Dragging along an axis
 * brushes a range on it; a click on the axis without dragging clears that axis's brush. Runs outside
 * any brush stay drawn, faint and grey, so the brushed ones read against the whole sweep. The SVG
 * keeps a fixed spacing per axis and scrolls sideways inside its panel on a narrow screen.
 */

/** Axes spread to fill the panel, between these gaps (px); past the panel's width the chart scrolls. */
const MIN_AXIS_GAP = 128;
const MAX_AXIS_GAP = 260;
const MARGIN = { top: 44, bottom: 20, left: 56, right: 64 };
const PLOT_HEIGHT = 240;
const HIT_WIDTH = 28;
/** Shorter drags than this (px) are a click: they clear the axis's brush. */
const MIN_DRAG = 4;

// Best to worst: blue through grey to orange, readable on white and on slate-900.
const RAMP = {
  light: ["#1d4ed8", "#64748b", "#ea580c"],
  dark: ["#60a5fa", "#94a3b8", "#fb923c"],
};

function mix(from: string, to: string, share: number): string {
  const channel = (hex: string, offset: number) => Number.parseInt(hex.slice(1 + offset, 3 + offset), 16);
  const parts = [0, 2, 4].map((offset) =>
    Math.round(channel(from, offset) + (channel(to, offset) - channel(from, offset)) * share)
      .toString(16)
      .padStart(2, "0"),
  );
  return `#${parts.join("")}`;
}

/** 0 = best, 1 = worst. */
export function rampColor(badness: number, dark: boolean): string {
  const [best, middle, worst] = dark ? RAMP.dark : RAMP.light;
  const share = Math.min(1, Math.max(0, badness));
  return share < 0.5 ? mix(best!, middle!, share * 2) : mix(middle!, worst!, (share - 0.5) * 2);
}

type Props = {
  axes: Axis[];
  points: (SweepPoint & { name: string })[];
  goal: "min" | "max";
  brushes: ReadonlyMap<string, Brush>;
  inBrushes: ReadonlySet<string>;
  onBrush: (axisKey: string, brush: Brush | null) => void;
};

const truncate = (text: string, length: number) => (text.length > length ? `…${text.slice(-(length - 1))}` : text);

/** The width of the element, kept current as the panel resizes. */
function useWidth(element: RefObject<HTMLElement | null>): number | null {
  const [width, setWidth] = useState<number | null>(null);
  useEffect(() => {
    const target = element.current;
    if (!target) return;
    const observer = new ResizeObserver(([entry]) => setWidth(entry?.contentRect.width ?? null));
    observer.observe(target);
    return () => observer.disconnect();
  }, [element]);
  return width;
}

export function ParallelCoordinates({ axes, points, goal, brushes, inBrushes, onBrush }: Props) {
  const dark = useDarkMode();
  const theme = chartTheme(dark);
  const frame = useRef<HTMLDivElement>(null);
  const frameWidth = useWidth(frame);
  const gaps = Math.max(1, axes.length - 1);
  const gap = Math.min(MAX_AXIS_GAP, Math.max(MIN_AXIS_GAP, ((frameWidth ?? 0) - MARGIN.left - MARGIN.right) / gaps));
  const width = MARGIN.left + gaps * gap + MARGIN.right;
  const height = MARGIN.top + PLOT_HEIGHT + MARGIN.bottom;
  const xOf = (index: number) => MARGIN.left + index * gap;
  const yOf = (position: number) => MARGIN.top + (1 - position) * PLOT_HEIGHT;
  const positionOf = (y: number) => Math.min(1, Math.max(0, 1 - (y - MARGIN.top) / PLOT_HEIGHT));

  const metricAxis = axes.find((axis) => axis.key === "metric");
  const badness = (point: SweepPoint) => {
    const position = metricAxis?.position(point.value) ?? null;
    if (position === null) return null;
    return goal === "min" ? position : 1 - position;
  };

  const svg = useRef<SVGSVGElement>(null);
  const [drag, setDrag] = useState<{ axis: string; from: number; to: number } | null>(null);
  const svgY = (event: PointerEvent) => {
    const box = svg.current!.getBoundingClientRect();
    return ((event.clientY - box.top) / box.height) * height;
  };

  const path = (point: SweepPoint) => {
    let d = "";
    let pen = false;
    axes.forEach((axis, index) => {
      const position = axis.position(valueOn(axis, point));
      if (position === null) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${xOf(index)},${yOf(position).toFixed(1)}`;
      pen = true;
    });
    return d;
  };

  const anyBrush = brushes.size > 0;
  // Faint lines first, so the brushed ones lie on top; the best runs drawn last.
  const ordered = [...points].sort((a, b) => {
    const inA = !anyBrush || inBrushes.has(a.id);
    const inB = !anyBrush || inBrushes.has(b.id);
    if (inA !== inB) return inA ? 1 : -1;
    return (badness(b) ?? 2) - (badness(a) ?? 2);
  });

  return (
    <div ref={frame} className="overflow-x-auto" data-testid="parallel-coordinates">
      <svg
        ref={svg}
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Parallel coordinates: ${points.length} runs over ${axes.map((axis) => axis.label).join(", ")}`}
        className="touch-none select-none"
      >
        <g fill="none" strokeLinejoin="round">
          {ordered.map((point) => {
            const inside = !anyBrush || inBrushes.has(point.id);
            const bad = badness(point);
            return (
              <path
                key={point.id}
                d={path(point)}
                data-testid="pc-line"
                data-run-id={point.id}
                data-in-brush={inside ? "true" : "false"}
                stroke={inside ? (bad === null ? theme.muted : rampColor(bad, dark)) : theme.grid}
                strokeWidth={inside ? 1.75 : 1}
                strokeOpacity={inside ? 0.9 : 1}
              >
                <title>{`${point.name}: ${formatMetric(point.value)}`}</title>
              </path>
            );
          })}
        </g>
        {axes.map((axis, index) => {
          const x = xOf(index);
          const brush = drag?.axis === axis.key ? null : brushes.get(axis.key);
          const draft =
            drag?.axis === axis.key
              ? { low: positionOf(Math.max(drag.from, drag.to)), high: positionOf(Math.min(drag.from, drag.to)) }
              : null;
          const shown = draft ?? brush;
          const scaleNote = axis.scale === "log" ? " (log)" : "";
          return (
            <g
              key={axis.key}
              data-testid="pc-axis"
              data-axis={axis.key === "metric" ? "metric" : axis.label}
              data-scale={axis.scale}
            >
              <line x1={x} x2={x} y1={yOf(0)} y2={yOf(1)} stroke={theme.muted} strokeWidth={1} />
              {axis.ticks.map((tick) => (
                <g key={`${tick.label}-${tick.position}`}>
                  <line x1={x - 4} x2={x} y1={yOf(tick.position)} y2={yOf(tick.position)} stroke={theme.muted} />
                  <text
                    x={x - 6}
                    y={yOf(tick.position)}
                    dy="0.32em"
                    textAnchor="end"
                    fontSize={10}
                    fill={theme.text}
                    stroke={theme.background}
                    strokeWidth={3}
                    paintOrder="stroke"
                  >
                    {tick.label}
                  </text>
                </g>
              ))}
              <text x={x} y={MARGIN.top - 24} textAnchor="middle" fontSize={11} fontWeight={600} fill={theme.text}>
                <title>{axis.label}</title>
                {truncate(axis.label, Math.floor(gap / 6.5))}
              </text>
              <text x={x} y={MARGIN.top - 11} textAnchor="middle" fontSize={10} fill={theme.muted}>
                {axis.key === "metric" ? `metric${scaleNote}` : `${axis.scale}`}
              </text>
              {shown ? (
                <rect
                  data-testid="pc-brush"
                  x={x - 7}
                  width={14}
                  y={yOf(shown.high)}
                  height={Math.max(2, yOf(shown.low) - yOf(shown.high))}
                  fill={theme.accent}
                  fillOpacity={0.25}
                  stroke={theme.accent}
                  rx={2}
                />
              ) : null}
              <rect
                data-testid="pc-brush-area"
                aria-label={`Brush ${axis.label}: drag along the axis to keep the runs in a range, click to clear`}
                x={x - HIT_WIDTH / 2}
                width={HIT_WIDTH}
                y={yOf(1) - 6}
                height={PLOT_HEIGHT + 12}
                fill="transparent"
                className="cursor-crosshair"
                onPointerDown={(event) => {
                  event.currentTarget.setPointerCapture(event.pointerId);
                  const y = svgY(event);
                  setDrag({ axis: axis.key, from: y, to: y });
                }}
                onPointerMove={(event) => {
                  if (drag?.axis === axis.key) setDrag({ ...drag, to: svgY(event) });
                }}
                onPointerUp={(event) => {
                  if (drag?.axis !== axis.key) return;
                  const to = svgY(event);
                  setDrag(null);
                  if (Math.abs(to - drag.from) < MIN_DRAG) onBrush(axis.key, null);
                  else
                    onBrush(axis.key, {
                      low: positionOf(Math.max(drag.from, to)),
                      high: positionOf(Math.min(drag.from, to)),
                    });
                }}
                onPointerCancel={() => setDrag(null)}
              />
            </g>
          );
        })}
      </svg>
    </div>
  );
}
