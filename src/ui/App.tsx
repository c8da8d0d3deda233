import { useEffect, useMemo, useState } from 'react';
import { DEFAULT_SETTINGS, type BackendPreference, type GenerationSettings } from '../worker/protocol.ts';
import { BundlePicker } from './components/BundlePicker.tsx';
import { ChatPanel } from './components/ChatPanel.tsx';
import { CompareView } from './components/CompareView.tsx';
import { ConversationList } from './components/ConversationList.tsx';
import { ExpertsPanel } from './components/ExpertsPanel.tsx';
import { LoadingScreen } from './components/LoadingScreen.tsx';
import { SettingsPanel } from './components/SettingsPanel.tsx';
import { StatusBar } from './components/StatusBar.tsx';
import { UndoToast } from './components/UndoToast.tsx';
import { DEFAULT_BUNDLE_URL } from './bundles.ts';
import { storage } from './storage.ts';
import { useConversations } from './useConversations.ts';
import { useEngine } from './useEngine.ts';
import { useOffline } from './useOffline.ts';


function fromUrl(): { preference: BackendPreference; bundleUrl: string } {
  const q = new URLSearchParams(window.location.search);
  const b = q.get('backend');
  return { preference: b === 'wasm' || b === 'webgpu' ? b : 'auto', bundleUrl: q.get('bundle') ?? DEFAULT_BUNDLE_URL };
}

/** `engineStart`: when the engine worker may start (main.tsx: once the service worker controls the page). */
export function App({ engineStart }: { engineStart?: Promise<void> }) {
  const { preference, bundleUrl } = useMemo(fromUrl, []);
  const engine = useEngine(bundleUrl, preference, engineStart);
  const convs = useConversations();
  const offline = useOffline();
  const [tab, setTab] = useState<'chat' | 'compare'>('chat');
  // Phone width: the experts panel is a drawer opened from the header.
  const [expertsOpen, setExpertsOpen] = useState(false);
  useEffect(() => {
    if (!expertsOpen) return;
    const close = (e: KeyboardEvent) => e.key === 'Escape' && setExpertsOpen(false);
    window.addEventListener('keydown', close);
    return () => window.removeEventListener('keydown', close);
  }, [expertsOpen]);
  const [pickerOpen, setPickerOpen] = useState(false);
  const [settings, setSettings] = useState<GenerationSettings>(DEFAULT_SETTINGS);
  useEffect(() => {
    void storage.loadSettings().then(setSettings);
  }, []);
  const changeSettings = (s: GenerationSettings) => {
    setSettings(s);
    void storage.saveSettings(s);
  };
  const ready = engine.state.phase === 'ready' && convs.ready;

  // A deleted conversation is hidden at once and removed when its Undo runs out (so Undo needs no copy).
  const [deleted, setDeleted] = useState<{ id: string; title: string; key: number } | null>(null);
  const visible = convs.conversations.filter((c) => c.id !== deleted?.id);
  /** "New conversation" opens the empty one there is rather than piling up another. */
  const openNew = (among = visible) => {
    const empty = among.find((c) => c.messages.length === 0 && c.title === 'New conversation');
    if (empty) convs.select(empty.id);
    else convs.create();
    setTab('chat');
  };
  const deleteConversation = (id: string) => {
    if (deleted) convs.remove(deleted.id); // the previous one's Undo ends here
    const c = convs.conversations.find((x) => x.id === id);
    if (!c) return;
    setDeleted({ id, title: c.title, key: Date.now() });
    if (convs.active?.id === id) {
      const rest = visible.filter((x) => x.id !== id);
      if (rest[0]) convs.select(rest[0].id);
      else openNew(rest);
    }
  };
  const undoDelete = () => {
    if (!deleted) return;
    convs.select(deleted.id);
    setDeleted(null);
    setTab('chat');
  };
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
        <button type="button" className="bundle-button" disabled={engine.state.phase !== 'ready'} onClick={() => setPickerOpen(true)} title="Open another bundle (a URL, or one opened before)">
          Bundle…
        </button>
        <button type="button" className="experts-toggle" aria-expanded={expertsOpen} aria-controls="experts-panel" onClick={() => setExpertsOpen((o) => !o)}>
          Experts ({engine.experts.filter((e) => e.enabled).length})
        </button>
      </header>
      <main className="app-main">
        <ConversationList
          conversations={visible}
          activeId={convs.active?.id ?? null}
          onSelect={(id) => {
            convs.select(id);
            setTab('chat');
          }}
          onCreate={() => openNew()}
          onRename={convs.rename}
          onDelete={deleteConversation}
          footer={
            deleted && (
              <UndoToast
                key={deleted.key}
                message={`Deleted "${deleted.title}".`}
                onUndo={undoDelete}
                onExpire={() => {
                  convs.remove(deleted.id);
                  setDeleted((d) => (d?.key === deleted.key ? null : d));
                }}
              />
            )
          }
        />
        <div className="center">
          {engine.state.phase !== 'ready' && (
            <LoadingScreen
              progress={engine.state.phase === 'loading' ? engine.state.progress : null}
              {...(engine.state.phase === 'failed' ? { failed: engine.state.message } : {})}
              {...(engine.state.phase === 'confirm' ? { foreign: { url: engine.state.url, origin: engine.state.origin, check: engine.state.check, error: engine.state.error, onConfirm: engine.confirmLoad } } : {})}
            />
          )}
          <SettingsPanel settings={settings} onChange={changeSettings} />
          {tab === 'chat' ? (
            <ChatPanel conversation={convs.active} experts={engine.experts} settings={settings} client={engine.client} ready={ready} appendMessage={convs.appendMessage} patchMessage={convs.patchMessage} onAnswered={engine.refreshMemory} />
          ) : (
            <CompareView client={engine.client} experts={engine.experts} settings={settings} ready={ready} onAnswered={engine.refreshMemory} />
          )}
        </div>
        {expertsOpen && <div className="drawer-backdrop" aria-hidden="true" onClick={() => setExpertsOpen(false)} />}
        <ExpertsPanel experts={engine.experts} ready={ready} client={engine.client} onAdd={engine.addExpert} onRemove={engine.removeExpert} onToggle={engine.setEnabled} open={expertsOpen} onClose={() => setExpertsOpen(false)} />
      </main>
      {pickerOpen && engine.state.phase === 'ready' && (
        <BundlePicker currentUrl={engine.state.bundle.url} onCheck={engine.checkBundle} onOpen={engine.openBundle} onClose={() => setPickerOpen(false)} />
      )}
      <StatusBar backend={engine.backend} memory={memory} notice={engine.notice} offline={offline} />
    </div>
  );
}
