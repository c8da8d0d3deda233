export function ChatPanel() {
  return (
    <section className="chat" aria-label="Chat">
      <div className="chat-log" aria-live="polite">
        <div className="chat-empty">
          <h2>Ask the merged model</h2>
          <p>
            Each message is routed to the experts it needs; their low-rank modules are added to the shared merged
            weights on your GPU before the answer is generated.
          </p>
          <p className="muted">No bundle is loaded yet.</p>
        </div>
      </div>
      <form className="chat-input" onSubmit={(e) => e.preventDefault()}>
        <label htmlFor="prompt" className="visually-hidden">
          Message
        </label>
        <textarea id="prompt" rows={2} placeholder="Load a bundle to start chatting" disabled />
        <button type="submit" disabled>
          Send
        </button>
      </form>
    </section>
  );
}
