/** Public prompting API: soft prompts, prefixes, dynamic prompting, InfoPrompt, heads, PEFT adapters. */
export * from './common.ts';
export * from './soft-prompt.ts';
export * from './prefix.ts';
export * from './heads.ts';
export * from './gumbel.ts';
export * from './dynamic.ts';
export * from './infoprompt.ts';
export * from './infoprompt-model.ts';
export * from './peft-adapter.ts';
