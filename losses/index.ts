/** Losses and MI estimators: critics, InfoNCE, NWJ/DV, JSD, task cross-entropy and InfoPrompt's losses. */
export * from './scores.ts';
export * from './critic.ts';
export * from './infonce.ts';
export * from './nwj.ts';
export * from './jsd.ts';
export * from './cross-entropy.ts';
export * from './infoprompt.ts';
