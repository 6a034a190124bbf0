import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { totpCode } from '../support/api-client.js';
import type { TestServer } from '../support/server.js';
import { tempDir } from '../support/tmp.js';

/**
 * Screenshots go to docs/console/ (committed, referenced from docs/console.md) only when
 * UPDATE_SCREENSHOTS=1: PNGs differ byte-wise on every run (times, ids), so a normal test run writes
 * them to a temporary folder and leaves the work tree clean. Regenerate the docs with
 * `UPDATE_SCREENSHOTS=1 npm test -- console` (not a PALISADE_ variable: those are configuration overrides).
 */
export const SCREENSHOT_DIR =
  process.env.UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../../docs/console/', import.meta.url))
    : tempDir('palisade-screenshots-');
mkdirSync(SCREENSHOT_DIR, { recursive: true });

export const VIEWPORT = { width: 1440, height: 900 };

export interface ConsoleTab {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions seen so far, except those the test declared expected. */
  errors: string[];
  /** Lets through Chromium's own log line for a request the test made fail on purpose. */
  expectFailedRequest(status: number): void;
}

/** A fresh browser profile (its own cookies) with the console open, collecting its errors. */
export async function openConsole(browser: Browser, server: TestServer): Promise<ConsoleTab> {
  const context = await browser.newContext({ viewport: VIEWPORT, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  const expected: number[] = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const failed = /Failed to load resource: the server responded with a status of (\d+)/.exec(text);
    const at = failed ? expected.indexOf(Number(failed[1])) : -1;
    if (at >= 0) expected.splice(at, 1);
    else errors.push(text);
  });
  page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  await page.goto(`https://localhost:${server.palisade.port}/`);
  return { context, page, errors, expectFailedRequest: (status) => expected.push(status) };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`) });
}

/** Signs in through the console's own form: notice, password, TOTP code. */
export async function signIn(
  page: Page,
  username: string,
  password: string,
  totpSecret: string,
): Promise<void> {
  await page.getByLabel('I have read the notice and accept it').check();
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Second factor' }).waitFor();
  await page.getByLabel('Six-digit code').fill(totpCode(totpSecret));
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

export async function goTo(page: Page, title: string): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name: title, exact: true })
    .click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
}

/** The visible navigation: group headings and their links, in order. */
export async function navigation(page: Page): Promise<Record<string, string[]>> {
  // A string, evaluated in the page: the test project compiles without the DOM library.
  return page.evaluate(`(() => {
    const out = {};
    for (const group of document.querySelectorAll('nav[aria-label="Main"] .navgroup')) {
      out[group.querySelector('h2').textContent] = [...group.querySelectorAll('a')].map((a) => a.textContent);
    }
    return out;
  })()`);
}

const INTERACTIVE = new Set([
  'button',
  'link',
  'textbox',
  'searchbox',
  'combobox',
  'listbox',
  'checkbox',
  'radio',
  'switch',
  'slider',
  'spinbutton',
  'tab',
  'menuitem',
  'option',
]);

/**
 * Every interactive element has an accessible name, as Chromium itself computes it (the same tree a
 * screen reader gets), and every image-like element too.
 */
export async function assertAllControlsNamed(page: Page, where: string): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
      nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[];
    };
    const controls = nodes.filter((n) => !n.ignored && INTERACTIVE.has(n.role?.value ?? ''));
    const unnamed = controls.filter((n) => (n.name?.value ?? '').trim() === '').map((n) => n.role?.value);
    assert.deepEqual(unnamed, [], `${where}: controls without an accessible name`);
    const images = nodes.filter((n) => !n.ignored && ['image', 'img'].includes(n.role?.value ?? ''));
    for (const img of images)
      assert.ok((img.name?.value ?? '').trim() !== '', `${where}: an image without a name`);
    return controls.length;
  } finally {
    await cdp.detach();
  }
}

/**
 * Tabs through the page and checks that each focused control shows a focus indicator: a visible
 * outline (at least 2 px, not `none`) or a box shadow.
 */
export async function assertFocusVisible(page: Page, where: string, presses = 6): Promise<void> {
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  let checked = 0;
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    const style = await page.evaluate<
      { tag: string; label: string; outline: string; width: number; shadow: string } | undefined
    >(`(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return undefined;
      const s = getComputedStyle(el);
      return {
        tag: el.tagName,
        label: el.getAttribute('aria-label') ?? el.textContent?.slice(0, 30) ?? '',
        outline: s.outlineStyle,
        width: parseFloat(s.outlineWidth),
        shadow: s.boxShadow,
      };
    })()`);
    if (!style) continue;
    checked++;
    const visible = (style.outline !== 'none' && style.width >= 2) || style.shadow !== 'none';
    assert.ok(
      visible,
      `${where}: focus on ${style.tag} "${style.label}" is not visible (${JSON.stringify(style)})`,
    );
  }
  assert.ok(checked > 0, `${where}: Tab reached no control`);
}
