// The typed messages between the UI thread and the engine worker. The UI imports only these types.
import type { BackendInfo, BackendPreference } from '../runtime/backendProbe.ts';

export type { BackendInfo, BackendPreference };

export type WorkerRequest = { id: number } & { type: 'probe'; preference: BackendPreference };

export interface WorkerError {
  code: string;
  message: string;
}

export type WorkerResponse =
  | { id: number; type: 'probe-result'; backend: BackendInfo }
  | { id: number; type: 'error'; error: WorkerError };

export type ResponseFor<T extends WorkerRequest['type']> = T extends 'probe'
  ? Extract<WorkerResponse, { type: 'probe-result' }>
  : never;
