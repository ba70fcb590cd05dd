// Staged server-side apply (Flux's ssa ResourceManager): see manager.ts.
export * from './manager.js';
export * from './sort.js';
export * from './takeover.js';
export * from './diff.js';
export * from './ignore.js';
