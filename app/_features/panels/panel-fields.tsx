import { TextInput } from "../../_ui/ui.tsx";

/** The report editor's inputs for a panel's options sit in one row: small controls. */
export const SMALL_FIELD = "!w-auto !py-1 text-xs";

/** The metric a panel plots. */
export function MetricField({ metric, onChange }: { metric: string; onChange: (metric: string) => void }) {
  return (
    <TextInput
      aria-label="Metric"
      className={SMALL_FIELD}
      value={metric}
      onChange={(event) => onChange(event.target.value)}
      data-testid="panel-metric"
    />
  );
}
