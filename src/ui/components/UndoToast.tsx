import { useEffect, useRef } from 'react';

/** How long an Undo stays offered. */
export const UNDO_MS = 8000;

interface Props {
  message: string;
  onUndo: () => void;
  /** The offer ran out (the change stays). */
  onExpire: () => void;
  ms?: number;
}

/** "Deleted X. [Undo]" for a few seconds, next to where the change was made. */
export function UndoToast({ message, onUndo, onExpire, ms = UNDO_MS }: Props) {
  const expire = useRef(onExpire);
  expire.current = onExpire;
  useEffect(() => {
    const t = window.setTimeout(() => expire.current(), ms);
    return () => window.clearTimeout(t);
  }, [message, ms]);
  return (
    <div className="toast" role="status" data-testid="undo-toast">
      <span>{message}</span>
      <button type="button" onClick={onUndo}>
        Undo
      </button>
      <span className="toast-timer" style={{ animationDuration: `${ms}ms` }} aria-hidden="true" />
    </div>
  );
}
