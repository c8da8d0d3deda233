// Errors of the public API in OpenAI's shape: an HTTP status and `{ error: { message, type, param,
// code } }`, so that OpenAI clients (through engineFetch) and direct callers read them the same way.

export type ApiErrorType = 'invalid_request_error' | 'not_found_error' | 'server_error';

/** The JSON body OpenAI sends with an error status. */
export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

export class ApiError extends Error {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly code: string | null;
  constructor(status: number, type: ApiErrorType, message: string, opts: { param?: string | null; code?: string | null } = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.param = opts.param ?? null;
    this.code = opts.code ?? null;
  }

  static invalid(message: string, param: string | null = null, code: string | null = null): ApiError {
    return new ApiError(400, 'invalid_request_error', message, { param, code });
  }

  toJSON(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Any failure as an ApiError: engine errors (worker codes) become server errors that keep their code. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : 'internal_error';
  const message = e instanceof Error ? e.message : String(e);
  if (code === 'BAD_REQUEST') return new ApiError(400, 'invalid_request_error', message, { code });
  // The engine has no bundle (yet, or any more): the request may succeed later.
  const status = code === 'NOT_READY' || code === 'DISPOSED' || code === 'UNLOADED' ? 503 : 500;
  return new ApiError(status, 'server_error', message, { code });
}
