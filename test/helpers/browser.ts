// A real browser for the dashboard tests: Debian's chromium (`scripts/services.sh up chromium`) driven by
// playwright-core through `executablePath` (playwright cannot download its own browser here). Every request the
// page makes is recorded, and any that leaves 127.0.0.1 is blocked and kept for the test to fail on. A step that
// fails leaves a screenshot in test-results/ui/.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { REPO } from "./cli.js";

const CHROMIUM = process.env.FERRY_TEST_CHROMIUM ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(REPO, "test-results", "ui");

/** The browser's path, or why the tests are skipped (under CI=true a missing browser is a failure, not a skip). */
export function chromiumOrSkip(): string | false {
  if (existsSync(CHROMIUM)) return false;
  const why = `no chromium at ${CHROMIUM} (scripts/services.sh up chromium installs Debian's)`;
  if (process.env.CI === "true") throw new Error(why);
  return why;
}

/** A headless chromium with one page, and what the page asked for. */
export interface TestBrowser {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Every URL the page requested. */
  requests: string[];
  /** Requests to anything but 127.0.0.1 (blocked). */
  offHost: string[];
  /** Runs a step; on failure keeps a screenshot named after it and rethrows (with the screenshot's path). */
  step<T>(name: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const isLocal = (url: string) => {
  const u = new URL(url);
  return u.hostname === "127.0.0.1" || u.protocol === "data:" || u.protocol === "about:";
};

export async function openBrowser(): Promise<TestBrowser> {
  // root needs --no-sandbox; the rest keeps chromium from calling home (updates, metrics, safe browsing).
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const requests: string[] = [];
  const offHost: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    requests.push(url);
    if (isLocal(url)) return route.continue();
    offHost.push(url);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    browser,
    context,
    page,
    requests,
    offHost,
    async step(name, fn) {
      try {
        return await fn();
      } catch (err) {
        const file = join(SCREENSHOTS, `${name.replace(/[^a-z0-9-]+/gi, "-")}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
        if (err instanceof Error) err.message += `\n(screenshot of the page: ${file})`;
        throw err;
      }
    },
    close: () => browser.close(),
  };
}
