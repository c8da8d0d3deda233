import { useEffect, useState } from 'react';
import { onServedFromCache } from './offline.ts';

/** True while the browser reports no network or the service worker has answered from its cache. */
export function useOffline(): boolean {
  const [offline, setOffline] = useState(typeof navigator !== 'undefined' && !navigator.onLine);
  useEffect(() => {
    const update = () => setOffline(!navigator.onLine);
    window.addEventListener('online', update);
    window.addEventListener('offline', update);
    const stop = onServedFromCache(() => setOffline(true));
    return () => {
      window.removeEventListener('online', update);
      window.removeEventListener('offline', update);
      stop();
    };
  }, []);
  return offline;
}
