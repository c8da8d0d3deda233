import { useMemo } from 'react';
import type { BackendPreference } from '../worker/protocol.ts';
import { ChatPanel } from './components/ChatPanel.tsx';
import { ExpertsPanel } from './components/ExpertsPanel.tsx';
import { StatusBar } from './components/StatusBar.tsx';
import { useBackend } from './useBackend.ts';

function backendFromUrl(): BackendPreference {
  const v = new URLSearchParams(window.location.search).get('backend');
  return v === 'wasm' || v === 'webgpu' ? v : 'auto';
}

export function App() {
  const preference = useMemo(backendFromUrl, []);
  const backend = useBackend(preference);
  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <h1>twinmerge</h1>
        </div>
        <p className="tagline">Fine-tuned experts, merged per message on your GPU (Twin-Merging)</p>
      </header>
      <main className="app-main">
        <ChatPanel />
        <ExpertsPanel />
      </main>
      <StatusBar backend={backend} />
    </div>
  );
}
