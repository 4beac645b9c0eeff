// oidc-provider (panva) on loopback for renewlab probe's tests: one confidential client,
// refresh tokens with offline_access, rotation on or off (ROTATION=on|off), dev
// interactions (a test drives them with login.mjs). Prints "listening issuer=URL".
import http from 'node:http';
import Provider from 'oidc-provider';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`oidc-provider peer: Node >= 20.19 needed, found ${process.versions.node}`);
  process.exit(2);
}
const rotate = process.env.ROTATION === 'on';
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'probe',
      client_secret: 'probe-secret',
      redirect_uris: ['http://127.0.0.1:8080/callback'],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }],
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    rotateRefreshToken: () => rotate,
    cookies: { keys: ['renewlab-peer-only'] },
    findAccount: async (ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    claims: { openid: ['sub'] },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  console.log(`listening issuer=${issuer}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
