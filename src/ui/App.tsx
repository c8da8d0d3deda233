import { useEffect, useMemo, useState } from 'react';
import { DEFAULT_SETTINGS, type BackendPreference, type GenerationSettings } from '../worker/protocol.ts';
import { ChatPanel } from './components/ChatPanel.tsx';
import { CompareView } from './components/CompareView.tsx';
import { ConversationList } from './components/ConversationList.tsx';
import { ExpertsPanel } from './components/ExpertsPanel.tsx';
import { LoadingScreen } from './components/LoadingScreen.tsx';
import { SettingsPanel } from './components/SettingsPanel.tsx';
import { StatusBar } from './components/StatusBar.tsx';
import { storage } from './storage.ts';
import { useConversations } from './useConversations.ts';
import { useEngine } from './useEngine.ts';
import { useOffline } from './useOffline.ts';

/** The demo bundle built by `twinmerge pack` from the zoo; `?bundle=` points elsewhere. */
export const DEFAULT_BUNDLE_URL = '/models/bundle';

function fromUrl(): { preference: BackendPreference; bundleUrl: string } {
  const q = new URLSearchParams(window.location.search);
  const b = q.get('backend');
  return { preference: b === 'wasm' || b === 'webgpu' ? b : 'auto', bundleUrl: q.get('bundle') ?? DEFAULT_BUNDLE_URL };
}

export function App() {
  const { preference, bundleUrl } = useMemo(fromUrl, []);
  const engine = useEngine(bundleUrl, preference);
  const convs = useConversations();
  const offline = useOffline();
  const [tab, setTab] = useState<'chat' | 'compare'>('chat');
  const [settings, setSettings] = useState<GenerationSettings>(DEFAULT_SETTINGS);
  useEffect(() => {
    void storage.loadSettings().then(setSettings);
  }, []);
  const changeSettings = (s: GenerationSettings) => {
    setSettings(s);
    void storage.saveSettings(s);
  };
  const ready = engine.state.phase === 'ready' && convs.ready;
  const memory = engine.state.phase === 'ready' ? engine.memory : null;

  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <h1>twinmerge</h1>
        </div>
        <p className="tagline">Fine-tuned experts, merged per message on your GPU (Twin-Merging)</p>
        <div className="tabs" role="tablist" aria-label="View">
          {(['chat', 'compare'] as const).map((t) => (
            <button key={t} role="tab" type="button" aria-selected={tab === t} onClick={() => setTab(t)}>
              {t === 'chat' ? 'Chat' : 'Compare'}
            </button>
          ))}
        </div>
      </header>
      <main className="app-main">
        <ConversationList
          conversations={convs.conversations}
          activeId={convs.active?.id ?? null}
          onSelect={(id) => {
            convs.select(id);
            setTab('chat');
          }}
          onCreate={convs.create}
          onRename={convs.rename}
          onDelete={convs.remove}
        />
        <div className="center">
          {engine.state.phase !== 'ready' && <LoadingScreen progress={engine.state.phase === 'loading' ? engine.state.progress : null} {...(engine.state.phase === 'failed' ? { failed: engine.state.message } : {})} />}
          <SettingsPanel settings={settings} onChange={changeSettings} />
          {tab === 'chat' ? (
            <ChatPanel conversation={convs.active} experts={engine.experts} settings={settings} client={engine.client} ready={ready} appendMessage={convs.appendMessage} patchMessage={convs.patchMessage} onAnswered={engine.refreshMemory} />
          ) : (
            <CompareView client={engine.client} experts={engine.experts} settings={settings} ready={ready} onAnswered={engine.refreshMemory} />
          )}
        </div>
        <ExpertsPanel experts={engine.experts} ready={ready} client={engine.client} onAdd={engine.addExpert} onRemove={engine.removeExpert} onToggle={engine.setEnabled} />
      </main>
      <StatusBar backend={engine.backend} memory={memory} notice={engine.notice} offline={offline} />
    </div>
  );
}
