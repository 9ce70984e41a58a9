/** @module Verifying client JWTs (HS256 secret or a JWKS), and signing demo tokens. */
import { createRemoteJWKSet, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { AuthConfig } from "../config.ts";
import { isValidId } from "../storage/ids.ts";

/** The identity a verified token carries. */
export interface Claims {
  sub: string;
  name?: string;
  picture?: string | null;
}

/** Verifies a token, resolving with its claims or null when it must be refused. */
export type Verifier = (token: string) => Promise<Claims | null>;

const NAME_LENGTH = 100;

/** Tokens whose verification is remembered, at most. */
const REMEMBERED_TOKENS = 10_000;

/** A verified token's claims and when it expires (epoch seconds). */
interface Verified {
  claims: Claims;
  exp: number;
}

/**
 * Builds the verifier for the configured identity provider. In demo mode the
 * caller passes the generated secret. A token that verified is remembered
 * until its `exp` (a token string verifies the same way every time), so a
 * client's requests do not each pay for the signature check; with a JWKS, a key
 * withdrawn from the set still admits the tokens already seen until they expire.
 */
export function createVerifier(auth: AuthConfig, demoSecret?: string): Verifier {
  const verify = signatureVerifier(auth, demoSecret);
  const remembered = new Map<string, Verified>();
  return async (token) => {
    const seconds = Date.now() / 1000;
    const known = remembered.get(token);
    if (known && known.exp > seconds) return known.claims;
    remembered.delete(token);
    const verified = await verify(token);
    if (!verified) return null;
    if (remembered.size >= REMEMBERED_TOKENS) remembered.delete(remembered.keys().next().value!);
    remembered.set(token, verified);
    return verified.claims;
  };
}

function signatureVerifier(
  auth: AuthConfig,
  demoSecret?: string,
): (token: string) => Promise<Verified | null> {
  const options = {
    issuer: auth.kind === "demo" ? undefined : auth.issuer,
    audience: auth.kind === "demo" ? undefined : auth.audience,
    requiredClaims: ["sub", "exp"],
  };
  if (auth.kind === "jwks") {
    const jwks = createRemoteJWKSet(auth.jwksUrl);
    return (token) => claimsOf(jwtVerify(token, jwks, { ...options, algorithms: ["RS256", "ES256"] }));
  }
  const secret = auth.kind === "hs256" ? auth.secret : demoSecret;
  if (!secret) throw new TypeError("Demo mode needs its generated secret");
  const key = new TextEncoder().encode(secret);
  return (token) => claimsOf(jwtVerify(token, key, { ...options, algorithms: ["HS256"] }));
}

async function claimsOf(verified: Promise<{ payload: JWTPayload }>): Promise<Verified | null> {
  let payload: JWTPayload;
  try {
    payload = (await verified).payload;
  } catch {
    return null; // expired, wrong key, wrong alg, malformed: all the same 401
  }
  if (typeof payload.sub !== "string" || !isValidId(payload.sub)) return null;
  const name = typeof payload.name === "string" ? payload.name.trim().slice(0, NAME_LENGTH) : "";
  const picture = typeof payload.picture === "string" && isHttpUrl(payload.picture)
    ? payload.picture
    : undefined;
  const claims = { sub: payload.sub, ...(name ? { name } : {}), ...(picture ? { picture } : {}) };
  return { claims, exp: payload.exp! }; // jose required `exp` and checked it
}

/** Signs an HS256 token for the dev login, valid for `ttlSeconds`. */
export async function signToken(
  secret: string,
  claims: Claims,
  ttlSeconds: number,
): Promise<string> {
  const payload: JWTPayload = { name: claims.name };
  if (claims.picture) payload.picture = claims.picture;
  return await new SignJWT(payload)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(new TextEncoder().encode(secret));
}

/** Whether `value` is an absolute http(s) URL of reasonable length. */
export function isHttpUrl(value: string): boolean {
  if (value.length > 2048 || !URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === "http:" || protocol === "https:";
}
