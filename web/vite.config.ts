import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

/** `npm run build:web` writes web/dist, which the API serves at /; `npm run dev:web` serves it with hot reload, proxying /graphql. */
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true },
  server: {
    port: 5173,
    proxy: { "/graphql": { target: "http://localhost:4000", ws: true } },
  },
});
