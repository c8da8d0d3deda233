// Conversations: a list, the active one, and edits that are saved to IndexedDB as they happen.
import { useCallback, useEffect, useRef, useState } from 'react';
import { storage, type ChatMessage, type Conversation, type ConversationsState } from './storage.ts';

const newId = () => (typeof crypto !== 'undefined' && 'randomUUID' in crypto ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);

function blank(): Conversation {
  return { id: newId(), title: 'New conversation', messages: [], updatedAt: Date.now() };
}

export function useConversations() {
  const [state, setState] = useState<ConversationsState | null>(null);
  const loaded = useRef(false);

  useEffect(() => {
    storage.loadConversations().then((s) => {
      loaded.current = true;
      if (s.conversations.length === 0) {
        const c = blank();
        setState({ activeId: c.id, conversations: [c] });
      } else {
        // A reload mid-answer leaves a message "streaming": it stopped with the page.
        const conversations = s.conversations.map((c) => ({
          ...c,
          messages: c.messages.map((m) => (m.status === 'streaming' ? { ...m, status: 'stopped' as const } : m)),
        }));
        setState({ activeId: s.activeId ?? conversations[0]!.id, conversations });
      }
    });
  }, []);

  useEffect(() => {
    if (state && loaded.current) void storage.saveConversations(state);
  }, [state]);

  const active = state?.conversations.find((c) => c.id === state.activeId) ?? null;

  const update = useCallback((id: string, f: (c: Conversation) => Conversation) => {
    setState((s) => (s ? { ...s, conversations: s.conversations.map((c) => (c.id === id ? { ...f(c), updatedAt: Date.now() } : c)) } : s));
  }, []);

  const appendMessage = useCallback(
    (conversationId: string, m: Omit<ChatMessage, 'id'>): string => {
      const id = newId();
      update(conversationId, (c) => ({
        ...c,
        // The first user message names the conversation until the user renames it.
        title: c.messages.length === 0 && m.role === 'user' && c.title === 'New conversation' ? m.content.slice(0, 48) : c.title,
        messages: [...c.messages, { ...m, id }],
      }));
      return id;
    },
    [update],
  );

  const patchMessage = useCallback(
    (conversationId: string, messageId: string, f: (m: ChatMessage) => ChatMessage) => {
      update(conversationId, (c) => ({ ...c, messages: c.messages.map((m) => (m.id === messageId ? f(m) : m)) }));
    },
    [update],
  );

  const create = useCallback(() => {
    const c = blank();
    setState((s) => ({ activeId: c.id, conversations: [c, ...(s?.conversations ?? [])] }));
  }, []);

  const select = useCallback((id: string) => setState((s) => (s ? { ...s, activeId: id } : s)), []);

  const rename = useCallback((id: string, title: string) => update(id, (c) => ({ ...c, title: title.trim() || c.title })), [update]);

  const remove = useCallback((id: string) => {
    setState((s) => {
      if (!s) return s;
      const rest = s.conversations.filter((c) => c.id !== id);
      if (rest.length === 0) {
        const c = blank();
        return { activeId: c.id, conversations: [c] };
      }
      return { activeId: s.activeId === id ? rest[0]!.id : s.activeId, conversations: rest };
    });
  }, []);

  return { ready: state !== null, conversations: state?.conversations ?? [], active, appendMessage, patchMessage, create, select, rename, remove };
}
