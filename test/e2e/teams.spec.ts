import path from "node:path";
import { expect, request, test, type Browser, type BrowserContext, type Locator, type Page } from "@playwright/test";

/**
 * Teams with sign-in on, in a real browser, against the second web server of playwright.config.ts:
 * a fresh instance started by `npm start`'s command with SCALEBOARD_AUTH=on and no accounts yet.
 * An admin signs up first, invites a viewer, and the server refuses what a viewer, another site
 * or a revoked credential must not do.
 */

const authPort = process.env.E2E_AUTH_PORT;
if (!authPort) throw new Error("E2E_AUTH_PORT is not set: run these tests through playwright.config.ts");
// The address `npm start` prints ("Scaleboard is running at http://localhost:PORT"). Not 127.0.0.1:
// without SCALEBOARD_PUBLIC_URL, better-auth trusts only the origin of the URL Next.js hands the
// route handler, which is always http://localhost:PORT, and answers 403 "Invalid origin" to a
// sign-up or sign-in sent from any other origin.
const authBase = `http://localhost:${authPort}`;

const ADMIN = { name: "Ada Admin", email: "ada@example.com", password: "ada-correct-horse-1" };
const VIEWER = { name: "Vic Viewer", email: "vic@example.com", password: "vic-battery-staple-2" };
const TEAM_NAME = "Ada's team";
const PROJECT_NAME = "Width scaling";

// Any console error or uncaught exception fails the test, as in shell.spec.ts. The only ones let
// through are the failed-resource lines for requests a test makes on purpose to be refused,
// each announced with expectRefusal() just before it is made.
type BrowserError = { text: string; url: string; page: string };
type ExpectedError = { status: number; url: string };
let browserErrors: BrowserError[] = [];
let expectedErrors: ExpectedError[] = [];

function watch(page: Page, who: string) {
  page.on("console", (message) => {
    if (message.type() === "error")
      browserErrors.push({ text: `console.error: ${message.text()}`, url: message.location().url, page: who });
  });
  page.on("pageerror", (error) => browserErrors.push({ text: `page error: ${error.message}`, url: "", page: who }));
}

function expectRefusal(status: number, url: string) {
  expectedErrors.push({ status, url });
}

/** The errors left once each announced refusal has excused at most one matching failed-resource line. */
function unexpectedErrors(): string[] {
  const pending = [...expectedErrors];
  return browserErrors
    .filter((error) => {
      const index = pending.findIndex(
        (expected) =>
          error.url === expected.url &&
          error.text.includes(`Failed to load resource: the server responded with a status of ${expected.status}`),
      );
      if (index === -1) return true;
      pending.splice(index, 1);
      return false;
    })
    .map((error) => `[${error.page}] ${error.text} (${error.url})`);
}

/** Clicks and typing are lost (or submit the form natively) until React has hydrated the element. */
async function hydrated(locator: Locator): Promise<Locator> {
  await expect
    .poll(() => locator.evaluate((element) => Object.keys(element).some((key) => key.startsWith("__reactProps$"))), {
      message: "React has hydrated the element",
    })
    .toBe(true);
  return locator;
}

async function signUp(page: Page, person: { name: string; email: string; password: string }) {
  const submit = page.getByRole("button", { name: "Sign up", exact: true });
  await hydrated(submit);
  await page.getByLabel("Name", { exact: true }).fill(person.name);
  await page.getByLabel("Email", { exact: true }).fill(person.email);
  await page.getByLabel("Password").fill(person.password);
  await submit.click();
}

async function openSettings(page: Page) {
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Team" }).click();
  await expect(page).toHaveURL(`${authBase}/settings`);
  await expect(page.getByRole("heading", { level: 1, name: TEAM_NAME })).toBeVisible();
}

/** Creates an invite link for `role` on the admin's open settings page and returns it. */
async function createInvite(page: Page, role: "viewer" | "editor" | "admin", previous: string | null): Promise<string> {
  const invites = page.getByTestId("invites");
  await invites.getByRole("combobox", { name: "Role", exact: true }).selectOption(role);
  await (await hydrated(invites.getByRole("button", { name: "Create invite link" }))).click();
  const shown = invites.getByTestId("invite-link");
  await expect(shown).toHaveText(new RegExp(`^${authBase.replaceAll(".", "\\.")}/invite/\\S+$`));
  if (previous) await expect(shown).not.toHaveText(previous);
  return (await shown.textContent())!.trim();
}

function projectListUrl(teamId: string): string {
  return `${authBase}/api/trpc/project.list?input=${encodeURIComponent(JSON.stringify({ json: { teamId } }))}`;
}

test.describe("teams with sign-in on", () => {
  test.describe.configure({ mode: "serial" });

  let admin: BrowserContext;
  let viewer: BrowserContext;
  let adminPage: Page;
  let viewerPage: Page;
  let teamId = "";
  let firstInvite = "";

  async function newContext(browser: Browser, who: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ colorScheme: "light" });
    const page = await context.newPage();
    watch(page, who);
    return { context, page };
  }

  test.beforeAll(async ({ browser }) => {
    ({ context: admin, page: adminPage } = await newContext(browser, "admin"));
    ({ context: viewer, page: viewerPage } = await newContext(browser, "viewer"));
  });

  test.afterAll(async () => {
    await admin?.close();
    await viewer?.close();
  });

  test.beforeEach(() => {
    browserErrors = [];
    expectedErrors = [];
  });

  test.afterEach(() => {
    expect(unexpectedErrors(), "the browser reported errors").toEqual([]);
  });

  test("the first account signs up, gets a team as its admin and creates a project", async () => {
    const page = adminPage;
    await page.goto(`${authBase}/`);
    await expect(page).toHaveURL(`${authBase}/sign-up`);
    await expect(page.getByRole("heading", { level: 1, name: "Create your account" })).toBeVisible();
    await expect(page.getByTestId("first-account")).toBeVisible();
    // Sign-in is on: no local-mode banner.
    await expect(page.getByTestId("local-mode-banner")).toHaveCount(0);

    await signUp(page, ADMIN);
    await expect(page).toHaveURL(`${authBase}/`);
    await expect(page.getByRole("heading", { level: 1, name: "Projects" })).toBeVisible();
    await expect(page.getByTestId("signed-in-as")).toHaveText(ADMIN.name);
    const switcher = page.getByTestId("team-switcher");
    await expect(switcher.locator("option:checked")).toHaveText(`${TEAM_NAME} (admin)`);
    teamId = await switcher.inputValue();
    expect(teamId).not.toBe("");
    await expect(page.getByTestId("empty-projects")).toBeVisible();

    const submit = await hydrated(page.getByRole("button", { name: "New project", exact: true }));
    await page.getByLabel("New project name").fill(PROJECT_NAME);
    await submit.click();
    const projects = page.getByTestId("project-list").getByRole("listitem");
    await expect(projects).toHaveCount(1);
    await expect(projects.getByRole("heading", { name: PROJECT_NAME })).toBeVisible();
  });

  test("the admin creates a viewer invite link", async () => {
    const page = adminPage;
    await openSettings(page);
    await expect(page.getByTestId("my-role")).toHaveText("admin");
    await expect(page.getByTestId("member-row")).toHaveCount(1);
    await expect(page.getByTestId("api-keys")).toBeVisible();

    firstInvite = await createInvite(page, "viewer", null);
    const rows = page.getByTestId("invite-row");
    await expect(rows).toHaveCount(1);
    await expect(rows.first()).toHaveAttribute("data-state", "pending");
    await expect(rows.first()).toContainText("viewer");
  });

  test("a new person follows the link, signs up, joins as a viewer and can only read", async () => {
    const page = viewerPage;
    await page.goto(firstInvite);
    await expect(page.getByRole("heading", { level: 1, name: `Join ${TEAM_NAME}` })).toBeVisible();
    await expect(page.getByTestId("invite-role")).toHaveText("viewer");
    await page.getByRole("link", { name: "Create an account" }).click();
    await expect(page).toHaveURL(/\/sign-up\?invite=/);
    // Not the first account any more.
    await expect(page.getByRole("heading", { level: 1, name: "Create your account" })).toBeVisible();
    await expect(page.getByTestId("first-account")).toHaveCount(0);

    await signUp(page, VIEWER);
    await expect(page).toHaveURL(firstInvite);
    const join = await hydrated(page.getByRole("button", { name: `Join ${TEAM_NAME}` }));
    await join.click();

    await expect(page).toHaveURL(`${authBase}/`);
    await expect(page.getByRole("heading", { level: 1, name: "Projects" })).toBeVisible();
    await expect(page.getByTestId("signed-in-as")).toHaveText(VIEWER.name);
    await expect(page.getByTestId("team-switcher").locator("option:checked")).toHaveText(`${TEAM_NAME} (viewer)`);
    expect(await page.getByTestId("team-switcher").inputValue()).toBe(teamId);
    const projects = page.getByTestId("project-list").getByRole("listitem");
    await expect(projects).toHaveCount(1);
    await expect(projects.getByRole("heading", { name: PROJECT_NAME })).toBeVisible();
    await expect(page.getByRole("button", { name: "New project" })).toHaveCount(0);
    await expect(page.getByLabel("New project name")).toHaveCount(0);
    await page.screenshot({
      path: path.join(test.info().project.outputDir, "teams-viewer-projects.png"),
      fullPage: true,
    });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Team" }).click();
    await expect(page).toHaveURL(`${authBase}/settings`);
    await expect(page.getByTestId("my-role")).toHaveText("viewer");
    const members = page.getByTestId("member-row");
    await expect(members).toHaveCount(2);
    await expect(members.filter({ hasText: VIEWER.email }).getByTestId("member-role")).toHaveText("viewer");
    await expect(members.filter({ hasText: ADMIN.email }).getByTestId("member-role")).toHaveText("admin");
    await expect(page.getByRole("combobox", { name: /^Role of / })).toHaveCount(0);
    await expect(page.getByTestId("invites")).toHaveCount(0);
    await expect(page.getByTestId("api-keys")).toHaveCount(0);
    await expect(page.getByRole("button", { name: "Remove" })).toHaveCount(0);

    // The admin sees the invite used and the new member.
    await adminPage.reload();
    await expect(adminPage.getByTestId("member-row")).toHaveCount(2);
    await expect(adminPage.getByTestId("invite-row")).toHaveCount(1);
    await expect(adminPage.getByTestId("invite-row").first()).toHaveAttribute("data-state", "used");
    await expect(adminPage.getByRole("combobox", { name: `Role of ${VIEWER.name}` })).toHaveValue("viewer");
  });

  test("the server refuses a viewer's forged mutation and a cross-site one", async () => {
    const createUrl = `${authBase}/api/trpc/project.create`;
    expectRefusal(403, createUrl);
    const forged = await viewerPage.evaluate(async (teamId) => {
      const response = await fetch("/api/trpc/project.create", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ json: { teamId, name: "Forged by a viewer" } }),
      });
      return { status: response.status, body: await response.json() };
    }, teamId);
    expect(forged.status).toBe(403);
    expect(forged.body.error.json.data.code).toBe("FORBIDDEN");
    expect(forged.body.error.json.message).toContain("editor");

    // The admin's own cookies, but the request claims to come from another site.
    const crossSite = await admin.request.post(createUrl, {
      headers: { "content-type": "application/json", origin: "https://evil.example" },
      data: { json: { teamId, name: "Forged cross-site" } },
    });
    expect(crossSite.status()).toBe(403);
    const refused = await crossSite.json();
    expect(refused.error.json.data.code).toBe("FORBIDDEN");
    expect(refused.error.json.message).toContain("Cross-site request refused");

    // Neither request created anything.
    await adminPage.goto(`${authBase}/`);
    await expect(adminPage.getByRole("heading", { level: 1, name: "Projects" })).toBeVisible();
    const projects = adminPage.getByTestId("project-list").getByRole("listitem");
    await expect(projects).toHaveCount(1);
    await expect(projects.getByRole("heading", { name: PROJECT_NAME })).toBeVisible();
  });

  test("a revoked invite link does not work", async () => {
    const page = adminPage;
    await openSettings(page);
    const second = await createInvite(page, "viewer", firstInvite);
    expect(second).not.toBe(firstInvite);
    const pending = page.getByTestId("invite-row").and(page.locator('[data-state="pending"]'));
    await expect(pending).toHaveCount(1);
    await (await hydrated(pending.getByRole("button", { name: "Revoke" }))).click();
    await expect(page.getByTestId("invite-row").and(page.locator('[data-state="revoked"]'))).toHaveCount(1);
    await expect(pending).toHaveCount(0);
    await expect(page.getByTestId("invite-row")).toHaveCount(2);

    await viewerPage.goto(second);
    await expect(viewerPage.getByTestId("invite-invalid")).toBeVisible();
    await expect(
      viewerPage.getByTestId("invite-invalid").getByRole("heading", { name: "This invite link does not work" }),
    ).toBeVisible();
    await expect(viewerPage.getByRole("button", { name: /^Join / })).toHaveCount(0);
  });

  test("an API key works with a Bearer header until it is revoked", async () => {
    const page = adminPage;
    await openSettings(page);
    const keys = page.getByTestId("api-keys");
    await expect(keys.getByTestId("api-key-row")).toHaveCount(0);
    const create = await hydrated(keys.getByRole("button", { name: "Create key" }));
    await keys.getByRole("textbox", { name: "Name", exact: true }).fill("e2e full key");
    await keys.getByRole("combobox", { name: "Scope", exact: true }).selectOption("full");
    await create.click();
    const shown = keys.getByTestId("new-api-key");
    await expect(shown).toHaveText(/^sb_[A-Za-z0-9]{8}_\S{20,}$/);
    const key = (await shown.textContent())!.trim();
    const row = keys.getByTestId("api-key-row");
    await expect(row).toHaveCount(1);
    await expect(row).toHaveAttribute("data-state", "active");
    await expect(row).toContainText("e2e full key");
    await expect(row).toContainText("full");
    // The row shows the prefix only, never the secret.
    await expect(row).not.toContainText(key);
    await page.screenshot({
      path: path.join(test.info().project.outputDir, "teams-admin-settings.png"),
      fullPage: true,
    });

    // A client with no cookies at all, only the key.
    const client = await request.newContext();
    try {
      const listed = await client.get(projectListUrl(teamId), { headers: { authorization: `Bearer ${key}` } });
      expect(listed.status()).toBe(200);
      const body = await listed.json();
      const items = body.result.data.json.items as { name: string }[];
      expect(items.map((item) => item.name)).toEqual([PROJECT_NAME]);

      // Without the key the same request is not signed in.
      const anonymous = await client.get(projectListUrl(teamId));
      expect(anonymous.status()).toBe(401);

      await (await hydrated(row.getByRole("button", { name: "Revoke" }))).click();
      await expect(row).toHaveAttribute("data-state", "revoked");
      await expect(row.getByRole("button", { name: "Revoke" })).toHaveCount(0);

      const afterRevoke = await client.get(projectListUrl(teamId), { headers: { authorization: `Bearer ${key}` } });
      expect(afterRevoke.status()).toBe(401);
      const refused = await afterRevoke.json();
      expect(refused.error.json.data.code).toBe("UNAUTHORIZED");
    } finally {
      await client.dispose();
    }
  });

  test("signing out leads to the sign-in page and keeps the app closed", async () => {
    for (const page of [adminPage, viewerPage]) {
      await page.goto(`${authBase}/`);
      await expect(page.getByRole("heading", { level: 1, name: "Projects" })).toBeVisible();
      await (await hydrated(page.getByRole("button", { name: "Sign out" }))).click();
      await expect(page).toHaveURL(`${authBase}/sign-in`);
      await expect(page.getByRole("heading", { level: 1, name: "Sign in to Scaleboard" })).toBeVisible();
      await expect(page.getByRole("button", { name: "Sign out" })).toHaveCount(0);
      await expect(page.getByTestId("team-switcher")).toHaveCount(0);

      // With accounts present, a signed-out visitor is sent to sign in, not to create the first account.
      await page.goto(`${authBase}/settings`);
      await expect(page).toHaveURL(`${authBase}/sign-in`);
      await page.goto(`${authBase}/`);
      await expect(page).toHaveURL(`${authBase}/sign-in`);
    }
  });
});
