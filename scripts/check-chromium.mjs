// Run before the browser tests (`npm run test:e2e`): Playwright cannot download a browser here,
// so it drives the system Chromium. Fail loudly when there is none rather than skip the tests.
import { accessSync, constants } from "node:fs";

const candidates = process.env.CHROMIUM_PATH
  ? [process.env.CHROMIUM_PATH]
  : ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const found = candidates.find(isExecutable);
if (!found) {
  const looked = candidates.join(", ");
  console.error(
    [
      `No Chromium executable found (looked at ${looked}).`,
      "The browser tests need one. Install Debian's Chromium:",
      "  sudo apt-get install -y chromium",
      "or point CHROMIUM_PATH at an existing Chromium or Chrome binary:",
      "  CHROMIUM_PATH=/path/to/chromium npm run test:e2e",
    ].join("\n"),
  );
  process.exit(1);
}
console.log(`Chromium for the browser tests: ${found}`);
