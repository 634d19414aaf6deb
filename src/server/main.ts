/** The language server entry point (bundled to dist/server.js). */
import { startServer } from './server';

startServer();
