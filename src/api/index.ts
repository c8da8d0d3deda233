// The library's entry point (`import { createEngine } from 'twinmerge'`): the engine in a Web Worker
// with OpenAI-style chat completions, the fetch adapter for OpenAI clients, and the types they use.
// docs/api.md documents all of it.
export { createEngine, TwinmergeEngine, EngineError, type CreateEngineOptions, type EngineNotice, type LoadOptions, type ModelCard, type RequestOptions, type StartOptions } from './engine.ts';
export { engineFetch } from './engineFetch.ts';
export { ApiError, type ApiErrorBody, type ApiErrorType } from './apiError.ts';
export { EXPERT_MODEL_PREFIX, STATIC_MODEL, TWIN_MODEL, requestSettings, type ChatCompletionRequest, type ChatMessageParam } from './chatRequest.ts';
export type { ChatCompletion, ChatCompletionChunk, FinishReason, TwinmergeResult, TwinmergeRouted, Usage } from './chatResponse.ts';
export type { CompareStep, ExpertsChange, NewExpert } from './engineClient.ts';
export { DEFAULT_SETTINGS, type AddedExpert, type AddProgress, type Confidence, type BackendInfo, type BackendPreference, type BundleCheckInfo, type BundleInfo, type DroppedFile, type EngineLoadProgress, type ExpertInfo, type GenerationSettings, type InspectedExpert, type MemoryReport, type Timings, type Variant } from '../worker/protocol.ts';
