import { jwtVerify, SignJWT } from "jose";

export interface TokenClaims {
  userId: string;
  /** The user's session epoch when the token was issued; logout bumps it. */
  epoch: number;
}

export interface TokenService {
  issue(claims: TokenClaims): Promise<string>;
  /** Returns null for a malformed, forged or expired token. */
  verify(token: string): Promise<TokenClaims | null>;
}

export function createTokenService(secret: string, ttl: string): TokenService {
  const key = new TextEncoder().encode(secret);
  return {
    issue: ({ userId, epoch }) =>
      new SignJWT({ ep: epoch }).setProtectedHeader({ alg: "HS256" }).setSubject(userId).setIssuedAt().setExpirationTime(ttl).sign(key),
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, key, { algorithms: ["HS256"] });
        if (typeof payload.sub !== "string" || typeof payload.ep !== "number") return null;
        return { userId: payload.sub, epoch: payload.ep };
      } catch {
        return null;
      }
    },
  };
}
