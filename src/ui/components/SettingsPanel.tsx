import { useRef, useState } from 'react';
import { DEFAULT_SETTINGS, type GenerationSettings } from '../../worker/protocol.ts';

type Key = Exclude<keyof GenerationSettings, 'seed' | 'stop'>;

interface FieldSpec {
  key: Key;
  label: string;
  min: number;
  max: number;
  integer: boolean;
  hint: string;
}

const FIELDS: FieldSpec[] = [
  { key: 'temperature', label: 'Temperature', min: 0, max: 2, integer: false, hint: '0 = greedy' },
  { key: 'topK', label: 'Top-k', min: 0, max: 100, integer: true, hint: '0 = off' },
  { key: 'topP', label: 'Top-p', min: 0.05, max: 1, integer: false, hint: '1 = off' },
  { key: 'maxNewTokens', label: 'Max new tokens', min: 1, max: 256, integer: true, hint: '' },
  { key: 'routingTemperature', label: 'Routing temperature', min: 0.05, max: 5, integer: false, hint: 'lower = sharper' },
  { key: 'routingTopK', label: 'Routing top-k', min: 0, max: 16, integer: true, hint: '0 = all experts' },
];

/** The typed text as a value of the field, or why it is not one. */
function parse(f: FieldSpec, text: string): { value: number } | { error: string } {
  const t = text.trim().replace(',', '.');
  const range = `${f.integer ? 'a whole number' : 'a number'} from ${f.min} to ${f.max}`;
  if (t === '') return { error: `Enter ${range}.` };
  const v = Number(t);
  if (!Number.isFinite(v)) return { error: `"${text.trim()}" is not a number: enter ${range}.` };
  if (f.integer && !Number.isInteger(v)) return { error: `Enter ${range} (no decimals).` };
  if (v < f.min || v > f.max) return { error: `${v} is out of range: enter ${range}.` };
  return { value: v };
}

/**
 * Generation and routing settings. Each field keeps the text being typed (it may be empty or half
 * a number, e.g. "0." on the way to "0.5"); a value applies as soon as the text is a valid one,
 * and while it is not the value from before the edit stays in use. Leaving the field (or Enter)
 * says what is wrong, with the allowed range.
 */
export function SettingsPanel({ settings, onChange }: { settings: GenerationSettings; onChange: (s: GenerationSettings) => void }) {
  const [drafts, setDrafts] = useState<Partial<Record<Key, string>>>({});
  const [errors, setErrors] = useState<Partial<Record<Key, string>>>({});
  /** The value each field had when the edit began: in use again while the text is not valid. */
  const before = useRef<Partial<Record<Key, number>>>({});
  const isDefault = FIELDS.every((f) => settings[f.key] === DEFAULT_SETTINGS[f.key]) && Object.keys(drafts).length === 0;

  const type = (f: FieldSpec, text: string) => {
    setDrafts((d) => ({ ...d, [f.key]: text }));
    const r = parse(f, text);
    const fallback = before.current[f.key] ?? settings[f.key];
    if ('value' in r) {
      if (r.value !== settings[f.key]) onChange({ ...settings, [f.key]: r.value });
      setErrors((e) => ({ ...e, [f.key]: undefined }));
    } else {
      if (settings[f.key] !== fallback) onChange({ ...settings, [f.key]: fallback });
      // Once shown, an error follows the typing; it first shows when the field is left.
      setErrors((e) => (e[f.key] ? { ...e, [f.key]: `${r.error} Still using ${fallback}.` } : e));
    }
  };

  const check = (f: FieldSpec) => {
    const text = drafts[f.key];
    if (text === undefined) return;
    const r = parse(f, text);
    if ('value' in r) {
      setDrafts(({ [f.key]: _, ...rest }) => rest);
      setErrors((e) => ({ ...e, [f.key]: undefined }));
      delete before.current[f.key];
    } else setErrors((e) => ({ ...e, [f.key]: `${r.error} Still using ${before.current[f.key] ?? settings[f.key]}.` }));
  };

  return (
    <details className="settings">
      <summary>Settings</summary>
      <div className="settings-grid">
        {FIELDS.map((f) => {
          const id = `setting-${f.key}`;
          const error = errors[f.key];
          return (
            <div key={f.key} className={`setting ${error ? 'invalid' : ''}`}>
              <label htmlFor={id}>{f.label}</label>
              <input
                id={id}
                type="text"
                inputMode={f.integer ? 'numeric' : 'decimal'}
                autoComplete="off"
                value={drafts[f.key] ?? String(settings[f.key])}
                aria-invalid={error ? true : undefined}
                aria-describedby={`${id}-range${error ? ` ${id}-error` : ''}`}
                onFocus={() => {
                  if (drafts[f.key] === undefined) before.current[f.key] = settings[f.key];
                }}
                onChange={(e) => type(f, e.target.value)}
                onBlur={() => check(f)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') check(f);
                }}
              />
              <small id={`${id}-range`} className="muted">
                {f.min} to {f.max}
                {f.hint && ` · ${f.hint}`}
              </small>
              {error && (
                <small id={`${id}-error`} className="field-error" role="alert">
                  {error}
                </small>
              )}
            </div>
          );
        })}
      </div>
      <div className="settings-actions">
        <button
          type="button"
          disabled={isDefault}
          onClick={() => {
            setDrafts({});
            setErrors({});
            before.current = {};
            onChange({ ...DEFAULT_SETTINGS });
          }}
        >
          Reset to defaults
        </button>
      </div>
    </details>
  );
}
