/** Hugging Face BERT / RoBERTa: checkpoint and tokenizer loading, config, and the frozen encoder. */
export * from './io/raw-tensor.ts';
export * from './load-error.ts';
export * from './config.ts';
export * from './io/safetensors.ts';
export { parseTorchBin, parseTorchBinOrThrow } from './io/torch-bin.ts';
export * from './weights.ts';
export * from './weight-scope.ts';
export * from './weight-spec.ts';
export * from './io/checkpoint.ts';
export * from './tokenizer/tokenizer.ts';
export * from './modules.ts';
export * from './embeddings.ts';
export * from './attention.ts';
export * from './layer.ts';
export * from './heads.ts';
export * from './model.ts';
export * from './random-weights.ts';
