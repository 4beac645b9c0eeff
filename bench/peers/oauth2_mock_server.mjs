// oauth2-mock-server on loopback for the benchmark: prints "listening issuer=URL".
import { OAuth2Server } from 'oauth2-mock-server';

const server = new OAuth2Server();
await server.issuer.keys.generate('RS256');
await server.start(0, '127.0.0.1');
console.log(`listening issuer=${server.issuer.url}`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, async () => { await server.stop(); process.exit(0); });
