// @ts-check
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is served by the Palisade server itself (src/http/console.ts) under a CSP without
// 'unsafe-inline': the build must emit external scripts and styles only, which Vite does by default.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    // The polyfill would be inlined into index.html; every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev:web`: the dev server proxies the API to a running Palisade (PALISADE_URL).
    proxy: {
      '/api': {
        target: process.env.PALISADE_URL ?? 'https://127.0.0.1:8443',
        secure: false,
        changeOrigin: false,
      },
    },
  },
});
