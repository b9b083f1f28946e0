import type { ReactNode, TdHTMLAttributes } from "react";

/** A column's header: numbers are right-aligned; a hidden label is read by screen readers only. */
export type DataColumn = { label: string; numeric?: boolean; hidden?: boolean };

const FRAMES = {
  /** A table standing on its own on the page. */
  card: "overflow-x-auto rounded-xl border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900",
  /** A table inside a card that already has a background. */
  inset: "overflow-x-auto rounded-lg border border-slate-200 dark:border-slate-800",
} as const;

// Cell padding is set once here for every cell of the table (head, body and foot), not on each cell.
const DENSITIES = {
  compact: "[&_td]:px-3 [&_th]:px-3 [&_thead_th]:py-2 [&_tbody_td]:py-1.5 [&_tfoot_td]:py-2 [&_tfoot_th]:py-2",
  comfortable: "[&_td]:px-4 [&_th]:px-4 [&_thead_th]:py-2 [&_tbody_td]:py-3",
} as const;

type DataTableProps = {
  columns: readonly DataColumn[];
  testId: string;
  /** What the table lists; shown above it when `captionVisible`, otherwise for screen readers only. */
  caption?: ReactNode;
  captionVisible?: boolean;
  frame?: keyof typeof FRAMES;
  density?: keyof typeof DENSITIES;
  /** Makes the frame a labelled region (a page section of its own). */
  region?: { label: string; busy?: boolean };
  /** Rows of a `<tfoot>`: totals. */
  footer?: ReactNode;
  /** Spacing around the frame (margins). */
  className?: string;
  /** The body's rows (DataRow). */
  children: ReactNode;
};

/** The app's table: frame, header row, row borders and cell padding in one place. */
export function DataTable({
  columns,
  testId,
  caption,
  captionVisible = false,
  frame = "card",
  density = "compact",
  region,
  footer,
  className = "",
  children,
}: DataTableProps) {
  const frameStyles = `${FRAMES[frame]} ${className}`.trim();
  const table = (
    <table className={`w-full text-left text-sm ${DENSITIES[density]}`} data-testid={testId}>
      {caption ? (
        <caption
          className={captionVisible ? "px-3 pt-2 text-left text-xs text-slate-500 dark:text-slate-400" : "sr-only"}
        >
          {caption}
        </caption>
      ) : null}
      <thead className="border-b border-slate-200 text-xs uppercase text-slate-500 dark:border-slate-800 dark:text-slate-400">
        <tr>
          {columns.map((column) => (
            <th key={column.label} scope="col" className={column.numeric ? "text-right" : undefined}>
              {column.hidden ? <span className="sr-only">{column.label}</span> : column.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>{children}</tbody>
      {footer ? <tfoot className="border-t border-slate-200 font-medium dark:border-slate-800">{footer}</tfoot> : null}
    </table>
  );
  return region ? (
    <section aria-label={region.label} aria-busy={region.busy} className={frameStyles}>
      {table}
    </section>
  ) : (
    <div className={frameStyles}>{table}</div>
  );
}

/** A body row, divided from the next by a light rule. */
export function DataRow({ testId, top = false, children }: { testId?: string; top?: boolean; children: ReactNode }) {
  return (
    <tr
      data-testid={testId}
      className={`border-b border-slate-100 last:border-0 dark:border-slate-800 ${top ? "align-top" : ""}`}
    >
      {children}
    </tr>
  );
}

/** A cell; a numeric one is right-aligned with figures of equal width so columns of numbers line up. */
export function DataCell({
  numeric = false,
  className = "",
  ...props
}: TdHTMLAttributes<HTMLTableCellElement> & { numeric?: boolean }) {
  return <td {...props} className={`${numeric ? "text-right tabular-nums" : ""} ${className}`.trim() || undefined} />;
}
