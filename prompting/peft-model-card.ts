/**
 * The `README.md` model card PEFT's `save_pretrained` writes beside an adapter: YAML front matter with
 * `base_model`, `library_name: peft` and the tag `base_model:adapter:<base>` (exactly as PEFT 0.21 writes
 * it), a body, and the closing `### Framework versions` list. PEFT fills its body from the huggingface_hub
 * template with "[More Information Needed]"; PromptGrad fills it with what it knows: the base model, the
 * method, the task type and head, how the adapter was trained and the run's metrics.
 */
import type { PeftAdapterConfig } from './peft-format.ts';

export interface ModelCardInfo {
  /** How the adapter was trained (task, steps, learning rate, …): one bullet each. */
  readonly training?: Readonly<Record<string, string | number | boolean | null>>;
  /** The run's metrics (best dev, test): one bullet each. */
  readonly metrics?: Readonly<Record<string, string | number | boolean | null>>;
  /** Class names in logit order, when known. */
  readonly labels?: readonly string[];
}

/**
 * A YAML scalar: plain when it is safe to be (no spaces, a colon only inside, as in PEFT's
 * `base_model:adapter:<base>` tag), else double-quoted (JSON strings are valid YAML).
 */
const yamlScalar = (s: string): string => (/^[A-Za-z0-9_][A-Za-z0-9._/:-]*(?<!:)$/.test(s) ? s : JSON.stringify(s));

const bullets = (r: Readonly<Record<string, unknown>> | undefined): string =>
  r && Object.keys(r).length > 0
    ? Object.entries(r)
        .map(([k, v]) => `- **${k}:** ${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join('\n')
    : '[More Information Needed]';

const TOKEN_TYPES: Readonly<Record<string, string>> = {
  SEQ_CLS:
    "PEFT's sequence-classification wrapper passes the tokenizer's `token_type_ids` to the model (zeros for the virtual tokens), as PromptGrad trained it.",
  FEATURE_EXTRACTION:
    'PEFT\'s feature-extraction wrapper drops `token_type_ids` (it warns "Token type ids are not supported"), so every token has type 0.',
};

/** The card text for `config` (no final newline, as PEFT writes it). */
export function peftModelCard(config: PeftAdapterConfig, head: string | undefined, info: ModelCardInfo = {}): string {
  const base = config.base_model_name_or_path;
  const front = [
    '---',
    ...(base !== null ? [`base_model: ${yamlScalar(base)}`] : []),
    'library_name: peft',
    ...(base !== null ? ['tags:', `- ${yamlScalar(`base_model:adapter:${base}`)}`] : []),
    '---',
  ];
  const method =
    config.peft_type === 'PROMPT_TUNING'
      ? `PROMPT_TUNING: ${config.num_virtual_tokens} virtual token embeddings placed before the first token`
      : `PREFIX_TUNING: ${config.num_virtual_tokens} virtual keys and values in each of ${config.num_layers} layers` +
        (config.prefix_projection ? ' (trained through a projection MLP; the projected table is saved)' : '');
  const task = config.task_type ?? 'none';
  const loader =
    task === 'SEQ_CLS'
      ? `from transformers import AutoModelForSequenceClassification\nfrom peft import PeftModel\n\nbase = AutoModelForSequenceClassification.from_pretrained(${JSON.stringify(base ?? '<base model>')}, num_labels=${info.labels?.length ?? '<number of labels>'})\nmodel = PeftModel.from_pretrained(base, "<this folder>").eval()`
      : `from transformers import AutoModel\nfrom peft import PeftModel\n\nbase = AutoModel.from_pretrained(${JSON.stringify(base ?? '<base model>')})\nmodel = PeftModel.from_pretrained(base, "<this folder>").eval()`;
  const body = [
    '',
    `# Model Card for a ${config.peft_type} adapter${base !== null ? ` on ${base}` : ''}`,
    '',
    'Trained with PromptGrad (prompt tuning of a frozen encoder in TypeScript) and written in the format of',
    `Hugging Face PEFT ${config.peft_version}; \`PeftModel.from_pretrained\` loads it.`,
    '',
    '## Model Details',
    '',
    `- **Base model:** ${base ?? '[More Information Needed]'} (frozen)`,
    `- **PEFT method:** ${method}`,
    `- **Task type:** ${task}${head ? `, head ${head}` : ''}`,
    `- **modules_to_save:** ${config.modules_to_save?.length ? [...new Set(config.modules_to_save)].join(', ') : 'none'} (the modules of these names that the model has are saved with the adapter)`,
    ...(info.labels ? [`- **Labels (logit order):** ${info.labels.join(', ')}`] : []),
    `- **Token type ids:** ${TOKEN_TYPES[task] ?? 'see PEFT for this task type.'}`,
    `- **PEFT version targeted:** ${config.peft_version}`,
    '',
    '## How to Get Started with the Model',
    '',
    '```python',
    loader,
    '```',
    '',
    '## Training Details',
    '',
    bullets(info.training),
    '',
    '## Evaluation',
    '',
    '### Results',
    '',
    bullets(info.metrics),
    '',
    '### Framework versions',
    '',
    `- PEFT ${config.peft_version}`,
  ];
  return [...front, ...body].join('\n');
}
