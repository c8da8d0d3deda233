import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { startOfflineSupport } from './offline.ts';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
// The page is drawn at once; the engine worker starts once the service worker controls the page,
// so the worker's downloads (wasm, bundle) are cached for offline use too.
const offlineReady = startOfflineSupport();
createRoot(root).render(
  <StrictMode>
    <App engineStart={offlineReady} />
  </StrictMode>,
);
