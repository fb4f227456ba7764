import { useState, type FormEvent } from "react";
import { Client, fetchExchange } from "@urql/core";
import { byHash } from "./client";
import { explain } from "./errors";
import { LogIn, SignUp } from "./operations";

const anonymous = new Client({ url: "/graphql", exchanges: [byHash(), fetchExchange], preferGetMethod: false });

/** Sign up or log in; hands the token to the app. */
export function Auth({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [mode, setMode] = useState<"logIn" | "signUp">("logIn");
  const [error, setError] = useState<string | null>(null);
  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const username = String(form.get("username"));
    const password = String(form.get("password"));
    const result =
      mode === "signUp"
        ? await anonymous
            .mutation(SignUp, { username, password, displayName: String(form.get("displayName")) })
            .toPromise()
        : await anonymous.mutation(LogIn, { username, password }).toPromise();
    const token = result.data && ("signUp" in result.data ? result.data.signUp.token : result.data.logIn.token);
    if (token) onSignedIn(token);
    else setError(explain(result.error));
  }
  return (
    <form className="auth" onSubmit={submit} aria-label={mode === "signUp" ? "Sign up" : "Log in"}>
      <h1>{mode === "signUp" ? "Create an account" : "Log in"}</h1>
      <label>
        Username <input name="username" autoComplete="username" required />
      </label>
      {mode === "signUp" && (
        <label>
          Display name <input name="displayName" required />
        </label>
      )}
      <label>
        Password <input name="password" type="password" autoComplete="current-password" required minLength={8} />
      </label>
      {error && <p role="alert">{error}</p>}
      <button type="submit">{mode === "signUp" ? "Sign up" : "Log in"}</button>
      <button type="button" className="link" onClick={() => setMode(mode === "signUp" ? "logIn" : "signUp")}>
        {mode === "signUp" ? "I have an account" : "Create an account"}
      </button>
    </form>
  );
}
