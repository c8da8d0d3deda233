import { useState, type ReactNode } from 'react';
import type { Conversation } from '../storage.ts';

interface Props {
  conversations: Conversation[];
  activeId: string | null;
  onSelect: (id: string) => void;
  onCreate: () => void;
  onRename: (id: string, title: string) => void;
  onDelete: (id: string) => void;
  /** Shown under the "New conversation" button (the Undo of a deletion). */
  footer?: ReactNode;
}

export function ConversationList({ conversations, activeId, onSelect, onCreate, onRename, onDelete, footer }: Props) {
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState('');
  return (
    <nav className="conversations" aria-label="Conversations">
      <button type="button" className="new-conversation" onClick={onCreate}>
        + New conversation
      </button>
      {footer}
      <ul>
        {conversations.map((c) => (
          <li key={c.id} className={c.id === activeId ? 'active' : ''}>
            {editing === c.id ? (
              <form
                onSubmit={(e) => {
                  e.preventDefault();
                  onRename(c.id, draft);
                  setEditing(null);
                }}
              >
                <label className="visually-hidden" htmlFor={`rename-${c.id}`}>
                  Conversation name
                </label>
                <input id={`rename-${c.id}`} autoFocus value={draft} onChange={(e) => setDraft(e.target.value)} onBlur={() => setEditing(null)} />
              </form>
            ) : (
              <button type="button" className="conversation-title" aria-current={c.id === activeId ? 'page' : undefined} onClick={() => onSelect(c.id)}>
                {c.title}
              </button>
            )}
            <span className="conversation-actions">
              <button
                type="button"
                aria-label={`Rename ${c.title}`}
                title="Rename"
                onMouseDown={(e) => e.preventDefault()}
                onClick={() => {
                  setDraft(c.title);
                  setEditing(c.id);
                }}
              >
                ✎
              </button>
              <button type="button" aria-label={`Delete ${c.title}`} title="Delete" onClick={() => onDelete(c.id)}>
                ×
              </button>
            </span>
          </li>
        ))}
      </ul>
    </nav>
  );
}
