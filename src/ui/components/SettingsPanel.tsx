import type { GenerationSettings } from '../../worker/protocol.ts';

interface FieldSpec {
  key: keyof GenerationSettings;
  label: string;
  min: number;
  max: number;
  step: number;
  hint: string;
}

const FIELDS: FieldSpec[] = [
  { key: 'temperature', label: 'Temperature', min: 0, max: 2, step: 0.05, hint: '0 = greedy' },
  { key: 'topK', label: 'Top-k', min: 0, max: 100, step: 1, hint: '0 = off' },
  { key: 'topP', label: 'Top-p', min: 0.05, max: 1, step: 0.05, hint: '1 = off' },
  { key: 'maxNewTokens', label: 'Max new tokens', min: 1, max: 256, step: 1, hint: '' },
  { key: 'routingTemperature', label: 'Routing temperature', min: 0.05, max: 5, step: 0.05, hint: 'lower = sharper' },
  { key: 'routingTopK', label: 'Routing top-k', min: 0, max: 16, step: 1, hint: '0 = all experts' },
];

export function SettingsPanel({ settings, onChange }: { settings: GenerationSettings; onChange: (s: GenerationSettings) => void }) {
  return (
    <details className="settings">
      <summary>Settings</summary>
      <div className="settings-grid">
        {FIELDS.map((f) => (
          <label key={f.key}>
            <span>
              {f.label} {f.hint && <small className="muted">({f.hint})</small>}
            </span>
            <input
              type="number"
              min={f.min}
              max={f.max}
              step={f.step}
              value={settings[f.key]}
              onChange={(e) => {
                const v = Number(e.target.value);
                if (Number.isFinite(v) && v >= f.min && v <= f.max) onChange({ ...settings, [f.key]: v });
              }}
            />
          </label>
        ))}
      </div>
    </details>
  );
}
