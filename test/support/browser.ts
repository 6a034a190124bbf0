import { createHash, X509Certificate } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Debian's Chromium, headless, trusting exactly one certificate (by its public key) so that pages of
 * the test server are a secure context — WebAuthn and MSE refuse pages with certificate errors.
 */
export async function launchChromium(trustCertPem: string): Promise<Browser> {
  const spki = new X509Certificate(trustCertPem).publicKey.export({ type: 'spki', format: 'der' });
  const pin = createHash('sha256').update(spki).digest('base64');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--ignore-certificate-errors-spki-list=${pin}`,
    ],
  });
}
