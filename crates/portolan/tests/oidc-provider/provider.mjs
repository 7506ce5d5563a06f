// A real OpenID provider (the `oidc-provider` package) for Portolan's sign-in tests; started and stopped by
// `crates/portolan/tests/support/oidc.rs`. Not for anything but tests: in-memory storage, throwaway signing keys,
// and the package's built-in development login and consent forms (any password is accepted).
//
// Environment:
//   PORT                 port on 127.0.0.1 (0 = let the OS pick one)
//   CLIENTS              JSON array of {client_id, client_secret, redirect_uris}
//   ID_TOKEN_TTL_SECS    lifetime of ID tokens (default 3600)
//
// Prints `oidc-provider listening on http://127.0.0.1:PORT` once ready; exits when stdin closes or on SIGTERM.

import http from 'node:http';

// The package announces its development-only defaults (in-memory adapter, generated keys, dev interactions, Node 20)
// on every start; those are the point of this file, so keep them out of the test output. Anything else gets through.
for (const level of ['info', 'warn']) {
  const original = console[level];
  console[level] = (first, ...rest) => {
    if (typeof first === 'string' && /^oidc-provider (NOTICE|WARNING): /.test(first)) return;
    original(first, ...rest);
  };
}
// Imported after the filter above so that the import-time "unsupported runtime" warning is filtered too.
const { default: Provider } = await import('oidc-provider');

// The demo catalog's people, all at northwind.example, plus two who test the portal's matching:
// `stranger` is unknown to the catalog; `bob-by-name` has an unknown email but the catalog's user name `bob`.
const DEMO_USERS = [
  'priya', 'kwame', 'alice', 'sofia', 'hiroshi', 'aisha', 'fatima', 'liam', 'mei', 'mateus',
  'bob', 'jonas', 'amara', 'diego', 'ingrid', 'ravi', 'zainab', 'tomasz', 'leilani', 'noah',
];
const capitalised = (word) => word[0].toUpperCase() + word.slice(1);
const ACCOUNTS = new Map(DEMO_USERS.map((name) => [name, {
  email: `${name}@northwind.example`, email_verified: true, name: capitalised(name), preferred_username: name,
}]));
ACCOUNTS.set('stranger', {
  email: 'stranger@elsewhere.example', email_verified: true, name: 'Stranger', preferred_username: 'stranger',
});
ACCOUNTS.set('bob-by-name', {
  email: 'bob.personal@gmail.example', email_verified: true, name: 'Bob', preferred_username: 'bob',
});

const clients = JSON.parse(process.env.CLIENTS ?? '[]').map(({ client_id, client_secret, redirect_uris }) => ({
  client_id,
  client_secret,
  redirect_uris,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
}));
const idTokenTtl = Number(process.env.ID_TOKEN_TTL_SECS ?? 3600);

// Listen first: with PORT=0 the issuer's port is only known once the socket is bound.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', resolve);
});
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients,
  responseTypes: ['code'],
  // Every client must send an S256 code challenge (S256 is the only method oidc-provider 9 knows).
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // Put the scopes' claims in the ID token itself, not only behind the userinfo endpoint.
  conformIdTokenClaims: false,
  // The login name typed in the development login form is the account id. An unknown name is accepted by the form
  // but then fails the authorization with a server_error (500).
  async findAccount(ctx, id) {
    const claims = ACCOUNTS.get(id);
    return claims && { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['portolan-tests-only-cookie-key'] },
  ttl: {
    AuthorizationCode: 60,
    AccessToken: 3600,
    IdToken: idTokenTtl,
    Interaction: 3600,
    Session: 3600,
    Grant: 3600,
  },
});
// Errors of the provider itself (not a client's bad request) would otherwise only reach the browser as a 500.
provider.on('server_error', (ctx, error) => console.error('oidc-provider server_error:', error));
server.on('request', provider.callback());

console.log(`oidc-provider listening on ${issuer}`);

// The Rust side keeps our stdin open for as long as it wants us; it closes when that process ends, however it ends.
const stop = () => process.exit(0);
process.stdin.on('end', stop).on('close', stop).resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
