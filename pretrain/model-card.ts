/**
 * README.md of the exported demo encoder: what it is, how it was trained (command, steps, tokens),
 * how good it is on held-out text (MLM loss and masked-token accuracy, stated plainly), and where
 * every piece of its pretraining text came from, with the licences as stated upstream.
 */
import type { BertConfig } from '../models/bert/config.ts';

export interface CardInput {
  readonly cfg: BertConfig;
  readonly paramCount: number;
  readonly safetensorsBytes: number;
  readonly command: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly batch: number;
  readonly seqLen: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly backend: string;
  readonly secPerStep: number | undefined;
  readonly fewglue: boolean;
  readonly heldOut: {
    readonly loss: number;
    readonly accuracy: number;
    readonly masked: number;
    readonly step: number;
  };
  readonly initial: { readonly loss: number; readonly accuracy: number } | undefined;
  readonly trainLossLast: number | undefined;
  /** Free-text remarks about the run (schedule changes between sessions, …), one bullet each. */
  readonly notes?: readonly string[];
  /** Unigram-frequency baseline on the same held-out masks. */
  readonly unigram?: { readonly loss: number; readonly accuracy: number };
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

export function modelCard(c: CardInput): string {
  const tokens = c.step * c.batch * c.seqLen;
  const chance = Math.log(c.cfg.vocabSize);
  return `# PromptGrad demo encoder (bert-${c.cfg.numHiddenLayers}l-${c.cfg.hiddenSize}d, MLM)

A small BERT-style masked language model pretrained **from scratch by PromptGrad itself** — its own
autodiff (full backward to every weight), AdamW and WordPiece trainer — because nothing pretrained
can be downloaded where PromptGrad is developed. It is the default model of the demo. It is a
*toy-scale* model trained for a short time on two CPU cores: expect it to be weak (see Results).

Load it like any Hugging Face BERT folder (\`BertForMaskedLM\` / \`BertModel\`, \`BertTokenizerFast\`),
or with PromptGrad: \`loadCheckpoint('models/demo-encoder')\` + \`loadTokenizer('models/demo-encoder')\`.

## Architecture

| field | value |
| --- | --- |
| layers / hidden / heads / intermediate | ${c.cfg.numHiddenLayers} / ${c.cfg.hiddenSize} / ${c.cfg.numAttentionHeads} / ${c.cfg.intermediateSize} |
| vocabulary | ${c.cfg.vocabSize} WordPiece tokens, uncased, accents stripped (trained by \`pretrain/wordpiece-trainer.ts\`) |
| parameters | ${c.paramCount.toLocaleString('en-US')} (MLM decoder tied to the word embeddings; no pooler) |
| weights | \`model.safetensors\`, f32, ${(c.safetensorsBytes / 2 ** 20).toFixed(1)} MiB |
| positions | ${c.cfg.maxPositionEmbeddings} in the config, but only the first ${c.seqLen} were trained: use inputs of at most ${c.seqLen} tokens (\`model_max_length\` is ${c.seqLen}) |
| token types | only type 0 was used in pretraining; the type-1 embedding is still its random initialisation |

## Training

- Objective: BERT MLM — 15 % of the non-special tokens selected, of those 80 % replaced by [MASK],
  10 % by a random token, 10 % left; cross-entropy on the selected positions. No next-sentence task.
- Rows of ${c.seqLen} tokens \`[CLS] … [SEP]\` packed from the text stream (passages separated by [SEP]);
  batch ${c.batch}; no dropout during pretraining (the config keeps HF's 0.1 for fine-tuning).
- AdamW (β 0.9/0.999, ε 1e-8), peak lr ${c.lr}, ${c.warmupSteps} warm-up steps then linear decay over
  ${c.totalSteps} steps, weight decay ${c.weightDecay} (not on biases / LayerNorm), gradient clipping at global norm 1.0, f32.
- **${c.step} optimizer steps, ${tokens.toLocaleString('en-US')} tokens seen** (${(tokens / 1e6).toFixed(2)} M)${c.step < c.totalSteps ? `; the schedule was planned for ${c.totalSteps} steps, so the learning rate had not decayed to 0 yet` : ''}.
- Hardware: a shared 2-core CPU, PromptGrad's \`${c.backend}\` backend${c.secPerStep ? `, about ${c.secPerStep.toFixed(1)} s per step` : ''}.
${(c.notes ?? []).map((n) => `- ${n}\n`).join('')}- Command (from the repository root):

\`\`\`
node --import ./scripts/register.mjs pretrain/run.ts ${c.command}
\`\`\`

## Results (held-out text)

Measured on 64 rows of ${c.seqLen} tokens from held-out passages (1 passage in 200 of the corpus,
chosen by a seeded hash, never trained on), with a fixed mask (${c.heldOut.masked} masked tokens):

| | MLM loss (nats) | masked-token accuracy |
| --- | ---: | ---: |
${c.initial ? `| initialisation (step 0) | ${c.initial.loss.toFixed(3)} | ${pct(c.initial.accuracy)} |\n` : ''}${c.unigram ? `| unigram baseline (training-token frequencies; always guess the most frequent token) | ${c.unigram.loss.toFixed(3)} | ${pct(c.unigram.accuracy)} |\n` : ''}| **this model (step ${c.heldOut.step})** | **${c.heldOut.loss.toFixed(3)}** | **${pct(c.heldOut.accuracy)}** |

For scale: a uniform guess over the vocabulary scores ln ${c.cfg.vocabSize} = ${chance.toFixed(2)} nats; full-size BERT
models reach roughly 1.5–2 nats (60–70 % accuracy) on in-domain text. ${c.trainLossLast !== undefined ? `The last logged training loss was ${c.trainLossLast.toFixed(3)}.` : ''}
${
  c.unigram
    ? `Compared with the unigram baseline the model gains ${(c.unigram.loss - c.heldOut.loss).toFixed(2)} nats: it has learned word frequencies and a
little local context, not much more — for a single [MASK] its top guesses are still mostly frequent
function words and punctuation ("the capital of france is [MASK]." → the , of . and). `
    : ''
}It is good enough to exercise the prompt-tuning code paths end to
end and to show that training signals flow; it is **not** a substitute for bert-base/large or
roberta-large, and few-shot results with it will be far below published numbers.

## Pretraining text and licences

The model is derived from the text below. Licences are as stated upstream (not legal advice).
Details, checksums and per-file tables are in \`pretrain/CORPUS.md\` (the corpus itself is not in the
repository) and \`datasets/fewglue/README.md\`.

1. **English Wikipedia articles** (\`wikipedia_en.txt\`, 1,268 articles): WikiExtractor output found in
   GitHub \`jason-feng/wikiVisual\` at commit \`1c0fac92f29f17c1603bfffbe864e0dfdff66897\`
   (\`text/AA/wiki_00\`–\`wiki_20\`), cleaned of markup. Wikipedia text is licensed **CC BY-SA 3.0**
   (and GFDL); article titles and page ids (for attribution via \`https://en.wikipedia.org/?curid=<id>\`)
   are listed in the corpus' \`wikipedia_en.titles.tsv\`. The repository itself carries a GPL-3.0 file,
   which does not override Wikipedia's licence for the text.
2. **Project Gutenberg books** (\`gutenberg_books.txt\`, 165 works by 47 English-language authors who died
   in 1950 or earlier): GitHub \`rcdm-uga/Gutenberg_Text\` at commit
   \`a0b16d35a9851168ce9ac649851c17b7ab08d48e\`, Project Gutenberg headers, licence and footers removed.
   Public domain in the USA per Project Gutenberg.
${
  c.fewglue
    ? `3. **FewGLUE_32dev texts, \`train.jsonl\` and \`dev32.jsonl\` only** (never \`val.jsonl\`, the evaluation set):
   every string field of at least 20 characters (passages, questions, premises, hypotheses, choices),
   labels not used. GitHub \`THUDM/P-tuning\` at commit \`f4225d4d8003868b31ed659dfe9732a351ad42d9\`.
   Each task keeps its source's terms: BoolQ CC BY-SA 3.0, WiC **CC BY-NC 4.0 (non-commercial)**,
   WSC CC BY 4.0 (original collection); CB, COPA, MultiRC, RTE: not stated in the sources checked.
   These are the few-shot *training* examples of the benchmark tasks, so they are not unseen text
   for a model later tuned on the same examples; the validation sets were never seen.
`
    : ''
}
Redistribution: because the weights are derived from CC BY-SA text (and${c.fewglue ? ', through WiC,' : ''} possibly
non-commercial text), treat this model as **CC BY-SA 3.0**${c.fewglue ? ' and for non-commercial use' : ''} unless you have checked otherwise,
and keep this notice with it.

## Reproduce

The run is deterministic given the command, seed and corpus (same vocabulary, same rows, same masks);
it checkpoints every few minutes and resumes when the same command is run again. Export with
\`node --import ./scripts/register.mjs pretrain/export-cli.ts --run <run folder> --out models/demo-encoder\`.
`;
}
