/**
 * The prompting API without file-system access: what `prompting/index.ts` exports except the Node
 * reader and writer of PEFT adapter folders (peft-adapter.ts, peft-import.ts); the browser entry
 * exports this. A browser builds the adapter's files in memory (peft-export.ts) and zips them.
 */
export * from './common.ts';
export * from './soft-prompt.ts';
export * from './prefix.ts';
export * from './heads.ts';
export * from './gumbel.ts';
export * from './dynamic.ts';
export * from './infoprompt.ts';
export * from './infoprompt-model.ts';
export * from './peft-export.ts';
export * from './peft-format.ts';
export * from './peft-model-card.ts';
