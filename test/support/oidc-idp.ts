import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

/** A person the test identity provider signs in, and how (amr/acr) it says they authenticated. */
export interface IdpAccount {
  sub: string;
  username: string;
  name: string;
  groups: string[];
  amr: string[];
  acr?: string;
}

export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Chooses who the next login at the IdP signs in as (the IdP's own login page is skipped). */
  loginAs(sub: string): void;
  close(): Promise<void>;
}

/**
 * A real OpenID Provider (panva/oidc-provider) on loopback over HTTPS, with one confidential client.
 * Its interaction endpoint signs in the chosen account and grants consent without a page, reporting
 * the account's amr/acr in the ID token, so tests can drive SSO with and without MFA evidence.
 */
export async function startTestIdp(options: {
  tls: { certPem: string; keyPem: string };
  redirectUri: string;
  accounts: IdpAccount[];
}): Promise<TestIdp> {
  const clientId = 'palisade';
  const clientSecret = 'test-client-secret-not-for-production';
  const accounts = new Map(options.accounts.map((a) => [a.sub, a]));
  let next = options.accounts[0]!.sub;

  const server = https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const issuer = `https://localhost:${port}`;

  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    // Like most enterprise IdPs, report how the user authenticated in every ID token.
    claims: { openid: ['sub', 'acr', 'amr'], profile: ['name', 'preferred_username', 'groups'] },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    cookies: { keys: ['test-idp-cookie-key-0123456789abcdef'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx, sub) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          name: account.name,
          preferred_username: account.username,
          groups: account.groups,
        }),
      };
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.proxy = false;

  const callback = provider.callback();
  server.on('request', (req, res) => {
    const m = /^\/interaction\/([^/?]+)/.exec(req.url ?? '');
    if (!m) {
      void callback(req, res);
      return;
    }
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        const account = accounts.get(next)!;
        if (details.prompt.name === 'login') {
          await provider.interactionFinished(
            req,
            res,
            { login: { accountId: account.sub, amr: account.amr, ...(account.acr && { acr: account.acr }) } },
            { mergeWithLastSubmission: false },
          );
          return;
        }
        const grant = new provider.Grant({ accountId: account.sub, clientId });
        grant.addOIDCScope('openid profile email');
        grant.addOIDCClaims(['name', 'preferred_username', 'groups', 'amr', 'acr']);
        const grantId = await grant.save();
        await provider.interactionFinished(
          req,
          res,
          { consent: { grantId } },
          { mergeWithLastSubmission: true },
        );
      } catch (err) {
        res.statusCode = 500;
        res.end(String(err));
      }
    })();
  });

  return {
    issuer,
    clientId,
    clientSecret,
    loginAs(sub) {
      if (!accounts.has(sub)) throw new Error(`no IdP account ${sub}`);
      next = sub;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
