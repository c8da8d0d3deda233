import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { startOfflineSupport } from './offline.ts';
import './styles.css';

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
// The engine worker starts with the app: let the service worker control the page first, so the
// worker's downloads (wasm, bundle) are cached for offline use too.
void startOfflineSupport().then(() =>
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  ),
);
