// oauth2-mock-server 8.2.3 (npm, pinned in package-lock.json) on loopback for renewlab
// probe's tests: a permissive mock that stores nothing (any refresh token is accepted,
// introspection says active, revocation answers 200). Prints "listening issuer=URL port=N"
// once it accepts connections; SIGTERM stops it.
import { OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
await server.start(0, '127.0.0.1');
const port = new URL(server.issuer.url).port;
console.log(`listening issuer=${server.issuer.url} port=${port}`);
process.on('SIGTERM', async () => { await server.stop(); process.exit(0); });
