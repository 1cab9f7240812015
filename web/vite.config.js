import { defineConfig } from 'vite';

// `substrate up` serves the built app (dist/) on port 3000 together with /config.json, which
// tells the app where the API and the gateway are and which anon key to use. `npm run dev`
// proxies /config.json and /api to a running `substrate up` on the default ports.
export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    port: 5173,
    proxy: {
      '/config.json': 'http://127.0.0.1:3000',
      '/api': 'http://127.0.0.1:8080',
    },
  },
});
