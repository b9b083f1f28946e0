"use client";

import { useEffect, useRef, useState } from "react";
import { smallSelect, ToggleButton } from "../charts/chart-frame.tsx";
import { RUN_STATUSES, type RunStatusName } from "../../_ui/status.ts";
import type { UrlPatch } from "../charts/url-state.ts";
import { formatParamFilters, parseParamFilters, readStatusFilter, type ParamCondition } from "./runs-table-state.tsx";

type FiltersProps = {
  params: { get(key: string): string | null };
  set: (patch: UrlPatch) => void;
  paramColumns: string[];
};

/** Status chips, a search box and parameter conditions; all of it lives in the URL. */
export function RunsTableFilters({ params, set, paramColumns }: FiltersProps) {
  const statuses = readStatusFilter(params);
  const conditions = parseParamFilters(params.get("pf"));
  const groupBy = params.get("tgroup") ?? "";

  const urlSearch = params.get("q") ?? "";
  const [search, setSearch] = useState(urlSearch);
  useEffect(() => setSearch(urlSearch), [urlSearch]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const changeSearch = (value: string) => {
    setSearch(value);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => set({ q: value.trim() || null }), 300);
  };

  const toggleStatus = (status: RunStatusName) => {
    const next = statuses.includes(status) ? statuses.filter((item) => item !== status) : [...statuses, status];
    set({ status: next.length ? next.join(",") : null });
  };

  const setConditions = (next: Record<string, ParamCondition>) => set({ pf: formatParamFilters(next) });

  return (
    <div className="flex flex-col gap-2" data-testid="runs-filters">
      <div className="flex flex-wrap items-center gap-2">
        <input
          type="search"
          value={search}
          onChange={(event) => changeSearch(event.target.value)}
          placeholder="Search names, tags, notes"
          aria-label="Search runs"
          className={`${smallSelect} w-56`}
          data-testid="runs-search"
        />
        <fieldset aria-label="Filter by status" className="flex flex-wrap gap-1">
          {RUN_STATUSES.map((status) => (
            <ToggleButton key={status} pressed={statuses.includes(status)} onClick={() => toggleStatus(status)}>
              {status}
            </ToggleButton>
          ))}
        </fieldset>
        {paramColumns.length > 0 ? (
          <label className="flex items-center gap-1.5 text-xs text-slate-600 dark:text-slate-400">
            Group by
            <select
              className={smallSelect}
              value={groupBy}
              onChange={(event) => set({ tgroup: event.target.value || null })}
              data-testid="runs-group-by"
            >
              <option value="">none</option>
              {paramColumns.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        ) : null}
      </div>
      {paramColumns.length > 0 ? (
        <ParamConditionForm
          paramColumns={paramColumns}
          onAdd={(name, condition) => setConditions({ ...conditions, [name]: { ...conditions[name], ...condition } })}
        />
      ) : null}
      {Object.keys(conditions).length > 0 ? (
        <ul className="flex flex-wrap gap-1" aria-label="Parameter filters">
          {Object.entries(conditions).map(([name, condition]) => (
            <li
              key={name}
              className="flex items-center gap-1 rounded-full bg-indigo-50 px-2 py-0.5 text-xs text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200"
            >
              {describeCondition(name, condition)}
              <button
                type="button"
                aria-label={`Remove the filter on ${name}`}
                onClick={() => {
                  const next = { ...conditions };
                  delete next[name];
                  setConditions(next);
                }}
                className="rounded px-1 hover:bg-indigo-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:bg-indigo-900"
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function describeCondition(name: string, condition: ParamCondition): string {
  const parts: string[] = [];
  if (condition.equals !== undefined) parts.push(`${name} = ${String(condition.equals)}`);
  if (condition.min !== undefined && condition.max !== undefined)
    parts.push(`${condition.min} ≤ ${name} ≤ ${condition.max}`);
  else if (condition.min !== undefined) parts.push(`${name} ≥ ${condition.min}`);
  else if (condition.max !== undefined) parts.push(`${name} ≤ ${condition.max}`);
  return parts.join(", ");
}

function ParamConditionForm({
  paramColumns,
  onAdd,
}: {
  paramColumns: string[];
  onAdd: (name: string, condition: ParamCondition) => void;
}) {
  const [name, setName] = useState(paramColumns[0] ?? "");
  const [op, setOp] = useState<">=" | "<=" | "=">(">=");
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      className="flex flex-wrap items-center gap-1 text-xs"
      aria-label="Add a parameter filter"
      onSubmit={(event) => {
        event.preventDefault();
        const text = value.trim();
        if (!text || !name) return;
        if (op !== "=") {
          const number = Number(text);
          if (!Number.isFinite(number)) {
            setError(`${op} needs a number`);
            return;
          }
          onAdd(name, op === ">=" ? { min: number } : { max: number });
        } else {
          const number = Number(text);
          onAdd(name, {
            equals: text === "true" ? true : text === "false" ? false : Number.isFinite(number) ? number : text,
          });
        }
        setError(null);
        setValue("");
      }}
    >
      <span className="text-slate-600 dark:text-slate-400">Where</span>
      <select
        className={smallSelect}
        value={name}
        onChange={(event) => setName(event.target.value)}
        aria-label="Parameter"
      >
        {paramColumns.map((column) => (
          <option key={column} value={column}>
            {column}
          </option>
        ))}
      </select>
      <select
        className={smallSelect}
        value={op}
        onChange={(event) => setOp(event.target.value as typeof op)}
        aria-label="Comparison"
      >
        <option value=">=">≥</option>
        <option value="<=">≤</option>
        <option value="=">=</option>
      </select>
      <input
        className={`${smallSelect} w-24`}
        value={value}
        onChange={(event) => setValue(event.target.value)}
        aria-label="Value"
        placeholder="value"
      />
      <button
        type="submit"
        className="rounded-md border border-slate-300 px-2 py-1 font-medium hover:bg-slate-100 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-slate-700 dark:hover:bg-slate-800"
      >
        Add filter
      </button>
      {error ? (
        <span role="alert" className="text-red-700 dark:text-red-300">
          {error}
        </span>
      ) : null}
    </form>
  );
}
