// An error for a user: what is wrong in plain words first, the technical detail (codec code, tensor,
// shapes) folded away below it. Errors about dropped files arrive as one message whose first line is
// the plain sentence and whose other lines are the detail (src/runtime/twin/customExpert.ts).

export function splitProblem(message: string): { summary: string; detail: string | null } {
  const i = message.indexOf('\n');
  return i < 0 ? { summary: message, detail: null } : { summary: message.slice(0, i), detail: message.slice(i + 1).trim() || null };
}

export function Problem({ message }: { message: string }) {
  const { summary, detail } = splitProblem(message);
  return (
    <>
      <span className="problem-summary">{summary}</span>
      {detail && (
        <details className="problem-detail">
          <summary>Details</summary>
          <code>{detail}</code>
        </details>
      )}
    </>
  );
}
