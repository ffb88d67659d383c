import type { RunResult } from '../model.js';
type Out = { run?: RunResult; dir: string; exitCode: number; line?: string };
export async function submitToLava(_: unknown): Promise<Out> { throw new Error('todo'); }
export async function fetchFromLava(_: unknown): Promise<Out> { throw new Error('todo'); }
export async function importDispatcherRun(_: unknown): Promise<Out> { throw new Error('todo'); }
