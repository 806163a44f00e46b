// Types of auth.js for the TypeScript tests (the page itself runs the plain JS).
export function randomString(bytes?: number): string;
export function codeChallenge(verifier: string): Promise<string>;
export function claimsOf(jwt: string): Record<string, unknown>;
export function currentToken(): string | undefined;
export function currentUser(): string | undefined;
export function initAuth(auth: unknown): Promise<{ signedIn: boolean; local: boolean }>;
export function signIn(force: boolean): Promise<void>;
export function signOut(): void;
