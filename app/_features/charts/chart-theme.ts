/**
 * Series colours, distinct up to 20 lines: Tableau 10 first (the look of a few runs), then ten hues
 * and lightnesses Tableau 10 does not use (cyan, olive, orchid, violet, forest, maroon, navy, black,
 * rust, plum), so that run 1 and run 11 never share a hue family's shade. On dark backgrounds,
 * lighter colours chosen the same way (the light-mode blues, browns and black fall below a
 * readable contrast against slate-900). Past 20, hues step by the golden angle at a lightness readable on
 * the background: distinct from their neighbours, though no longer from every other line (a chart
 * that busy wants a group-by, or a colour by a parameter: see colour-by.ts).
 */
const LIGHT = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#79706e",
  "#17becf",
  "#bcbd22",
  "#e377c2",
  "#6a3d9a",
  "#006d2c",
  "#8c1c13",
  "#1a237e",
  "#000000",
  "#b15928",
  "#7b4173",
];
const DARK = [
  "#8cb4e0",
  "#ffab5e",
  "#ff8a8c",
  "#9fe0da",
  "#8fd483",
  "#f6dc72",
  "#d7a6ca",
  "#ffc1c8",
  "#d0a98f",
  "#bab0ac",
  "#5fe3f0",
  "#e0e15a",
  "#ec51ab",
  "#b89ae0",
  "#4fc47a",
  "#b851ec",
  "#8c9eff",
  "#f1f5f9",
  "#e89a6c",
  "#51ec51",
];

/** How many lines get a colour of their own. */
export const DISTINCT_SERIES_COLORS = LIGHT.length;

function hslHex(hue: number, saturation: number, lightness: number): string {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number) => {
    const k = (n + hue / 30) % 12;
    const value = lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

export function seriesColor(index: number, dark: boolean): string {
  const palette = dark ? DARK : LIGHT;
  if (index < palette.length) return palette[index]!;
  const hue = (index * 137.508) % 360;
  return hslHex(hue, 0.65, dark ? 0.7 : 0.4);
}

/** Viridis at nine even steps: dark purple through teal to yellow, its lightness rising throughout. */
const VIRIDIS = ["#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962", "#addc30", "#fde725"];
/**
 * The part of viridis a line stays readable in: on white its pale yellow end is left out, on slate-900
 * its dark purple start. Either way lightness rises with the value, so a reader sees the order.
 */
const SEQUENTIAL_RANGE = { light: [0, 0.8], dark: [0.38, 1] } as const;

function mixHex(from: string, to: string, share: number): string {
  const a = Number.parseInt(from.slice(1), 16);
  const b = Number.parseInt(to.slice(1), 16);
  const channel = (shift: number) => {
    const low = (a >> shift) & 255;
    const high = (b >> shift) & 255;
    return Math.round(low + (high - low) * share)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${channel(16)}${channel(8)}${channel(0)}`;
}

/** A colour on the sequential (viridis-like) scale, 0 = lowest value .. 1 = highest. */
export function sequentialColor(share: number, dark: boolean): string {
  const [from, to] = dark ? SEQUENTIAL_RANGE.dark : SEQUENTIAL_RANGE.light;
  const t = (from + (to - from) * Math.min(1, Math.max(0, share))) * (VIRIDIS.length - 1);
  const index = Math.min(VIRIDIS.length - 2, Math.floor(t));
  return mixHex(VIRIDIS[index]!, VIRIDIS[index + 1]!, t - index);
}

/** #rrggbb with an alpha, for faint raw curves and bands. */
export function withAlpha(hex: string, alpha: number): string {
  const value = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(value >> 16) & 255}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

export type ChartTheme = {
  dark: boolean;
  text: string;
  muted: string;
  grid: string;
  background: string;
  accent: string;
};

export function chartTheme(dark: boolean): ChartTheme {
  return dark
    ? {
        dark,
        text: "#e2e8f0",
        muted: "#94a3b8",
        grid: "rgba(148, 163, 184, 0.18)",
        background: "#0f172a",
        accent: "#a5b4fc",
      }
    : {
        dark,
        text: "#0f172a",
        muted: "#64748b",
        grid: "rgba(100, 116, 139, 0.18)",
        background: "#ffffff",
        accent: "#4f46e5",
      };
}
