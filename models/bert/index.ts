/** Hugging Face BERT / RoBERTa: checkpoint and tokenizer loading, config, and the frozen encoder. */
export * from './raw-tensor.ts';
export * from './load-error.ts';
export * from './config.ts';
export * from './safetensors.ts';
export { parseTorchBin, parseTorchBinOrThrow } from './torch-bin.ts';
export * from './weights.ts';
export * from './checkpoint.ts';
export * from './tokenizer.ts';
export * from './modules.ts';
export * from './embeddings.ts';
export * from './layer.ts';
export * from './model.ts';
export * from './random-weights.ts';
