import { jwtVerify, SignJWT } from "jose";

export interface TokenClaims {
  userId: string;
  /** The user's session epoch when the token was issued; logOutEverywhere bumps it. */
  epoch: number;
  /** This sign-in's id, which logOut revokes; null in tokens issued before sessions had ids. */
  sessionId: string | null;
}

export interface VerifiedClaims extends TokenClaims {
  /** When the token expires, in ms since the epoch. */
  expiresAt: number;
}

export interface TokenService {
  issue(claims: TokenClaims): Promise<string>;
  /** Returns null for a malformed, forged or expired token. */
  verify(token: string): Promise<VerifiedClaims | null>;
}

export function createTokenService(secret: string, ttl: string, cacheSize = 10_000): TokenService {
  const key = new TextEncoder().encode(secret);
  // A token's signature check always gives the same answer: remember recent ones (with their
  // expiry) instead of running HMAC on every request. Logout is still checked per request.
  const verified = new Map<string, VerifiedClaims>();
  return {
    issue: ({ userId, epoch, sessionId }) =>
      new SignJWT({ ep: epoch, sid: sessionId ?? undefined })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(ttl)
        .sign(key),
    async verify(token) {
      const known = verified.get(token);
      if (known && known.expiresAt > Date.now()) return known;
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ["HS256"] });
        if (typeof payload.sub !== "string" || typeof payload.ep !== "number" || typeof payload.exp !== "number")
          return null;
        const sessionId = typeof payload.sid === "string" ? payload.sid : null;
        const claims = { userId: payload.sub, epoch: payload.ep, sessionId, expiresAt: payload.exp * 1000 };
        verified.set(token, claims);
        if (verified.size > cacheSize) verified.delete(verified.keys().next().value!);
        return claims;
      } catch {
        return null;
      }
    },
  };
}
