import { useEffect, useRef, useState, type RefObject } from 'react';
import type { ChatTurn, ExpertInfo, GenerationSettings } from '../../worker/protocol.ts';
import { requestSettings, TWIN_MODEL } from '../../api/chatRequest.ts';
import type { TwinmergeEngine } from '../../api/engine.ts';
import type { ChatMessage, Conversation } from '../storage.ts';
import { MessageView } from './MessageView.tsx';

interface Props {
  conversation: Conversation | null;
  experts: ExpertInfo[];
  settings: GenerationSettings;
  client: RefObject<TwinmergeEngine | null>;
  ready: boolean;
  appendMessage: (conversationId: string, m: Omit<ChatMessage, 'id'>) => string;
  patchMessage: (conversationId: string, messageId: string, f: (m: ChatMessage) => ChatMessage) => void;
  /** Called when an answer has ended (done, stopped or failed). */
  onAnswered?: () => void;
}

export function ChatPanel({ conversation, experts, settings, client, ready, appendMessage, patchMessage, onAnswered }: Props) {
  const [draft, setDraft] = useState('');
  const [running, setRunning] = useState<AbortController | null>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const messages = conversation?.messages ?? [];

  useEffect(() => {
    logRef.current?.scrollTo({ top: logRef.current.scrollHeight });
  }, [messages.length, messages.at(-1)?.content]);

  const send = async () => {
    const text = draft.trim();
    const engine = client.current;
    if (!text || !conversation || !engine || running !== null) return;
    const history: ChatTurn[] = [
      ...messages.filter((m) => m.status !== 'error' && m.content).map((m) => ({ role: m.role, content: m.content })),
      { role: 'user', content: text },
    ];
    const cid = conversation.id;
    appendMessage(cid, { role: 'user', content: text });
    const aid = appendMessage(cid, { role: 'assistant', content: '', status: 'streaming' });
    setDraft('');
    const stopper = new AbortController();
    setRunning(stopper);
    try {
      // The same OpenAI-style call any page embedding twinmerge makes (docs/api.md).
      const stream = await engine.chat.completions.create({ model: TWIN_MODEL, messages: history, stream: true, ...requestSettings(settings) }, { signal: stopper.signal });
      for await (const chunk of stream) {
        const ext = chunk.twinmerge;
        const choice = chunk.choices[0];
        if (ext && !('timings' in ext)) {
          patchMessage(cid, aid, (m) => ({ ...m, routing: ext.routing, routingNames: Object.fromEntries(experts.filter((x) => x.id in ext.routing).map((x) => [x.id, x.name])), ...(ext.confidence ? { confidence: ext.confidence } : {}) }));
        } else if (choice?.delta.content) {
          const delta = choice.delta.content;
          patchMessage(cid, aid, (m) => ({ ...m, content: m.content + delta }));
        }
        if (choice?.finish_reason && ext && 'timings' in ext) {
          const reason = choice.finish_reason;
          patchMessage(cid, aid, (m) => ({ ...m, routing: ext.routing, timings: ext.timings, droppedTurns: ext.droppedTurns, status: reason === 'abort' ? 'stopped' : 'done' }));
        }
      }
    } catch (e) {
      // The user's message stays; the failed answer says why.
      patchMessage(cid, aid, (m) => ({ ...m, status: 'error', error: e instanceof Error ? e.message : String(e) }));
    } finally {
      setRunning(null);
      onAnswered?.();
    }
  };

  const stop = () => {
    running?.abort();
  };

  return (
    <section className="chat" aria-label="Chat">
      <div className="chat-log" ref={logRef} aria-live="polite">
        {messages.length === 0 ? (
          <div className="chat-empty">
            <h2>Ask the merged model</h2>
            <p>
              Each message is routed to the experts it needs; their low-rank modules are added to the shared merged
              weights on your GPU before the answer is generated.
            </p>
            <p className="muted">The model is small and knows only its experts&apos; tasks (listed on the right): start from an example.</p>
            {experts.length > 0 && (
              <ul className="suggestions" aria-label="Example prompts">
                {experts
                  .filter((e) => e.enabled)
                  .map((e) => (
                    <li key={e.id}>
                      <button type="button" onClick={() => setDraft(e.examplePrompts[0] ?? '')}>
                        {e.examplePrompts[0]}
                      </button>
                    </li>
                  ))}
              </ul>
            )}
          </div>
        ) : (
          messages.map((m) => <MessageView key={m.id} m={m} experts={experts} />)
        )}
      </div>
      <form
        className="chat-input"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label htmlFor="prompt" className="visually-hidden">
          Message
        </label>
        <textarea
          id="prompt"
          rows={2}
          value={draft}
          // Short enough for a phone's two lines; the Shift+Enter hint is in the description.
          placeholder={ready ? 'Ask something (Enter sends)' : 'Loading the model…'}
          title="Enter sends; Shift+Enter starts a new line"
          disabled={!ready}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              void send();
            }
          }}
        />
        {running !== null ? (
          <button type="button" className="stop" onClick={stop}>
            Stop
          </button>
        ) : (
          <button type="submit" disabled={!ready || !draft.trim()}>
            Send
          </button>
        )}
      </form>
    </section>
  );
}
