/** The entry of dist/execa.js (scripts/build.mjs): execa as one CommonJS file, required by process.ts on first use. */
export { execa } from 'execa';
