/**
 * The prompting API without file-system access: everything `prompting/index.ts` exports except the
 * Node folder reader/writer of PEFT adapters (exportPeftAdapter / importPeftAdapter); the browser
 * entry exports this. The adapter files themselves are built and parsed in memory (peft-adapter-files.ts).
 */
export * from './common.ts';
export * from './soft-prompt.ts';
export * from './prefix.ts';
export * from './heads.ts';
export * from './gumbel.ts';
export * from './dynamic.ts';
export * from './infoprompt.ts';
export * from './peft-adapter-files.ts';
