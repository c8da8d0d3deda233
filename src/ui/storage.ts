// What survives a reload: conversations, settings and the user's own experts, in IndexedDB.
// Stored data is external input too (an older app version may have written it): it is validated
// on the way in, and whatever does not parse is dropped rather than crashing the page.
import { get, set } from 'idb-keyval';
import { z } from 'zod';
import { DEFAULT_SETTINGS, type GenerationSettings } from '../worker/protocol.ts';

const TimingsSchema = z.object({
  routeMs: z.number(),
  composeMs: z.number(),
  firstTokenMs: z.number(),
  tokensPerSecond: z.number(),
  promptTokens: z.number(),
  generatedTokens: z.number(),
});

export const MessageSchema = z.object({
  id: z.string(),
  role: z.enum(['user', 'assistant']),
  content: z.string(),
  status: z.enum(['streaming', 'done', 'stopped', 'error']).optional(),
  error: z.string().optional(),
  routing: z.record(z.string(), z.number()).optional(),
  /** The routed experts' display names when the answer was given (they may be gone or not loaded yet later). */
  routingNames: z.record(z.string(), z.string()).optional(),
  timings: TimingsSchema.optional(),
  /** Whether any enabled expert fitted the message (core/router/confidence.ts). */
  confidence: z.object({ confident: z.boolean(), reason: z.enum(['far', 'uncertain']).optional(), distance: z.number(), topWeight: z.number() }).optional(),
  /** Earlier turns the model did not see (its positions were full). */
  droppedTurns: z.number().int().nonnegative().optional(),
});
export type ChatMessage = z.infer<typeof MessageSchema>;

export const ConversationSchema = z.object({
  id: z.string(),
  title: z.string(),
  messages: z.array(MessageSchema),
  updatedAt: z.number(),
});
export type Conversation = z.infer<typeof ConversationSchema>;

const ConversationsSchema = z.object({ activeId: z.string().nullable(), conversations: z.array(ConversationSchema) });
export type ConversationsState = z.infer<typeof ConversationsSchema>;

const SettingsSchema = z.object({
  temperature: z.number().min(0).max(5),
  topK: z.number().int().min(0),
  topP: z.number().min(0).max(1),
  maxNewTokens: z.number().int().min(1).max(1024),
  routingTemperature: z.number().positive(),
  routingTopK: z.number().int().min(0),
  seed: z.number().int(),
});

export const CustomExpertSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  examplePrompts: z.array(z.string()),
  enabled: z.boolean(),
  /** The bundle it was added to (as opened: its URL); absent for experts stored before bundles could be switched (the demo's). */
  bundle: z.string().optional(),
  files: z.array(z.object({ name: z.string(), bytes: z.instanceof(Uint8Array) })),
  /** The example prompts' router features and the model they were computed with (TwinSession.featureKey). */
  features: z.object({ key: z.string(), vectors: z.array(z.custom<Float32Array>((v) => v instanceof Float32Array)) }).optional(),
});
export type StoredExpert = z.infer<typeof CustomExpertSchema>;

/** A bundle the user opened, for the bundle picker's recent list. */
export const RecentBundleSchema = z.object({ url: z.string().min(1), label: z.string(), openedAt: z.number() });
export type RecentBundle = z.infer<typeof RecentBundleSchema>;

const KEYS = { conversations: 'twinmerge:conversations', settings: 'twinmerge:settings', experts: 'twinmerge:experts', recentBundles: 'twinmerge:recent-bundles' } as const;

async function load<T>(key: string, schema: z.ZodType<T>, fallback: T): Promise<T> {
  try {
    const r = schema.safeParse(await get(key));
    return r.success ? r.data : fallback;
  } catch {
    return fallback; // IndexedDB unavailable (private mode): start fresh, do not break the page
  }
}

export const storage = {
  loadConversations: () => load(KEYS.conversations, ConversationsSchema, { activeId: null, conversations: [] }),
  saveConversations: (s: ConversationsState) => set(KEYS.conversations, s),
  loadSettings: () => load<GenerationSettings>(KEYS.settings, SettingsSchema, DEFAULT_SETTINGS),
  saveSettings: (s: GenerationSettings) => set(KEYS.settings, s),
  loadExperts: () => load(KEYS.experts, z.array(CustomExpertSchema), []),
  saveExperts: (e: StoredExpert[]) => set(KEYS.experts, e),
  loadRecentBundles: () => load(KEYS.recentBundles, z.array(RecentBundleSchema), []),
  saveRecentBundles: (r: RecentBundle[]) => set(KEYS.recentBundles, r),
};
